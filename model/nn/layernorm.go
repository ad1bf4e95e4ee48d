package nn

import (
	"fmt"
	"math"
)

// LayerNorm normalises each row to zero mean and unit variance (eps 1e-5) and
// applies a per-column gain and bias: y = (x - mean)/sqrt(var + eps) * g + b.
type LayerNorm struct {
	G, B *Param
	Dim  int
	Eps  float32

	xhat, y, dx *Mat
	rstd        []float32
	x, dy       *Mat
	part        []float32 // per chunk: dg then db
	fwd, bwd    *rowsTask
}

// NewLayerNorm returns a LayerNorm over rows of width dim with gain 1 and bias 0.
func NewLayerNorm(name string, dim int) *LayerNorm {
	l := &LayerNorm{G: NewParam(name+".g", dim), B: NewParam(name+".b", dim), Dim: dim, Eps: 1e-5}
	for i := range l.G.W {
		l.G.W[i] = 1
	}
	l.fwd = &rowsTask{fn: l.fwdChunk}
	l.bwd = &rowsTask{fn: l.bwdChunk}
	return l
}

// Params returns the gain and the bias.
func (l *LayerNorm) Params() []*Param { return []*Param{l.G, l.B} }

// Forward normalises the rows of x (n x Dim) and returns y (n x Dim).
func (l *LayerNorm) Forward(x *Mat) *Mat {
	if x.C != l.Dim {
		panic(fmt.Sprintf("nn: LayerNorm %s: input has %d columns, want %d", l.G.Name, x.C, l.Dim))
	}
	l.x = x
	ensure(&l.xhat, x.R, x.C)
	ensure(&l.y, x.R, x.C)
	l.rstd = growF32(l.rstd, x.R)
	l.fwd.do(x.R, rowStep(x.C))
	return l.y
}

func (l *LayerNorm) fwdChunk(_, lo, hi int) {
	d := l.Dim
	g, b := l.G.W[:d], l.B.W[:d]
	for i := lo; i < hi; i++ {
		x := l.x.D[i*d : (i+1)*d]
		xh := l.xhat.D[i*d : (i+1)*d]
		y := l.y.D[i*d : (i+1)*d]
		var mean float32
		for _, v := range x {
			mean += v
		}
		mean /= float32(d)
		var vr float32
		for _, v := range x {
			vr += (v - mean) * (v - mean)
		}
		vr /= float32(d)
		rs := float32(1 / math.Sqrt(float64(vr+l.Eps)))
		l.rstd[i] = rs
		for j, v := range x {
			h := (v - mean) * rs
			xh[j] = h
			y[j] = h*g[j] + b[j]
		}
	}
}

// Backward accumulates the gain and bias gradients and returns dx (n x Dim).
func (l *LayerNorm) Backward(dy *Mat) *Mat {
	if l.x == nil || dy.R != l.x.R || dy.C != l.Dim {
		panic(fmt.Sprintf("nn: LayerNorm %s: Backward with %d x %d gradient does not match Forward", l.G.Name, dy.R, dy.C))
	}
	l.dy = dy
	ensure(&l.dx, dy.R, dy.C)
	step := rowStep(l.Dim)
	l.part = growF32(l.part, numChunks(dy.R, step)*2*l.Dim)
	chunks := l.bwd.do(dy.R, step)
	d := l.Dim
	for c := range chunks {
		p := l.part[c*2*d : (c+1)*2*d]
		for j := range d {
			l.G.G[j] += p[j]
			l.B.G[j] += p[d+j]
		}
	}
	return l.dx
}

func (l *LayerNorm) bwdChunk(c, lo, hi int) {
	d := l.Dim
	g := l.G.W[:d]
	p := l.part[c*2*d : (c+1)*2*d]
	clear(p)
	dg, db := p[:d], p[d:]
	inv := 1 / float32(d)
	for i := lo; i < hi; i++ {
		dy := l.dy.D[i*d : (i+1)*d]
		xh := l.xhat.D[i*d : (i+1)*d]
		dx := l.dx.D[i*d : (i+1)*d]
		var s1, s2 float32
		for j, v := range dy {
			dg[j] += v * xh[j]
			db[j] += v
			dh := v * g[j]
			s1 += dh
			s2 += dh * xh[j]
		}
		s1 *= inv
		s2 *= inv
		rs := l.rstd[i]
		for j, v := range dy {
			dx[j] = rs * (v*g[j] - s1 - xh[j]*s2)
		}
	}
}
