package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// MultiHeadAttention is scaled dot-product self-attention with Heads heads over
// B sequences of length L. The input x is (B*L) x D (row b*L+t is position t of
// sequence b); one Linear projects it to [Q | K | V] ((B*L) x 3D, head h uses
// columns h*DH..(h+1)*DH of each block) and another projects the concatenated
// head outputs back to D.
type MultiHeadAttention struct {
	QKV, Out     *Linear
	D, Heads, DH int

	b, l     int
	pad      []bool
	causal   bool
	scale    float32
	qkv      *Mat
	p, dp    []float32 // B*Heads*L*L attention weights and their gradient
	ctx      *Mat      // (B*L) x D concatenated head outputs
	dctx     *Mat
	dqkv     *Mat
	fwd, bwd *rowsTask
}

// NewMultiHeadAttention returns self-attention of width d with heads heads (d
// must be divisible by heads).
func NewMultiHeadAttention(name string, d, heads int, rng *rand.Rand) *MultiHeadAttention {
	if heads < 1 || d%heads != 0 {
		panic(fmt.Sprintf("nn: NewMultiHeadAttention %s: d = %d not divisible by heads = %d", name, d, heads))
	}
	a := &MultiHeadAttention{
		QKV: NewLinear(name+".qkv", d, 3*d, rng), Out: NewLinear(name+".out", d, d, rng),
		D: d, Heads: heads, DH: d / heads,
	}
	a.fwd = &rowsTask{fn: a.fwdChunk}
	a.bwd = &rowsTask{fn: a.bwdChunk}
	return a
}

// Params returns the projection parameters.
func (a *MultiHeadAttention) Params() []*Param {
	return append(a.QKV.Params(), a.Out.Params()...)
}

// checkSeq panics unless x is (B*L) x d and pad has B*L entries (or is nil).
func checkSeq(kind, name string, x *Mat, B, L, d int, pad []bool) {
	if x.R != B*L || x.C != d || (pad != nil && len(pad) != B*L) {
		panic(fmt.Sprintf("nn: %s %s: input %d x %d with %d pad flags does not match B=%d L=%d d=%d", kind, name, x.R, x.C, len(pad), B, L, d))
	}
}

// Forward attends within each sequence of x ((B*L) x D). pad[b*L+t] true marks
// a padding key (nil: no padding); causal restricts position t to keys <= t. A
// query whose keys are all masked gets a zero context (its output is the
// output bias). The result is (B*L) x D.
func (a *MultiHeadAttention) Forward(x *Mat, B, L int, pad []bool, causal bool) *Mat {
	checkSeq("MultiHeadAttention", a.QKV.W.Name, x, B, L, a.D, pad)
	a.b, a.l, a.pad, a.causal = B, L, pad, causal
	a.scale = float32(1 / math.Sqrt(float64(a.DH)))
	a.qkv = a.QKV.Forward(x)
	n := B * a.Heads * L * L
	a.p = growF32(a.p, n)
	a.dp = growF32(a.dp, n)
	ensure(&a.ctx, B*L, a.D)
	a.fwd.do(B, 1)
	return a.Out.Forward(a.ctx)
}

// keyValid reports whether query t of sequence b may attend to key j.
func keyValid(pad []bool, causal bool, b, L, t, j int) bool {
	if causal && j > t {
		return false
	}
	return pad == nil || !pad[b*L+j]
}

// maskedSoftmax turns row s (scores of query t) into probabilities over the
// valid keys; the row is all zeros when no key is valid.
func maskedSoftmax(s []float32, pad []bool, causal bool, b, L, t int) {
	m := float32(math.Inf(-1))
	for j, v := range s {
		if keyValid(pad, causal, b, L, t, j) {
			m = max(m, v)
		}
	}
	if math.IsInf(float64(m), -1) {
		clear(s)
		return
	}
	var sum float32
	for j, v := range s {
		if keyValid(pad, causal, b, L, t, j) {
			e := float32(math.Exp(float64(v - m)))
			s[j] = e
			sum += e
		} else {
			s[j] = 0
		}
	}
	inv := 1 / sum
	for j := range s {
		s[j] *= inv
	}
}

func (a *MultiHeadAttention) fwdChunk(_, lo, hi int) {
	ws := wsPool.get()
	L, d, dh := a.l, a.D, a.DH
	for b := lo; b < hi; b++ {
		base := b * L * 3 * d
		for h := range a.Heads {
			q := a.qkv.D[base+h*dh:]
			k := a.qkv.D[base+d+h*dh:]
			v := a.qkv.D[base+2*d+h*dh:]
			p := a.p[(b*a.Heads+h)*L*L : (b*a.Heads+h+1)*L*L]
			gemmSerial(ws, false, true, L, L, dh, a.scale, q, 3*d, k, 3*d, 0, p, L)
			for t := range L {
				maskedSoftmax(p[t*L:(t+1)*L], a.pad, a.causal, b, L, t)
			}
			gemmSerial(ws, false, false, L, dh, L, 1, p, L, v, 3*d, 0, a.ctx.D[b*L*d+h*dh:], d)
		}
	}
	wsPool.put(ws)
}

