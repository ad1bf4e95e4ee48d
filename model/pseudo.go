package model

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/cgbench/cgbench/datasets"
)

// projectTopK is the serving-time projection of a subject Pin's categories:
// the k most confident, by descending confidence (ties by category id). It
// appends to dst[:0] and returns it; src is not modified.
func projectTopK(dst, src []datasets.CategoryScore, k int) []datasets.CategoryScore {
	dst = append(dst[:0], src...)
	sortScores(dst)
	if len(dst) > k {
		dst = dst[:k]
	}
	return dst
}

// sortScores sorts by descending confidence, ties by ascending category.
func sortScores(s []datasets.CategoryScore) {
	slices.SortFunc(s, func(a, b datasets.CategoryScore) int {
		switch {
		case a.Confidence > b.Confidence:
			return -1
		case a.Confidence < b.Confidence:
			return 1
		}
		return int(a.Category) - int(b.Category)
	})
}

// pseudoContext derives a training example's context categories from its
// positive label, the target ad Pin, because logged offsite conversions have
// no subject Pin. Every projection ends with the serving projection (top-k by
// confidence), so the model sees at training time what it sees at serving
// time.
type pseudoContext struct {
	cfg    PseudoContextConfig
	topK   int
	nCats  int
	adPins []datasets.AdPin
}

func newPseudoContext(cfg *Config, adPins []datasets.AdPin, nCats int) *pseudoContext {
	return &pseudoContext{cfg: cfg.PseudoContext, topK: cfg.Context.TopK, nCats: nCats, adPins: adPins}
}

// project appends the pseudo-context of label to dst[:0]. The rng must be
// seeded per example so the draw does not depend on batch composition.
func (p *pseudoContext) project(dst []datasets.CategoryScore, label int32, rng *rand.Rand) []datasets.CategoryScore {
	src := p.adPins[label].Categories
	switch p.cfg.Projection {
	case ProjectionLabel:
		return append(dst[:0], src...)
	case ProjectionTopK:
		return projectTopK(dst, src, p.topK)
	case ProjectionMixture:
		if len(p.adPins) > 0 && rng.Float64() < p.cfg.MixtureProb {
			src = p.adPins[rng.IntN(len(p.adPins))].Categories
		}
		return projectTopK(dst, src, p.topK)
	case ProjectionNoised:
		return p.noised(dst, src, rng)
	}
	panic("model: unknown projection " + p.cfg.Projection)
}

// noised drops each category with DropProb, adds with AddProb one category
// drawn uniformly from those not in the label (confidence uniform up to the top remaining one, or
// 0.5), jitters confidences log-normally with sigma Jitter (clamped to
// [0.001, 1]) and projects to the top k.
func (p *pseudoContext) noised(dst, src []datasets.CategoryScore, rng *rand.Rand) []datasets.CategoryScore {
	dst = dst[:0]
	for _, c := range src {
		if rng.Float64() < p.cfg.DropProb {
			continue
		}
		dst = append(dst, c)
	}
	if p.nCats > len(src) && rng.Float64() < p.cfg.AddProb {
		top := float32(0.5)
		if len(dst) > 0 {
			top = dst[0].Confidence
			for _, c := range dst {
				top = max(top, c.Confidence)
			}
		}
		for {
			c := int32(rng.IntN(p.nCats))
			if !slices.ContainsFunc(src, func(s datasets.CategoryScore) bool { return s.Category == c }) {
				dst = append(dst, datasets.CategoryScore{Category: c, Confidence: max(0.001, top*float32(rng.Float64()))})
				break
			}
		}
	}
	if p.cfg.Jitter > 0 {
		for i := range dst {
			f := float32(math.Exp(p.cfg.Jitter * rng.NormFloat64()))
			dst[i].Confidence = min(1, max(0.001, dst[i].Confidence*f))
		}
	}
	sortScores(dst)
	if len(dst) > p.topK {
		dst = dst[:p.topK]
	}
	return dst
}
