package nn

import "fmt"

// Activation selects an elementwise nonlinearity.
type Activation int

const (
	// ReLU is max(0, x).
	ReLU Activation = iota
	// GELU is the tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
	GELU
)

// String returns "relu" or "gelu".
func (a Activation) String() string {
	switch a {
	case ReLU:
		return "relu"
	case GELU:
		return "gelu"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// Act applies an Activation elementwise.
type Act struct {
	Kind Activation

	x, y, dx, dy *Mat
	t            []float32 // GELU: tanh of the inner term, cached for Backward
	fwd, bwd     *rowsTask
}

// NewAct returns an activation module.
func NewAct(kind Activation) *Act {
	if kind != ReLU && kind != GELU {
		panic(fmt.Sprintf("nn: NewAct: unknown activation %d", int(kind)))
	}
	a := &Act{Kind: kind}
	a.fwd = &rowsTask{fn: a.fwdChunk}
	a.bwd = &rowsTask{fn: a.bwdChunk}
	return a
}

const (
	geluC = 0.7978845608028654 // sqrt(2/pi)
	geluA = 0.044715
)

// Forward returns the activation of x (same shape).
func (a *Act) Forward(x *Mat) *Mat {
	a.x = x
	ensure(&a.y, x.R, x.C)
	if a.Kind == GELU {
		a.t = growF32(a.t, len(x.D))
	}
	a.fwd.do(len(x.D), 1<<14)
	return a.y
}

func (a *Act) fwdChunk(_, lo, hi int) {
	x := a.x.D[lo:hi]
	y := a.y.D[lo:hi]
	y = y[:len(x)]
	if a.Kind == ReLU {
		for i, v := range x {
			y[i] = max(v, 0)
		}
		return
	}
	geluForward(x, y, a.t[lo:hi])
}

// geluForwardGo sets t = tanh(sqrt(2/pi) (x + 0.044715 x^3)) and
// y = 0.5 x (1 + t).
func geluForwardGo(x, y, t []float32) {
	y = y[:len(x)]
	t = t[:len(x)]
	for i, v := range x {
		th := tanh32(geluC * (v + geluA*v*v*v))
		t[i] = th
		y[i] = 0.5 * v * (1 + th)
	}
}

// Backward returns dx = dy * f'(x).
func (a *Act) Backward(dy *Mat) *Mat {
	if a.x == nil || len(dy.D) != len(a.x.D) {
		panic(fmt.Sprintf("nn: Act: Backward with %d x %d gradient does not match Forward", dy.R, dy.C))
	}
	a.dy = dy
	ensure(&a.dx, dy.R, dy.C)
	a.bwd.do(len(dy.D), 1<<14)
	return a.dx
}

func (a *Act) bwdChunk(_, lo, hi int) {
	x := a.x.D[lo:hi]
	dy := a.dy.D[lo:hi]
	dx := a.dx.D[lo:hi]
	dy = dy[:len(x)]
	dx = dx[:len(x)]
	if a.Kind == ReLU {
		for i, v := range x {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
		return
	}
	geluBackward(x, a.t[lo:hi], dy, dx)
}

// geluBackwardGo sets dx = dy * GELU'(x) from the cached tanh t.
func geluBackwardGo(x, t, dy, dx []float32) {
	t = t[:len(x)]
	dy = dy[:len(x)]
	dx = dx[:len(x)]
	for i, v := range x {
		th := t[i]
		d := 0.5*(1+th) + 0.5*v*(1-th*th)*geluC*(1+3*geluA*v*v)
		dx[i] = dy[i] * d
	}
}

// tanh32 is a float32 tanh by a [13/6] rational approximation on [-9, 9]
// (the coefficients of Eigen's ptanh_float), accurate to a few ulp; it is much
// faster than math.Tanh in float64.
func tanh32(x float32) float32 {
	x = min(max(x, -tanhClamp), tanhClamp)
	if x > -0.0004 && x < 0.0004 {
		return x
	}
	x2 := x * x
	p := ((((((tanhA13*x2+tanhA11)*x2+tanhA9)*x2+tanhA7)*x2+tanhA5)*x2+tanhA3)*x2 + tanhA1) * x
	q := ((tanhB6*x2+tanhB4)*x2+tanhB2)*x2 + tanhB0
	return p / q
}

// Coefficients of tanh32 (Eigen's ptanh_float).
const (
	tanhClamp = 7.90531110763549805
	tanhA1    = 4.89352455891786e-03
	tanhA3    = 6.37261928875436e-04
	tanhA5    = 1.48572235717979e-05
	tanhA7    = 5.12229709037114e-08
	tanhA9    = -8.60467152213735e-11
	tanhA11   = 2.00018790482477e-13
	tanhA13   = -2.76076847742355e-16
	tanhB0    = 4.89352518554385e-03
	tanhB2    = 2.26843463243900e-03
	tanhB4    = 1.18534705686654e-04
	tanhB6    = 1.19825839466702e-06
)
