package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Linear is a fully connected layer y = x W + b with W of shape in x out.
type Linear struct {
	W, B    *Param
	In, Out int

	x      *Mat
	y, dx  *Mat
	dy     *Mat
	dbPart []float32
	dbTask *rowsTask
}

// NewLinear returns a Linear layer with Xavier-uniform weights (limit
// sqrt(6/(in+out))) and zero bias. Parameter names are name+".w" and name+".b".
func NewLinear(name string, in, out int, rng *rand.Rand) *Linear {
	l := &Linear{W: NewParam(name+".w", in, out), B: NewParam(name+".b", out), In: in, Out: out}
	lim := float32(math.Sqrt(6 / float64(in+out)))
	for i := range l.W.W {
		l.W.W[i] = (rng.Float32()*2 - 1) * lim
	}
	l.dbTask = &rowsTask{fn: l.dbChunk}
	return l
}

// Params returns the weight and the bias.
func (l *Linear) Params() []*Param { return []*Param{l.W, l.B} }

// Forward returns y = x W + b for x of shape n x In; y is n x Out.
func (l *Linear) Forward(x *Mat) *Mat {
	if x.C != l.In {
		panic(fmt.Sprintf("nn: Linear %s: input has %d columns, want %d", l.W.Name, x.C, l.In))
	}
	l.x = x
	y := ensure(&l.y, x.R, l.Out)
	for i := range x.R {
		copy(y.D[i*l.Out:(i+1)*l.Out], l.B.W)
	}
	Gemm(false, false, x.R, l.Out, l.In, 1, x.D, l.In, l.W.W, l.Out, 1, y.D, l.Out)
	return y
}

// Backward accumulates dW += x^T dy and db += colsum(dy) and returns
// dx = dy W^T (n x In).
func (l *Linear) Backward(dy *Mat) *Mat {
	x := l.x
	if x == nil || dy.R != x.R || dy.C != l.Out {
		panic(fmt.Sprintf("nn: Linear %s: Backward with %d x %d gradient does not match Forward", l.W.Name, dy.R, dy.C))
	}
	Gemm(true, false, l.In, l.Out, x.R, 1, x.D, l.In, dy.D, l.Out, 1, l.W.G, l.Out)
	l.dy = dy
	step := rowStep(l.Out) * 4
	l.dbPart = growF32(l.dbPart, numChunks(dy.R, step)*l.Out)
	chunks := l.dbTask.do(dy.R, step)
	sumPartials(l.B.G, l.dbPart, chunks, l.Out)
	dx := ensure(&l.dx, x.R, l.In)
	Gemm(false, true, x.R, l.In, l.Out, 1, dy.D, l.Out, l.W.W, l.Out, 0, dx.D, l.In)
	return dx
}

func (l *Linear) dbChunk(c, lo, hi int) {
	p := l.dbPart[c*l.Out : (c+1)*l.Out]
	clear(p)
	for i := lo; i < hi; i++ {
		r := l.dy.D[i*l.Out : (i+1)*l.Out]
		for j, v := range r {
			p[j] += v
		}
	}
}
