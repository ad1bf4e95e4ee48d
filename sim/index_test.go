package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// clustered returns n unit-ish vectors of dimension d around c centers,
// like item embeddings of a trained model.
func clustered(rng *rand.Rand, n, d, c int) []float32 {
	centers := make([]float32, c*d)
	for i := range centers {
		centers[i] = float32(rng.NormFloat64())
	}
	out := make([]float32, n*d)
	for i := range n {
		k := rng.IntN(c)
		for j := range d {
			out[i*d+j] = centers[k*d+j] + float32(0.4*rng.NormFloat64())
		}
	}
	return out
}

func bruteForce(items []float32, n, d int, q []float32, k int) []Candidate {
	all := make([]Candidate, n)
	for i := range n {
		var s float64
		for j := range d {
			s += float64(items[i*d+j]) * float64(q[j])
		}
		all[i] = Candidate{AdPin: int32(i), Score: float32(s)}
	}
	slices.SortStableFunc(all, func(a, b Candidate) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return all[:min(k, n)]
}

func TestExactIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, d, m = 5000, 16, 70
	items := clustered(rng, n, d, 20)
	queries := clustered(rng, m, d, 20)
	x := NewExactIndex(n, d, items)
	for _, k := range []int{1, 10, 100, n + 5} {
		batch := x.SearchBatch(queries, m, k)
		for i := range m {
			q := queries[i*d : (i+1)*d]
			got := x.Search(q, k, nil)
			want := bruteForce(items, n, d, q, k)
			if len(got) != len(want) || len(batch[i]) != len(want) {
				t.Fatalf("k=%d query %d: Search %d, SearchBatch %d results, want %d", k, i, len(got), len(batch[i]), len(want))
			}
			for j := range want {
				// The float32 kernels and the float64 reference differ in
				// rounding, so scores match to float32 precision and ids
				// wherever the reference's neighbours are not that close.
				if math.Abs(float64(got[j].Score-want[j].Score)) > 1e-4 {
					t.Fatalf("k=%d query %d: Search score %d = %g, want %g", k, i, j, got[j].Score, want[j].Score)
				}
				if got[j].AdPin != want[j].AdPin && !nearTie(want, j) {
					t.Fatalf("k=%d query %d: Search id %d = %d, want %d", k, i, j, got[j].AdPin, want[j].AdPin)
				}
				if batch[i][j] != got[j] && !nearTie(want, j) {
					t.Fatalf("k=%d query %d: SearchBatch %d = %+v, Search %+v", k, i, j, batch[i][j], got[j])
				}
			}
			if i > 0 && k > 1 {
				continue
			}
			for j := 1; j < len(got); j++ {
				if better(scored{score: got[j].Score, id: got[j].AdPin}, scored{score: got[j-1].Score, id: got[j-1].AdPin}) {
					t.Fatalf("k=%d query %d: results not best first at %d: %+v", k, i, j, got[j-1:j+1])
				}
			}
		}
	}
}

func nearTie(c []Candidate, j int) bool {
	close := func(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-4 }
	return (j > 0 && close(c[j].Score, c[j-1].Score)) || (j+1 < len(c) && close(c[j].Score, c[j+1].Score))
}

func TestIVFIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, d, m, k = 6000, 16, 200, 20
	items := clustered(rng, n, d, 30)
	queries := clustered(rng, m, d, 30)
	exact := NewExactIndex(n, d, items)
	ivf := NewIVFIndex(n, d, items, 32, 4, rand.New(rand.NewPCG(5, 6)))
	want := make([][]Candidate, m)
	for i := range m {
		want[i] = exact.Search(queries[i*d:(i+1)*d], k, nil)
	}
	t.Run("nprobe=nlist is exact", func(t *testing.T) {
		full := ivf.WithNProbe(ivf.NList())
		for i := range m {
			got := full.Search(queries[i*d:(i+1)*d], k, nil)
			if !slices.Equal(got, want[i]) {
				t.Fatalf("query %d: IVF(nprobe=nlist) = %v, exact %v", i, got, want[i])
			}
		}
	})
	for _, tc := range []struct {
		nprobe int
		min    float64
	}{{1, 0.3}, {4, 0.8}, {16, 0.97}} {
		got := make([][]Candidate, m)
		idx := ivf.WithNProbe(tc.nprobe)
		for i := range m {
			got[i] = idx.Search(queries[i*d:(i+1)*d], k, nil)
		}
		r := Recall(got, want)
		t.Logf("IVF nlist=%d nprobe=%d recall@%d = %.3f", ivf.NList(), tc.nprobe, k, r)
		if r < tc.min {
			t.Errorf("IVF(nprobe=%d) recall@%d = %.3f, want >= %.2f", tc.nprobe, k, r, tc.min)
		}
	}
	t.Run("deterministic", func(t *testing.T) {
		again := NewIVFIndex(n, d, items, 32, 4, rand.New(rand.NewPCG(5, 6)))
		if !slices.Equal(again.centroids, ivf.centroids) || !slices.Equal(again.ids, ivf.ids) {
			t.Fatal("NewIVFIndex with the same seed built a different index")
		}
	})
}

func TestRecall(t *testing.T) {
	c := func(ids ...int32) []Candidate { return cands(ids...) }
	cases := []struct {
		name          string
		approx, exact [][]Candidate
		want          float64
	}{
		{"perfect", [][]Candidate{c(1, 2)}, [][]Candidate{c(2, 1)}, 1},
		{"half and none", [][]Candidate{c(1, 9), c(7)}, [][]Candidate{c(1, 2), c(3)}, 0.25},
		{"empty exact skipped", [][]Candidate{c(1), c()}, [][]Candidate{c(1), c()}, 1},
		{"all empty", nil, [][]Candidate{c()}, 0},
		{"missing approx", nil, [][]Candidate{c(1)}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Recall(tc.approx, tc.exact); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Recall() = %g, want %g", got, tc.want)
			}
		})
	}
}
