package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/model/nn"
)

// gradConfigs are the variants whose whole-model gradient is checked.
func gradConfigs() []struct {
	name string
	cfg  Config
} {
	mk := func(kind, fusion string, demo bool) Config {
		c := tinyConfig(kind)
		c.Dropout, c.Context.Dropout, c.Context.WholeDropout = 0, 0, 0
		c.Temperature = 0.5 // a smooth loss keeps finite differences accurate
		c.Context.Fusion = fusion
		c.Context.UseDemographics = demo
		c.Train.RandomNegatives = 3
		return c
	}
	return []struct {
		name string
		cfg  Config
	}{
		{"baseline", mk(KindBaseline, FusionConcat, true)},
		{"contextual/concat", mk(KindContextual, FusionConcat, true)},
		{"contextual/cross_attention", mk(KindContextual, FusionCrossAttention, true)},
		{"contextual/both/categories_only", mk(KindContextual, FusionBoth, false)},
		{"baseline/tied_ids/last_mean", tied(mk(KindBaseline, FusionConcat, true))},
		{"contextual/concat/tied_ids/last_mean", tied(mk(KindContextual, FusionConcat, true))},
		{"baseline/untied/last", untied(mk(KindBaseline, FusionConcat, true))},
		{"baseline/tied/category_residual", residual(tied(mk(KindBaseline, FusionConcat, true)))},
		{"baseline/tied/category_and_id_residual", idResidual(residual(tied(mk(KindBaseline, FusionConcat, true))))},
		{"contextual/cross_attention/category_residual", residual(mk(KindContextual, FusionCrossAttention, true))},
	}
}

// residual adds the category table to both towers' outputs.
func residual(c Config) Config {
	c.CategoryResidual = true
	return c
}

// idResidual adds the ad Pin id table to both towers' outputs.
func idResidual(c Config) Config {
	c.IDResidual = true
	return c
}

// untied is the architecture before tied tables, mean pooling, wider
// outputs and the residuals were the default; run folders written
// then still load.
func untied(c Config) Config {
	c.TieIDEmbeddings = false
	c.IDInitScale = 1
	c.Pooling = PoolingLast
	c.OutDim = 0
	c.CategoryResidual, c.IDResidual = false, false
	return c
}

// tied shares the id and category tables between the history and the item
// tower (a row reached from both sides must get the sum of both gradients)
// pools the encoder output with its mean and widens the output embeddings.
func tied(c Config) Config {
	c.TieIDEmbeddings = true
	c.IDInitScale = 0.5
	c.Pooling = PoolingLastMean
	c.OutDim = c.Dim + 4
	return c
}