// Backward returns dx ((B*L) x D) and accumulates the projection gradients.
func (a *MultiHeadAttention) Backward(dy *Mat) *Mat {
	if a.qkv == nil || dy.R != a.b*a.l || dy.C != a.D {
		panic(fmt.Sprintf("nn: MultiHeadAttention %s: Backward with %d x %d gradient does not match Forward", a.QKV.W.Name, dy.R, dy.C))
	}
	a.dctx = a.Out.Backward(dy)
	ensure(&a.dqkv, a.b*a.l, 3*a.D)
	a.bwd.do(a.b, 1)
	return a.QKV.Backward(a.dqkv)
}

func (a *MultiHeadAttention) bwdChunk(_, lo, hi int) {
	ws := wsPool.get()
	L, d, dh := a.l, a.D, a.DH
	for b := lo; b < hi; b++ {
		base := b * L * 3 * d
		for h := range a.Heads {
			q := a.qkv.D[base+h*dh:]
			k := a.qkv.D[base+d+h*dh:]
			v := a.qkv.D[base+2*d+h*dh:]
			dq := a.dqkv.D[base+h*dh:]
			dk := a.dqkv.D[base+d+h*dh:]
			dv := a.dqkv.D[base+2*d+h*dh:]
			do := a.dctx.D[b*L*d+h*dh:]
			p := a.p[(b*a.Heads+h)*L*L : (b*a.Heads+h+1)*L*L]
			dp := a.dp[(b*a.Heads+h)*L*L : (b*a.Heads+h+1)*L*L]
			// dP = dO V^T, dV = P^T dO.
			gemmSerial(ws, false, true, L, L, dh, 1, do, d, v, 3*d, 0, dp, L)
			gemmSerial(ws, true, false, L, dh, L, 1, p, L, do, d, 0, dv, 3*d)
			// Softmax backward: dS = P * (dP - rowsum(P * dP)); masked
			// entries have P = 0 and get dS = 0.
			for t := range L {
				pr := p[t*L : (t+1)*L]
				dr := dp[t*L : (t+1)*L]
				dr = dr[:len(pr)]
				var s float32
				for j, pv := range pr {
					s += pv * dr[j]
				}
				for j, pv := range pr {
					dr[j] = pv * (dr[j] - s)
				}
			}
			// dQ = scale dS K, dK = scale dS^T Q.
			gemmSerial(ws, false, false, L, dh, L, a.scale, dp, L, k, 3*d, 0, dq, 3*d)
			gemmSerial(ws, true, false, L, dh, L, a.scale, dp, L, q, 3*d, 0, dk, 3*d)
		}
	}
	wsPool.put(ws)
}

// CrossAttention lets one query vector per sequence attend over that
// sequence's rows: q is B x DQ, kv is (B*L) x D; the query is projected to D,
// the keys and values by one Linear to [K | V], and the concatenated head
// outputs by an output projection. The result is B x D.
type CrossAttention struct {
	Q, KV, Out       *Linear
	DQ, D, Heads, DH int

	b, l      int
	pad       []bool
	scale     float32
	qp, kvp   *Mat
	p         []float32 // B*Heads*L attention weights
	ctx       *Mat      // B x D
	dctx      *Mat
	dqp, dkvp *Mat
	fwd, bwd  *rowsTask
}

// NewCrossAttention returns cross-attention from dq-wide queries over d-wide
// rows with heads heads (d divisible by heads).
func NewCrossAttention(name string, dq, d, heads int, rng *rand.Rand) *CrossAttention {
	if heads < 1 || d%heads != 0 {
		panic(fmt.Sprintf("nn: NewCrossAttention %s: d = %d not divisible by heads = %d", name, d, heads))
	}
	c := &CrossAttention{
		Q: NewLinear(name+".q", dq, d, rng), KV: NewLinear(name+".kv", d, 2*d, rng), Out: NewLinear(name+".out", d, d, rng),
		DQ: dq, D: d, Heads: heads, DH: d / heads,
	}
	c.fwd = &rowsTask{fn: c.fwdChunk}
	c.bwd = &rowsTask{fn: c.bwdChunk}
	return c
}

// Params returns the projection parameters.
func (c *CrossAttention) Params() []*Param {
	return append(append(c.Q.Params(), c.KV.Params()...), c.Out.Params()...)
}

