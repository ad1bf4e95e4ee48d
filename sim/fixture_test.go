package sim

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// Fixture sizes and calendar of the test worlds.
const (
	fxStart     = int64(1_700_006_400) // a midnight, UTC
	fxEvalStart = 14
	fxEvalDays  = 7
	fxDim       = 8
	fxCats      = 40
	fxGroups    = 8
)

// fixture is a small seeded synthetic world with its truth, built in memory
// so that sim's tests do not depend on the datasets generator.
type fixture struct {
	w     *datasets.World
	truth *datasets.Truth
}

func unit(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := float32(math.Sqrt(s))
	for i := range v {
		v[i] /= n
	}
	return v
}

func noisy(rng *rand.Rand, base []float32, sigma float64) []float32 {
	v := make([]float32, len(base))
	for i := range v {
		v[i] = base[i] + float32(sigma*rng.NormFloat64())
	}
	return unit(v)
}

// pinCategories draws 1..3 categories around cat (others from its group)
// with confidences sorted descending, summing to at most 1.
func pinCategories(rng *rand.Rand, cat int32) []datasets.CategoryScore {
	n := 1 + rng.IntN(3)
	group := cat / (fxCats / fxGroups)
	out := []datasets.CategoryScore{{Category: cat}}
	for len(out) < n {
		c := group*(fxCats/fxGroups) + int32(rng.IntN(fxCats/fxGroups))
		if !slices.ContainsFunc(out, func(x datasets.CategoryScore) bool { return x.Category == c }) {
			out = append(out, datasets.CategoryScore{Category: c})
		}
	}
	w := make([]float64, n)
	var s float64
	for i := range w {
		w[i] = 0.2 + rng.Float64()
		s += w[i]
	}
	for i := range out {
		out[i].Confidence = float32(0.95 * w[i] / s)
	}
	slices.SortFunc(out, func(a, b datasets.CategoryScore) int { return cmp.Compare(b.Confidence, a.Confidence) })
	return out
}

