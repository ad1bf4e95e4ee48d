package sim

import (
	"math"
	"slices"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// runRequests runs requests [lo, hi) of fx through arms on one worker.
func runRequests(t *testing.T, fx *fixture, arms []Arm, f FunnelConfig, lo, hi int) (*chunkOut, *worker) {
	t.Helper()
	e, err := newEngine(fx.w, fx.truth, arms, f, StalenessRealtime, 42, nil)
	if err != nil {
		t.Fatalf("newEngine error: %v", err)
	}
	e.outCand, e.outReq, e.outImp = true, true, true
	wk := e.newWorker()
	rows := make([]int64, hi-lo)
	for i := range rows {
		rows[i] = int64(lo + i)
	}
	out, err := wk.process(&chunk{reqs: fx.w.Requests[lo:hi], truths: fx.truth.Requests[lo:hi], rows: rows})
	if err != nil {
		t.Fatalf("process error: %v", err)
	}
	return out, wk
}

// openFunnel keeps every candidate up to the auction and fills every slot.
func openFunnel(slots int) FunnelConfig {
	f := DefaultFunnelConfig()
	f.PreRankSize, f.RankSize, f.Slots = 1000, 1000, slots
	f.RelevanceThreshold, f.ReservePrice = 0, 0
	f.PositionEffect = make([]float64, slots)
	for i := range slots {
		f.PositionEffect[i] = 1 / float64(i+1)
	}
	return f
}

func TestAttribution(t *testing.T) {
	fx := newFixture(t, 11, 50, 10, 5)
	arms := []Arm{{Name: "mix", CGs: []Generator{
		&fixedCG{name: "b", list: cands(3, 4, 5, 6)},
		&fixedCG{name: "a", list: cands(1, 2, 3, 4)},
	}}}
	out, _ := runRequests(t, fx, arms, openFunnel(6), 0, 1)
	if len(out.cands) != 8 {
		t.Fatalf("%d candidate rows, want 8 (4 per CG)", len(out.cands))
	}
	byAd := map[int32][]datasets.CandidateResult{}
	for _, c := range out.cands {
		if c.Stage != datasets.StageImpressed {
			t.Errorf("ad %d from %s: stage %d, want impressed in an open funnel", c.AdPinID, c.CG, c.Stage)
		}
		byAd[c.AdPinID] = append(byAd[c.AdPinID], c)
	}
	for _, ad := range []int32{3, 4} {
		rows := byAd[ad]
		if len(rows) != 2 || rows[0].CG != "b" || rows[1].CG != "a" {
			t.Fatalf("ad %d rows = %+v, want one for b then one for a", ad, rows)
		}
		x, y := rows[0], rows[1]
		if x.Slot != y.Slot || x.Price != y.Price || x.Click != y.Click || x.Conversion != y.Conversion || x.Relevance != y.Relevance {
			t.Errorf("ad %d: outcome differs between CGs: %+v vs %+v", ad, x, y)
		}
		if x.Rank == y.Rank {
			t.Errorf("ad %d: ranks %d and %d, want its position in each CG's list (0 in b, 2 in a)", ad, x.Rank, y.Rank)
		}
	}
	st := out.stats[0]
	if st.unique != [datasets.NumStages]int64{6, 6, 6, 6} {
		t.Errorf("unique stage counts = %v, want [6 6 6 6]", st.unique)
	}
	for ci, want := range []cgStats{{stages: [4]int64{4, 4, 4, 4}, sole: 2}, {stages: [4]int64{4, 4, 4, 4}, sole: 2}} {
		if st.cgs[ci] != want {
			t.Errorf("cg %s stats = %+v, want %+v", arms[0].CGs[ci].Name(), st.cgs[ci], want)
		}
	}
	for _, imp := range out.imps {
		want := []string{"a"}
		switch imp.AdPinID {
		case 3, 4:
			want = []string{"a", "b"}
		case 5, 6:
			want = []string{"b"}
		}
		if !slices.Equal(imp.SourceCGs, want) {
			t.Errorf("impression of ad %d: SourceCGs = %v, want %v", imp.AdPinID, imp.SourceCGs, want)
		}
	}
}

func TestTruncation(t *testing.T) {
	fx := newFixture(t, 12, 100, 10, 5)
	var all []int32
	for a := range int32(40) {
		all = append(all, a)
	}
	cases := []struct {
		name                string
		pre, rank, slots    int
		wantPre, wantRanked int
	}{
		{"all stages truncate", 10, 5, 3, 10, 5},
		{"pre-rank keeps all", 50, 20, 4, 40, 20},
		{"rank equals slots", 8, 2, 2, 8, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := openFunnel(tc.slots)
			f.PreRankSize, f.RankSize = tc.pre, tc.rank
			out, wk := runRequests(t, fx, []Arm{{Name: "m", CGs: []Generator{&fixedCG{name: "x", list: cands(all...)}}}}, f, 0, 1)
			st := out.stats[0]
			want := [datasets.NumStages]int64{40, int64(tc.wantPre), int64(tc.wantRanked), int64(tc.slots)}
			if st.unique != want {
				t.Fatalf("stage counts = %v, want %v", st.unique, want)
			}
			// Every kept candidate outscores every dropped one at its stage.
			minKept, maxDropped := map[int32]float64{}, map[int32]float64{}
			for s := range int32(3) {
				minKept[s], maxDropped[s] = math.Inf(1), math.Inf(-1)
			}
			for _, m := range wk.merged {
				x := wk.infos[m.info]
				for s, score := range []float64{x.pre, x.rank, x.pctr * float64(fx.w.AdPins[x.ad].Bid*fx.w.AdPins[x.ad].Quality)} {
					if m.stage < int32(s) {
						continue // never competed at this stage
					}
					if m.stage > int32(s) {
						minKept[int32(s)] = min(minKept[int32(s)], score)
					} else {
						maxDropped[int32(s)] = max(maxDropped[int32(s)], score)
					}
				}
			}
			for s := range int32(3) {
				if maxDropped[s] > minKept[s] {
					t.Errorf("stage %s: a dropped candidate scored %g above a kept one %g", datasets.StageNames[s], maxDropped[s], minKept[s])
				}
			}
		})
	}
}

