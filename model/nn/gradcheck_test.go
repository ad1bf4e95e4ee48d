package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// target is one tensor whose gradient is checked: x is perturbed in place and
// g returns the analytic gradient computed by the last grads() call.
type target struct {
	name string
	x    []float32
	g    func() []float32
}

// checkGrads compares analytic gradients with central finite differences of
// loss(). grads() must run forward and backward from zeroed gradients. At most
// 48 entries per target are checked (chosen by a seeded rng).
func checkGrads(t *testing.T, loss func() float64, grads func(), targets []target) {
	t.Helper()
	grads()
	analytic := make([][]float32, len(targets))
	for i, tg := range targets {
		analytic[i] = append([]float32(nil), tg.g()...)
		if len(analytic[i]) != len(tg.x) {
			t.Fatalf("%s: gradient has %d entries, tensor %d", tg.name, len(analytic[i]), len(tg.x))
		}
	}
	rng := rand.New(rand.NewPCG(99, 1))
	for ti, tg := range targets {
		idx := make([]int, 0, 48)
		if len(tg.x) <= 48 {
			for i := range tg.x {
				idx = append(idx, i)
			}
		} else {
			for range 48 {
				idx = append(idx, rng.IntN(len(tg.x)))
			}
		}
		for _, i := range idx {
			ana := float64(analytic[ti][i])
			var num float64
			ok := false
			// A step that straddles a ReLU kink gives a wrong difference;
			// a smaller step then decides.
			for _, h := range []float32{1e-2, 2e-3} {
				orig := tg.x[i]
				xp, xm := orig+h, orig-h
				tg.x[i] = xp
				lp := loss()
				tg.x[i] = xm
				lm := loss()
				tg.x[i] = orig
				num = (lp - lm) / float64(xp-xm)
				if !math.IsNaN(ana) && math.Abs(num-ana) <= 1e-3+1e-2*max(math.Abs(num), math.Abs(ana)) {
					ok = true
					break
				}
			}
			if !ok {
				t.Errorf("%s[%d]: analytic gradient %.6g, finite difference %.6g", tg.name, i, ana, num)
			}
		}
	}
}

// dotR returns sum(y * r) in float64.
func dotR(y *Mat, r []float32) float64 {
	var s float64
	for i, v := range y.D {
		s += float64(v) * float64(r[i])
	}
	return s
}

func randMat(rng *rand.Rand, r, c int) *Mat {
	m := NewMat(r, c)
	for i := range m.D {
		m.D[i] = float32(rng.NormFloat64())
	}
	return m
}

func paramTargets(params []*Param) []target {
	var ts []target
	for _, p := range params {
		ts = append(ts, target{name: p.Name, x: p.W, g: func() []float32 { return p.G }})
	}
	return ts
}

// checkModule gradient-checks a module with one input and one output under
// L = sum(y * R).
func checkModule(t *testing.T, x *Mat, params []*Param, fwd func(*Mat) *Mat, bwd func(*Mat) *Mat) {
	t.Helper()
	y := fwd(x)
	r := randMat(rand.New(rand.NewPCG(5, 5)), y.R, y.C)
	loss := func() float64 { return dotR(fwd(x), r.D) }
	var dx []float32
	grads := func() {
		ZeroGrad(params)
		fwd(x)
		dx = append(dx[:0], bwd(r).D...)
	}
	ts := append([]target{{name: "x", x: x.D, g: func() []float32 { return dx }}}, paramTargets(params)...)
	checkGrads(t, loss, grads, ts)
}

// perturbBias makes biases and layer-norm gains non-trivial so that their
// gradients are exercised away from the initial values.
func perturbParams(rng *rand.Rand, params []*Param) {
	for _, p := range params {
		for i := range p.W {
			p.W[i] += 0.1 * float32(rng.NormFloat64())
		}
	}
}

func TestLinearGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name       string
		n, in, out int
	}{{"3x4to5", 3, 4, 5}, {"7x9to2", 7, 9, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLinear("lin", tc.in, tc.out, rng)
			perturbParams(rng, l.Params())
			checkModule(t, randMat(rng, tc.n, tc.in), l.Params(), l.Forward, l.Backward)
		})
	}
}

func TestLayerNormGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := NewLayerNorm("ln", 6)
	perturbParams(rng, l.Params())
	checkModule(t, randMat(rng, 5, 6), l.Params(), l.Forward, l.Backward)
}

func TestActGrad(t *testing.T) {
	for _, kind := range []Activation{ReLU, GELU} {
		t.Run(kind.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 3))
			x := randMat(rng, 4, 7)
			for i, v := range x.D {
				// Keep ReLU inputs away from the kink at 0.
				if math.Abs(float64(v)) < 0.05 {
					x.D[i] = 0.3
				}
			}
			a := NewAct(kind)
			checkModule(t, x, nil, a.Forward, a.Backward)
		})
	}
}

func TestDropoutGrad(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     float32
		train bool
		row   bool
	}{{"train", 0.3, true, false}, {"eval", 0.3, false, false}, {"p0", 0, true, false}, {"rows_train", 0.4, true, true}, {"rows_eval", 0.4, false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 4))
			x := randMat(rng, 8, 5)
			var fwd func(*Mat) *Mat
			var bwd func(*Mat) *Mat
			if tc.row {
				d := NewRowDropout(tc.p)
				// A fresh rng with the same seed gives the same mask on every forward.
				fwd = func(x *Mat) *Mat { return d.Forward(x, tc.train, rand.New(rand.NewPCG(3, 3))) }
				bwd = d.Backward
			} else {
				d := NewDropout(tc.p)
				fwd = func(x *Mat) *Mat { return d.Forward(x, tc.train, rand.New(rand.NewPCG(3, 3))) }
				bwd = d.Backward
			}
			checkModule(t, x, nil, fwd, bwd)
		})
	}
}

func TestDropoutMask(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 5))
	x := randMat(rng, 50, 40)
	ones := NewMat(50, 40)
	for i := range ones.D {
		ones.D[i] = 1
	}
	t.Run("elements", func(t *testing.T) {
		d := NewDropout(0.25)
		y := d.Forward(x, true, rand.New(rand.NewPCG(8, 8)))
		dx := d.Backward(ones)
		dropped := 0
		for i, v := range y.D {
			// The backward mask is the forward mask: dx is 0 exactly where y
			// was dropped, and 1/(1-p) elsewhere.
			switch {
			case v == 0:
				dropped++
				if dx.D[i] != 0 {
					t.Fatalf("Dropout element %d dropped in Forward but dx = %g", i, dx.D[i])
				}
			case math.Abs(float64(v-x.D[i]/0.75)) > 1e-6 || math.Abs(float64(dx.D[i]-1/0.75)) > 1e-6:
				t.Fatalf("Dropout element %d kept: y = %g, dx = %g, want %g and %g", i, v, dx.D[i], x.D[i]/0.75, 1/0.75)
			}
		}
		// 2000 Bernoulli(0.25) draws: mean 500, sd ~19.4.
		if dropped < 420 || dropped > 580 {
			t.Errorf("Dropout(0.25) dropped %d of 2000, want about 500", dropped)
		}
	})
	t.Run("rows", func(t *testing.T) {
		d := NewRowDropout(0.5)
		y := d.Forward(x, true, rand.New(rand.NewPCG(8, 9)))
		dropped := 0
		for i := range y.R {
			zero := 0
			for _, v := range y.Row(i) {
				if v == 0 {
					zero++
				}
			}
			if zero != 0 && zero != y.C {
				t.Fatalf("RowDropout row %d has %d of %d zeros, want all or none", i, zero, y.C)
			}
			if zero == y.C {
				dropped++
				if d.Kept(i) {
					t.Fatalf("RowDropout.Kept(%d) = true for a dropped row", i)
				}
			}
		}
		if dropped < 10 || dropped > 40 {
			t.Errorf("RowDropout(0.5) dropped %d of 50 rows, want about 25", dropped)
		}
	})
}

func TestMLPGrad(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sizes   []int
		act     Activation
		dropout float32
	}{{"relu", []int{5, 8, 3}, ReLU, 0}, {"gelu_dropout", []int{4, 6, 7, 2}, GELU, 0.2}, {"single", []int{3, 2}, GELU, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 6))
			m := NewMLP("mlp", tc.sizes, tc.act, tc.dropout, rng)
			perturbParams(rng, m.Params())
			fwd := func(x *Mat) *Mat { return m.Forward(x, true, rand.New(rand.NewPCG(4, 4))) }
			checkModule(t, randMat(rng, 6, tc.sizes[0]), m.Params(), fwd, m.Backward)
		})
	}
}

