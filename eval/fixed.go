package eval

import (
	"cmp"
	"math"
	"math/bits"
)

// fixed is an exact sum of values in 64.64 fixed point: a 128-bit
// two's-complement integer in units of 2^-64 (hi the integer part, lo the
// fraction). Integer addition is associative, so a sum merged from shards in
// any order has the same bits: every sum of the aggregation (per-user sums,
// fine-histogram value sums, spend per country) uses it, so that Compute and
// a distributed Accumulator, whatever their partitioning of requests, agree
// exactly. Adding a value loses at most 2^-64 (its bits below 2^-64), and the
// sum is read back with float64 rounding, so it is at least as accurate as a
// float64 running sum; a value of magnitude >= 2^62 saturates.
type fixed struct {
	hi int64
	lo uint64
}

// add adds v (finite).
func (f *fixed) add(v float64) {
	v = max(min(v, 0x1p62), -0x1p62)
	ip := math.Floor(v)
	// v - ip is exact and in [0, 1); scaling by 2^64 is exact and the
	// conversion drops only bits below 2^-64.
	f.addFixed(fixed{hi: int64(ip), lo: uint64((v - ip) * 0x1p64)})
}

func (f *fixed) addFixed(o fixed) {
	lo, c := bits.Add64(f.lo, o.lo, 0)
	f.lo = lo
	f.hi += o.hi + int64(c)
}

// float returns the sum as a float64 (a deterministic function of the bits).
func (f fixed) float() float64 {
	return float64(f.hi) + float64(f.lo)*0x1p-64
}

// floatsTo sets dst[i] to src[i].float().
func floatsTo(dst []float64, src []fixed) {
	for i, f := range src {
		dst[i] = f.float()
	}
}

// compare orders two sums.
func (f fixed) compare(o fixed) int {
	if c := cmp.Compare(f.hi, o.hi); c != 0 {
		return c
	}
	return cmp.Compare(f.lo, o.lo)
}

func (f fixed) positive() bool { return f.hi > 0 || (f.hi == 0 && f.lo > 0) }