func newFixture(tb testing.TB, seed uint64, nAds, nUsers, nReq int) *fixture {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	w := &datasets.World{Manifest: datasets.Manifest{
		SchemaVersion: datasets.SchemaVersion, Kind: "test", Seed: seed, StartTime: fxStart,
		EvalStartDay: fxEvalStart, EvalDays: fxEvalDays, LatentDim: fxDim, Hash: "fixture-hash",
	}}
	resp := datasets.DefaultResponse()
	w.Manifest.Response = &resp
	truth := &datasets.Truth{}
	groupCenter := make([][]float32, fxGroups)
	for g := range groupCenter {
		groupCenter[g] = noisy(rng, make([]float32, fxDim), 1)
	}
	for c := range fxCats {
		g := c / (fxCats / fxGroups)
		w.Categories = append(w.Categories, datasets.Category{ID: int32(c), Group: int32(g), Name: "c"})
		truth.Categories = append(truth.Categories, datasets.TruthCategory{CategoryID: int32(c), Latent: noisy(rng, groupCenter[g], 0.3)})
	}
	latentOf := func(cs []datasets.CategoryScore, sigma float64) []float32 {
		v := make([]float32, fxDim)
		for _, c := range cs {
			for i, x := range truth.Categories[c.Category].Latent {
				v[i] += c.Confidence * x
			}
		}
		return noisy(rng, unit(v), sigma)
	}
	adsByCat := make([][]int32, fxCats)
	for a := range nAds {
		cs := pinCategories(rng, int32(rng.IntN(fxCats)))
		w.AdPins = append(w.AdPins, datasets.AdPin{
			ID: int32(a), Advertiser: int32(rng.IntN(nAds/4 + 1)), Categories: cs,
			Bid:             float32(math.Exp(0.5 * rng.NormFloat64())),
			Quality:         float32(0.2 + 0.8*rng.Float64()),
			ConversionValue: float32(10 + 90*rng.Float64()),
		})
		truth.AdPins = append(truth.AdPins, datasets.TruthAdPin{AdPinID: int32(a), Latent: latentOf(cs, 0.2),
			Popularity: float32(1 / (0.01 + rng.Float64()))})
		adsByCat[cs[0].Category] = append(adsByCat[cs[0].Category], int32(a))
	}
	for p := range 4 * fxCats {
		w.OrganicPins = append(w.OrganicPins, datasets.OrganicPin{ID: int32(p), Categories: pinCategories(rng, int32(p%fxCats))})
	}
	countries := []string{"US", "GB", "DE", "FR", "BR"}
	home := make([]int32, nUsers)
	days := fxEvalStart + fxEvalDays
	for u := range nUsers {
		home[u] = int32(rng.IntN(fxCats))
		w.Users = append(w.Users, datasets.User{ID: int32(u), AgeBucket: int32(rng.IntN(datasets.NumAgeBuckets)),
			Country: countries[rng.IntN(len(countries))], Gender: int32(rng.IntN(datasets.NumGenders))})
		truth.Users = append(truth.Users, datasets.TruthUser{UserID: int32(u),
			Interest: noisy(rng, truth.Categories[home[u]].Latent, 0.3), Activity: 1})
		w.UserEvents = append(w.UserEvents, len(w.Events))
		n := rng.IntN(25)
		var evs []datasets.Event
		for range n {
			cat := home[u]
			if rng.IntN(3) == 0 {
				cat = int32(rng.IntN(fxCats))
			}
			if len(adsByCat[cat]) == 0 {
				continue
			}
			evs = append(evs, datasets.Event{UserID: int32(u), AdPinID: adsByCat[cat][rng.IntN(len(adsByCat[cat]))],
				Type: int32(rng.IntN(datasets.NumEventTypes)), Timestamp: fxStart + rng.Int64N(int64(days)*datasets.SecondsPerDay)})
		}
		slices.SortFunc(evs, func(a, b datasets.Event) int {
			if c := cmp.Compare(a.Timestamp, b.Timestamp); c != 0 {
				return c
			}
			return cmp.Compare(a.AdPinID, b.AdPinID)
		})
		w.Events = append(w.Events, evs...)
	}
	w.UserEvents = append(w.UserEvents, len(w.Events))
	type pair struct {
		r datasets.Request
		t datasets.TruthRequest
	}
	var reqs []pair
	ids := rng.Perm(10 * nReq)
	for i := range nReq {
		u := int32(rng.IntN(nUsers))
		kind, cat := datasets.IntentLongTerm, home[u]
		if rng.IntN(2) == 0 {
			kind, cat = datasets.IntentExploration, int32(rng.IntN(fxCats))
		}
		pin := int32(int(cat) + fxCats*rng.IntN(4))
		var subj []datasets.CategoryScore
		if rng.IntN(10) != 0 { // some requests log no subject categories
			subj = w.OrganicPins[pin].Categories
		}
		id := int64(ids[i]) + 1
		reqs = append(reqs, pair{
			r: datasets.Request{RequestID: id, UserID: u,
				Timestamp: fxStart + int64(fxEvalStart)*datasets.SecondsPerDay + rng.Int64N(fxEvalDays*datasets.SecondsPerDay),
				Surface:   datasets.SurfaceRelatedPins, SubjectPinID: pin, SubjectCategories: subj},
			t: datasets.TruthRequest{RequestID: id, IntentKind: kind, IntentCategory: cat,
				Intent: noisy(rng, truth.Categories[cat].Latent, 0.3)},
		})
	}
	slices.SortFunc(reqs, func(a, b pair) int {
		if c := cmp.Compare(a.r.Timestamp, b.r.Timestamp); c != 0 {
			return c
		}
		return cmp.Compare(a.r.RequestID, b.r.RequestID)
	})
	for _, p := range reqs {
		w.Requests = append(w.Requests, p.r)
		truth.Requests = append(truth.Requests, p.t)
	}
	return &fixture{w: w, truth: truth}
}

// fixedCG returns the same list for every request.
type fixedCG struct {
	name string
	list []Candidate
}

func (g *fixedCG) Name() string { return g.name }
func (g *fixedCG) Retrieve(_ *Query, dst []Candidate) ([]Candidate, error) {
	return append(dst, g.list...), nil
}

func cands(ads ...int32) []Candidate {
	out := make([]Candidate, len(ads))
	for i, a := range ads {
		out[i] = Candidate{AdPin: a, Score: float32(len(ads) - i)}
	}
	return out
}

func heuristicMix(tb testing.TB, w *datasets.World) []Generator {
	tb.Helper()
	gs, err := BuildGenerators(w, DefaultProductionMix(), nil)
	if err != nil {
		tb.Fatalf("BuildGenerators(DefaultProductionMix()) error: %v", err)
	}
	return gs
}