func TestRelevanceFilter(t *testing.T) {
	fx := newFixture(t, 13, 300, 20, 60)
	var all []int32
	for a := range int32(300) {
		all = append(all, a)
	}
	f := openFunnel(4)
	f.RelevanceThreshold = 0.3
	arms := []Arm{{Name: "m", CGs: []Generator{&fixedCG{name: "x", list: cands(all...)}}}}
	out, _ := runRequests(t, fx, arms, f, 0, len(fx.w.Requests))
	subject := map[int64][]datasets.CategoryScore{}
	for _, r := range fx.w.Requests {
		subject[r.RequestID] = r.SubjectCategories
	}
	var filtered, passed, unfiltered int
	for _, c := range out.cands {
		subj := subject[c.RequestID]
		rel := datasets.CategoryRelevance(subj, fx.w.AdPins[c.AdPinID].Categories)
		if len(subj) > 0 && math.Abs(float64(c.Relevance)-rel) > 1e-6 {
			t.Fatalf("request %d ad %d: Relevance = %g, want %g", c.RequestID, c.AdPinID, c.Relevance, rel)
		}
		switch {
		case len(subj) == 0:
			unfiltered++
			if c.Stage < datasets.StageRanked {
				t.Fatalf("request %d without subject categories: ad %d stopped at %s, want the filter skipped", c.RequestID, c.AdPinID, datasets.StageNames[c.Stage])
			}
		case rel < f.RelevanceThreshold:
			filtered++
			if c.Stage != datasets.StagePreRanked {
				t.Fatalf("request %d ad %d relevance %.3f < %.2f reached %s, want filtered after pre-ranking", c.RequestID, c.AdPinID, rel, f.RelevanceThreshold, datasets.StageNames[c.Stage])
			}
		default:
			passed++
			if c.Stage < datasets.StageRanked {
				t.Fatalf("request %d ad %d relevance %.3f >= %.2f stopped at %s, want ranked", c.RequestID, c.AdPinID, rel, f.RelevanceThreshold, datasets.StageNames[c.Stage])
			}
		}
	}
	if filtered == 0 || passed == 0 || unfiltered == 0 {
		t.Fatalf("fixture exercises too little: %d filtered, %d passed, %d without subject", filtered, passed, unfiltered)
	}
}

