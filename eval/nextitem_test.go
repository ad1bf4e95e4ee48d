package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// worldOf builds an in-memory World from per-user events, already in the
// events table's order.
func worldOf(nItems int, events [][]datasets.Event) *datasets.World {
	w := &datasets.World{AdPins: make([]datasets.AdPin, nItems), UserEvents: []int{0}}
	for u, evs := range events {
		w.Users = append(w.Users, datasets.User{ID: int32(u)})
		for _, e := range evs {
			e.UserID = int32(u)
			w.Events = append(w.Events, e)
		}
		w.UserEvents = append(w.UserEvents, len(w.Events))
	}
	return w
}

func TestLeaveLastOut(t *testing.T) {
	ev := func(item int32, ts int64) datasets.Event { return datasets.Event{AdPinID: item, Timestamp: ts} }
	w := worldOf(10, [][]datasets.Event{
		{ev(5, 10), ev(2, 20), ev(7, 20), ev(1, 30)}, // a tie inside the training part
		{ev(3, 5), ev(4, 9), ev(9, 9)},               // a tie between validation and test
		{ev(6, 1), ev(8, 2)},                         // too short
		{},                                           // no events
	})
	got := LeaveLastOut(w)
	want := []Split{
		{User: 0, Train: []int32{5, 2}, Valid: 7, Test: 1},
		{User: 1, Train: []int32{3}, Valid: 4, Test: 9},
		{User: 2, Train: []int32{6, 8}, Valid: NoItem, Test: NoItem},
		{User: 3, Train: []int32{}, Valid: NoItem, Test: NoItem},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("LeaveLastOut = %+v, want %+v", got, want)
	}
	tests := []struct {
		name       string
		s          Split
		h          Holdout
		target     int32
		history    []int32
		lastViewed int32
	}{
		{"valid", got[0], HoldoutValid, 7, []int32{5, 2}, 2},
		{"test", got[0], HoldoutTest, 1, []int32{5, 2, 7}, 7},
		{"test, short training part", got[1], HoldoutTest, 9, []int32{3, 4}, 4},
		{"too short", got[2], HoldoutTest, NoItem, []int32{6, 8}, 8},
		{"empty", got[3], HoldoutValid, NoItem, []int32{}, NoItem},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if g := tc.s.Target(tc.h); g != tc.target {
				t.Errorf("Target(%s) = %d, want %d", tc.h, g, tc.target)
			}
			if g := tc.s.History(tc.h); !slices.Equal(g, tc.history) {
				t.Errorf("History(%s) = %v, want %v", tc.h, g, tc.history)
			}
			if g := tc.s.LastViewed(tc.h); g != tc.lastViewed {
				t.Errorf("LastViewed(%s) = %d, want %d", tc.h, g, tc.lastViewed)
			}
		})
	}
	// History(test) must not write into the shared backing array.
	_ = got[0].History(HoldoutTest)
	if got[1].Train[0] != 3 {
		t.Errorf("History(test) of user 0 overwrote user 1's items: %v", got[1].Train)
	}
}

