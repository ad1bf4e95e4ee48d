package nn

import "math/rand/v2"

// EncoderLayer is a pre-norm Transformer encoder layer:
//
//	h = x + Drop1(MHA(LN1(x)))
//	y = h + Drop2(FFN(LN2(h))),  FFN = Linear(D, FFN) -> GELU -> Linear(FFN, D)
type EncoderLayer struct {
	LN1, LN2     *LayerNorm
	Attn         *MultiHeadAttention
	FF1, FF2     *Linear
	Act          *Act
	Drop1, Drop2 *Dropout

	h, y, dh, dx *Mat
}

// NewEncoderLayer returns an encoder layer of width d with heads attention
// heads, an FFN hidden width ffn and residual dropout probability dropout.
func NewEncoderLayer(name string, d, heads, ffn int, dropout float32, rng *rand.Rand) *EncoderLayer {
	return &EncoderLayer{
		LN1:   NewLayerNorm(name+".ln1", d),
		LN2:   NewLayerNorm(name+".ln2", d),
		Attn:  NewMultiHeadAttention(name+".attn", d, heads, rng),
		FF1:   NewLinear(name+".ff1", d, ffn, rng),
		FF2:   NewLinear(name+".ff2", ffn, d, rng),
		Act:   NewAct(GELU),
		Drop1: NewDropout(dropout),
		Drop2: NewDropout(dropout),
	}
}

// Params returns the layer's parameters.
func (e *EncoderLayer) Params() []*Param {
	var ps []*Param
	ps = append(ps, e.LN1.Params()...)
	ps = append(ps, e.Attn.Params()...)
	ps = append(ps, e.LN2.Params()...)
	ps = append(ps, e.FF1.Params()...)
	ps = append(ps, e.FF2.Params()...)
	return ps
}

// Forward runs the layer on x ((B*L) x D) with the attention masks of
// MultiHeadAttention.Forward; dropout masks come from rng when train. The
// result is (B*L) x D.
func (e *EncoderLayer) Forward(x *Mat, B, L int, pad []bool, causal, train bool, rng *rand.Rand) *Mat {
	a := e.Attn.Forward(e.LN1.Forward(x), B, L, pad, causal)
	a = e.Drop1.Forward(a, train, rng)
	h := ensure(&e.h, x.R, x.C)
	for i, v := range x.D {
		h.D[i] = v + a.D[i]
	}
	f := e.FF2.Forward(e.Act.Forward(e.FF1.Forward(e.LN2.Forward(h))))
	f = e.Drop2.Forward(f, train, rng)
	y := ensure(&e.y, x.R, x.C)
	for i, v := range h.D {
		y.D[i] = v + f.D[i]
	}
	return y
}

// Backward returns dx ((B*L) x D) and accumulates all parameter gradients.
func (e *EncoderLayer) Backward(dy *Mat) *Mat {
	g := e.Drop2.Backward(dy)
	g = e.LN2.Backward(e.FF1.Backward(e.Act.Backward(e.FF2.Backward(g))))
	dh := ensure(&e.dh, dy.R, dy.C)
	for i, v := range dy.D {
		dh.D[i] = v + g.D[i]
	}
	g = e.Drop1.Backward(dh)
	g = e.LN1.Backward(e.Attn.Backward(g))
	dx := ensure(&e.dx, dy.R, dy.C)
	for i, v := range dh.D {
		dx.D[i] = v + g.D[i]
	}
	return dx
}
