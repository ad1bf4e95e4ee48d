//go:build goexperiment.simd && amd64

package nn

import "simd/archsimd"

// geluVec holds the GELU and tanh constants as 8-wide vectors; the kernels
// load them with VEX moves (a scalar broadcast would use a legacy-SSE load,
// which is very slow while 256-bit registers are dirty).
var geluVec = func() (v [18][8]float32) {
	c := [18]float32{-tanhClamp, tanhClamp, tanhA1, tanhA3, tanhA5, tanhA7, tanhA9, tanhA11, tanhA13,
		tanhB0, tanhB2, tanhB4, tanhB6, geluC, geluA, 0.5, 1, 3 * geluA}
	for i, x := range c {
		for j := range v[i] {
			v[i][j] = x
		}
	}
	return v
}()

const (
	gvLo = iota
	gvHi
	gvA1
	gvA3
	gvA5
	gvA7
	gvA9
	gvA11
	gvA13
	gvB0
	gvB2
	gvB4
	gvB6
	gvC
	gvA
	gvHalf
	gvOne
	gv3A
)

func gv(i int) archsimd.Float32x8 { return archsimd.LoadFloat32x8(&geluVec[i]) }

// tanhVec is tanh32 on 8 lanes (without tanh32's |x| < 4e-4 shortcut, where
// the rational function is exact to float32 precision anyway).
func tanhVec(x archsimd.Float32x8) archsimd.Float32x8 {
	x = x.Max(gv(gvLo)).Min(gv(gvHi))
	x2 := x.Mul(x)
	p := gv(gvA13).Mul(x2).Add(gv(gvA11))
	p = p.Mul(x2).Add(gv(gvA9))
	p = p.Mul(x2).Add(gv(gvA7))
	p = p.Mul(x2).Add(gv(gvA5))
	p = p.Mul(x2).Add(gv(gvA3))
	p = p.Mul(x2).Add(gv(gvA1))
	p = p.Mul(x)
	q := gv(gvB6).Mul(x2).Add(gv(gvB4))
	q = q.Mul(x2).Add(gv(gvB2))
	q = q.Mul(x2).Add(gv(gvB0))
	return p.Div(q)
}

func geluForward(x, y, t []float32) {
	if !useSIMD {
		geluForwardGo(x, y, t)
		return
	}
	n := len(x) &^ 7
	y = y[:len(x)]
	t = t[:len(x)]
	for i := 0; i < n; i += 8 {
		v := archsimd.LoadFloat32x8((*[8]float32)(x[i : i+8]))
		u := v.Mul(v).Mul(v).Mul(gv(gvA)).Add(v).Mul(gv(gvC))
		th := tanhVec(u)
		th.Store((*[8]float32)(t[i : i+8]))
		gv(gvHalf).Mul(v).Mul(gv(gvOne).Add(th)).Store((*[8]float32)(y[i : i+8]))
	}
	archsimd.ClearAVXUpperBits()
	geluForwardGo(x[n:], y[n:], t[n:])
}

func geluBackward(x, t, dy, dx []float32) {
	if !useSIMD {
		geluBackwardGo(x, t, dy, dx)
		return
	}
	n := len(x) &^ 7
	t = t[:len(x)]
	dy = dy[:len(x)]
	dx = dx[:len(x)]
	for i := 0; i < n; i += 8 {
		v := archsimd.LoadFloat32x8((*[8]float32)(x[i : i+8]))
		th := archsimd.LoadFloat32x8((*[8]float32)(t[i : i+8]))
		g := archsimd.LoadFloat32x8((*[8]float32)(dy[i : i+8]))
		one := gv(gvOne)
		half := gv(gvHalf)
		// 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)
		d1 := half.Mul(one.Add(th))
		d2 := half.Mul(v).Mul(one.Sub(th.Mul(th))).Mul(gv(gvC)).Mul(one.Add(gv(gv3A).Mul(v).Mul(v)))
		g.Mul(d1.Add(d2)).Store((*[8]float32)(dx[i : i+8]))
	}
	archsimd.ClearAVXUpperBits()
	geluBackwardGo(x[n:], t[n:], dy[n:], dx[n:])
}