func TestL2NormGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 7))
	l := NewL2Norm()
	x := randMat(rng, 4, 5)
	checkModule(t, x, nil, l.Forward, l.Backward)
	y := l.Forward(x)
	z := &Mat{R: x.R, C: x.C, D: append([]float32(nil), x.D...)}
	L2NormalizeRows(z)
	for i := range y.R {
		n := math.Sqrt(sumSq(y.Row(i)))
		if math.Abs(n-1) > 1e-6 {
			t.Errorf("L2Norm row %d has norm %g, want 1", i, n)
		}
		for j := range y.C {
			if z.D[i*y.C+j] != y.D[i*y.C+j] {
				t.Fatalf("L2NormalizeRows[%d,%d] = %g, L2Norm.Forward %g", i, j, z.D[i*y.C+j], y.D[i*y.C+j])
			}
		}
	}
}

func TestEmbeddingGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 8))
	e := NewEmbedding("emb", 6, 3, rng)
	ids := []int32{2, -1, 4, 2, 0}
	y := e.Forward(ids)
	for j, v := range y.Row(1) {
		if v != 0 {
			t.Fatalf("Embedding padding row col %d = %g, want 0", j, v)
		}
	}
	r := randMat(rng, len(ids), 3)
	loss := func() float64 { return dotR(e.Forward(ids), r.D) }
	grads := func() {
		ZeroGrad(e.Params())
		e.Forward(ids)
		e.Backward(r)
	}
	checkGrads(t, loss, grads, paramTargets(e.Params()))
	e.Table.PrepareTouched()
	if fmt.Sprint(e.Table.Touched) != "[0 2 4]" {
		t.Errorf("Embedding Touched = %v, want [0 2 4]", e.Table.Touched)
	}
	for _, row := range []int{1, 3, 5} {
		for _, g := range e.Table.G[row*3 : row*3+3] {
			if g != 0 {
				t.Errorf("Embedding untouched row %d has gradient %g", row, g)
			}
		}
	}
	ZeroGrad(e.Params())
	if len(e.Table.Touched) != 0 || math.Sqrt(sumSq(e.Table.G)) != 0 {
		t.Errorf("after ZeroGrad: Touched = %v, |G| = %g, want empty and 0", e.Table.Touched, math.Sqrt(sumSq(e.Table.G)))
	}
}

func TestEmbeddingBagGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	for _, tc := range []struct {
		name    string
		weights []float32
	}{{"weighted", []float32{0.5, 0.2, 0.3, 1, 0.7, 0.9}}, {"unweighted", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEmbeddingBag("bag", 7, 4, rng)
			ids := []int32{1, 3, 1, 6, -1, 2}
			offsets := []int32{0, 3, 3, 5, 6} // bag 1 is empty
			y := e.Forward(ids, tc.weights, offsets)
			for j, v := range y.Row(1) {
				if v != 0 {
					t.Fatalf("EmbeddingBag empty bag col %d = %g, want 0", j, v)
				}
			}
			// Bag 0 by hand.
			w := func(i int) float32 {
				if tc.weights == nil {
					return 1
				}
				return tc.weights[i]
			}
			for j := range 4 {
				want := w(0)*e.Table.W[1*4+j] + w(1)*e.Table.W[3*4+j] + w(2)*e.Table.W[1*4+j]
				if math.Abs(float64(y.D[j]-want)) > 1e-6 {
					t.Fatalf("EmbeddingBag bag 0 col %d = %g, want %g", j, y.D[j], want)
				}
			}
			r := randMat(rng, 4, 4)
			loss := func() float64 { return dotR(e.Forward(ids, tc.weights, offsets), r.D) }
			grads := func() {
				ZeroGrad(e.Params())
				e.Forward(ids, tc.weights, offsets)
				e.Backward(r)
			}
			checkGrads(t, loss, grads, paramTargets(e.Params()))
			e.Table.PrepareTouched()
			if fmt.Sprint(e.Table.Touched) != "[1 2 3 6]" {
				t.Errorf("EmbeddingBag Touched = %v, want [1 2 3 6]", e.Table.Touched)
			}
		})
	}
}

