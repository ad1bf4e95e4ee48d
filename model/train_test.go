package model

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// smallSpec is large enough for a model to learn something in seconds.
var smallSpec = worldSpec{seed: 3, users: 500, ads: 200, cats: 24, meanEvents: 10, evalStartDay: 40, evalDays: 10}

func smallConfig(kind string) Config {
	c := DefaultConfig(kind)
	c.MaxLen = 8
	c.Dim = 16
	c.Layers = 1
	c.FFN = 32
	c.UserHead = []int{32}
	c.ItemTower = []int{32}
	c.Context.DemoDim = 4
	c.Train.BatchSize = 64
	c.Train.Epochs = 6
	c.Train.LR = 5e-3
	c.Train.WarmupSteps = 10
	c.Train.Patience = 0
	return c
}

// TestTrainLearns trains the baseline and the contextual model on a small
// seeded world: the training loss falls and held-out Recall@100 beats the
// popularity baseline on the validation set and after the cut-off.
func TestTrainLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models")
	}
	w := genWorld(smallSpec)
	for _, kind := range []string{KindBaseline, KindContextual} {
		t.Run(kind, func(t *testing.T) {
			var calls int
			m, rep, err := Train(context.Background(), w, smallConfig(kind), t.TempDir(), TrainOptions{Progress: func(TrainProgress) { calls++ }})
			if err != nil {
				t.Fatal(err)
			}
			if calls == 0 {
				t.Error("progress was never reported")
			}
			first, last := rep.Epochs[0].TrainLoss, rep.Epochs[len(rep.Epochs)-1].TrainLoss
			if !(last < first-0.2) {
				t.Errorf("training loss %.3f -> %.3f, want a fall of more than 0.2", first, last)
			}
			pop := rep.Baselines[MethodPopularity][100]
			if !(rep.BestValRecall100 > pop) {
				t.Errorf("validation Recall@100 = %.3f, popularity %.3f (n=%d), want the model above", rep.BestValRecall100, pop, rep.ValExamples)
			}
			if rep.SeqPerSec <= 0 || rep.Steps == 0 {
				t.Errorf("report throughput %g, steps %d", rep.SeqPerSec, rep.Steps)
			}
			res, err := EvaluateNextItem(context.Background(), m, w, w.DayStart(w.Manifest.EvalStartDay), []int{10, 100})
			if err != nil {
				t.Fatal(err)
			}
			if res.Users < 100 {
				t.Fatalf("fixture: %d held-out users", res.Users)
			}
			if got, pop := res.Recall[MethodModel][100], res.Recall[MethodPopularity][100]; !(got > pop) {
				t.Errorf("held-out Recall@100 = %.3f, popularity %.3f (n=%d), want the model above", got, pop, res.Users)
			}
			if _, ok := res.Recall[MethodModelNoContext]; ok != (kind == KindContextual) {
				t.Errorf("no-context recall present = %v for %s", ok, kind)
			}
			t.Logf("%s: loss %.3f -> %.3f; val R@100 %.3f (pop %.3f, hist %.3f); held-out R@100 %v; %.0f seq/s",
				kind, first, last, rep.BestValRecall100, pop, rep.Baselines[MethodHistoryInterest][100], res.Recall, rep.SeqPerSec)
		})
	}
}

