package nn

import (
	"fmt"
	"math/rand/v2"
)

// MLP is Linear -> Act -> Dropout -> ... -> Linear, with no activation or
// dropout after the last Linear.
type MLP struct {
	Layers []*Linear
	Acts   []*Act
	Drops  []*Dropout
}

// NewMLP returns an MLP through sizes (sizes[0] inputs, sizes[len-1] outputs;
// at least two sizes), with activation act and dropout probability dropout
// between layers. Layer i's parameters are named name+".<i>".
func NewMLP(name string, sizes []int, act Activation, dropout float32, rng *rand.Rand) *MLP {
	if len(sizes) < 2 {
		panic(fmt.Sprintf("nn: NewMLP %s: need at least 2 sizes, got %v", name, sizes))
	}
	m := &MLP{}
	for i := 0; i+1 < len(sizes); i++ {
		m.Layers = append(m.Layers, NewLinear(fmt.Sprintf("%s.%d", name, i), sizes[i], sizes[i+1], rng))
		if i+2 < len(sizes) {
			m.Acts = append(m.Acts, NewAct(act))
			m.Drops = append(m.Drops, NewDropout(dropout))
		}
	}
	return m
}

// Forward runs the MLP on x (n x sizes[0]) and returns n x sizes[len-1].
// Dropout masks are drawn from rng when train.
func (m *MLP) Forward(x *Mat, train bool, rng *rand.Rand) *Mat {
	for i, l := range m.Layers {
		x = l.Forward(x)
		if i < len(m.Acts) {
			x = m.Acts[i].Forward(x)
			x = m.Drops[i].Forward(x, train, rng)
		}
	}
	return x
}

// Backward returns dL/dx and accumulates the layers' gradients.
func (m *MLP) Backward(dy *Mat) *Mat {
	for i := len(m.Layers) - 1; i >= 0; i-- {
		if i < len(m.Acts) {
			dy = m.Drops[i].Backward(dy)
			dy = m.Acts[i].Backward(dy)
		}
		dy = m.Layers[i].Backward(dy)
	}
	return dy
}

// Params returns the parameters of all layers in order.
func (m *MLP) Params() []*Param {
	var ps []*Param
	for _, l := range m.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}
