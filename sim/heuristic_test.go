package sim

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// tinyWorld is a hand-built world for hand-worked CG cases:
//
//	ad0: cat0 0.9, adv0    ad1: cat0 0.5 + cat1 0.4, adv0    ad2: cat1 0.9, adv1
//	ad3: cat0 0.5, adv2    ad4: cat2 1.0, adv1
//
// User 0 converted on ad3 on days 1 and 2 and on ad2 on day 10; user 1 on
// ad2 on days 5 and 12 and on ad0 on day 13; user 2 never. The evaluation
// window starts on day 14, so the priors are ad2: 3, ad3: 2, ad0: 1.
func tinyWorld() *datasets.World {
	cs := func(kv ...float32) []datasets.CategoryScore {
		var out []datasets.CategoryScore
		for i := 0; i < len(kv); i += 2 {
			out = append(out, datasets.CategoryScore{Category: int32(kv[i]), Confidence: kv[i+1]})
		}
		return out
	}
	day := func(d int) int64 { return fxStart + int64(d)*datasets.SecondsPerDay }
	w := &datasets.World{
		Manifest:   datasets.Manifest{StartTime: fxStart, EvalStartDay: 14, EvalDays: 7},
		Categories: []datasets.Category{{ID: 0}, {ID: 1, Group: 0}, {ID: 2, Group: 1}},
		AdPins: []datasets.AdPin{
			{ID: 0, Advertiser: 0, Categories: cs(0, 0.9), Bid: 1, Quality: 1},
			{ID: 1, Advertiser: 0, Categories: cs(0, 0.5, 1, 0.4), Bid: 1, Quality: 1},
			{ID: 2, Advertiser: 1, Categories: cs(1, 0.9), Bid: 1, Quality: 1},
			{ID: 3, Advertiser: 2, Categories: cs(0, 0.5), Bid: 1, Quality: 1},
			{ID: 4, Advertiser: 1, Categories: cs(2, 1), Bid: 1, Quality: 1},
		},
		Users: []datasets.User{{ID: 0}, {ID: 1}, {ID: 2}},
		Events: []datasets.Event{
			{UserID: 0, AdPinID: 3, Timestamp: day(1)},
			{UserID: 0, AdPinID: 3, Timestamp: day(2)},
			{UserID: 0, AdPinID: 2, Timestamp: day(10)},
			{UserID: 1, AdPinID: 2, Timestamp: day(5)},
			{UserID: 1, AdPinID: 2, Timestamp: day(12)},
			{UserID: 1, AdPinID: 0, Timestamp: day(13)},
		},
		UserEvents: []int{0, 3, 6, 6},
	}
	return w
}

func ids(cs []Candidate) []int32 {
	out := make([]int32, len(cs))
	for i, c := range cs {
		out[i] = c.AdPin
	}
	return out
}