// newTestTrainer builds a model of cfg on w and a trainer with its batch of
// the first B training examples (pseudo-context: top-k of the label).
func newTestTrainer(t *testing.T, w *datasets.World, cfg Config, B int) (*trainer, []int32) {
	t.Helper()
	exs, err := buildExamples(w, &cfg, w.DayStart(w.Manifest.EvalStartDay))
	if err != nil {
		t.Fatal(err)
	}
	m, err := newModel(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTrainer(m, w, exs)
	pc := &pseudoContext{cfg: PseudoContextConfig{Projection: ProjectionTopK}, topK: cfg.Context.TopK, nCats: len(w.Categories), adPins: w.AdPins}
	fillBatch(&tr.b, m.net, w, exs.Train[:B], func(_ int, ex example, dst []datasets.CategoryScore) []datasets.CategoryScore {
		return pc.project(dst, w.Events[ex.Target].AdPinID, nil)
	})
	rng := rand.New(rand.NewPCG(5, 5))
	var negs []int32
	for range cfg.Train.RandomNegatives {
		negs = append(negs, int32(rng.IntN(len(w.AdPins))))
	}
	return tr, negs
}

// lossOnly is the forward half of trainer.step.
func (t *trainer) lossOnly(b *batch, negIDs []int32) float64 {
	n := t.net
	d, B, R := n.cfg.EmbeddingDim(), b.B, len(negIDs)
	U := n.userForward(b, true, nil)
	t.ids = append(append(t.ids[:0], b.labels...), negIDs...)
	V := n.itemsForward(t.ids, true, nil)
	nItems := float64(n.f.nItems)
	logQ := func(ids []int32) []float32 {
		var out []float32
		for _, id := range ids {
			out = append(out, float32(math.Log(float64(B)*t.q[id]+float64(R)/nItems+1e-12)))
		}
		return out
	}
	vpos := &nn.Mat{R: B, C: d, D: V.D[:B*d]}
	var neg *nn.Mat
	var negQ []float32
	if R > 0 {
		neg = &nn.Mat{R: R, C: d, D: V.D[B*d:]}
		negQ = logQ(negIDs)
	}
	ss := nn.NewSampledSoftmax(t.ss.Temperature)
	return float64(ss.Forward(U, vpos, b.labels, logQ(b.labels), neg, negIDs, negQ))
}

// TestWholeModelGradient checks the analytic gradient of the training loss
// with respect to every parameter tensor against central finite
// differences at a few sampled coordinates (for embedding tables, in rows
// the batch touches).
func TestWholeModelGradient(t *testing.T) {
	w := genWorld(tinySpec)
	for _, tc := range gradConfigs() {
		t.Run(tc.name, func(t *testing.T) {
			tr, negs := newTestTrainer(t, w, tc.cfg, 6)
			nn.ZeroGrad(tr.net.params)
			tr.step(&tr.b, negs, nil)
			rng := rand.New(rand.NewPCG(7, 7))
			const eps = 2e-3
			checked, kinks := 0, 0
			for _, p := range tr.net.params {
				var coords []int
				if p.Sparse {
					p.PrepareTouched()
					if len(p.Touched) == 0 {
						continue
					}
					for range 3 {
						r := int(p.Touched[rng.IntN(len(p.Touched))])
						coords = append(coords, r*p.RowDim+rng.IntN(p.RowDim))
					}
				} else {
					for range 3 {
						coords = append(coords, rng.IntN(len(p.W)))
					}
				}
				for _, i := range coords {
					fd := func(h float32) float64 {
						orig := p.W[i]
						p.W[i] = orig + h
						lp := tr.lossOnly(&tr.b, negs)
						p.W[i] = orig - h
						lm := tr.lossOnly(&tr.b, negs)
						p.W[i] = orig
						return (lp - lm) / float64(2*h)
					}
					near := func(a, b float64) bool {
						return math.Abs(a-b) <= 2e-3+2e-2*math.Max(math.Abs(a), math.Abs(b))
					}
					num, half := fd(eps), fd(eps/2)
					if !near(num, half) {
						// A ReLU kink within eps of the point: the
						// difference quotient means nothing there.
						kinks++
						continue
					}
					ana := float64(p.G[i])
					if !near(num, ana) {
						t.Errorf("%s[%d]: analytic gradient %.6g, finite difference %.6g", p.Name, i, ana, num)
					}
					checked++
				}
			}
			if checked < 3*len(tr.net.params)/2 || kinks > checked/10 {
				t.Errorf("checked %d coordinates of %d parameters (%d skipped at kinks), want most parameters covered", checked, len(tr.net.params), kinks)
			}
		})
	}
}

// TestStepIsDeterministic runs the same training step twice from the same
// weights and checks the gradients are bit-identical, then again with a
// different thread count.
func TestStepIsDeterministic(t *testing.T) {
	w := genWorld(tinySpec)
	cfg := tinyConfig(KindContextual)
	cfg.Context.Fusion = FusionBoth
	grads := func(threads int) [][]float32 {
		old := nn.Threads()
		nn.SetThreads(threads)
		defer nn.SetThreads(old)
		tr, negs := newTestTrainer(t, w, cfg, 12)
		tr.step(&tr.b, negs, rand.New(rand.NewPCG(3, 4)))
		var out [][]float32
		for _, p := range tr.net.params {
			out = append(out, append([]float32(nil), p.G...))
		}
		return out
	}
	a, b, c := grads(1), grads(1), grads(2)
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] || a[i][j] != c[i][j] {
				t.Fatalf("param %d element %d: gradients %v, %v (1 thread twice), %v (2 threads)", i, j, a[i][j], b[i][j], c[i][j])
			}
		}
	}
}
