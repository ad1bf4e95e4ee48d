package nn

import (
	"fmt"
	"math"
)

// Adam is the Adam optimizer with bias correction and decoupled weight decay
// (AdamW, as in PyTorch: w *= 1 - LR*WeightDecay, then the Adam update).
//
// For Sparse params it is lazy: only the Touched rows get their moments decayed
// and their weights updated. The bias correction uses the global step count
// (the number of Step calls), as PyTorch's SparseAdam does; a row that was not
// touched for a while therefore keeps its old moments unchanged.
type Adam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32

	params []*Param
	m, v   [][]float32
	step   int64
}

// NewAdam returns Adam over params with learning rate lr, beta1 0.9, beta2
// 0.999, eps 1e-8 and no weight decay.
func NewAdam(params []*Param, lr float32) *Adam {
	o := &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, params: params}
	for _, p := range params {
		o.m = append(o.m, make([]float32, len(p.W)))
		o.v = append(o.v, make([]float32, len(p.W)))
	}
	return o
}

// Step applies one update from the current gradients (it does not zero them).
func (o *Adam) Step() {
	o.step++
	bc1 := 1 - math.Pow(float64(o.Beta1), float64(o.step))
	bc2 := 1 - math.Pow(float64(o.Beta2), float64(o.step))
	// w -= lr/bc1 * m / (sqrt(v/bc2) + eps)
	stepSize := float32(float64(o.LR) / bc1)
	invBC2 := float32(1 / bc2)
	decay := 1 - o.LR*o.WeightDecay
	for i, p := range o.params {
		m, v := o.m[i], o.v[i]
		if p.Sparse {
			p.PrepareTouched()
			d := p.RowDim
			for _, r := range p.Touched {
				lo, hi := int(r)*d, int(r+1)*d
				o.update(p.W[lo:hi], p.G[lo:hi], m[lo:hi], v[lo:hi], stepSize, invBC2, decay)
			}
			continue
		}
		o.update(p.W, p.G, m, v, stepSize, invBC2, decay)
	}
}

func (o *Adam) update(w, g, m, v []float32, stepSize, invBC2, decay float32) {
	b1, b2 := o.Beta1, o.Beta2
	g = g[:len(w)]
	m = m[:len(w)]
	v = v[:len(w)]
	for j := range w {
		gj := g[j]
		mj := b1*m[j] + (1-b1)*gj
		vj := b2*v[j] + (1-b2)*gj*gj
		m[j], v[j] = mj, vj
		den := float32(math.Sqrt(float64(vj*invBC2))) + o.Eps
		w[j] = w[j]*decay - stepSize*mj/den
	}
}

// State returns the step count and the first and second moments, one slice per
// param in the order given to NewAdam. The slices alias the optimizer's state.
func (o *Adam) State() (step int64, m, v [][]float32) {
	return o.step, o.m, o.v
}

// SetState restores a state returned by State (copying it); the moments must
// have the lengths of the params.
func (o *Adam) SetState(step int64, m, v [][]float32) error {
	if step < 0 {
		return fmt.Errorf("set adam state: negative step %d", step)
	}
	if len(m) != len(o.params) || len(v) != len(o.params) {
		return fmt.Errorf("set adam state: %d first and %d second moments for %d params", len(m), len(v), len(o.params))
	}
	for i, p := range o.params {
		if len(m[i]) != len(p.W) || len(v[i]) != len(p.W) {
			return fmt.Errorf("set adam state: param %s: moments of length %d and %d, want %d", p.Name, len(m[i]), len(v[i]), len(p.W))
		}
	}
	for i := range o.params {
		copy(o.m[i], m[i])
		copy(o.v[i], v[i])
	}
	o.step = step
	return nil
}

// Params returns the parameters the optimizer updates.
func (o *Adam) Params() []*Param { return o.params }