func TestHeuristicCGs(t *testing.T) {
	w := tinyWorld()
	day := func(d int) int64 { return fxStart + int64(d)*datasets.SecondsPerDay }
	subj := func(kv ...float32) *datasets.Request {
		r := &datasets.Request{UserID: 2}
		for i := 0; i < len(kv); i += 2 {
			r.SubjectCategories = append(r.SubjectCategories, datasets.CategoryScore{Category: int32(kv[i]), Confidence: kv[i+1]})
		}
		return r
	}
	user := func(u int32) *datasets.Request { return &datasets.Request{UserID: u} }
	// Recency weights at the day-14 cutoff, half-life 30 days.
	r := func(age int) float64 { return math.Exp2(-float64(age) / 30) }
	advW2, advW1 := r(13)+r(12), r(4) // advertiser 2 (ad3 twice), advertiser 1 (ad2)
	cat0, cat1 := 0.5*advW2, 0.9*advW1
	h0, h1 := cat0/(cat0+cat1), cat1/(cat0+cat1)
	cases := []struct {
		name       string
		g          Generator
		req        *datasets.Request
		cutoff     int64
		wantIDs    []int32
		wantScores []float64
	}{
		// 0.6*0.9, 0.6*0.5+0.4*0.4, 0.4*0.9, 0.6*0.5; ad4 shares nothing.
		{"content", NewContentCG(w, 10), subj(0, 0.6, 1, 0.4), day(14), []int32{0, 1, 2, 3}, []float64{0.54, 0.46, 0.36, 0.30}},
		{"content k", NewContentCG(w, 2), subj(0, 0.6, 1, 0.4), day(14), []int32{0, 1}, []float64{0.54, 0.46}},
		// ad1 and ad3 tie at 0.5: ad3 has the larger prior (2 vs 0).
		{"content tie by prior", NewContentCG(w, 10), subj(0, 1), day(14), []int32{0, 3, 1}, []float64{0.9, 0.5, 0.5}},
		{"content no subject", NewContentCG(w, 10), subj(), day(14), []int32{}, nil},
		// Conversions before day 14 in the 28-day window: ad2 3, ad3 2, ad0 1.
		{"popularity", NewPopularityCG(w, 10), user(2), day(14) + 500, []int32{2, 3, 0}, []float64{3, 2, 1}},
		{"popularity k", NewPopularityCG(w, 1), user(2), day(14), []int32{2}, []float64{3}},
		{"popularity early", NewPopularityCG(w, 10), user(2), day(3), []int32{3}, []float64{2}},
		// Window of 3 days before day 14 (days 11-13): ad2 and ad0 once each; ad2's prior is larger.
		{"popularity window", newPopularityCG(newCatalog(w), 10, 3), user(2), day(14), []int32{2, 0}, []float64{1, 1}},
		// Days 10..13: ad2 on days 10 and 12, ad0 on day 13.
		{"popularity window 4", newPopularityCG(newCatalog(w), 10, 4), user(2), day(14), []int32{2, 0}, []float64{2, 1}},
		{"popularity window 1", newPopularityCG(newCatalog(w), 10, 1), user(2), day(14), []int32{0}, []float64{1}},
		// Advertiser 2 (weight r(13)+r(12)) before advertiser 1 (r(4)); advertiser 1's ads by prior: ad2, ad4.
		{"retargeting", NewRetargetingCG(w, 10), user(0), day(14), []int32{3, 2, 4}, []float64{advW2, advW1, advW1}},
		{"retargeting k", NewRetargetingCG(w, 2), user(0), day(14), []int32{3, 2}, []float64{advW2, advW1}},
		{"retargeting cutoff", NewRetargetingCG(w, 10), user(0), day(2), []int32{3}, []float64{r(1)}},
		{"retargeting no history", NewRetargetingCG(w, 10), user(2), day(14), []int32{}, nil},
		// Profile cat1 h1, cat0 h0: ad2 0.9h1, ad1 0.5h0+0.4h1, ad0 0.9h0, ad3 0.5h0.
		{"history interest", NewHistoryInterestCG(w, 10), user(0), day(14), []int32{2, 1, 0, 3},
			[]float64{0.9 * h1, 0.5*h0 + 0.4*h1, 0.9 * h0, 0.5 * h0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := &Query{Request: tc.req, User: &w.Users[tc.req.UserID], Day: w.Day(tc.cutoff), Cutoff: tc.cutoff}
			got, err := tc.g.Retrieve(q, nil)
			if err != nil {
				t.Fatalf("%s.Retrieve error: %v", tc.g.Name(), err)
			}
			if !slices.Equal(ids(got), tc.wantIDs) {
				t.Fatalf("%s.Retrieve ids = %v, want %v (got %+v)", tc.g.Name(), ids(got), tc.wantIDs, got)
			}
			for i, c := range got {
				if math.Abs(float64(c.Score)-tc.wantScores[i]) > 1e-6 {
					t.Errorf("%s.Retrieve score %d = %g, want %g", tc.g.Name(), i, c.Score, tc.wantScores[i])
				}
			}
		})
	}
	t.Run("popularity outside the data", func(t *testing.T) {
		g := NewPopularityCG(w, 5)
		for _, ts := range []int64{day(-1), day(400)} {
			_, err := g.Retrieve(&Query{Request: user(0), Cutoff: ts}, nil)
			if err == nil || !strings.Contains(err.Error(), "outside the data") {
				t.Errorf("popularity Retrieve(day %d) error = %v, want outside the data", w.Day(ts), err)
			}
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		_, err := NewRetargetingCG(w, 5).Retrieve(&Query{Request: user(7), Cutoff: day(14)}, nil)
		if err == nil || !strings.Contains(err.Error(), "user 7") {
			t.Errorf("retargeting Retrieve(user 7) error = %v, want user 7 not found", err)
		}
	})
}

// TestContentCGBruteForce checks the threshold algorithm against scoring
// every ad Pin of a generated world.
func TestContentCGBruteForce(t *testing.T) {
	fx := newFixture(t, 3, 3000, 20, 200)
	c := newCatalog(fx.w)
	for _, k := range []int{1, 10, 200} {
		g := newContentCG(c, k)
		for i := range fx.w.Requests {
			req := &fx.w.Requests[i]
			got, err := g.Retrieve(&Query{Request: req, Cutoff: req.Timestamp}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var all []scored
			for a := range fx.w.AdPins {
				var s float64
				for _, sc := range req.SubjectCategories {
					for _, ac := range fx.w.AdPins[a].Categories {
						if sc.Category == ac.Category {
							s += float64(sc.Confidence) * float64(ac.Confidence)
						}
					}
				}
				if s > 0 {
					all = append(all, scored{score: float32(s), tie: c.prior[a], id: int32(a)})
				}
			}
			slices.SortFunc(all, func(a, b scored) int {
				if better(a, b) {
					return -1
				}
				if better(b, a) {
					return 1
				}
				return 0
			})
			want := all[:min(k, len(all))]
			if len(got) != len(want) {
				t.Fatalf("request %d k=%d: %d candidates, want %d", req.RequestID, k, len(got), len(want))
			}
			for j := range want {
				if got[j].Score != want[j].score || got[j].AdPin != want[j].id {
					t.Fatalf("request %d k=%d: candidate %d = %+v, want ad %d score %g", req.RequestID, k, j, got[j], want[j].id, want[j].score)
				}
			}
		}
	}
}
