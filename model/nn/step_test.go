package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// miniModel chains every module the way the two-tower model does, for the
// determinism, allocation and throughput checks of a whole training step.
type miniModel struct {
	B, L, D       int
	items         *Embedding
	itemsPos      *Embedding
	cats          *EmbeddingBag
	enc           []*EncoderLayer
	lnF           *LayerNorm
	xattn         *CrossAttention
	ctxDrop       *RowDropout
	head, tower   *MLP
	normU, normV  *L2Norm
	loss          *SampledSoftmax
	opt           *Adam
	params        []*Param
	seq           []int32
	pad           []bool
	pos           []int32
	catIDs        []int32
	catW          []float32
	catOff        []int32
	logQ          []float32
	last, concatU *Mat
	concatV       *Mat
	dLast         *Mat
	dEnc          *Mat
	dCat          *Mat
	lastLoss      float32
}

func newMiniModel(seed uint64, B, L, D, layers, heads, ffn, nItems, nCats int) *miniModel {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &miniModel{B: B, L: L, D: D}
	m.items = NewEmbedding("items", nItems, D, rng)
	m.itemsPos = m.items.Share()
	m.cats = NewEmbeddingBag("cats", nCats, D, rng)
	for i := range layers {
		m.enc = append(m.enc, NewEncoderLayer("enc"+string(rune('0'+i)), D, heads, ffn, 0.1, rng))
	}
	m.lnF = NewLayerNorm("lnf", D)
	m.xattn = NewCrossAttention("xattn", D, D, heads, rng)
	m.ctxDrop = NewRowDropout(0.5)
	m.head = NewMLP("head", []int{2 * D, 2 * D, D}, GELU, 0.1, rng)
	m.tower = NewMLP("tower", []int{2 * D, 2 * D, D}, GELU, 0.1, rng)
	m.normU, m.normV = NewL2Norm(), NewL2Norm()
	m.loss = NewSampledSoftmax(0.1)
	m.params = append(m.params, m.items.Params()...)
	m.params = append(m.params, m.cats.Params()...)
	for _, e := range m.enc {
		m.params = append(m.params, e.Params()...)
	}
	m.params = append(m.params, m.lnF.Params()...)
	m.params = append(m.params, m.xattn.Params()...)
	m.params = append(m.params, m.head.Params()...)
	m.params = append(m.params, m.tower.Params()...)
	m.opt = NewAdam(m.params, 1e-3)
	// Fixed synthetic batch: histories with random lengths (left part valid).
	m.seq = make([]int32, B*L)
	m.pad = make([]bool, B*L)
	for b := range B {
		n := 1 + rng.IntN(L)
		for t := range L {
			if t < n {
				m.seq[b*L+t] = int32(rng.IntN(nItems))
			} else {
				m.seq[b*L+t] = -1
				m.pad[b*L+t] = true
			}
		}
	}
	m.pos = make([]int32, B)
	m.logQ = make([]float32, B)
	m.catOff = make([]int32, B+1)
	for b := range B {
		m.pos[b] = int32(rng.IntN(nItems))
		m.logQ[b] = float32(math.Log(1 / float64(nItems)))
		for range 3 {
			m.catIDs = append(m.catIDs, int32(rng.IntN(nCats)))
			m.catW = append(m.catW, rng.Float32())
		}
		m.catOff[b+1] = int32(len(m.catIDs))
	}
	return m
}

// step runs one forward, backward and Adam update with dropout from rng.
func (m *miniModel) step(rng *rand.Rand) {
	B, L, D := m.B, m.L, m.D
	ZeroGrad(m.params)
	x := m.items.Forward(m.seq)
	for _, e := range m.enc {
		x = e.Forward(x, B, L, m.pad, true, true, rng)
	}
	h := m.lnF.Forward(x)
	ctx := m.cats.Forward(m.catIDs, m.catW, m.catOff)
	ctxd := m.ctxDrop.Forward(ctx, true, rng)
	fused := m.xattn.Forward(ctxd, h, B, L, m.pad)
	cu := ensure(&m.concatU, B, 2*D)
	for b := range B {
		copy(cu.Row(b)[:D], fused.Row(b))
		copy(cu.Row(b)[D:], ctxd.Row(b))
	}
	u := m.normU.Forward(m.head.Forward(cu, true, rng))
	pe := m.itemsPos.Forward(m.pos)
	pc := ctx // the item tower sees the item's categories
	cv := ensure(&m.concatV, B, 2*D)
	for b := range B {
		copy(cv.Row(b)[:D], pe.Row(b))
		copy(cv.Row(b)[D:], pc.Row(b))
	}
	v := m.normV.Forward(m.tower.Forward(cv, true, rng))
	m.lastLoss = m.loss.Forward(u, v, m.pos, m.logQ, nil, nil, nil)
	dU, dV, _ := m.loss.Backward()
	dcv := m.tower.Backward(m.normV.Backward(dV))
	dpe := ensure(&m.dLast, B, D)
	dcat := ensureZero(&m.dCat, B, D)
	for b := range B {
		copy(dpe.Row(b), dcv.Row(b)[:D])
		copy(dcat.Row(b), dcv.Row(b)[D:])
	}
	m.itemsPos.Backward(dpe)
	dcu := m.head.Backward(m.normU.Backward(dU))
	dq, dkv := m.xattn.Backward(rowsOf(dcu, 0, D, &m.dEnc))
	dctxd := dq
	for b := range B {
		r := dctxd.Row(b)
		for j, g := range dcu.Row(b)[D:] {
			r[j] += g
		}
	}
	dctx := m.ctxDrop.Backward(dctxd)
	for i, g := range dctx.D {
		dcat.D[i] += g
	}
	m.cats.Backward(dcat)
	g := m.lnF.Backward(dkv)
	for i := len(m.enc) - 1; i >= 0; i-- {
		g = m.enc[i].Backward(g)
	}
	m.items.Backward(g)
	ClipGradNorm(m.params, 5)
	m.opt.Step()
}

