package nn

import (
	"fmt"
	"math"
	"slices"
)

// Mat is a row-major float32 matrix of R rows and C columns; element (i, j) is
// D[i*C+j].
type Mat struct {
	R, C int
	D    []float32
}

// NewMat returns a zeroed r x c matrix.
func NewMat(r, c int) *Mat {
	if r < 0 || c < 0 {
		panic(fmt.Sprintf("nn: NewMat(%d, %d): negative dimension", r, c))
	}
	return &Mat{R: r, C: c, D: make([]float32, r*c)}
}

// Row returns row i as a slice of length C aliasing m.D.
func (m *Mat) Row(i int) []float32 {
	return m.D[i*m.C : (i+1)*m.C : (i+1)*m.C]
}

// Reshape makes m an r x c matrix. It grows the backing slice only when r*c
// exceeds its capacity; otherwise it reuses it and the contents are left as they
// were (not zeroed). It returns m.
func (m *Mat) Reshape(r, c int) *Mat {
	if r < 0 || c < 0 {
		panic(fmt.Sprintf("nn: Reshape(%d, %d): negative dimension", r, c))
	}
	if cap(m.D) < r*c {
		m.D = make([]float32, r*c)
	}
	m.D = m.D[:r*c]
	m.R, m.C = r, c
	return m
}

// Zero sets every element of m to 0.
func (m *Mat) Zero() { clear(m.D) }

// ensure returns *p reshaped to r x c, allocating it on first use.
func ensure(p **Mat, r, c int) *Mat {
	if *p == nil {
		*p = NewMat(r, c)
		return *p
	}
	return (*p).Reshape(r, c)
}

// ensureZero is ensure followed by zeroing.
func ensureZero(p **Mat, r, c int) *Mat {
	m := ensure(p, r, c)
	clear(m.D)
	return m
}

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Param is a trainable tensor with its gradient. W and G have the same length,
// the product of Shape.
type Param struct {
	Name  string
	Shape []int
	W, G  []float32
	// Sparse params (embedding tables) keep gradients only for touched rows.
	Sparse bool
	// RowDim is the number of columns per row of a sparse table.
	RowDim int
	// Touched lists the rows with a gradient since the last ZeroGrad. Backward
	// passes append to it (with repeats); PrepareTouched sorts and deduplicates
	// it, which ClipGradNorm and Adam.Step do before reading it.
	Touched []int32
}

// NewParam returns a dense parameter with zeroed weights and gradient.
func NewParam(name string, shape ...int) *Param {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return &Param{Name: name, Shape: slices.Clone(shape), W: make([]float32, n), G: make([]float32, n)}
}

// newSparseParam returns a rows x dim sparse table.
func newSparseParam(name string, rows, dim int) *Param {
	p := NewParam(name, rows, dim)
	p.Sparse = true
	p.RowDim = dim
	return p
}

// PrepareTouched sorts p.Touched and removes repeats, in place.
func (p *Param) PrepareTouched() {
	if len(p.Touched) < 2 {
		return
	}
	slices.Sort(p.Touched)
	p.Touched = slices.Compact(p.Touched)
}

// ZeroGrad zeroes the gradients of params. For sparse params only the touched
// rows are cleared (the others are zero already) and Touched is emptied.
func ZeroGrad(params []*Param) {
	for _, p := range params {
		if p.Sparse {
			d := p.RowDim
			for _, r := range p.Touched {
				clear(p.G[int(r)*d : int(r+1)*d])
			}
			p.Touched = p.Touched[:0]
			continue
		}
		clear(p.G)
	}
}

// GradNorm returns the global L2 norm of the gradients of params, accumulated
// in float64 in parameter order (sparse params: touched rows in ascending order).
func GradNorm(params []*Param) float64 {
	var s float64
	for _, p := range params {
		if p.Sparse {
			p.PrepareTouched()
			d := p.RowDim
			for _, r := range p.Touched {
				s += sumSq(p.G[int(r)*d : int(r+1)*d])
			}
			continue
		}
		s += sumSq(p.G)
	}
	return math.Sqrt(s)
}

func sumSq(g []float32) float64 {
	var s float64
	for _, v := range g {
		s += float64(v) * float64(v)
	}
	return s
}

// ClipGradNorm scales all gradients of params by maxNorm/norm when their global
// L2 norm exceeds maxNorm (maxNorm <= 0 disables clipping) and returns the norm
// before clipping.
func ClipGradNorm(params []*Param, maxNorm float64) (norm float64) {
	norm = GradNorm(params)
	if maxNorm <= 0 || norm <= maxNorm || math.IsNaN(norm) {
		return norm
	}
	scale := float32(maxNorm / (norm + 1e-6))
	for _, p := range params {
		if p.Sparse {
			d := p.RowDim
			for _, r := range p.Touched {
				scaleF32(p.G[int(r)*d:int(r+1)*d], scale)
			}
			continue
		}
		scaleF32(p.G, scale)
	}
	return norm
}

func scaleF32(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// NumWeights returns the total number of weights in params.
func NumWeights(params []*Param) int {
	n := 0
	for _, p := range params {
		n += len(p.W)
	}
	return n
}
