package eval

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cgbench/cgbench/datasets"
)

// writeResults writes a replay results folder; meta nil writes no
// replay.json.
func writeResults(t testing.TB, dir string, reqs []datasets.RequestResult, cands []datasets.CandidateResult, meta map[string]any) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := datasets.WriteTable(filepath.Join(dir, datasets.ReplayRequestsFile), reqs); err != nil {
		t.Fatal(err)
	}
	if err := datasets.WriteTable(filepath.Join(dir, datasets.ReplayCandidatesFile), cands); err != nil {
		t.Fatal(err)
	}
	if meta != nil {
		b, err := json.Marshal(meta)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, datasets.ReplayManifestFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fixedNow is a clock for reproducible CreatedAt.
func fixedNow() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }

// synth describes a random replay for tests: every request of every arm
// has, per CG, a list of listLen candidates; positives are planted at random
// depths, shallower for higher quality.
type synth struct {
	seed      uint64
	users     int
	requests  int
	arms      []string
	cgs       []string
	listLen   int
	quality   map[string]float64 // per arm: probability that an impressed ad sits in the top 3
	countries []string
}

func (s synth) generate() ([]datasets.RequestResult, []datasets.CandidateResult) {
	r := rand.New(rand.NewPCG(s.seed, 7))
	if s.countries == nil {
		s.countries = []string{"US", "GB", "FR", "DE", "BR", "JP", "IN", "CA", "MX", "IT", "ES", "AU"}
	}
	var reqs []datasets.RequestResult
	var cands []datasets.CandidateResult
	type base struct {
		user    int32
		country string
		hist    int32
		ctx     float32
		fresh   bool
		logged  []int32
	}
	bases := make([]base, s.requests)
	for i := range bases {
		u := int32(r.IntN(s.users))
		b := base{user: u, country: s.countries[int(u)%len(s.countries)], hist: int32(r.IntN(80)), ctx: float32(r.Float64()), fresh: r.IntN(3) == 0}
		if r.IntN(5) == 0 {
			b.ctx = 0
		}
		for range r.IntN(3) {
			b.logged = append(b.logged, int32(r.IntN(400)))
		}
		bases[i] = b
	}
	for i, b := range bases {
		id := int64(1000 + i)
		for _, arm := range s.arms {
			q := s.quality[arm]
			// The arm's impressions: up to 3 ads.
			nimp := r.IntN(4)
			imp := map[int32]bool{}
			var impAds []int32 // in draw order: no map iteration, so the fixture is reproducible
			for range nimp {
				ad := int32(r.IntN(400))
				if !imp[ad] {
					imp[ad] = true
					impAds = append(impAds, ad)
				}
			}
			var spend, value float64
			clicks, convs := 0, 0
			for range impAds {
				if r.Float64() < 0.3 {
					clicks++
					spend += 0.5 + r.Float64()
					if r.Float64() < 0.3 {
						convs++
						value += 5 * r.Float64()
					}
				}
			}
			for _, cg := range s.cgs {
				ads := make([]int32, 0, s.listLen)
				for _, ad := range impAds {
					if r.Float64() < 0.7 {
						ads = append(ads, ad)
					}
				}
				for len(ads) < s.listLen {
					ads = append(ads, int32(400+r.IntN(2000)))
				}
				r.Shuffle(len(ads), func(a, c int) { ads[a], ads[c] = ads[c], ads[a] })
				// Move impressed ads to the top with probability q.
				for p, ad := range ads {
					if imp[ad] && r.Float64() < q {
						d := r.IntN(3)
						ads[p], ads[d] = ads[d], ads[p]
					}
				}
				for p, ad := range ads {
					st := int32(r.IntN(3))
					if imp[ad] {
						st = datasets.StageImpressed
					}
					rel := float32(r.Float64() * r.Float64())
					if imp[ad] {
						rel = float32(0.3 + 0.7*r.Float64())
					}
					cands = append(cands, datasets.CandidateResult{
						Arm: arm, RequestID: id, UserID: b.user, CG: cg, AdPinID: ad, Rank: int32(p),
						Score: float32(s.listLen - p), Stage: st, Slot: -1,
						Relevance: rel, OracleRelevance: float32(2*r.Float64() - 1),
					})
				}
			}
			reqs = append(reqs, datasets.RequestResult{
				Arm: arm, RequestID: id, UserID: b.user, Country: b.country, HistoryLength: b.hist,
				ContextStrength: b.ctx, FreshActivity: b.fresh, LoggedAds: b.logged,
				Impressions: int32(len(imp)), Clicks: int32(clicks), Conversions: int32(convs),
				Spend: float32(spend), Value: float32(value),
			})
		}
	}
	return reqs, cands
}
