package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"

	"gonum.org/v1/gonum/floats"
)

// The bootstrap resamples users with Poisson(1) weights: in replicate r user
// u's rows count w(u, r) ~ Poisson(1) times. Every metric is a ratio of two
// sums over users (or, for medians, is read off weighted counts), so a
// replicate needs only the per-user sums, weighted: the cost is replicates x
// users x columns, independent of the number of candidates.
//
// Weights are drawn per (seed, user, block of 64 replicates) from
// rand.New(rand.NewPCG(seed, mix(user, block))): a user gets the same weights
// in every segment and on both sides of every comparison (the comparisons are
// paired), and the result does not depend on how blocks are spread over
// goroutines.

// repBlock is the number of replicates drawn from one per-(user, block)
// stream; blocks are the unit of parallel work.
const repBlock = 64

// poissonCDF[k] is P(X <= k) for X ~ Poisson(1), scaled to 2^64 (saturating).
var poissonCDF = func() []uint64 {
	var out []uint64
	p := math.Exp(-1)
	c := p
	// Stop where the tail is below 1e-15: c * 2^64 then stays clear of 2^64.
	for k := 1; c < 1-1e-15; k++ {
		out = append(out, uint64(c*0x1p64))
		p /= float64(k)
		c += p
	}
	return out
}()

// poisson1 draws from Poisson(1) by inversion of one 64-bit uniform.
func poisson1(r *rand.Rand) float64 {
	u := r.Uint64()
	for k, c := range poissonCDF {
		if u < c {
			return float64(k)
		}
	}
	return float64(len(poissonCDF))
}

// mix64 is the SplitMix64 finaliser, used to derive stream ids.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// userWeights fills w (len <= repBlock) with the Poisson(1) weights of user
// for the replicates of block.
func userWeights(seed uint64, user int32, block int, w []float64) {
	r := rand.New(rand.NewPCG(seed, mix64(uint64(uint32(user))<<20^uint64(block)^0x9e3779b97f4a7c15)))
	for i := range w {
		w[i] = poisson1(r)
	}
}

// replicateSums returns R (reps rows of len(cols) each, flattened) with
// R[r][c] = sum over rows i of w(users[i], r) * s[i*ncol+c]. s is row-major,
// len(users) x ncol. Work is split over two goroutines by replicate block;
// every block writes only its own rows of R, so the output is identical for
// any scheduling.
func replicateSums(ctx context.Context, seed uint64, users []int32, s []float64, ncol, reps int) ([]float64, error) {
	if len(s) != len(users)*ncol {
		panic("eval: replicateSums: shape mismatch")
	}
	out := make([]float64, reps*ncol)
	nblocks := (reps + repBlock - 1) / repBlock
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	for range 2 {
		wg.Go(func() {
			w := make([]float64, repBlock)
			for {
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				b := next
				next++
				mu.Unlock()
				if b >= nblocks {
					return
				}
				lo, hi := b*repBlock, min((b+1)*repBlock, reps)
				w := w[:hi-lo]
				for i, u := range users {
					userWeights(seed, u, b, w)
					row := s[i*ncol : (i+1)*ncol]
					for j, wt := range w {
						if wt != 0 {
							floats.AddScaled(out[(lo+j)*ncol:(lo+j+1)*ncol], wt, row)
						}
					}
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	return out, nil
}

// percentileInterval returns the (1-conf)/2 and (1+conf)/2 quantiles of xs
// (linear interpolation between order statistics, R's type 7). xs is sorted
// in place. It returns NaNs for an empty xs.
func percentileInterval(xs []float64, conf float64) (lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	sort.Float64s(xs)
	a := (1 - conf) / 2
	return quantileSorted(xs, a), quantileSorted(xs, 1-a)
}

func quantileSorted(xs []float64, q float64) float64 {
	h := q * float64(len(xs)-1)
	i := int(math.Floor(h))
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	if i < 0 {
		return xs[0]
	}
	return xs[i] + (h-float64(i))*(xs[i+1]-xs[i])
}

// bootstrapPValue is the two-sided p-value of a difference with point
// value d and bootstrap replicates diffs: 2 * Phi(-|d| / se) with se the
// standard deviation of the replicates (a normal approximation with the
// paired bootstrap's standard error). Unlike counting replicates beyond zero,
// whose resolution is 2/(B+1), it resolves the small p-values that Holm's
// correction over many comparisons needs. A zero se gives 1 for d == 0 and 0
// otherwise.
func bootstrapPValue(d float64, diffs []float64) float64 {
	if len(diffs) < 2 {
		return 1
	}
	var mean float64
	for _, x := range diffs {
		mean += x
	}
	mean /= float64(len(diffs))
	var ss float64
	for _, x := range diffs {
		ss += (x - mean) * (x - mean)
	}
	se := math.Sqrt(ss / float64(len(diffs)-1))
	if se == 0 {
		if d == 0 {
			return 1
		}
		return 0
	}
	return math.Erfc(math.Abs(d) / se / math.Sqrt2)
}

// HolmAdjust returns Holm's step-down adjusted p-values of ps, in the order
// of ps: sorting ascending, adj_(i) = max over j <= i of min(1, (m-j) *
// p_(j)) with j 0-based. Rejecting where adj < alpha controls the
// family-wise error rate at alpha. Ties keep input order.
func HolmAdjust(ps []float64) []float64 {
	m := len(ps)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case ps[a] < ps[b]:
			return -1
		case ps[a] > ps[b]:
			return 1
		}
		return 0
	})
	out := make([]float64, m)
	run := 0.0
	for j, i := range idx {
		v := math.Min(1, float64(m-j)*ps[i])
		run = math.Max(run, v)
		out[i] = run
	}
	return out
}