// TestTrainDeterministicAndResume checks that the same seed gives the same
// weights, that a cancelled run leaves the last finished epoch's files and
// that resuming from them gives the weights of an uninterrupted run.
func TestTrainDeterministicAndResume(t *testing.T) {
	w := genWorld(tinySpec)
	cfg := tinyConfig(KindContextual)
	cfg.Train.Schedule = ScheduleConstant
	cfg.Train.Epochs = 3
	cfg.Train.Patience = 0
	cfg.Train.RandomNegatives = 4
	cfg.PseudoContext.Projection = ProjectionNoised
	ctx := context.Background()
	a, repA, err := Train(ctx, w, cfg, t.TempDir(), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Train(ctx, w, cfg, t.TempDir(), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash() != b.Hash() {
		t.Fatalf("two runs with the same seed: weights %s and %s", a.Hash(), b.Hash())
	}
	other := cfg
	other.Train.Seed = 2
	c, _, err := Train(ctx, w, other, t.TempDir(), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash() == a.Hash() {
		t.Error("a different seed gave the same weights")
	}

	dir := t.TempDir()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, _, err = Train(cctx, w, cfg, dir, TrainOptions{Progress: func(p TrainProgress) {
		if p.Epoch == 2 && p.Phase == "train" {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Train: error %v, want context.Canceled", err)
	}
	st, err := readTrainState(filepath.Join(dir, TrainStateFile))
	if err != nil || st.Epoch != 1 {
		t.Fatalf("after cancelling epoch 2: train state %+v, %v; want epoch 1", st, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	r, rep, err := Train(ctx, w, cfg, dir, TrainOptions{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Resumed || len(rep.Epochs) != 3 {
		t.Errorf("resumed report: resumed %v, %d epochs, want true, 3", rep.Resumed, len(rep.Epochs))
	}
	if r.Hash() != a.Hash() {
		t.Errorf("resumed run's weights %s differ from the uninterrupted run's %s (best epochs %d, %d)", r.Hash(), a.Hash(), rep.BestEpoch, repA.BestEpoch)
	}
	changed := cfg
	changed.Dim = 16
	if _, _, err := Train(ctx, w, changed, dir, TrainOptions{Resume: true}); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("resume with another architecture: error %v, want a config mismatch", err)
	}
}

// TestLoadCheckpoint checks write -> load -> identical outputs and that
// corrupt run folders give errors naming the file and tensor.
func TestLoadCheckpoint(t *testing.T) {
	w := genWorld(tinySpec)
	cfg := tinyConfig(KindContextual)
	cfg.Context.Fusion = FusionBoth
	cfg.Train.Epochs = 1
	dir := t.TempDir()
	m, _, err := Train(context.Background(), w, cfg, dir, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Hash() != m.Hash() {
		t.Errorf("loaded weights %s, trained %s", l.Hash(), m.Hash())
	}
	_, _, want := m.ItemEmbeddings()
	_, _, got := l.ItemEmbeddings()
	if d := maxAbsDiff(got, want); d != 0 {
		t.Errorf("item embeddings differ by %g after loading", d)
	}
	cut := w.DayStart(w.Manifest.EvalStartDay)
	sa, sb := m.NewServer(w, nil), l.NewServer(w, nil)
	ua, ub := make([]float32, m.Dim()), make([]float32, m.Dim())
	subj := []datasets.CategoryScore{{Category: 2, Confidence: 0.7}, {Category: 5, Confidence: 0.2}}
	for u := range w.Users {
		if err := sa.EncodeUser(int32(u), subj, cut, ua); err != nil {
			t.Fatal(err)
		}
		if err := sb.EncodeUser(int32(u), subj, cut, ub); err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(ua, ub); d != 0 {
			t.Fatalf("user %d: embeddings differ by %g after loading", u, d)
		}
	}

	weights, err := os.ReadFile(filepath.Join(dir, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	cfgYAML, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.safetensors")
	{
		st, err := parseSafetensors(weights)
		if err != nil {
			t.Fatal(err)
		}
		var ts []stTensor
		for name, x := range st.Tensors {
			if name != "context.age" {
				ts = append(ts, *x)
			}
		}
		if err := writeSafetensors(missing, ts, st.Meta); err != nil {
			t.Fatal(err)
		}
	}
	missingBytes, err := os.ReadFile(missing)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		weights []byte
		config  []byte
		wants   []string
	}{
		{"truncated weights", weights[:len(weights)-100], cfgYAML, []string{WeightsFile, "tensor"}},
		{"truncated header", weights[:30], cfgYAML, []string{WeightsFile, "truncated"}},
		{"missing tensor", missingBytes, cfgYAML, []string{WeightsFile, "missing tensor context.age"}},
		{"config dim mismatch", weights, []byte(strings.Replace(string(cfgYAML), "dim: 8", "dim: 16", 1)), []string{WeightsFile, "config mismatch"}},
		{"config invalid", weights, []byte("kind: nope\n"), []string{ConfigFile, "kind"}},
		{"config unknown key", weights, append(append([]byte{}, cfgYAML...), "bogus: 1\n"...), []string{ConfigFile, "bogus"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, WeightsFile), tc.weights, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, ConfigFile), tc.config, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(d)
			if err == nil {
				t.Fatal("Load: no error")
			}
			for _, s := range tc.wants {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Load error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// ExamplesPerEpoch caps the optimizer steps of an epoch.
func TestExamplesPerEpoch(t *testing.T) {
	w := genWorld(smallSpec)
	c := smallConfig(KindBaseline)
	c.Train.Epochs = 2
	c.Train.ExamplesPerEpoch = 3 * c.Train.BatchSize
	_, rep, err := Train(context.Background(), w, c, t.TempDir(), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.TrainExamples <= c.Train.ExamplesPerEpoch {
		t.Fatalf("world too small for the test: %d training examples", rep.TrainExamples)
	}
	if rep.Steps != 6 {
		t.Errorf("steps = %d, want 2 epochs x 3 batches", rep.Steps)
	}
	c.Train.ExamplesPerEpoch = -1
	if err := c.Validate(); err == nil {
		t.Error("Validate accepted examples_per_epoch -1")
	}
}

// TestLegacyConfigLoads checks that a run folder written before the
// pooling, out_dim and tied-table keys existed (so its config and weights
// metadata lack them) loads and behaves as the last-state architecture.
func TestLegacyConfigLoads(t *testing.T) {
	w := genWorld(tinySpec)
	legacy := untied(tinyConfig(KindBaseline))
	legacy.Pooling, legacy.IDInitScale = "", 0
	legacy.Train.Epochs = 1
	for _, key := range []string{"pooling", "out_dim", "tie_id_embeddings", "id_init_scale", "category_residual", "id_residual"} {
		if strings.Contains(archJSON(legacy), `"`+key+`"`) {
			t.Errorf("archJSON of a legacy config names %q; weights written before it existed would not match", key)
		}
	}
	dir := t.TempDir()
	m, _, err := Train(context.Background(), w, legacy, dir, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := Load(dir)
	if err != nil {
		t.Fatalf("Load(legacy run) = %v", err)
	}
	last := l.Config()
	last.Pooling = PoolingLast
	ref := newModelFeatures(last, l.f)
	for i, p := range l.net.params {
		copy(ref.net.params[i].W, p.W)
	}
	cut := w.DayStart(w.Manifest.EvalStartDay)
	a, b := make([]float32, m.Dim()), make([]float32, m.Dim())
	sa, sb := l.NewServer(w, nil), ref.NewServer(w, nil)
	for u := range w.Users {
		if err := sa.EncodeUser(int32(u), nil, cut, a); err != nil {
			t.Fatal(err)
		}
		if err := sb.EncodeUser(int32(u), nil, cut, b); err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(a, b); d != 0 {
			t.Fatalf("user %d: empty pooling differs from %q by %g", u, PoolingLast, d)
		}
	}
}
