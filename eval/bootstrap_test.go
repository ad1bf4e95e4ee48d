package eval

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func TestHolmAdjustHand(t *testing.T) {
	// Sorted: .005*4 = .02, .01*3 = .03, .03*2 = .06, .04*1 = .04 -> max .06.
	got := HolmAdjust([]float64{0.01, 0.04, 0.03, 0.005})
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("HolmAdjust[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	got = HolmAdjust([]float64{0.5, 0.9})
	if got[0] != 1 || got[1] != 1 {
		t.Errorf("HolmAdjust caps at 1: got %v, want [1 1]", got)
	}
	if len(HolmAdjust(nil)) != 0 {
		t.Errorf("HolmAdjust(nil) not empty")
	}
}

func TestPoissonWeights(t *testing.T) {
	w := make([]float64, repBlock)
	var sum, sq float64
	n := 0
	for u := range int32(2000) {
		userWeights(3, u, 0, w)
		for _, x := range w {
			sum += x
			sq += x * x
			n++
		}
	}
	mean := sum / float64(n)
	variance := sq/float64(n) - mean*mean
	// Poisson(1): mean 1, variance 1; n = 128000 draws, sd of the mean ~0.003.
	if math.Abs(mean-1) > 0.015 || math.Abs(variance-1) > 0.03 {
		t.Errorf("Poisson(1) weights: mean %v, variance %v, want 1, 1", mean, variance)
	}
	a, b := make([]float64, 8), make([]float64, 8)
	userWeights(3, 5, 1, a)
	userWeights(3, 5, 1, b)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("userWeights not reproducible: %v vs %v", a, b)
		}
	}
}

func TestPercentileInterval(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3} // sorted 1..5
	lo, hi := percentileInterval(xs, 0.5)
	// Type 7: h = 0.25*4 = 1 -> 2; h = 0.75*4 = 3 -> 4.
	if lo != 2 || hi != 4 {
		t.Errorf("percentileInterval(0.5) = [%v, %v], want [2, 4]", lo, hi)
	}
	lo, hi = percentileInterval([]float64{0, 10}, 0.9)
	if math.Abs(lo-0.5) > 1e-12 || math.Abs(hi-9.5) > 1e-12 {
		t.Errorf("percentileInterval(0.9) = [%v, %v], want [0.5, 9.5]", lo, hi)
	}
}

// TestBootstrapCoverage simulates 200 data sets of a ratio metric whose true
// value is known (users with heterogeneous hit rates of mean 0.3 and 1..10
// requests each) and checks that the 95% interval covers 0.3 in 90-99% of
// them (binomial sd at 200 data sets: 1.5 points).
func TestBootstrapCoverage(t *testing.T) {
	const (
		datasets = 200
		users    = 80
		truth    = 0.3
	)
	r := rand.New(rand.NewPCG(42, 0))
	covered := 0
	for d := range datasets {
		m := &setMatrix{ncol: 2, nrep: 200}
		m.users = make([]int32, users)
		m.s = make([]float64, 2*users)
		for u := range users {
			m.users[u] = int32(u)
			// Beta(3, 7) has mean 0.3: a user's own hit rate.
			p := betaDraw(r, 3, 7)
			n := 1 + r.IntN(10)
			hits := 0
			for range n {
				if r.Float64() < p {
					hits++
				}
			}
			m.s[2*u], m.s[2*u+1] = float64(hits), float64(n)
		}
		m.point = make([]float64, 2)
		for u := range users {
			addTo(m.point, m.s[2*u:2*u+2])
		}
		var err error
		m.reps, err = replicateSums(context.Background(), uint64(d), m.users, m.s, 2, m.nrep)
		if err != nil {
			t.Fatal(err)
		}
		e := m.evaluate(&metricSpec{num: 0, den: 1, nCol: 1, reqCol: 1, usersCol: 1, posCol: -1}, 0.95)
		if e.est.Lo <= truth && truth <= e.est.Hi {
			covered++
		}
	}
	share := float64(covered) / datasets
	if share < 0.90 || share > 0.99 {
		t.Errorf("95%% interval covered the truth in %.1f%% of %d data sets, want 90-99%%", 100*share, datasets)
	}
}

// betaDraw draws Beta(a, b) for integer a, b from order statistics of
// uniforms (a-th smallest of a+b-1).
func betaDraw(r *rand.Rand, a, b int) float64 {
	xs := make([]float64, a+b-1)
	for i := range xs {
		xs[i] = r.Float64()
	}
	for i := 0; i < a; i++ { // partial selection sort up to the a-th smallest
		m := i
		for j := i + 1; j < len(xs); j++ {
			if xs[j] < xs[m] {
				m = j
			}
		}
		xs[i], xs[m] = xs[m], xs[i]
	}
	return xs[a-1]
}

func TestBootstrapPValue(t *testing.T) {
	cases := []struct {
		name  string
		d     float64
		diffs []float64
		want  float64
	}{
		{"one se", 1, []float64{0, 2}, math.Erfc(1 / math.Sqrt(2) / math.Sqrt(2))}, // se = sqrt(2)
		{"zero diff zero se", 0, []float64{0, 0, 0}, 1},
		{"constant shift", 1, []float64{1, 1, 1}, 0},
		{"too few", 1, []float64{1}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := bootstrapPValue(tc.d, tc.diffs); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("bootstrapPValue(%v, %v) = %v, want %v", tc.d, tc.diffs, got, tc.want)
			}
		})
	}
}

func TestReplicateSumsMatchNaive(t *testing.T) {
	users := []int32{4, 9, 1}
	s := []float64{1, 2, 3, 4, 5, 6}
	reps := 130 // three blocks, the last partial
	got, err := replicateSums(context.Background(), 8, users, s, 2, reps)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, repBlock)
	for r := range reps {
		var want [2]float64
		for i, u := range users {
			userWeights(8, u, r/repBlock, w)
			want[0] += w[r%repBlock] * s[2*i]
			want[1] += w[r%repBlock] * s[2*i+1]
		}
		if got[2*r] != want[0] || got[2*r+1] != want[1] {
			t.Fatalf("replicate %d = %v, want %v", r, got[2*r:2*r+2], want)
		}
	}
}
