package eval

import (
	"math"
	"slices"
)

// Medians of relevance are read off histograms so that a replicate costs
// users x a few columns, not candidates:
//
//   - Every (arm, CG, segment value) keeps a fine histogram of fineBins bins
//     over the value range, with the count and the sum of the values of every
//     bin. The median is the lower median, the smallest value x with
//     F(x) >= 1/2, located to its fine bin; the bin reports the mean of its
//     values, which is the value itself when the bin holds one distinct value.
//     The resolution is (range)/fineBins: about 0.001 for relevance, 0.002 for
//     oracle relevance. Error bound: the exact lower median lies in the
//     reported bin, and so does the bin's mean, so the reported median is
//     within one bin width (1/1024 ≈ 0.00098 for relevance, 2/1024 ≈ 0.00195
//     for oracle relevance) of the exact one (the fixed-point bin sums add
//     nothing measurable). This "sketch" is mergeable: counts and
//     fixed-point sums add exactly, so shards merged in any order (a
//     distributed Accumulator) give the same bits as one pass.
//   - Every user keeps counts in coarseBins coarse bins. A bootstrap
//     replicate weights those counts by the user's weight; the weighted CDF
//     at the coarse edges locates the coarse bin of the replicate's weighted
//     lower median, and within it the replicate is placed on the fine
//     histogram's shape of that bin (whose fine bins all receive the
//     replicate's mass in proportion). With weights all 1 this gives the
//     point median exactly.
//   - Only coarse bins in a window around the point median are carried
//     through the bootstrap (the whole range for small segments); a
//     replicate whose median falls outside is clamped to the window edge and
//     the figure carries a warning saying in how many replicates.
const (
	fineBins        = 1024
	coarseBins      = 32
	finePerCoarse   = fineBins / coarseBins
	medianWindow    = 4    // coarse bins each side of the point median's
	smallSetUnits   = 2000 // up to this many users, the window is the whole range
	relevanceKind   = 0
	oracleKind      = 1
	numMedianKinds  = 2
	distributionBin = 20
)

// medianRange is the value range of each median kind.
var medianRange = [numMedianKinds][2]float64{{0, 1}, {-1, 1}}

// fineHist is a histogram with per-bin counts and value sums.
type fineHist struct {
	count [fineBins]float64
	sum   [fineBins]float64
}

// fineAcc accumulates a fineHist exactly: per bin the count and the
// fixed-point sum of the values (see fixed), so that accumulators merged in
// any order give the same histogram bits.
type fineAcc [fineBins]fineCell

type fineCell struct {
	count int64
	sum   fixed
}

func (a *fineAcc) add(bin int, v float64) {
	a[bin].count++
	a[bin].sum.add(v)
}

// merge adds o's bins into a.
func (a *fineAcc) merge(o *fineAcc) {
	for b := range a {
		a[b].count += o[b].count
		a[b].sum.addFixed(o[b].sum)
	}
}

// addTo adds the accumulated bins into h.
func (a *fineAcc) addTo(h *fineHist) {
	for b := range a {
		h.count[b] += float64(a[b].count)
		h.sum[b] += a[b].sum.float()
	}
}

// fineBin maps v to its fine bin for a kind; v is already validated to lie in
// range (up to rounding).
func fineBin(kind int, v float64) int {
	lo, hi := medianRange[kind][0], medianRange[kind][1]
	b := int((v - lo) / (hi - lo) * fineBins)
	return min(max(b, 0), fineBins-1)
}

func (h *fineHist) add(bin int, v float64) {
	h.count[bin]++
	h.sum[bin] += v
}

func (h *fineHist) total() float64 {
	var t float64
	for _, c := range h.count {
		t += c
	}
	return t
}

// binMean returns the mean of the values of fine bin b (non-empty).
func (h *fineHist) binMean(b int) float64 { return h.sum[b] / h.count[b] }

