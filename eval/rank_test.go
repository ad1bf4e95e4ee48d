package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestRankingMetricsHand(t *testing.T) {
	l2, l3, l4 := math.Log2(2), math.Log2(3), math.Log2(4)
	cases := []struct {
		name      string
		ranked    []int32
		positives []int32
		k         int
		hits      int
		total     int
		ndcg      float64
		hit       bool
		rr        float64
		ok        bool
	}{
		{"first of two", []int32{1, 2, 3}, []int32{1, 9}, 2, 1, 2, 1 / (1/l2 + 1/l3), true, 1, true},
		{"second position", []int32{5, 1, 3}, []int32{1}, 3, 1, 1, 1 / l3, true, 0.5, true},
		{"cut before the positive", []int32{5, 1, 3}, []int32{1}, 1, 0, 1, 0, false, 0.5, true},
		{"all found", []int32{3, 1}, []int32{1, 3}, 2, 2, 2, 1, true, 1, true},
		{"K larger than the list", []int32{4, 7}, []int32{7, 8, 9}, 100, 1, 3, (1 / l3) / (1/l2 + 1/l3 + 1/l4), true, 0.5, true},
		{"duplicate in ranked takes no position", []int32{5, 5, 1}, []int32{1}, 2, 1, 1, 1 / l3, true, 0.5, true},
		{"duplicate positive counted once", []int32{5, 1, 1}, []int32{1, 1, 1}, 2, 1, 1, 1 / l3, true, 0.5, true},
		{"duplicate positives, two hits", []int32{2, 1, 2, 1}, []int32{1, 2, 2}, 2, 2, 2, 1, true, 1, true},
		{"empty list", nil, []int32{1}, 10, 0, 1, 0, false, 0, true},
		{"no positives", []int32{1, 2}, nil, 10, 0, 0, 0, false, 0, false},
		{"empty both", nil, nil, 5, 0, 0, 0, false, 0, false},
		{"k zero", []int32{1}, []int32{1}, 0, 0, 1, 0, false, 1, true},
		{"no positive retrieved", []int32{4, 5, 6}, []int32{1, 2}, 3, 0, 2, 0, false, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hits, total := RecallAtK(tc.ranked, tc.positives, tc.k)
			if hits != tc.hits || total != tc.total {
				t.Errorf("RecallAtK(k=%d) = %d/%d, want %d/%d", tc.k, hits, total, tc.hits, tc.total)
			}
			ndcg, ok := NDCGAtK(tc.ranked, tc.positives, tc.k)
			if ok != tc.ok || math.Abs(ndcg-tc.ndcg) > 1e-12 {
				t.Errorf("NDCGAtK(k=%d) = %v, %v, want %v, %v", tc.k, ndcg, ok, tc.ndcg, tc.ok)
			}
			hit, ok := HitAtK(tc.ranked, tc.positives, tc.k)
			if ok != tc.ok || hit != tc.hit {
				t.Errorf("HitAtK(k=%d) = %v, %v, want %v, %v", tc.k, hit, ok, tc.hit, tc.ok)
			}
			rr, ok := ReciprocalRank(tc.ranked, tc.positives)
			if ok != tc.ok || math.Abs(rr-tc.rr) > 1e-12 {
				t.Errorf("ReciprocalRank = %v, %v, want %v, %v", rr, ok, tc.rr, tc.ok)
			}
		})
	}
}

// TestRecallMonotoneInK is a property test: on random lists with duplicates,
// hits never decrease with K, recall is in [0, 1], reaches its maximum once
// K covers the list, and NDCG stays in [0, 1].
func TestRecallMonotoneInK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		n := r.IntN(30)
		ranked := make([]int32, n)
		for i := range ranked {
			ranked[i] = int32(r.IntN(25))
		}
		positives := make([]int32, r.IntN(6))
		for i := range positives {
			positives[i] = int32(r.IntN(25))
		}
		prev := -1
		for k := 0; k <= n+2; k++ {
			hits, total := RecallAtK(ranked, positives, k)
			if hits < prev {
				t.Fatalf("trial %d: RecallAtK(k=%d) hits = %d < %d at k-1 (ranked %v, positives %v)", trial, k, hits, prev, ranked, positives)
			}
			if hits > total {
				t.Fatalf("trial %d: RecallAtK(k=%d) = %d/%d above 1", trial, k, hits, total)
			}
			if v, ok := NDCGAtK(ranked, positives, k); ok && (v < 0 || v > 1+1e-12) {
				t.Fatalf("trial %d: NDCGAtK(k=%d) = %v outside [0, 1]", trial, k, v)
			}
			prev = hits
		}
		full, total := RecallAtK(ranked, positives, n)
		inList := 0
		seen := map[int32]bool{}
		for _, p := range positives {
			if seen[p] {
				continue
			}
			seen[p] = true
			for _, a := range ranked {
				if a == p {
					inList++
					break
				}
			}
		}
		if full != inList || total != len(seen) {
			t.Fatalf("trial %d: RecallAtK(k=len) = %d/%d, want %d/%d", trial, full, total, inList, len(seen))
		}
	}
}
