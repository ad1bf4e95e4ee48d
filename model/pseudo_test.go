package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

func cs(pairs ...float32) []datasets.CategoryScore {
	var out []datasets.CategoryScore
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, datasets.CategoryScore{Category: int32(pairs[i]), Confidence: pairs[i+1]})
	}
	return out
}

func TestProjectTopK(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  []datasets.CategoryScore
		k    int
		want []datasets.CategoryScore
	}{
		{"empty", nil, 3, nil},
		{"sorted and cut", cs(4, 0.1, 2, 0.5, 9, 0.3, 1, 0.05), 3, cs(2, 0.5, 9, 0.3, 4, 0.1)},
		{"ties by category", cs(7, 0.2, 3, 0.2), 1, cs(3, 0.2)},
		{"k larger than list", cs(1, 0.4), 3, cs(1, 0.4)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := slices.Clone(tc.src)
			got := projectTopK(nil, tc.src, tc.k)
			if !slices.Equal(got, tc.want) {
				t.Errorf("projectTopK(%v, %d) = %v, want %v", tc.src, tc.k, got, tc.want)
			}
			if !slices.Equal(tc.src, orig) {
				t.Errorf("projectTopK modified its input")
			}
		})
	}
}

func pseudoFixture(cfg PseudoContextConfig, k int) *pseudoContext {
	ads := []datasets.AdPin{
		{ID: 0, Categories: cs(5, 0.6, 2, 0.3, 8, 0.1)},
		{ID: 1, Categories: cs(11, 0.9)},
	}
	return &pseudoContext{cfg: cfg, topK: k, nCats: 12, adPins: ads}
}

func TestPseudoContextProjections(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t.Run("label", func(t *testing.T) {
		p := pseudoFixture(PseudoContextConfig{Projection: ProjectionLabel}, 2)
		if got := p.project(nil, 0, rng); !slices.Equal(got, cs(5, 0.6, 2, 0.3, 8, 0.1)) {
			t.Errorf("label projection = %v, want the label's categories as they are", got)
		}
	})
	t.Run("topk", func(t *testing.T) {
		p := pseudoFixture(PseudoContextConfig{Projection: ProjectionTopK}, 2)
		if got := p.project(nil, 0, rng); !slices.Equal(got, cs(5, 0.6, 2, 0.3)) {
			t.Errorf("topk projection = %v, want the top 2", got)
		}
	})
	t.Run("noised without noise is topk", func(t *testing.T) {
		p := pseudoFixture(PseudoContextConfig{Projection: ProjectionNoised}, 2)
		if got := p.project(nil, 0, rng); !slices.Equal(got, cs(5, 0.6, 2, 0.3)) {
			t.Errorf("noised projection with zero noise = %v, want the top 2", got)
		}
	})
	t.Run("noised rates", func(t *testing.T) {
		// Drop 0.5: each of the 3 categories survives with 1/2; add 1.0: one
		// new category always; no jitter; k = 4 keeps everything.
		p := pseudoFixture(PseudoContextConfig{Projection: ProjectionNoised, DropProb: 0.5, AddProb: 1}, 4)
		const n = 4000
		kept, added := 0, 0
		for range n {
			got := p.project(nil, 0, rng)
			for _, c := range got {
				switch c.Category {
				case 5, 2, 8:
					kept++
				default:
					added++
					if !(c.Confidence > 0 && c.Confidence <= 0.6) {
						t.Fatalf("added confidence %v, want in (0, top confidence]", c.Confidence)
					}
				}
			}
			for i := 1; i < len(got); i++ {
				if got[i].Confidence > got[i-1].Confidence {
					t.Fatalf("noised projection %v not sorted by confidence", got)
				}
			}
		}
		if mean, want := float64(kept)/n, 1.5; math.Abs(mean-want) > 4*math.Sqrt(3*0.25/n) {
			t.Errorf("kept %.3f label categories on average, want %.1f", mean, want)
		}
		if added != n {
			t.Errorf("added %d categories over %d draws, want one each", added, n)
		}
	})
	t.Run("noised jitter", func(t *testing.T) {
		p := pseudoFixture(PseudoContextConfig{Projection: ProjectionNoised, Jitter: 0.3}, 1)
		var sum, sum2 float64
		const n = 4000
		for range n {
			got := p.project(nil, 1, rng)
			if len(got) != 1 || got[0].Category != 11 || got[0].Confidence > 1 {
				t.Fatalf("jittered projection = %v", got)
			}
			l := math.Log(float64(got[0].Confidence) / 0.9)
			sum += l
			sum2 += l * l
		}
		// Clamping at 1 truncates the upper tail, so only check the spread
		// is of the order of sigma.
		sd := math.Sqrt(sum2/n - (sum/n)*(sum/n))
		if sd < 0.1 || sd > 0.35 {
			t.Errorf("log-confidence spread %.3f, want near (below) 0.3", sd)
		}
	})
	t.Run("mixture", func(t *testing.T) {
		p := pseudoFixture(PseudoContextConfig{Projection: ProjectionMixture, MixtureProb: 0.5}, 3)
		const n = 4000
		other := 0
		for range n {
			if got := p.project(nil, 0, rng); got[0].Category == 11 {
				other++
			}
		}
		// A random ad Pin (of 2) replaces the label with 0.5, so ad 1 appears with 0.25.
		if share := float64(other) / n; math.Abs(share-0.25) > 4*math.Sqrt(0.25*0.75/n) {
			t.Errorf("mixture used ad Pin 1 in %.3f of draws, want 0.25", share)
		}
	})
	t.Run("seeded", func(t *testing.T) {
		p := pseudoFixture(PseudoContextConfig{Projection: ProjectionNoised, DropProb: 0.3, AddProb: 0.5, Jitter: 0.2}, 3)
		a := p.project(nil, 0, rand.New(rand.NewPCG(9, 9)))
		b := p.project(nil, 0, rand.New(rand.NewPCG(9, 9)))
		if !slices.Equal(a, b) {
			t.Errorf("same seed gave %v and %v", a, b)
		}
	})
}
