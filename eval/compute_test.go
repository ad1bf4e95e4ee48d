package eval

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// handFixture is a two-request replay small enough to compute by hand (see
// TestComputeHand for the arithmetic).
func handFixture() ([]datasets.RequestResult, []datasets.CandidateResult) {
	reqs := []datasets.RequestResult{
		{Arm: "A", RequestID: 1, UserID: 1, Country: "US", HistoryLength: 0, ContextStrength: 0.5, FreshActivity: true,
			LoggedAds: []int32{10, 11}, Impressions: 2, Clicks: 1, Conversions: 1, Spend: 2, Value: 3},
		{Arm: "A", RequestID: 2, UserID: 2, Country: "FR", HistoryLength: 5, ContextStrength: 0,
			Impressions: 1},
	}
	c := func(req int64, user int32, cg string, ad, rank, stage int32, rel float32) datasets.CandidateResult {
		return datasets.CandidateResult{Arm: "A", RequestID: req, UserID: user, CG: cg, AdPinID: ad, Rank: rank,
			Stage: stage, Slot: -1, Relevance: rel, OracleRelevance: -rel}
	}
	cands := []datasets.CandidateResult{
		// Request 1, CG y first: the group's rows need not be sorted.
		c(1, 1, "y", 14, 0, 3, 0.6),
		c(1, 1, "y", 11, 1, 0, 0.1),
		c(1, 1, "x", 10, 0, 3, 0.8),
		c(1, 1, "x", 12, 1, 2, 0.4),
		c(1, 1, "x", 10, 2, 3, 0.8), // duplicate of rank 0: dropped
		c(1, 1, "x", 13, 3, 1, 0.2),
		// Request 2: a tie in rank, broken by ad id (20 before 21).
		c(2, 2, "x", 21, 0, 0, 0.0),
		c(2, 2, "x", 20, 0, 3, 1.0),
	}
	return reqs, cands
}

