package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAdamHandComputed(t *testing.T) {
	p := NewParam("w", 2)
	p.W[0], p.W[1] = 1, -2
	o := NewAdam([]*Param{p}, 0.1)
	o.WeightDecay = 0.01
	// Step 1: m = 0.1 g, v = 0.001 g^2, so m_hat = g, v_hat = g^2 and the
	// update is lr * g/(|g| + eps) = 0.1 sign(g), after decay w *= 1 - 0.001.
	p.G[0], p.G[1] = 0.5, -0.1
	o.Step()
	want := []float64{0.999 - 0.1, -1.998 + 0.1}
	for i, w := range want {
		if math.Abs(float64(p.W[i])-w) > 1e-6 {
			t.Fatalf("Adam step 1: W[%d] = %.7g, want %.7g", i, p.W[i], w)
		}
	}
	// Step 2 with g = (0.5, 0.2):
	// m = (0.095, 0.011), v = (0.00049975, 0.00004999),
	// bias corrections 0.19 and 0.001999, so
	// update_0 = 0.1 * 0.5 / 0.5 = 0.1,
	// update_1 = 0.1 * (0.011/0.19) / sqrt(0.00004999/0.001999) = 0.0366101.
	p.G[0], p.G[1] = 0.5, 0.2
	o.Step()
	want = []float64{(0.999-0.1)*0.999 - 0.1, (-1.998+0.1)*0.999 - 0.0366101}
	for i, w := range want {
		if math.Abs(float64(p.W[i])-w) > 2e-6 {
			t.Fatalf("Adam step 2: W[%d] = %.7g, want %.7g", i, p.W[i], w)
		}
	}
	step, m, v := o.State()
	if step != 2 || math.Abs(float64(m[0][1])-0.011) > 1e-7 || math.Abs(float64(v[0][0])-0.00049975) > 1e-4*0.00049975 {
		t.Errorf("Adam State() = step %d, m %v, v %v, want step 2, m[1] 0.011, v[0] 0.00049975", step, m, v)
	}
}

func TestAdamLazySparse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	e := NewEmbedding("emb", 5, 3, rng)
	before := append([]float32(nil), e.Table.W...)
	o := NewAdam(e.Params(), 0.01)
	o.WeightDecay = 0.1
	ids := []int32{3, -1, 1, 3}
	e.Forward(ids)
	e.Backward(randMat(rng, 4, 3))
	o.Step()
	_, m, _ := o.State()
	for row := range 5 {
		touched := row == 1 || row == 3
		for j := range 3 {
			i := row*3 + j
			changed := e.Table.W[i] != before[i]
			if changed != touched {
				t.Errorf("lazy Adam row %d col %d: changed = %v, want %v", row, j, changed, touched)
			}
			if !touched && m[0][i] != 0 {
				t.Errorf("lazy Adam untouched row %d has moment %g", row, m[0][i])
			}
		}
	}
	// A repeated row is updated once: the step equals a dense Adam step on that
	// row (|update| = lr on the first step, up to weight decay).
	for j := range 3 {
		i := 3*3 + j
		d := math.Abs(float64(e.Table.W[i] - before[i]*(1-0.01*0.1)))
		if math.Abs(d-0.01) > 1e-6 {
			t.Errorf("lazy Adam row 3 col %d moved by %g, want 0.01", j, d)
		}
	}
}

func TestAdamSetState(t *testing.T) {
	p := NewParam("w", 3)
	o := NewAdam([]*Param{p}, 0.1)
	for _, tc := range []struct {
		name    string
		step    int64
		m, v    [][]float32
		wantErr bool
	}{
		{"ok", 7, [][]float32{{1, 2, 3}}, [][]float32{{4, 5, 6}}, false},
		{"wrong_count", 1, nil, nil, true},
		{"wrong_length", 1, [][]float32{{1}}, [][]float32{{1, 2, 3}}, true},
		{"negative_step", -1, [][]float32{{1, 2, 3}}, [][]float32{{4, 5, 6}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := o.SetState(tc.step, tc.m, tc.v)
			if (err != nil) != tc.wantErr {
				t.Fatalf("SetState() error = %v, want error %v", err, tc.wantErr)
			}
			if err == nil {
				step, m, v := o.State()
				if step != 7 || m[0][2] != 3 || v[0][0] != 4 {
					t.Errorf("State() after SetState = %d %v %v", step, m, v)
				}
			}
		})
	}
}

func TestClipGradNorm(t *testing.T) {
	dense := NewParam("d", 2)
	sparse := newSparseParam("s", 3, 2)
	for _, tc := range []struct {
		name     string
		maxNorm  float64
		wantNorm float64
		scale    float64
	}{{"clipped", 6.5, 13, 0.5}, {"not_clipped", 20, 13, 1}, {"disabled", 0, 13, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			ZeroGrad([]*Param{dense, sparse})
			dense.G[0], dense.G[1] = 3, 4
			// Row 1 touched twice: counted once. 3^2+4^2+12^2 = 169.
			sparse.G[2], sparse.G[3] = 12, 0
			sparse.Touched = append(sparse.Touched, 1, 1)
			norm := ClipGradNorm([]*Param{dense, sparse}, tc.maxNorm)
			if math.Abs(norm-tc.wantNorm) > 1e-9 {
				t.Fatalf("ClipGradNorm() = %g, want %g", norm, tc.wantNorm)
			}
			got := []float32{dense.G[0], dense.G[1], sparse.G[2]}
			for i, w := range []float64{3, 4, 12} {
				if math.Abs(float64(got[i])-w*tc.scale) > 1e-5 {
					t.Errorf("gradient %d after clipping = %g, want %g", i, got[i], w*tc.scale)
				}
			}
		})
	}
}