// seqPad builds a padding mask for B sequences of length L from valid lengths
// (right padding).
func seqPad(L int, lens []int) []bool {
	pad := make([]bool, len(lens)*L)
	for b, n := range lens {
		for t := n; t < L; t++ {
			pad[b*L+t] = true
		}
	}
	return pad
}

func TestMultiHeadAttentionGrad(t *testing.T) {
	const L, d = 5, 8
	for _, tc := range []struct {
		name   string
		lens   []int
		causal bool
		nopad  bool
	}{
		{"no_pad", []int{5, 5}, false, true},
		{"padding", []int{5, 3, 1}, false, false},
		{"causal", []int{5, 4}, true, false},
		{"fully_padded_sequence", []int{4, 0, 2}, false, false},
		{"causal_fully_padded", []int{0, 3}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 1))
			B := len(tc.lens)
			a := NewMultiHeadAttention("mha", d, 2, rng)
			perturbParams(rng, a.Params())
			pad := seqPad(L, tc.lens)
			if tc.nopad {
				pad = nil
			}
			fwd := func(x *Mat) *Mat { return a.Forward(x, B, L, pad, tc.causal) }
			x := randMat(rng, B*L, d)
			checkModule(t, x, a.Params(), fwd, a.Backward)
			y := fwd(x)
			for i, v := range y.D {
				if math.IsNaN(float64(v)) {
					t.Fatalf("MultiHeadAttention output %d is NaN", i)
				}
			}
			// A sequence without valid keys outputs the output bias only.
			for b, n := range tc.lens {
				if n != 0 {
					continue
				}
				for tt := range L {
					for j, v := range y.Row(b*L + tt) {
						if v != a.Out.B.W[j] {
							t.Fatalf("fully padded sequence %d row %d col %d = %g, want bias %g", b, tt, j, v, a.Out.B.W[j])
						}
					}
				}
			}
		})
	}
}

func TestCausalMaskIgnoresFuture(t *testing.T) {
	const B, L, d = 1, 6, 4
	rng := rand.New(rand.NewPCG(2, 2))
	a := NewMultiHeadAttention("mha", d, 2, rng)
	x := randMat(rng, B*L, d)
	y0 := append([]float32(nil), a.Forward(x, B, L, nil, true).D...)
	for j := range d {
		x.D[(L-1)*d+j] += 1 // change only the last position
	}
	y1 := a.Forward(x, B, L, nil, true)
	for i := 0; i < (L-1)*d; i++ {
		if y0[i] != y1.D[i] {
			t.Fatalf("causal attention output %d changed from %g to %g when only the last position changed", i, y0[i], y1.D[i])
		}
	}
}

func TestCrossAttentionGrad(t *testing.T) {
	const L, dq, d = 4, 3, 6
	for _, tc := range []struct {
		name string
		lens []int
	}{{"padding", []int{4, 2, 1}}, {"fully_padded", []int{3, 0}}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 3))
			B := len(tc.lens)
			c := NewCrossAttention("xattn", dq, d, 2, rng)
			perturbParams(rng, c.Params())
			pad := seqPad(L, tc.lens)
			q := randMat(rng, B, dq)
			kv := randMat(rng, B*L, d)
			y := c.Forward(q, kv, B, L, pad)
			r := randMat(rng, y.R, y.C)
			loss := func() float64 { return dotR(c.Forward(q, kv, B, L, pad), r.D) }
			var dqg, dkvg []float32
			grads := func() {
				ZeroGrad(c.Params())
				c.Forward(q, kv, B, L, pad)
				a, b := c.Backward(r)
				dqg = append(dqg[:0], a.D...)
				dkvg = append(dkvg[:0], b.D...)
			}
			ts := append([]target{
				{name: "q", x: q.D, g: func() []float32 { return dqg }},
				{name: "kv", x: kv.D, g: func() []float32 { return dkvg }},
			}, paramTargets(c.Params())...)
			checkGrads(t, loss, grads, ts)
			// Padded keys receive no gradient.
			for i, p := range pad {
				if !p {
					continue
				}
				for j, g := range dkvg[i*d : (i+1)*d] {
					if g != 0 {
						t.Fatalf("padded kv row %d col %d has gradient %g", i, j, g)
					}
				}
			}
		})
	}
}