func TestParseProtocol(t *testing.T) {
	tests := []struct {
		in      string
		want    Protocol
		wantErr bool
	}{
		{in: "full", want: Protocol{Name: "full"}},
		{in: "full-masked", want: Protocol{Name: "full-masked", Masked: true}},
		{in: "sampled-100", want: Protocol{Name: "sampled-100", Masked: true, Negatives: 100}},
		{in: "sampled-5-unmasked", want: Protocol{Name: "sampled-5-unmasked", Negatives: 5}},
		{in: "sampled-0", wantErr: true},
		{in: "sampled-007", wantErr: true},
		{in: "sampled-x", wantErr: true},
		{in: "sampled--1", wantErr: true},
		{in: "full-unmasked", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseProtocol(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseProtocol(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ParseProtocol(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
	for _, s := range []string{"valid", "test"} {
		if h, err := ParseHoldout(s); err != nil || h.String() != s {
			t.Errorf("ParseHoldout(%q) = %v, %v", s, h, err)
		}
	}
	if _, err := ParseHoldout("train"); err == nil {
		t.Errorf("ParseHoldout(train): no error")
	}
}

// fixedScorer scores item i with s[i] for every user.
func fixedScorer(s []float32) Scorer { return PopularityScorer(s) }

func TestEvaluateNextItemHand(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(-1))
	// Item:            0    1    2    3    4    5
	base := []float32{0.9, 0.8, 0.5, 0.5, 0.7, 0.1}
	s := Split{User: 0, Train: []int32{0, 1}, Valid: 2, Test: 3}
	repeat := Split{User: 0, Train: []int32{3, 0}, Valid: 1, Test: 3} // the target was seen before
	tests := []struct {
		name     string
		split    Split
		h        Holdout
		protocol string
		negs     []int32
		scores   []float32
		rank     int
		errLike  string
	}{
		// Target 3 (0.5): 0, 1, 4 score higher, 2 ties -> 3 + 1.
		{name: "full, tie counted against the target", split: s, h: HoldoutTest, protocol: "full", scores: base, rank: 4},
		// History {0, 1, 2} masked: only 4 is higher.
		{name: "full-masked test", split: s, h: HoldoutTest, protocol: "full-masked", scores: base, rank: 1},
		// Target 2 (0.5): 0, 1, 4 higher, 3 ties.
		{name: "full valid", split: s, h: HoldoutValid, protocol: "full", scores: base, rank: 4},
		// History {0, 1} masked: 4 higher, 3 ties.
		{name: "full-masked valid keeps the test item", split: s, h: HoldoutValid, protocol: "full-masked", scores: base, rank: 2},
		// History {3, 0, 1}: 0 and 1 masked, the target 3 is not; 4 higher, 2 ties.
		{name: "full-masked never masks the target", split: repeat, h: HoldoutTest, protocol: "full-masked", scores: base, rank: 2},
		{name: "all scores equal", split: s, h: HoldoutTest, protocol: "full", scores: []float32{1, 1, 1, 1, 1, 1}, rank: 5},
		{name: "all scores equal, masked", split: s, h: HoldoutTest, protocol: "full-masked", scores: []float32{1, 1, 1, 1, 1, 1}, rank: 2},
		{name: "-Inf excludes an item", split: s, h: HoldoutTest, protocol: "full", scores: []float32{inf, inf, 0.5, 0.5, inf, inf}, rank: 1},
		// Negatives 2 (tie), 4 (higher), 5 (lower).
		{name: "sampled", split: s, h: HoldoutTest, protocol: "sampled-3-unmasked", negs: []int32{2, 4, 5}, scores: base, rank: 2},
		{name: "sampled masked", split: s, h: HoldoutValid, protocol: "sampled-2", negs: []int32{4, 5}, scores: base, rank: 1},
		{name: "sampled masked, negative in history", split: s, h: HoldoutTest, protocol: "sampled-2", negs: []int32{0, 5}, scores: base, errLike: "negative 0 is in the history"},
		{name: "negative equal to the target", split: s, h: HoldoutTest, protocol: "sampled-2-unmasked", negs: []int32{3, 5}, scores: base, errLike: "target 3 is among the negatives"},
		{name: "NaN target", split: s, h: HoldoutTest, protocol: "full", scores: []float32{0, 0, 0, nan, 0, 0}, errLike: "score of target 3 is NaN"},
		{name: "NaN other", split: s, h: HoldoutTest, protocol: "full", scores: []float32{0, 0, 0, 1, nan, 0}, errLike: "score of item 4 is NaN"},
		{name: "NaN masked item is ignored", split: s, h: HoldoutTest, protocol: "full-masked", scores: []float32{nan, 0, 0, 1, 0, 0}, rank: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseProtocol(tc.protocol)
			if err != nil {
				t.Fatal(err)
			}
			ks := []int{1, 2, 5}
			m, err := EvaluateNextItem(context.Background(), []Split{tc.split}, fixedScorer(tc.scores),
				NextItemConfig{Holdout: tc.h, NItems: 6, Protocol: p, Negatives: [][]int32{tc.negs}, Ks: ks})
			if tc.errLike != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errLike) {
					t.Fatalf("EvaluateNextItem error = %v, want one containing %q", err, tc.errLike)
				}
				return
			}
			if err != nil {
				t.Fatalf("EvaluateNextItem: %v", err)
			}
			if m.N != 1 || len(m.Ranks) != 1 || m.Ranks[0] != tc.rank {
				t.Fatalf("N = %d, ranks = %v, want 1, [%d]", m.N, m.Ranks, tc.rank)
			}
			for _, k := range ks {
				hr, ndcg := 0.0, 0.0
				if tc.rank < k {
					hr, ndcg = 1, 1/math.Log2(float64(tc.rank)+2)
				}
				if m.HR[k] != hr || m.Recall[k] != hr || math.Abs(m.NDCG[k]-ndcg) > 1e-12 {
					t.Errorf("HR, Recall, NDCG @%d = %v, %v, %v, want %v, %v, %v", k, m.HR[k], m.Recall[k], m.NDCG[k], hr, hr, ndcg)
				}
			}
			if want := 1 / float64(tc.rank+1); math.Abs(m.MRR-want) > 1e-12 {
				t.Errorf("MRR = %v, want %v", m.MRR, want)
			}
		})
	}
}

func TestEvaluateNextItemAverages(t *testing.T) {
	// Scores by item id descending: rank = number of candidates with a
	// larger id.
	scores := []float32{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}
	splits := []Split{
		{User: 0, Train: []int32{5}, Valid: 1, Test: 0}, // test rank 0
		{User: 1, Train: []int32{4}, Valid: NoItem, Test: NoItem},
		{User: 2, Train: []int32{0, 1}, Valid: 2, Test: 3}, // test rank 3 (full), 0 (masked: 0, 1, 2 masked)
	}
	tests := []struct {
		protocol string
		ranks    []int
	}{
		{"full", []int{0, 3}},
		{"full-masked", []int{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.protocol, func(t *testing.T) {
			p, _ := ParseProtocol(tc.protocol)
			m, err := EvaluateNextItem(context.Background(), splits, fixedScorer(scores), NextItemConfig{Holdout: HoldoutTest, NItems: 10, Protocol: p, Ks: []int{2, 1, 2}})
			if err != nil {
				t.Fatal(err)
			}
			if m.N != 2 || m.Skipped != 1 || !slices.Equal(m.Ranks, tc.ranks) || !slices.Equal(m.Users, []int32{0, 2}) || !slices.Equal(m.Ks, []int{1, 2}) {
				t.Fatalf("N %d skipped %d ranks %v users %v ks %v, want 2 1 %v [0 2] [1 2]", m.N, m.Skipped, m.Ranks, m.Users, m.Ks, tc.ranks)
			}
			var hr2, mrr float64
			for _, r := range tc.ranks {
				if r < 2 {
					hr2++
				}
				mrr += 1 / float64(r+1)
			}
			if m.HR[2] != hr2/2 || math.Abs(m.MRR-mrr/2) > 1e-12 {
				t.Errorf("HR@2 = %v, MRR = %v, want %v, %v", m.HR[2], m.MRR, hr2/2, mrr/2)
			}
		})
	}
}

// TestEvaluateNextItemMatchesRankFunctions cross-checks the rank rule with
// the list metrics of rank.go (an independent implementation): the
// candidates sorted by descending score with the target after every tie,
// masked items removed, must give the same HR, NDCG, recall and reciprocal
// rank.
func TestEvaluateNextItemMatchesRankFunctions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const nItems = 40
	ks := []int{1, 3, 10, 50}
	for trial := range 200 {
		scores := make([]float32, nItems)
		for i := range scores {
			scores[i] = float32(r.IntN(4)) // heavy ties
		}
		train := make([]int32, r.IntN(10))
		for i := range train {
			train[i] = int32(r.IntN(nItems))
		}
		s := Split{User: int32(trial), Train: train, Valid: int32(r.IntN(nItems)), Test: int32(r.IntN(nItems))}
		for _, pname := range []string{"full", "full-masked"} {
			p, _ := ParseProtocol(pname)
			m, err := EvaluateNextItem(context.Background(), []Split{s}, fixedScorer(scores), NextItemConfig{Holdout: HoldoutTest, NItems: nItems, Protocol: p, Ks: ks})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[int32]bool{}
			for _, it := range s.History(HoldoutTest) {
				seen[it] = true
			}
			var cands []int32
			for it := range int32(nItems) {
				if it != s.Test && p.Masked && seen[it] {
					continue
				}
				cands = append(cands, it)
			}
			sort.SliceStable(cands, func(a, b int) bool {
				x, y := cands[a], cands[b]
				if scores[x] != scores[y] {
					return scores[x] > scores[y]
				}
				return y == s.Test // the target goes after its ties
			})
			pos := []int32{s.Test}
			for _, k := range ks {
				hits, _ := RecallAtK(cands, pos, k)
				ndcg, _ := NDCGAtK(cands, pos, k)
				hit, _ := HitAtK(cands, pos, k)
				if m.Recall[k] != float64(hits) || math.Abs(m.NDCG[k]-ndcg) > 1e-12 || (m.HR[k] == 1) != hit {
					t.Fatalf("trial %d %s @%d: recall %v ndcg %v hr %v, rank.go gives %d %v %v", trial, pname, k, m.Recall[k], m.NDCG[k], m.HR[k], hits, ndcg, hit)
				}
			}
			rr, _ := ReciprocalRank(cands, pos)
			if math.Abs(m.MRR-rr) > 1e-12 {
				t.Fatalf("trial %d %s: MRR %v, rank.go gives %v", trial, pname, m.MRR, rr)
			}
		}
	}
}

func TestEvaluateNextItemErrors(t *testing.T) {
	s := []Split{{User: 0, Train: []int32{1}, Valid: 2, Test: 3}}
	full := Protocol{Name: "full"}
	sc := fixedScorer(make([]float32, 5))
	failing := func(int, []int32, []int32, []float32) error { return errors.New("model exploded") }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		split []Split
		score Scorer
		cfg   NextItemConfig
		want  string
	}{
		{"no items", context.Background(), s, sc, NextItemConfig{Protocol: full, Ks: []int{1}}, "0 items"},
		{"no cutoffs", context.Background(), s, sc, NextItemConfig{Protocol: full, NItems: 5}, "no cutoffs"},
		{"bad cutoff", context.Background(), s, sc, NextItemConfig{Protocol: full, NItems: 5, Ks: []int{0, 5}}, "K = 0"},
		{"missing negatives", context.Background(), s, sc, NextItemConfig{Protocol: Protocol{Name: "sampled-2", Negatives: 2}, NItems: 5, Ks: []int{1}}, "0 negative lists for 1 splits"},
		{"target out of range", context.Background(), s, sc, NextItemConfig{Protocol: full, NItems: 3, Ks: []int{1}}, "target 3 not in 0..2"},
		{"history out of range", context.Background(), []Split{{Train: []int32{7}, Valid: 1, Test: 0}}, sc, NextItemConfig{Protocol: full, NItems: 5, Ks: []int{1}}, "history item 7 not in 0..4"},
		{"scorer error", context.Background(), s, failing, NextItemConfig{Protocol: full, NItems: 5, Ks: []int{1}}, "model exploded"},
		{"cancelled", ctx, s, sc, NextItemConfig{Protocol: full, NItems: 5, Ks: []int{1}}, "context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EvaluateNextItem(tc.ctx, tc.split, tc.score, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("EvaluateNextItem error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// randomSplits returns n users' splits over nItems items with histories of
// 1..30 items.
func randomSplits(r *rand.Rand, n, nItems int) []Split {
	splits := make([]Split, n)
	for u := range splits {
		seq := make([]int32, 1+r.IntN(30))
		for i := range seq {
			seq[i] = int32(r.IntN(nItems))
		}
		s := Split{User: int32(u), Train: seq, Valid: NoItem, Test: NoItem}
		if k := len(seq); k >= 3 {
			s = Split{User: int32(u), Train: seq[:k-2], Valid: seq[k-2], Test: seq[k-1]}
		}
		splits[u] = s
	}
	return splits
}

func TestSampleNegatives(t *testing.T) {
	const nItems, n = 50, 10
	splits := randomSplits(rand.New(rand.NewPCG(1, 2)), 400, nItems)
	for _, masked := range []bool{true, false} {
		t.Run(fmt.Sprintf("masked=%v", masked), func(t *testing.T) {
			negs, err := SampleNegatives(splits, nItems, n, 42, masked)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := SampleNegatives(splits, nItems, n, 42, masked)
			if !reflect.DeepEqual(negs, again) {
				t.Errorf("SampleNegatives is not deterministic")
			}
			other, _ := SampleNegatives(splits, nItems, n, 43, masked)
			if reflect.DeepEqual(negs, other) {
				t.Errorf("SampleNegatives with seeds 42 and 43 gave the same negatives")
			}
			// A user's draw does not depend on the other splits.
			tail, _ := SampleNegatives(splits[7:], nItems, n, 42, masked)
			if !reflect.DeepEqual(tail, negs[7:]) {
				t.Errorf("negatives of splits[7:] differ from those of the whole list")
			}
			trainHit := 0
			for i, s := range splits {
				if s.Test == NoItem {
					if negs[i] != nil {
						t.Errorf("split %d without targets has negatives %v", i, negs[i])
					}
					continue
				}
				excluded := map[int32]bool{s.Valid: true, s.Test: true}
				if masked {
					for _, it := range s.Train {
						excluded[it] = true
					}
				}
				if want := min(n, nItems-len(excluded)); len(negs[i]) != want {
					t.Errorf("split %d: %d negatives, want %d", i, len(negs[i]), want)
				}
				for j, it := range negs[i] {
					if excluded[it] {
						t.Errorf("split %d: negative %d is excluded (valid %d, test %d, masked %v)", i, it, s.Valid, s.Test, masked)
					}
					if j > 0 && it <= negs[i][j-1] {
						t.Errorf("split %d: negatives %v not sorted and distinct", i, negs[i])
					}
					if slices.Contains(s.Train, it) {
						trainHit++
					}
				}
			}
			if !masked && trainHit == 0 {
				t.Errorf("unmasked negatives never include a training item")
			}
		})
	}
	// Fewer available items than negatives: all of them.
	small := []Split{{User: 0, Train: []int32{0, 1}, Valid: 2, Test: 3}}
	negs, err := SampleNegatives(small, 6, 5, 1, true)
	if err != nil || !reflect.DeepEqual(negs, [][]int32{{4, 5}}) {
		t.Errorf("SampleNegatives with 2 available items = %v, %v, want [[4 5]]", negs, err)
	}
	if _, err := SampleNegatives(small, 3, 5, 1, true); err == nil {
		t.Errorf("SampleNegatives with an item outside the catalog: no error")
	}
}

// TestSampleNegativesUniform checks that every allowed item is drawn about
// equally often: one user's draw (n of A allowed items) includes a given
// item with probability n/A.
func TestSampleNegativesUniform(t *testing.T) {
	const nItems, n, users = 30, 5, 6000
	splits := make([]Split, users)
	for u := range splits {
		splits[u] = Split{User: int32(u), Train: []int32{0, 1}, Valid: 2, Test: 3}
	}
	for _, tc := range []struct {
		masked  bool
		allowed int
	}{{true, 26}, {false, 28}} {
		negs, err := SampleNegatives(splits, nItems, n, 9, tc.masked)
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]float64, nItems)
		for _, l := range negs {
			for _, it := range l {
				counts[it]++
			}
		}
		p := float64(n) / float64(tc.allowed)
		mean, sd := users*p, math.Sqrt(users*p*(1-p))
		for it, c := range counts {
			allowedItem := it >= 4 || (!tc.masked && it < 2)
			if !allowedItem && c != 0 {
				t.Errorf("masked=%v: item %d drawn %v times, want 0", tc.masked, it, c)
			}
			if allowedItem && math.Abs(c-mean) > 5*sd {
				t.Errorf("masked=%v: item %d drawn %v times, want %.0f ± %.0f", tc.masked, it, c, mean, 5*sd)
			}
		}
	}
}

func TestNegativesFile(t *testing.T) {
	splits := randomSplits(rand.New(rand.NewPCG(5, 6)), 50, 100)
	negs, err := SampleNegatives(splits, 100, 20, 7, true)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "negatives.parquet")
	if err := WriteNegatives(path, splits, negs); err != nil {
		t.Fatal(err)
	}
	got, err := ReadNegatives(path, splits)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, negs) {
		t.Errorf("ReadNegatives differs from what was written")
	}
	other := slices.Clone(splits)
	other[3].Test = (other[3].Test + 1) % 100
	if _, err := ReadNegatives(path, other); err == nil || !strings.Contains(err.Error(), "row 3") {
		t.Errorf("ReadNegatives with other splits = %v, want an error naming row 3", err)
	}
	if _, err := ReadNegatives(path, splits[1:]); err == nil {
		t.Errorf("ReadNegatives with fewer splits: no error")
	}
	if err := WriteNegatives(path, splits, negs[1:]); err == nil {
		t.Errorf("WriteNegatives with fewer lists: no error")
	}
	if _, err := ReadNegatives(filepath.Join(t.TempDir(), "missing.parquet"), splits); err == nil {
		t.Errorf("ReadNegatives of a missing file: no error")
	}
}

