package nn

import "math"

// l2Eps keeps the normalisation of a zero row finite.
const l2Eps = 1e-12

// L2NormalizeRows scales every row of m to unit L2 norm in place (a zero row
// stays zero). It has no backward pass; use L2Norm in training.
func L2NormalizeRows(m *Mat) {
	for i := range m.R {
		r := m.Row(i)
		inv := float32(1 / max(math.Sqrt(sumSq(r)), l2Eps))
		for j := range r {
			r[j] *= inv
		}
	}
}

// L2Norm is the module y = x / max(||x||, 1e-12), row by row.
type L2Norm struct {
	x, y, dx *Mat
	inv      []float32 // 1/max(||x_i||, eps)
}

// NewL2Norm returns a row-normalisation module.
func NewL2Norm() *L2Norm { return &L2Norm{} }

// Forward returns the rows of x scaled to unit norm (same shape).
func (l *L2Norm) Forward(x *Mat) *Mat {
	l.x = x
	y := ensure(&l.y, x.R, x.C)
	l.inv = growF32(l.inv, x.R)
	for i := range x.R {
		xr, yr := x.Row(i), y.Row(i)
		inv := float32(1 / max(math.Sqrt(sumSq(xr)), l2Eps))
		l.inv[i] = inv
		for j, v := range xr {
			yr[j] = v * inv
		}
	}
	return y
}

// Backward returns dx = (dy - y (y . dy)) / ||x||.
func (l *L2Norm) Backward(dy *Mat) *Mat {
	dx := ensure(&l.dx, dy.R, dy.C)
	for i := range dy.R {
		yr, dr, xr := l.y.Row(i), dy.Row(i), dx.Row(i)
		var dot float32
		for j, v := range dr {
			dot += v * yr[j]
		}
		inv := l.inv[i]
		for j, v := range dr {
			xr[j] = (v - yr[j]*dot) * inv
		}
	}
	return dx
}
