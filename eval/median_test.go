package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestWeightedMedianHand(t *testing.T) {
	cases := []struct {
		name    string
		values  []float64
		weights []float64
		want    float64
		ok      bool
	}{
		{"odd", []float64{0.6, 0.2, 0.4}, nil, 0.4, true},
		{"even takes the lower", []float64{0.8, 0.2, 0.6, 0.4}, nil, 0.4, true},
		{"ties", []float64{0.5, 0.5, 0.5, 0.9}, nil, 0.5, true},
		{"weights move it", []float64{0.1, 0.2, 0.9}, []float64{1, 1, 5}, 0.9, true},
		{"zero weights ignored", []float64{0.1, 0.2, 0.9}, []float64{0, 1, 1}, 0.2, true},
		{"single", []float64{0.3}, nil, 0.3, true},
		{"empty", nil, nil, 0, false},
		{"all zero weight", []float64{1, 2}, []float64{0, 0}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := WeightedMedian(tc.values, tc.weights)
			if got != tc.want || ok != tc.ok {
				t.Errorf("WeightedMedian(%v, %v) = %v, %v, want %v, %v", tc.values, tc.weights, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestReplicateMedianMatchesWeightedMedian checks the histogram median of a
// replicate against WeightedMedian on the same weighted values: values in
// distinct fine bins come out exactly; the within-coarse-bin placement is
// the approximation, so users here each own one coarse bin's values.
func TestReplicateMedianMatchesWeightedMedian(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	for trial := range 300 {
		nusers := 1 + r.IntN(8)
		var values, weights []float64
		h := new(fineHist)
		var cells [coarseBins]float64
		var total float64
		for u := range nusers {
			w := float64(r.IntN(3)) // a replicate weight
			c := (u * 5) % coarseBins
			for range 1 + r.IntN(4) {
				// A value in coarse bin c, at a fine bin centre.
				fb := c*finePerCoarse + r.IntN(finePerCoarse)
				v := (float64(fb) + 0.5) / fineBins
				h.add(fineBin(relevanceKind, v), v)
				values = append(values, v)
				weights = append(weights, w)
				cells[c] += w
				total += w
			}
		}
		want, wok := WeightedMedian(values, weights)
		got, clamped, ok := replicateMedian(h, 0, 0, cells[:], total)
		if ok != wok || clamped || (ok && math.Abs(got-want) > 1e-12) {
			t.Fatalf("trial %d: replicateMedian = %v (clamped %v, ok %v), WeightedMedian = %v (ok %v)", trial, got, clamped, ok, want, wok)
		}
		if p, _, pok := h.median(); pok {
			unit, _ := WeightedMedian(values, nil)
			if math.Abs(p-unit) > 1e-12 {
				t.Fatalf("trial %d: fineHist.median = %v, WeightedMedian = %v", trial, p, unit)
			}
		}
	}
}

func TestReplicateMedianClamps(t *testing.T) {
	h := new(fineHist)
	for _, v := range []float64{0.01, 0.5, 0.99} {
		h.add(fineBin(relevanceKind, v), v)
	}
	// Window is coarse bins 10..20 (0.3125..0.6875); the replicate puts most
	// weight below it.
	cells := make([]float64, 11)
	cells[16-10] = 1 // the 0.5 value
	m, clamped, ok := replicateMedian(h, 10, 5, cells, 6)
	if !ok || !clamped || m != 0.5 {
		t.Errorf("replicateMedian below the window = %v, clamped %v, ok %v; want 0.5, true, true", m, clamped, ok)
	}
	if _, _, ok := replicateMedian(h, 10, 0, cells, 0); ok {
		t.Errorf("replicateMedian with zero total: ok")
	}
}
