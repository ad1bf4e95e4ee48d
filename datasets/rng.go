package datasets

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Stages of the generator. Each entity draws from its own stream derived
// from (seed, stage, index), so the output does not depend on the order or
// the goroutine in which entities are generated.
const (
	stageTaxonomy uint64 = iota + 1
	stageCategoryPrior
	stageAdPin
	stageOrganicPin
	stageDemographics
	stageUser
	stageTrend
	stageSlice
)

// splitmix64 is a bijective mixer of 64-bit values.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// streamKey derives the second PCG seed of entity index in stage.
func streamKey(stage, index uint64) uint64 {
	return splitmix64(stage<<48 ^ index)
}

// stream is a reusable random source: reseed it per entity.
type stream struct {
	pcg rand.PCG
	r   *rand.Rand
}

func newStream() *stream {
	s := &stream{}
	s.r = rand.New(&s.pcg)
	return s
}

// at reseeds the stream for (seed, stage, index) and returns it.
func (s *stream) at(seed, stage, index uint64) *rand.Rand {
	s.pcg.Seed(splitmix64(seed), streamKey(stage, index))
	return s.r
}

// scramble63 maps i to a unique positive int64: a bijection on [0, 2^63),
// so distinct indices give distinct request ids that carry no order.
func scramble63(i, salt uint64) int64 {
	const mask = 1<<63 - 1
	x := (i ^ salt) & mask
	x ^= x >> 31
	x = (x * 0x7fb5d329728ea185) & mask
	x ^= x >> 27
	x = (x * 0x81dadef4bc2dd44d) & mask
	x ^= x >> 33
	return int64(x)
}

// categorical draws an index with probability proportional to w (w sums to
// total > 0).
func categorical(r *rand.Rand, w []float64, total float64) int {
	x := r.Float64() * total
	for i, v := range w {
		x -= v
		if x < 0 {
			return i
		}
	}
	// Rounding can leave x >= 0 after the last weight: take the last positive one.
	for i := len(w) - 1; i >= 0; i-- {
		if w[i] > 0 {
			return i
		}
	}
	return len(w) - 1
}

// cumulative is a weighted sampler over a fixed list by binary search on the
// cumulative weights: O(log n) per draw.
type cumulative struct {
	cum []float64
}

func newCumulative(w []float64) cumulative {
	c := make([]float64, len(w))
	var s float64
	for i, v := range w {
		s += v
		c[i] = s
	}
	return cumulative{cum: c}
}

func (c cumulative) total() float64 {
	if len(c.cum) == 0 {
		return 0
	}
	return c.cum[len(c.cum)-1]
}

// draw returns an index with probability proportional to its weight; -1 when
// the list is empty or all weights are 0.
func (c cumulative) draw(r *rand.Rand) int {
	t := c.total()
	if t <= 0 {
		return -1
	}
	x := r.Float64() * t
	// The first entry whose cumulative weight exceeds x; zero-weight entries
	// are never chosen.
	i := sort.Search(len(c.cum), func(i int) bool { return c.cum[i] > x })
	return min(i, len(c.cum)-1)
}

// poisson draws from Poisson(mean) by multiplication of uniforms for small
// means and a rounded normal approximation for large ones.
func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 400 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	l := math.Exp(-mean)
	k := 0
	p := r.Float64()
	for p > l {
		k++
		p *= r.Float64()
	}
	return k
}

// geometric draws a count >= 1 with the given mean (>= 1).
func geometric(r *rand.Rand, mean float64) int {
	if mean <= 1 {
		return 1
	}
	p := 1 / mean
	u := 1 - r.Float64() // (0, 1]
	return 1 + int(math.Floor(math.Log(u)/math.Log1p(-p)))
}

// gaussianVec fills v with N(0, scale^2) draws.
func gaussianVec(r *rand.Rand, v []float64, scale float64) {
	for i := range v {
		v[i] = scale * r.NormFloat64()
	}
}

// normalizeTo writes v / |v| into dst as float32. A zero vector becomes the
// first unit vector, so the result always has unit length.
func normalizeTo(dst []float32, v []float64) {
	var n float64
	for _, x := range v {
		n += x * x
	}
	if n == 0 {
		clear(dst)
		dst[0] = 1
		return
	}
	n = 1 / math.Sqrt(n)
	for i, x := range v {
		dst[i] = float32(x * n)
	}
}

// lognormal draws median * exp(sigma * z).
func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// normalizeMix returns w / sum(w).
func normalizeMix(w []float64) []float64 {
	var s float64
	for _, x := range w {
		s += x
	}
	out := make([]float64, len(w))
	for i, x := range w {
		out[i] = x / s
	}
	return out
}
