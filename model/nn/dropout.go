package nn

import (
	"fmt"
	"math/rand/v2"
)

// Dropout is inverted dropout: in training each element is zeroed with
// probability P and the survivors are scaled by 1/(1-P); at evaluation (or
// P == 0) it is the identity.
type Dropout struct {
	P float32

	mask   []float32 // per element: 0 or 1/(1-P); nil-length when identity
	active bool
	y, dx  *Mat
}

// NewDropout returns a dropout module with drop probability p in [0, 1).
func NewDropout(p float32) *Dropout {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("nn: NewDropout: p = %g not in [0, 1)", p))
	}
	return &Dropout{P: p}
}

// Forward applies dropout to x with a mask drawn from rng (only when train and
// P > 0; rng may be nil otherwise). The result has the shape of x.
func (d *Dropout) Forward(x *Mat, train bool, rng *rand.Rand) *Mat {
	y := ensure(&d.y, x.R, x.C)
	d.active = train && d.P > 0
	if !d.active {
		copy(y.D, x.D)
		return y
	}
	d.mask = growF32(d.mask, len(x.D))
	fillMask(d.mask, d.P, rng)
	for i, v := range x.D {
		y.D[i] = v * d.mask[i]
	}
	return y
}

// Backward returns dx = dy * mask (dy itself copied when Forward was the identity).
func (d *Dropout) Backward(dy *Mat) *Mat {
	dx := ensure(&d.dx, dy.R, dy.C)
	if !d.active {
		copy(dx.D, dy.D)
		return dx
	}
	if len(dy.D) != len(d.mask) {
		panic(fmt.Sprintf("nn: Dropout: Backward with %d x %d gradient does not match Forward", dy.R, dy.C))
	}
	for i, v := range dy.D {
		dx.D[i] = v * d.mask[i]
	}
	return dx
}

// fillMask sets mask[i] to 0 with probability p and to 1/(1-p) otherwise,
// drawing two 32-bit uniforms per rng call.
func fillMask(mask []float32, p float32, rng *rand.Rand) {
	thr := uint32(float64(p) * (1 << 32))
	keep := 1 / (1 - p)
	i := 0
	for ; i+1 < len(mask); i += 2 {
		u := rng.Uint64()
		mask[i] = pick(uint32(u) < thr, keep)
		mask[i+1] = pick(uint32(u>>32) < thr, keep)
	}
	if i < len(mask) {
		mask[i] = pick(rng.Uint32() < thr, keep)
	}
}

func pick(drop bool, keep float32) float32 {
	if drop {
		return 0
	}
	return keep
}

// RowDropout zeroes whole rows with probability P (for example a whole context
// vector for a share of the examples) and scales kept rows by 1/(1-P); at
// evaluation (or P == 0) it is the identity.
type RowDropout struct {
	P float32

	mask   []float32 // per row
	active bool
	y, dx  *Mat
}

// NewRowDropout returns a row dropout module with drop probability p in [0, 1).
func NewRowDropout(p float32) *RowDropout {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("nn: NewRowDropout: p = %g not in [0, 1)", p))
	}
	return &RowDropout{P: p}
}

// Forward applies row dropout to x with a mask drawn from rng (one draw per
// row; only when train and P > 0). The result has the shape of x.
func (d *RowDropout) Forward(x *Mat, train bool, rng *rand.Rand) *Mat {
	y := ensure(&d.y, x.R, x.C)
	d.active = train && d.P > 0
	if !d.active {
		copy(y.D, x.D)
		return y
	}
	d.mask = growF32(d.mask, x.R)
	fillMask(d.mask, d.P, rng)
	for i := range x.R {
		s := d.mask[i]
		yr, xr := y.Row(i), x.Row(i)
		for j, v := range xr {
			yr[j] = v * s
		}
	}
	return y
}

// Backward returns dx = dy scaled by the row mask.
func (d *RowDropout) Backward(dy *Mat) *Mat {
	dx := ensure(&d.dx, dy.R, dy.C)
	if !d.active {
		copy(dx.D, dy.D)
		return dx
	}
	if dy.R != len(d.mask) {
		panic(fmt.Sprintf("nn: RowDropout: Backward with %d rows, Forward had %d", dy.R, len(d.mask)))
	}
	for i := range dy.R {
		s := d.mask[i]
		dr, yr := dx.Row(i), dy.Row(i)
		for j, v := range yr {
			dr[j] = v * s
		}
	}
	return dx
}

// Kept reports whether row i was kept by the last training Forward (always
// true when it was the identity).
func (d *RowDropout) Kept(i int) bool { return !d.active || d.mask[i] != 0 }