func TestEncoderLayerGrad(t *testing.T) {
	const L, d = 4, 8
	for _, tc := range []struct {
		name    string
		causal  bool
		dropout float32
	}{{"plain", false, 0}, {"causal_dropout", true, 0.2}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 4))
			e := NewEncoderLayer("enc", d, 2, 12, tc.dropout, rng)
			perturbParams(rng, e.Params())
			lens := []int{4, 2}
			pad := seqPad(L, lens)
			fwd := func(x *Mat) *Mat {
				return e.Forward(x, len(lens), L, pad, tc.causal, true, rand.New(rand.NewPCG(6, 6)))
			}
			checkModule(t, randMat(rng, len(lens)*L, d), e.Params(), fwd, e.Backward)
		})
	}
}

func TestSampledSoftmaxGrad(t *testing.T) {
	const B, d = 5, 4
	for _, tc := range []struct {
		name   string
		ids    []int32
		logQ   bool
		negs   int
		negIDs []int32
	}{
		{"plain", nil, false, 0, nil},
		{"logq_duplicates", []int32{3, 7, 3, 1, 7}, true, 0, nil},
		{"negatives", []int32{3, 7, 3, 1, 9}, true, 3, []int32{7, 5, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 5))
			s := NewSampledSoftmax(0.5)
			U, V := randMat(rng, B, d), randMat(rng, B, d)
			var logQ, negLogQ []float32
			if tc.logQ {
				logQ = randSlice(rng, B)
				negLogQ = randSlice(rng, tc.negs)
			}
			var Neg *Mat
			if tc.negs > 0 {
				Neg = randMat(rng, tc.negs, d)
			}
			loss := func() float64 { return float64(s.Forward(U, V, tc.ids, logQ, Neg, tc.negIDs, negLogQ)) }
			var dU, dV, dN []float32
			grads := func() {
				s.Forward(U, V, tc.ids, logQ, Neg, tc.negIDs, negLogQ)
				a, b, c := s.Backward()
				dU = append(dU[:0], a.D...)
				dV = append(dV[:0], b.D...)
				if c != nil {
					dN = append(dN[:0], c.D...)
				}
			}
			ts := []target{{name: "U", x: U.D, g: func() []float32 { return dU }}, {name: "V", x: V.D, g: func() []float32 { return dV }}}
			if Neg != nil {
				ts = append(ts, target{name: "Neg", x: Neg.D, g: func() []float32 { return dN }})
			}
			checkGrads(t, loss, grads, ts)
			// Independent float64 reference of the loss.
			want := refSoftmaxLoss(U, V, tc.ids, logQ, Neg, tc.negIDs, negLogQ, 0.5)
			if got := loss(); math.Abs(got-want) > 1e-5*max(1, math.Abs(want)) {
				t.Errorf("SampledSoftmax loss = %.7g, float64 reference %.7g", got, want)
			}
		})
	}
}

func refSoftmaxLoss(U, V *Mat, ids []int32, logQ []float32, Neg *Mat, negIDs []int32, negLogQ []float32, temp float64) float64 {
	dot := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	var total float64
	for i := range U.R {
		var logits []float64
		for j := range V.R {
			if ids != nil && j != i && ids[j] == ids[i] {
				continue
			}
			l := dot(U.Row(i), V.Row(j)) / temp
			if logQ != nil {
				l -= float64(logQ[j])
			}
			logits = append(logits, l)
		}
		pos := dot(U.Row(i), V.Row(i)) / temp
		if logQ != nil {
			pos -= float64(logQ[i])
		}
		if Neg != nil {
			for j := range Neg.R {
				if ids != nil && negIDs != nil && negIDs[j] == ids[i] {
					continue
				}
				l := dot(U.Row(i), Neg.Row(j)) / temp
				if negLogQ != nil {
					l -= float64(negLogQ[j])
				}
				logits = append(logits, l)
			}
		}
		var z float64
		for _, l := range logits {
			z += math.Exp(l)
		}
		total += math.Log(z) - pos
	}
	return total / float64(U.R)
}