// Forward attends from q (B x DQ) over kv ((B*L) x D) with padding keys marked
// by pad (nil: none); a sequence with no valid key gets a zero context. The
// result is B x D.
func (c *CrossAttention) Forward(q, kv *Mat, B, L int, pad []bool) *Mat {
	checkSeq("CrossAttention", c.Q.W.Name, kv, B, L, c.D, pad)
	if q.R != B || q.C != c.DQ {
		panic(fmt.Sprintf("nn: CrossAttention %s: query %d x %d, want %d x %d", c.Q.W.Name, q.R, q.C, B, c.DQ))
	}
	c.b, c.l, c.pad = B, L, pad
	c.scale = float32(1 / math.Sqrt(float64(c.DH)))
	c.qp = c.Q.Forward(q)
	c.kvp = c.KV.Forward(kv)
	c.p = growF32(c.p, B*c.Heads*L)
	ensure(&c.ctx, B, c.D)
	c.fwd.do(B, 16)
	return c.Out.Forward(c.ctx)
}

func (c *CrossAttention) fwdChunk(_, lo, hi int) {
	L, d, dh := c.l, c.D, c.DH
	for b := lo; b < hi; b++ {
		for h := range c.Heads {
			qv := c.qp.D[b*d+h*dh : b*d+(h+1)*dh]
			p := c.p[(b*c.Heads+h)*L : (b*c.Heads+h+1)*L]
			for j := range L {
				k := c.kvp.D[(b*L+j)*2*d+h*dh : (b*L+j)*2*d+(h+1)*dh]
				var s float32
				for i, v := range qv {
					s += v * k[i]
				}
				p[j] = s * c.scale
			}
			maskedSoftmax(p, c.pad, false, b, L, L-1)
			o := c.ctx.D[b*d+h*dh : b*d+(h+1)*dh]
			clear(o)
			for j, pj := range p {
				if pj == 0 {
					continue
				}
				v := c.kvp.D[(b*L+j)*2*d+d+h*dh : (b*L+j)*2*d+d+(h+1)*dh]
				for i, vv := range v {
					o[i] += pj * vv
				}
			}
		}
	}
}

// Backward returns dq (B x DQ) and dkv ((B*L) x D) and accumulates the
// projection gradients.
func (c *CrossAttention) Backward(dy *Mat) (dq, dkv *Mat) {
	if c.qp == nil || dy.R != c.b || dy.C != c.D {
		panic(fmt.Sprintf("nn: CrossAttention %s: Backward with %d x %d gradient does not match Forward", c.Q.W.Name, dy.R, dy.C))
	}
	c.dctx = c.Out.Backward(dy)
	ensure(&c.dqp, c.b, c.D)
	ensure(&c.dkvp, c.b*c.l, 2*c.D)
	c.bwd.do(c.b, 16)
	dq = c.Q.Backward(c.dqp)
	dkv = c.KV.Backward(c.dkvp)
	return dq, dkv
}

func (c *CrossAttention) bwdChunk(_, lo, hi int) {
	L, d, dh := c.l, c.D, c.DH
	for b := lo; b < hi; b++ {
		for h := range c.Heads {
			qv := c.qp.D[b*d+h*dh : b*d+(h+1)*dh]
			do := c.dctx.D[b*d+h*dh : b*d+(h+1)*dh]
			dqv := c.dqp.D[b*d+h*dh : b*d+(h+1)*dh]
			clear(dqv)
			p := c.p[(b*c.Heads+h)*L : (b*c.Heads+h+1)*L]
			// dp_j = do . v_j, dv_j = p_j do; then ds_j = p_j (dp_j - sum p dp).
			var s float32
			for j, pj := range p {
				v := c.kvp.D[(b*L+j)*2*d+d+h*dh : (b*L+j)*2*d+d+(h+1)*dh]
				dv := c.dkvp.D[(b*L+j)*2*d+d+h*dh : (b*L+j)*2*d+d+(h+1)*dh]
				var dpj float32
				for i, vv := range v {
					dpj += do[i] * vv
					dv[i] = pj * do[i]
				}
				s += pj * dpj
				// Keep dp_j in the key-gradient slot until s is complete.
				c.dkvp.D[(b*L+j)*2*d+h*dh] = dpj
			}
			for j, pj := range p {
				dk := c.dkvp.D[(b*L+j)*2*d+h*dh : (b*L+j)*2*d+(h+1)*dh]
				ds := pj * (dk[0] - s) * c.scale
				k := c.kvp.D[(b*L+j)*2*d+h*dh : (b*L+j)*2*d+(h+1)*dh]
				for i, kv := range k {
					dqv[i] += ds * kv
				}
				for i, qq := range qv {
					dk[i] = ds * qq
				}
			}
		}
	}
}