// rowsOf copies columns [c0, c0+n) of src into *dst.
func rowsOf(src *Mat, c0, n int, dst **Mat) *Mat {
	d := ensure(dst, src.R, n)
	for i := range src.R {
		copy(d.Row(i), src.Row(i)[c0:c0+n])
	}
	return d
}

func TestStepDeterministic(t *testing.T) {
	defer SetThreads(Threads())
	run := func(threads int) ([]float32, float32) {
		SetThreads(threads)
		m := newMiniModel(11, 16, 8, 32, 2, 2, 64, 300, 20)
		rng := rand.New(rand.NewPCG(11, 2))
		for range 3 {
			m.step(rng)
		}
		var w []float32
		for _, p := range m.params {
			w = append(w, p.W...)
		}
		return w, m.lastLoss
	}
	ref, refLoss := run(1)
	if math.IsNaN(float64(refLoss)) || refLoss <= 0 {
		t.Fatalf("loss after 3 steps = %g, want a positive number", refLoss)
	}
	for _, th := range []int{1, 2, 3} {
		w, loss := run(th)
		if loss != refLoss {
			t.Errorf("threads=%d: loss %v, threads=1 gave %v", th, loss, refLoss)
		}
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(ref[i]) {
				t.Fatalf("threads=%d: weight %d = %v, threads=1 gave %v", th, i, w[i], ref[i])
			}
		}
	}
}

func TestStepLossDecreases(t *testing.T) {
	m := newMiniModel(12, 16, 8, 32, 1, 2, 64, 200, 20)
	m.opt.LR = 3e-3
	rng := rand.New(rand.NewPCG(12, 2))
	m.step(rng)
	first := m.lastLoss
	for range 60 {
		m.step(rng)
	}
	if !(m.lastLoss < 0.7*first) {
		t.Errorf("loss after 60 steps on a fixed batch = %g, first %g, want below %g", m.lastLoss, first, 0.7*first)
	}
}

func TestStepAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	defer SetThreads(Threads())
	SetThreads(2)
	m := newMiniModel(13, 32, 16, 32, 2, 2, 64, 500, 20)
	rng := rand.New(rand.NewPCG(13, 2))
	m.step(rng)
	allocs := testing.AllocsPerRun(5, func() { m.step(rng) })
	if allocs > 0 {
		t.Errorf("a second training step at the same shape made %v allocations, want 0", allocs)
	}
}

func BenchmarkEncoderLayer(b *testing.B) {
	defer SetThreads(Threads())
	const B, L, d, heads, ffn = 256, 32, 64, 2, 256
	for _, th := range []int{1, 2} {
		b.Run(gemmKernelName+"/threads="+string(rune('0'+th)), func(b *testing.B) {
			SetThreads(th)
			rng := rand.New(rand.NewPCG(1, 1))
			e := NewEncoderLayer("enc", d, heads, ffn, 0.1, rng)
			x := randMat(rng, B*L, d)
			dy := randMat(rng, B*L, d)
			pad := make([]bool, B*L)
			for i := range pad {
				pad[i] = i%L >= L-4
			}
			for b.Loop() {
				e.Forward(x, B, L, pad, true, true, rng)
				e.Backward(dy)
			}
			b.ReportMetric(float64(B)*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
		})
	}
}

// BenchmarkReferenceStep is one training step of a model shaped like the
// reference (20,000 items, 64 categories, 3 per item, L=32, d=64, 2 layers, 2
// heads, FFN 256, batch 256, 256x256 in-batch softmax) built from this
// package's modules.
func BenchmarkReferenceStep(b *testing.B) {
	defer SetThreads(Threads())
	for _, th := range []int{1, 2} {
		b.Run(gemmKernelName+"/threads="+string(rune('0'+th)), func(b *testing.B) {
			SetThreads(th)
			m := newMiniModel(1, 256, 32, 64, 2, 2, 256, 20000, 64)
			rng := rand.New(rand.NewPCG(1, 2))
			m.step(rng)
			b.ResetTimer()
			for b.Loop() {
				m.step(rng)
			}
			b.ReportMetric(256*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
		})
	}
}