// TestResponses checks that clicks and conversions follow the true
// probabilities times the position effect, by z-tests over many requests.
func TestResponses(t *testing.T) {
	fx := newFixture(t, 14, 40, 200, 20000)
	f := openFunnel(4)
	f.PositionEffect = []float64{1, 0.7, 0.5, 0.4}
	arms := []Arm{{Name: "m", CGs: []Generator{&fixedCG{name: "x", list: cands(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)}}}}
	out, _ := runRequests(t, fx, arms, f, 0, len(fx.w.Requests))
	intent := map[int64][]float32{}
	user := map[int64]int32{}
	for i, r := range fx.w.Requests {
		intent[r.RequestID] = fx.truth.Requests[i].Intent
		user[r.RequestID] = r.UserID
	}
	resp := *fx.w.Manifest.Response
	var clicks, expClicks, varClicks [4]float64
	var convs, expConvs, varConvs float64
	for _, imp := range out.imps {
		ad := fx.w.AdPins[imp.AdPinID]
		pc, pv := resp.Probabilities(intent[imp.RequestID], fx.truth.Users[user[imp.RequestID]].Interest, fx.truth.AdPins[imp.AdPinID].Latent, ad.Quality)
		p := pc * f.PositionEffect[imp.Slot]
		expClicks[imp.Slot] += p
		varClicks[imp.Slot] += p * (1 - p)
		if imp.Click {
			clicks[imp.Slot]++
			expConvs += pv
			varConvs += pv * (1 - pv)
			if imp.Conversion {
				convs++
			}
		} else if imp.Conversion {
			t.Fatalf("impression %+v converted without a click", imp)
		}
		if imp.Conversion != (imp.Value > 0) || (imp.Conversion && imp.Value != ad.ConversionValue) {
			t.Fatalf("impression %+v: value %g, want the ad's conversion value %g exactly on conversion", imp, imp.Value, ad.ConversionValue)
		}
	}
	for s := range 4 {
		z := (clicks[s] - expClicks[s]) / math.Sqrt(varClicks[s])
		t.Logf("slot %d: %g clicks, %.1f expected, z = %.2f", s, clicks[s], expClicks[s], z)
		if math.Abs(z) > 4 || expClicks[s] < 100 {
			t.Errorf("slot %d: %g clicks, want %.1f ± 4 sd (%.1f)", s, clicks[s], expClicks[s], math.Sqrt(varClicks[s]))
		}
	}
	z := (convs - expConvs) / math.Sqrt(varConvs)
	t.Logf("%g conversions, %.1f expected, z = %.2f", convs, expConvs, z)
	if math.Abs(z) > 4 || expConvs < 50 {
		t.Errorf("%g conversions, want %.1f ± 4 sd (%.1f)", convs, expConvs, math.Sqrt(varConvs))
	}
}

// TestCommonRandomNumbers checks that two arms showing the same ads get the
// same estimates and responses, and that the noise is per request.
func TestCommonRandomNumbers(t *testing.T) {
	fx := newFixture(t, 15, 200, 50, 50)
	mix := heuristicMix(t, fx.w)
	out, _ := runRequests(t, fx, []Arm{{Name: "a", CGs: mix}, {Name: "b", CGs: mix}}, DefaultFunnelConfig(), 0, 50)
	var a, b []datasets.CandidateResult
	for _, c := range out.cands {
		if c.Arm == "a" {
			a = append(a, c)
		} else {
			c.Arm = "a"
			b = append(b, c)
		}
	}
	if len(a) == 0 || !slices.Equal(a, b) {
		t.Fatalf("identical arms gave different rows (%d vs %d)", len(a), len(b))
	}
	if out.stats[0].impressions == 0 {
		t.Fatal("no impressions in 50 requests")
	}
}