// median returns the lower median and its fine bin; ok is false when empty.
func (h *fineHist) median() (m float64, bin int, ok bool) {
	half := h.total() / 2
	if half == 0 {
		return 0, 0, false
	}
	var cum float64
	for b, c := range h.count {
		cum += c
		if c > 0 && cum >= half {
			return h.binMean(b), b, true
		}
	}
	// Unreachable with a positive total; keep the last non-empty bin.
	for b := fineBins - 1; b >= 0; b-- {
		if h.count[b] > 0 {
			return h.binMean(b), b, true
		}
	}
	return 0, 0, false
}

// medianWindowCells returns the coarse bins [lo, hi] carried through the
// bootstrap around coarse bin c.
func medianWindowCells(c int, units int) (lo, hi int) {
	if units <= smallSetUnits {
		return 0, coarseBins - 1
	}
	return max(c-medianWindow, 0), min(c+medianWindow, coarseBins-1)
}

// replicateMedian returns a replicate's weighted lower median from its
// weighted count below the window, its weighted counts in the window's coarse
// bins lo..lo+len(cells)-1, and its weighted total; h gives the shape within
// a coarse bin. clamped reports a median outside the window; ok is false
// when the total is zero.
func replicateMedian(h *fineHist, lo int, below float64, cells []float64, total float64) (m float64, clamped, ok bool) {
	if !(total > 0) {
		return 0, false, false
	}
	half := total / 2
	cum := below
	if cum >= half && below > 0 {
		return edgeMean(h, lo, lo+len(cells)-1, true), true, true
	}
	for j, c := range cells {
		if !(c > 0) {
			continue
		}
		if cum+c >= half {
			cell := lo + j
			var mass float64
			for b := cell * finePerCoarse; b < (cell+1)*finePerCoarse; b++ {
				mass += h.count[b]
			}
			// The replicate's mass c is spread over the cell's fine bins in
			// proportion to their counts; find where its CDF reaches half.
			target := (half - cum) / c * mass
			var cf float64
			last := -1
			for b := cell * finePerCoarse; b < (cell+1)*finePerCoarse; b++ {
				if h.count[b] == 0 {
					continue
				}
				last = b
				cf += h.count[b]
				if cf >= target*(1-1e-12) {
					return h.binMean(b), false, true
				}
			}
			if last >= 0 {
				return h.binMean(last), false, true
			}
		}
		cum += c
	}
	return edgeMean(h, lo, lo+len(cells)-1, false), true, true
}

// edgeMean returns the mean of the first (low) or last non-empty fine bin of
// coarse bins lo..hi, or the window edge when all are empty.
func edgeMean(h *fineHist, lo, hi int, low bool) float64 {
	if low {
		for b := lo * finePerCoarse; b < (hi+1)*finePerCoarse; b++ {
			if h.count[b] > 0 {
				return h.binMean(b)
			}
		}
	} else {
		for b := (hi+1)*finePerCoarse - 1; b >= lo*finePerCoarse; b-- {
			if h.count[b] > 0 {
				return h.binMean(b)
			}
		}
	}
	return math.NaN()
}

// WeightedMedian returns the weighted lower median of values: the smallest
// value x with (sum of weights of values <= x) >= half the total weight.
// Values with weight <= 0 are ignored; ok is false when no weight remains.
// It is the definition that Compute's histogram medians implement (at the
// resolution of their fine bins) in the point estimate and in every bootstrap
// replicate. weights == nil means all 1.
func WeightedMedian(values, weights []float64) (m float64, ok bool) {
	if weights != nil && len(weights) != len(values) {
		panic("eval: WeightedMedian: len(weights) != len(values)")
	}
	idx := make([]int, 0, len(values))
	var total float64
	for i := range values {
		w := 1.0
		if weights != nil {
			w = weights[i]
		}
		if w > 0 {
			idx = append(idx, i)
			total += w
		}
	}
	if total == 0 {
		return 0, false
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case values[a] < values[b]:
			return -1
		case values[a] > values[b]:
			return 1
		}
		return 0
	})
	var cum float64
	for _, i := range idx {
		w := 1.0
		if weights != nil {
			w = weights[i]
		}
		cum += w
		if cum >= total/2 {
			return values[i], true
		}
	}
	return values[idx[len(idx)-1]], true
}