// TestComputeHand checks every metric against hand arithmetic.
//
// CG x lists (deduplicated, ties by id): request 1 [10 12 13], request 2
// [20 21]. CG y: request 1 [14 11], request 2 nothing. Logged positives:
// request 1 {10, 11}, request 2 none. Counterfactual positives (impressed):
// request 1 {10, 14}, request 2 {20}.
func TestComputeHand(t *testing.T) {
	dir := t.TempDir()
	reqs, cands := handFixture()
	writeResults(t, dir, reqs, cands, map[string]any{"data_hash": "abc", "seed": 7, "arms": []string{"A"}})
	f, err := Compute(context.Background(), []string{dir}, Options{Ks: []int{5, 1, 2}, BootstrapReps: 50, Seed: 1, Now: fixedNow, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	l3 := math.Log2(3)
	cases := []struct {
		cg, metric string
		want       float64
		n          int
	}{
		{"x", "recall@1/logged", 0.5, 1},
		{"x", "recall@2/logged", 0.5, 1},
		{"y", "recall@1/logged", 0, 1},
		{"y", "recall@2/logged", 0.5, 1},
		{"y", "recall@5/logged", 0.5, 1},
		{"x", "recall@1/counterfactual", 0.75, 2},
		{"y", "recall@1/counterfactual", 0.25, 2},
		{"y", "recall@5/counterfactual", 0.25, 2},
		{"x", "ndcg@1/logged", 1, 1},
		{"x", "ndcg@2/logged", 1 / (1 + 1/l3), 1},
		{"y", "ndcg@2/logged", (1 / l3) / (1 + 1/l3), 1},
		{"x", "ndcg@2/counterfactual", (1/(1+1/l3) + 1) / 2, 2},
		{"x", "hit@1/logged", 1, 1},
		{"y", "hit@1/logged", 0, 1},
		{"y", "hit@2/logged", 1, 1},
		{"y", "hit@1/counterfactual", 0.5, 2},
		{"x", "mrr/logged", 1, 1},
		{"y", "mrr/logged", 0.5, 1},
		{"y", "mrr/counterfactual", 0.5, 2},
		{"x", "survival/pre-ranked", 0.8, 5},
		{"x", "survival/ranked", 0.6, 5},
		{"x", "survival/impressed", 0.4, 5},
		{"y", "survival/pre-ranked", 0.5, 2},
		{"y", "survival/impressed", 0.5, 2},
		{"x", "impression_share", 2.0 / 3, 3},
		{"y", "impression_share", 1.0 / 3, 3},
		{"x", "candidates_per_request", 2.5, 2},
		{"y", "candidates_per_request", 1, 2},
		{"x", "median_relevance/retrieved", 0.4, 5}, // {0, .2, .4, .8, 1}
		{"y", "median_relevance/retrieved", 0.1, 2}, // lower median of {.1, .6}
		{"x", "oracle_median_relevance/retrieved", -0.4, 5},
		{"x", "mean_relevance/delivered", 0.9, 2},
		{"y", "mean_relevance/delivered", 0.6, 1},
		{"x", "oracle_mean_relevance/delivered", -0.9, 2},
		{"", "roas", 1.5, 2},
		{"", "roas/country=US", 1.5, 1},
		{"", "clicks_per_request", 0.5, 2},
		{"", "conversions_per_request", 0.5, 2},
		{"", "mean_relevance/delivered", 2.4 / 3, 3},
	}
	for _, tc := range cases {
		t.Run(tc.cg+"/"+tc.metric, func(t *testing.T) {
			g, ok := f.Lookup("A", tc.cg, tc.metric, "", "")
			if !ok {
				t.Fatalf("no figure %s for CG %q", tc.metric, tc.cg)
			}
			if math.Abs(g.Value-tc.want) > 1e-6 {
				t.Errorf("%s(%s) = %v, want %v", tc.metric, tc.cg, g.Value, tc.want)
			}
			if g.N != tc.n {
				t.Errorf("%s(%s).N = %d, want %d", tc.metric, tc.cg, g.N, tc.n)
			}
			if !strings.Contains(strings.Join(g.Warnings, "|"), "n < 30 requests") {
				t.Errorf("%s(%s) warnings %q lack the small-n warning", tc.metric, tc.cg, g.Warnings)
			}
		})
	}
	if _, ok := f.Lookup("A", "", "roas/country=FR", "", ""); ok {
		t.Errorf("roas/country=FR present, but FR has no spend")
	}
	for _, d := range f.Definitions {
		if d.Oracle != strings.HasPrefix(d.Name, "oracle_") {
			t.Errorf("definition %s: Oracle = %v", d.Name, d.Oracle)
		}
	}
	p := f.Provenance
	if p.DataHash != "abc" || p.Seeds["replay"] != 7 || p.Seeds["bootstrap"] != 1 || p.CreatedAt != "2026-11-27T12:00:00Z" {
		t.Errorf("provenance = %+v", p)
	}
	if p.DefinitionHash != DefinitionHash(Definitions()) || len(p.Ks) != 3 || p.Ks[0] != 1 {
		t.Errorf("provenance definitions/ks = %s %v", p.DefinitionHash, p.Ks)
	}
	if _, ok := p.Configs["replay"].(map[string]any); !ok {
		t.Errorf("Configs[replay] = %T, want the replay.json object", p.Configs["replay"])
	}
	var dist *Distribution
	for i := range f.Distributions {
		if d := &f.Distributions[i]; d.CG == "x" && d.Name == "relevance/retrieved" {
			dist = d
		}
	}
	if dist == nil {
		t.Fatal("no relevance/retrieved distribution for x")
	}
	// 0 -> bin 0, .2 -> 4, .4 -> 8 (float32 0.4 is just above), .8 -> 16, 1 -> 19.
	want := map[int]int64{0: 1, 4: 1, 8: 1, 16: 1, 19: 1}
	for i, c := range dist.Counts {
		if c != want[i] {
			t.Errorf("distribution bin %d = %d, want %d", i, c, want[i])
		}
	}
}

func TestComputeSegmentsSplitSums(t *testing.T) {
	dir := t.TempDir()
	s := synth{seed: 3, users: 60, requests: 400, arms: []string{"base", "ctx"}, cgs: []string{"c1", "c2"}, listLen: 12,
		quality: map[string]float64{"base": 0.2, "ctx": 0.6}}
	reqs, cands := s.generate()
	writeResults(t, dir, reqs, cands, nil)
	f, err := Compute(context.Background(), []string{dir}, Options{Ks: []int{1, 5, 10}, BootstrapReps: 40, Segments: segmentNames, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range segmentNames {
		for _, m := range []string{"recall@5/counterfactual", "mrr/logged", "survival/impressed", "impression_share", "candidates_per_request"} {
			for _, arm := range []string{"base", "ctx"} {
				whole, ok := f.Lookup(arm, "c1", m, "", "")
				if !ok {
					t.Fatalf("no whole figure %s", m)
				}
				var n int
				var weighted float64
				for _, v := range SegmentValues(seg) {
					g, ok := f.Lookup(arm, "c1", m, seg, v)
					if !ok {
						continue
					}
					n += g.N
					weighted += g.Value * float64(g.N)
				}
				if n != whole.N {
					t.Errorf("%s %s by %s: N sums to %d, want %d", arm, m, seg, n, whole.N)
				}
				// Every one of these is a ratio with den counted by N.
				if m != "candidates_per_request" && m != "impression_share" {
					if got := weighted / float64(n); math.Abs(got-whole.Value) > 1e-9 {
						t.Errorf("%s %s by %s: N-weighted mean of segments = %v, want %v", arm, m, seg, got, whole.Value)
					}
				}
			}
		}
	}
}

func TestComputeMatchesPureFunctions(t *testing.T) {
	dir := t.TempDir()
	s := synth{seed: 5, users: 30, requests: 120, arms: []string{"a"}, cgs: []string{"c"}, listLen: 15, quality: map[string]float64{"a": 0.5}}
	reqs, cands := s.generate()
	writeResults(t, dir, reqs, cands, nil)
	ks := []int{1, 3, 10, 40}
	f, err := Compute(context.Background(), []string{dir}, Options{Ks: ks, BootstrapReps: 20, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	// Independent recomputation with the exported functions.
	lists := map[int64][]int32{}
	imp := map[int64][]int32{}
	for _, c := range cands {
		lists[c.RequestID] = append(lists[c.RequestID], c.AdPinID) // written in rank order
		if c.Stage == datasets.StageImpressed {
			imp[c.RequestID] = append(imp[c.RequestID], c.AdPinID)
		}
	}
	for _, k := range ks {
		var rsum, nsum float64
		var n int
		for _, r := range reqs {
			hits, total := RecallAtK(lists[r.RequestID], imp[r.RequestID], k)
			if total == 0 {
				continue
			}
			v, _ := NDCGAtK(lists[r.RequestID], imp[r.RequestID], k)
			rsum += float64(hits) / float64(total)
			nsum += v
			n++
		}
		g, _ := f.Lookup("a", "c", "recall@"+strconv.Itoa(k)+"/counterfactual", "", "")
		if math.Abs(g.Value-rsum/float64(n)) > 1e-12 || g.N != n {
			t.Errorf("recall@%d = %v (n %d), want %v (n %d)", k, g.Value, g.N, rsum/float64(n), n)
		}
		g, _ = f.Lookup("a", "c", "ndcg@"+strconv.Itoa(k)+"/counterfactual", "", "")
		if math.Abs(g.Value-nsum/float64(n)) > 1e-12 {
			t.Errorf("ndcg@%d = %v, want %v", k, g.Value, nsum/float64(n))
		}
	}
}

func TestComputeDeterministic(t *testing.T) {
	dir := t.TempDir()
	s := synth{seed: 9, users: 50, requests: 200, arms: []string{"base", "ctx"}, cgs: []string{"c1"}, listLen: 10,
		quality: map[string]float64{"base": 0.3, "ctx": 0.5}}
	reqs, cands := s.generate()
	writeResults(t, dir, reqs, cands, map[string]any{"data_hash": "h"})
	run := func(seed uint64) []byte {
		f, err := Compute(context.Background(), []string{dir}, Options{Ks: []int{1, 5}, BootstrapReps: 100, Seed: seed, Segments: []string{SegmentCountryTier}, Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := run(1), run(1), run(2)
	if !bytes.Equal(a, b) {
		t.Errorf("same seed gave different JSON")
	}
	if bytes.Equal(a, c) {
		t.Errorf("seeds 1 and 2 gave identical JSON: the seed is not used")
	}
	// Round trip through WriteFile/ReadFile.
	path := filepath.Join(t.TempDir(), MetricsFile)
	f, err := Compute(context.Background(), []string{dir}, Options{Ks: []int{1, 5}, BootstrapReps: 100, Seed: 1, Segments: []string{SegmentCountryTier}, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	g, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Figures) != len(f.Figures) || g.Provenance.DefinitionHash != f.Provenance.DefinitionHash {
		t.Errorf("round trip lost figures: %d vs %d", len(g.Figures), len(f.Figures))
	}
}

func TestComputePairedComparison(t *testing.T) {
	dir := t.TempDir()
	s := synth{seed: 11, users: 120, requests: 600, arms: []string{"base", "ctx"}, cgs: []string{"c1", "c2"}, listLen: 20,
		quality: map[string]float64{"base": 0.1, "ctx": 0.8}}
	reqs, cands := s.generate()
	writeResults(t, dir, reqs, cands, nil)
	f, err := Compute(context.Background(), []string{dir}, Options{Ks: []int{3, 20}, BootstrapReps: 200, Seed: 4, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, c := range f.Comparisons {
		if c.Metric != "recall@3/counterfactual" || c.A.CG != "c1" || c.Segment != "" {
			continue
		}
		found = true
		a, _ := f.Lookup("base", "c1", c.Metric, "", "")
		b, _ := f.Lookup("ctx", "c1", c.Metric, "", "")
		if c.A.Arm != "base" || c.B.Arm != "ctx" {
			t.Errorf("comparison sides %v vs %v, want base vs ctx", c.A, c.B)
		}
		if math.Abs(c.Diff.Value-(b.Value-a.Value)) > 1e-12 {
			t.Errorf("diff = %v, want %v - %v", c.Diff.Value, b.Value, a.Value)
		}
		if !(c.Diff.Lo <= c.Diff.Value && c.Diff.Value <= c.Diff.Hi) || !(c.Diff.Lo > 0) {
			t.Errorf("diff interval [%v, %v] around %v: want it above 0", c.Diff.Lo, c.Diff.Hi, c.Diff.Value)
		}
		if !c.Significant || c.PAdjusted < c.PValue {
			t.Errorf("p = %v, adjusted %v, significant %v", c.PValue, c.PAdjusted, c.Significant)
		}
		// Pairing: the paired interval is narrower than the sum of the
		// two half widths (the arms share users).
		if c.Diff.Hi-c.Diff.Lo >= (a.Hi-a.Lo)+(b.Hi-b.Lo) {
			t.Errorf("paired width %v not below the unpaired %v", c.Diff.Hi-c.Diff.Lo, (a.Hi-a.Lo)+(b.Hi-b.Lo))
		}
	}
	if !found {
		t.Fatal("no default comparison base/c1 vs ctx/c1 for recall@3/counterfactual")
	}
	// Explicit CG-vs-CG comparison within an arm, and bad pairs.
	f2, err := Compute(context.Background(), []string{dir}, Options{Ks: []int{3}, BootstrapReps: 50, Now: fixedNow,
		Compare: []Pair{{A: Subject{"ctx", "c1"}, B: Subject{"ctx", "c2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range f2.Comparisons {
		if c.A != (Subject{"ctx", "c1"}) || c.B != (Subject{"ctx", "c2"}) {
			t.Fatalf("unexpected comparison %v vs %v", c.A, c.B)
		}
	}
	for _, bad := range [][]Pair{
		{{A: Subject{"nope", "c1"}, B: Subject{"ctx", "c1"}}},
		{{A: Subject{"ctx", "zz"}, B: Subject{"ctx", "c1"}}},
		{{A: Subject{"ctx", ""}, B: Subject{"ctx", "c1"}}},
	} {
		if _, err := Compute(context.Background(), []string{dir}, Options{Ks: []int{3}, BootstrapReps: 20, Compare: bad}); err == nil {
			t.Errorf("Compare %v: no error", bad)
		}
	}
}

func TestComputeMalformed(t *testing.T) {
	reqs, cands := handFixture()
	mod := func(f func(r []datasets.RequestResult, c []datasets.CandidateResult) ([]datasets.RequestResult, []datasets.CandidateResult)) func(t *testing.T) string {
		return func(t *testing.T) string {
			r := append([]datasets.RequestResult(nil), reqs...)
			c := append([]datasets.CandidateResult(nil), cands...)
			r, c = f(r, c)
			dir := t.TempDir()
			writeResults(t, dir, r, c, nil)
			return dir
		}
	}
	cases := []struct {
		name string
		dir  func(t *testing.T) string
		want string
	}{
		{"missing folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }, "no such file"},
		{"corrupt parquet", func(t *testing.T) string {
			dir := mod(func(r []datasets.RequestResult, c []datasets.CandidateResult) ([]datasets.RequestResult, []datasets.CandidateResult) {
				return r, c
			})(t)
			if err := os.WriteFile(filepath.Join(dir, datasets.ReplayCandidatesFile), []byte("not parquet at all"), 0o644); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "candidates.parquet"},
		{"unknown request", mod(func(r []datasets.RequestResult, c []datasets.CandidateResult) ([]datasets.RequestResult, []datasets.CandidateResult) {
			c[0].RequestID = 99
			return r, c
		}), "request 99"},
		{"user mismatch", mod(func(r []datasets.RequestResult, c []datasets.CandidateResult) ([]datasets.RequestResult, []datasets.CandidateResult) {
			c[1].UserID = 5
			return r, c
		}), "user_id"},
		{"bad stage", mod(func(r []datasets.RequestResult, c []datasets.CandidateResult) ([]datasets.RequestResult, []datasets.CandidateResult) {
			c[2].Stage = 7
			return r, c
		}), "column stage"},
		{"relevance out of range", mod(func(r []datasets.RequestResult, c []datasets.CandidateResult) ([]datasets.RequestResult, []datasets.CandidateResult) {
			c[2].Relevance = float32(math.NaN())
			return r, c
		}), "column relevance"},
		{"not contiguous", mod(func(r []datasets.RequestResult, c []datasets.CandidateResult) ([]datasets.RequestResult, []datasets.CandidateResult) {
			return r, append(c, c[0])
		}), "not contiguous"},
		{"duplicate request", mod(func(r []datasets.RequestResult, c []datasets.CandidateResult) ([]datasets.RequestResult, []datasets.CandidateResult) {
			return append(r, r[0]), c
		}), "appears twice"},
		{"negative spend", mod(func(r []datasets.RequestResult, c []datasets.CandidateResult) ([]datasets.RequestResult, []datasets.CandidateResult) {
			r[0].Spend = -1
			return r, c
		}), "spend"},
		{"no requests", mod(func(r []datasets.RequestResult, c []datasets.CandidateResult) ([]datasets.RequestResult, []datasets.CandidateResult) {
			return nil, nil
		}), "no requests"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compute(context.Background(), []string{tc.dir(t)}, Options{BootstrapReps: 20})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compute error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("arm in two folders", func(t *testing.T) {
		d1, d2 := t.TempDir(), t.TempDir()
		writeResults(t, d1, reqs, cands, nil)
		writeResults(t, d2, reqs, cands, nil)
		_, err := Compute(context.Background(), []string{d1, d2}, Options{BootstrapReps: 20})
		if err == nil || !strings.Contains(err.Error(), "unique") {
			t.Errorf("Compute error = %v, want arm names must be unique", err)
		}
	})
	t.Run("different data", func(t *testing.T) {
		d1, d2 := t.TempDir(), t.TempDir()
		writeResults(t, d1, reqs, cands, map[string]any{"data_hash": "h1"})
		r2 := append([]datasets.RequestResult(nil), reqs...)
		c2 := append([]datasets.CandidateResult(nil), cands...)
		for i := range r2 {
			r2[i].Arm = "B"
		}
		for i := range c2 {
			c2[i].Arm = "B"
		}
		writeResults(t, d2, r2, c2, map[string]any{"data_hash": "h2"})
		_, err := Compute(context.Background(), []string{d1, d2}, Options{BootstrapReps: 20})
		if err == nil || !strings.Contains(err.Error(), "different data") {
			t.Errorf("Compute error = %v, want different data", err)
		}
	})
	t.Run("bad options", func(t *testing.T) {
		for _, o := range []Options{{Ks: []int{0}}, {Confidence: 1.5}, {BootstrapReps: 3}, {Segments: []string{"age"}}} {
			if _, err := Compute(context.Background(), []string{"x"}, o); err == nil {
				t.Errorf("options %+v: no error", o)
			}
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		dir := t.TempDir()
		writeResults(t, dir, reqs, cands, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Compute(ctx, []string{dir}, Options{BootstrapReps: 20}); err == nil {
			t.Errorf("cancelled Compute: no error")
		}
	})
}