func TestEvaluateNextItemWorkersAndBootstrap(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	const nItems = 60
	splits := randomSplits(r, 300, nItems)
	scores := make([]float32, nItems)
	for i := range scores {
		scores[i] = float32(r.IntN(10))
	}
	p, _ := ParseProtocol("sampled-20")
	p.Seed = 11
	negs, err := SampleNegatives(splits, nItems, p.Negatives, p.Seed, p.Masked)
	if err != nil {
		t.Fatal(err)
	}
	cfg := NextItemConfig{Holdout: HoldoutTest, NItems: nItems, Protocol: p, Negatives: negs, Ks: []int{5, 10}, BootstrapReps: 200, BootstrapSeed: 3}
	one, err := EvaluateNextItem(context.Background(), splits, fixedScorer(scores), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 4
	calls := 0
	cfg.Progress = func(done, total int) { calls++ }
	four, err := EvaluateNextItem(context.Background(), splits, fixedScorer(scores), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, four) {
		t.Errorf("metrics with 1 and 4 workers differ")
	}
	if calls != four.N {
		t.Errorf("progress called %d times, want %d", calls, four.N)
	}
	if len(one.Intervals) != len(one.MetricNames()) {
		t.Fatalf("%d intervals, want %d", len(one.Intervals), len(one.MetricNames()))
	}
	for _, name := range one.MetricNames() {
		e := one.Intervals[name]
		if !(e.Lo <= e.Value && e.Value <= e.Hi) || e.Hi-e.Lo <= 0 || e.N != one.N {
			t.Errorf("interval %s = %+v, want lo <= value <= hi, a positive width and n %d", name, e, one.N)
		}
	}
	if e := one.Intervals["hr@10"]; e.Value != one.HR[10] {
		t.Errorf("interval hr@10 value %v, want HR@10 %v", e.Value, one.HR[10])
	}
	if e := one.Intervals["mrr"]; math.Abs(e.Value-one.MRR) > 1e-12 {
		t.Errorf("interval mrr value %v, want MRR %v", e.Value, one.MRR)
	}
}

func TestPopularityScores(t *testing.T) {
	splits := []Split{
		{User: 0, Train: []int32{0, 1, 1}, Valid: 2, Test: 3},
		{User: 1, Train: []int32{2}, Valid: NoItem, Test: NoItem},
	}
	if got, want := PopularityScores(splits, 5, HoldoutValid), []float32{1, 2, 1, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("PopularityScores(valid) = %v, want %v", got, want)
	}
	if got, want := PopularityScores(splits, 5, HoldoutTest), []float32{1, 2, 2, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("PopularityScores(test) = %v, want %v", got, want)
	}
}

// movieLensShaped writes u.genre, u.item, u.user and u.data in the
// MovieLens-100k layout into dir: ratings drawn with a Zipf-like item
// popularity (weight 1/(rank+10)), at least 20 per user with lognormal
// activity, timestamps in 1997-98 of which about a fifth repeat the
// previous rating's second (MovieLens users rate in bursts), and Latin-1
// titles.
func movieLensShaped(t testing.TB, dir string, users, items, ratings int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	genres := []string{"unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
		"Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"}
	var b strings.Builder
	for i, g := range genres {
		fmt.Fprintf(&b, "%s|%d\n", g, i)
	}
	b.WriteString("\n")
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("u.genre", b.String())
	b.Reset()
	for i := 1; i <= items; i++ {
		fmt.Fprintf(&b, "%d|Film \xe9t\xe9 %d (199%d)|01-Jan-199%d||http://example.org/%d", i, i, i%10, i%10, i)
		flags := make([]int, len(genres))
		for range 1 + r.IntN(3) {
			flags[1+r.IntN(len(genres)-1)] = 1
		}
		for _, f := range flags {
			fmt.Fprintf(&b, "|%d", f)
		}
		b.WriteString("\n")
	}
	write("u.item", b.String())
	b.Reset()
	for u := 1; u <= users; u++ {
		fmt.Fprintf(&b, "%d|%d|%s|other|%05d\n", u, 12+r.IntN(55), []string{"M", "F"}[r.IntN(2)], r.IntN(100000))
	}
	write("u.user", b.String())

	// Item weights by a random popularity rank.
	perm := r.Perm(items)
	cum := make([]float64, items)
	var total float64
	for i := range items {
		total += 1 / float64(perm[i]+10)
		cum[i] = total
	}
	act := make([]float64, users)
	var actSum float64
	for u := range act {
		act[u] = math.Exp(r.NormFloat64())
		actSum += act[u]
	}
	b.Reset()
	left := ratings - 20*users
	ns := make([]int, users)
	sum := 0
	for u := range users {
		ns[u] = min(20+int(float64(left)*act[u]/actSum), items/2)
		sum += ns[u]
	}
	for u := 0; sum < ratings; u = (u + 1) % users {
		if ns[u] < items/2 {
			ns[u]++
			sum++
		}
	}
	for u := range users {
		n := ns[u]
		seen := map[int]bool{}
		ts := int64(874724710 + r.IntN(200*86400))
		for len(seen) < n {
			it := sort.SearchFloat64s(cum, r.Float64()*total)
			if seen[it] {
				continue
			}
			seen[it] = true
			if r.Float64() > 0.2 {
				ts += int64(1 + r.ExpFloat64()*3600)
			}
			fmt.Fprintf(&b, "%d\t%d\t%d\t%d\n", u+1, it+1, 1+r.IntN(5), ts)
		}
	}
	write("u.data", b.String())
}

// popularityFloor imports a MovieLens-shaped folder and evaluates the
// popularity floor on the test holdout under the three protocols.
func popularityFloor(t testing.TB, users, items, ratings int) (map[string]*NextItemMetrics, *datasets.World) {
	t.Helper()
	ctx := context.Background()
	src := t.TempDir()
	movieLensShaped(t, src, users, items, ratings, 1)
	out := filepath.Join(t.TempDir(), "ml")
	if _, err := datasets.ImportMovieLens(ctx, src, out, datasets.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := datasets.Open(out, datasets.OpenOptions{SkipRequests: true})
	if err != nil {
		t.Fatal(err)
	}
	splits := LeaveLastOut(w)
	nItems := len(w.AdPins)
	pop := PopularityScorer(PopularityScores(splits, nItems, HoldoutTest))
	res := map[string]*NextItemMetrics{}
	for _, name := range []string{"full", "full-masked", "sampled-100"} {
		p, err := ParseProtocol(name)
		if err != nil {
			t.Fatal(err)
		}
		p.Seed = 2026
		cfg := NextItemConfig{Holdout: HoldoutTest, NItems: nItems, Protocol: p, Ks: []int{1, 5, 10, 20}, Workers: 2}
		if p.Negatives > 0 {
			negs, err := SampleNegatives(splits, nItems, p.Negatives, p.Seed, p.Masked)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "negatives.parquet")
			if err := WriteNegatives(path, splits, negs); err != nil {
				t.Fatal(err)
			}
			if cfg.Negatives, err = ReadNegatives(path, splits); err != nil {
				t.Fatal(err)
			}
		}
		m, err := EvaluateNextItem(ctx, splits, pop, cfg)
		if err != nil {
			t.Fatal(err)
		}
		res[name] = m
	}
	return res, w
}

// checkFloor checks what must hold for any scorer: masking only removes
// candidates, so every masked rank is at most the unmasked one; and what
// must hold for popularity on popularity-skewed data: far above random.
func checkFloor(t *testing.T, res map[string]*NextItemMetrics, nItems int) {
	t.Helper()
	full, masked, sampled := res["full"], res["full-masked"], res["sampled-100"]
	for j := range full.Ranks {
		if masked.Ranks[j] > full.Ranks[j] {
			t.Errorf("user %d: masked rank %d > full rank %d", full.Users[j], masked.Ranks[j], full.Ranks[j])
		}
	}
	if random := 10 / float64(nItems); full.HR[10] < 2*random {
		t.Errorf("popularity full HR@10 = %.4f, want well above random (%.4f)", full.HR[10], random)
	}
	if sampled.HR[10] <= full.HR[10] || sampled.HR[10] < 2*10.0/101 {
		t.Errorf("popularity sampled-100 HR@10 = %.4f, want above full (%.4f) and random (%.4f)", sampled.HR[10], full.HR[10], 10.0/101)
	}
	for _, name := range []string{"full", "full-masked", "sampled-100"} {
		m := res[name]
		t.Logf("popularity %-12s n=%d HR@10=%.4f NDCG@10=%.4f HR@20=%.4f NDCG@20=%.4f MRR=%.4f",
			name, m.N, m.HR[10], m.NDCG[10], m.HR[20], m.NDCG[20], m.MRR)
	}
}

func TestPopularityFloorEndToEnd(t *testing.T) {
	res, w := popularityFloor(t, 200, 300, 5000)
	if len(w.Users) != 200 || len(res["full"].Ranks) != 200 {
		t.Errorf("%d users, %d evaluated, want 200 and 200", len(w.Users), len(res["full"].Ranks))
	}
	checkFloor(t, res, len(w.AdPins))
}

// TestPopularityFloorMovieLens100kShaped evaluates the popularity floor on
// a synthetic file of MovieLens-100k's size (943 users, 1682 items, 100k
// ratings); run with -v to see the figures.
func TestPopularityFloorMovieLens100kShaped(t *testing.T) {
	if testing.Short() {
		t.Skip("100k ratings")
	}
	res, w := popularityFloor(t, 943, 1682, 100000)
	t.Logf("%d users, %d items, %d ratings", len(w.Users), len(w.AdPins), len(w.Events))
	checkFloor(t, res, len(w.AdPins))
}

// TestLeaveLastOutImportedTies follows the tie rule from a u.data file to
// the split: user 1 rated items 30 and 20 in the same second, listed 30
// first; the events table orders ties by item id, so 20 is validation and
// 30 the test item, whatever the file order.
func TestLeaveLastOutImportedTies(t *testing.T) {
	for _, data := range []string{
		"1\t10\t5\t100\n1\t30\t4\t200\n1\t20\t3\t200\n",
		"1\t20\t3\t200\n1\t10\t5\t100\n1\t30\t4\t200\n",
	} {
		src := t.TempDir()
		files := map[string]string{
			"u.genre": "unknown|0\nDrama|1\n",
			"u.item":  "10|A|d||u|0|1\n20|B|d||u|0|1\n30|C|d||u|1|0\n",
			"u.user":  "1|30|M|x|12345\n",
			"u.data":  data,
		}
		for name, s := range files {
			if err := os.WriteFile(filepath.Join(src, name), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out := filepath.Join(t.TempDir(), "ml")
		if _, err := datasets.ImportMovieLens(context.Background(), src, out, datasets.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		w, err := datasets.Open(out, datasets.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Items 10, 20, 30 have dense ids 0, 1, 2.
		want := []Split{{User: 0, Train: []int32{0}, Valid: 1, Test: 2}}
		if got := LeaveLastOut(w); !reflect.DeepEqual(got, want) {
			t.Errorf("u.data %q: LeaveLastOut = %+v, want %+v", data, got, want)
		}
	}
}

// BenchmarkImportMovieLens100k imports a MovieLens-100k-sized synthetic
// folder (943 users, 1682 items, 100k ratings).
func BenchmarkImportMovieLens100k(b *testing.B) {
	src := b.TempDir()
	movieLensShaped(b, src, 943, 1682, 100000, 1)
	outs := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		if _, err := datasets.ImportMovieLens(context.Background(), src, filepath.Join(outs, fmt.Sprint(i)), datasets.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*100000/b.Elapsed().Seconds(), "ratings/s")
}

// BenchmarkEvaluateNextItem ranks 943 users' test items with the
// popularity scorer under each protocol (1682 items).
func BenchmarkEvaluateNextItem(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const nItems = 1682
	splits := randomSplits(r, 943, nItems)
	pop := PopularityScorer(PopularityScores(splits, nItems, HoldoutTest))
	for _, name := range []string{"full", "full-masked", "sampled-100"} {
		b.Run(name, func(b *testing.B) {
			p, _ := ParseProtocol(name)
			cfg := NextItemConfig{NItems: nItems, Protocol: p, Ks: []int{10, 20}}
			if p.Negatives > 0 {
				cfg.Negatives, _ = SampleNegatives(splits, nItems, p.Negatives, 1, p.Masked)
			}
			for b.Loop() {
				if _, err := EvaluateNextItem(context.Background(), splits, pop, cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*943/b.Elapsed().Seconds(), "users/s")
		})
	}
}
