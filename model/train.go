package model

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/model/nn"
)

// TrainOptions are the caller's hooks into Train.
type TrainOptions struct {
	// Progress, when not nil, is called between batches and after each
	// validation.
	Progress func(TrainProgress)
	// Resume continues from the last finished epoch's checkpoint in the run
	// folder when there is one (the config must match); otherwise training
	// starts afresh.
	Resume bool
}

// TrainProgress is a progress report of Train.
type TrainProgress struct {
	Phase     string  // "train" or "validate"
	Epoch     int     // 1-based
	Epochs    int     // configured maximum
	Batch     int     // batches done in this epoch
	Batches   int     // batches per epoch
	Step      int64   // optimizer steps so far
	Loss      float64 // mean training loss of this epoch so far
	SeqPerSec float64 // training throughput of this epoch so far
}

// EpochReport is one epoch of a TrainReport.
type EpochReport struct {
	Epoch     int     `json:"epoch"` // 1-based
	TrainLoss float64 `json:"train_loss"`
	LR        float64 `json:"lr"` // at the end of the epoch
	// ValRecall maps K (10, 100) to validation Recall@K over the full
	// catalogue; a contextual model gets the label's pseudo-context (top-k).
	ValRecall map[int]float64 `json:"val_recall,omitempty"`
	// ValRecallNoContext is the contextual model's validation recall with an
	// empty subject.
	ValRecallNoContext map[int]float64 `json:"val_recall_no_context,omitempty"`
	Seconds            float64         `json:"seconds"`     // training time, validation excluded
	SeqPerSec          float64         `json:"seq_per_sec"` // training sequences per second
}

// TrainReport summarises a training run.
type TrainReport struct {
	Kind          string `json:"kind"`
	Cutoff        int64  `json:"cutoff"`
	TrainExamples int    `json:"train_examples"`
	ValExamples   int    `json:"val_examples"`
	Weights       int    `json:"weights"`
	Threads       int    `json:"threads"`
	Steps         int64  `json:"steps"`
	Resumed       bool   `json:"resumed"`
	StoppedEarly  bool   `json:"stopped_early"`
	// BestEpoch (1-based) is the epoch whose weights were kept;
	// BestValRecall100 its validation Recall@100.
	BestEpoch        int           `json:"best_epoch"`
	BestValRecall100 float64       `json:"best_val_recall100"`
	Epochs           []EpochReport `json:"epochs"`
	// Baselines maps MethodPopularity and MethodHistoryInterest to their
	// validation Recall@K on the same examples.
	Baselines map[string]map[int]float64 `json:"baselines,omitempty"`
	// SeqPerSec is the training throughput over the epochs run by this call.
	SeqPerSec float64 `json:"seq_per_sec"`
}

// valKs are the validation cut-offs; early stopping uses 100.
var valKs = []int{10, 100}

// Train trains a model of cfg on the offsite events of w before the
// training cut-off (cfg.Train.Cutoff, default the start of the evaluation
// window) and writes its checkpoints into runDir: config.yaml,
// model.safetensors (best weights), and after each epoch last.safetensors,
// optimizer.safetensors and train_state.json for resuming, and at the end
// train_report.json. A cancelled ctx stops between batches; the files of the
// last finished epoch stay intact. The returned model holds the best weights.
//
// Same config, seed and world give the same weights on the same machine:
// shuffles, dropout masks, pseudo-contexts and negatives come from streams
// keyed by (seed, stage, epoch/step/example).
func Train(ctx context.Context, w *datasets.World, cfg Config, runDir string, opts TrainOptions) (*Model, *TrainReport, error) {
	cfg = cfg.clone()
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	tc := &cfg.Train
	cutoff := tc.Cutoff
	if cutoff == 0 {
		cutoff = w.DayStart(w.Manifest.EvalStartDay)
	}
	exs, err := buildExamples(w, &cfg, cutoff)
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	if len(exs.Train) < 2 {
		return nil, nil, fmt.Errorf("train: %d training examples before cut-off %d, want at least 2", len(exs.Train), cutoff)
	}
	m, err := newModel(cfg, w)
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	if tc.Threads > 0 {
		old := nn.Threads()
		nn.SetThreads(tc.Threads)
		defer nn.SetThreads(old)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	t := newTrainer(m, w, exs)
	rep := &TrainReport{
		Kind: cfg.Kind, Cutoff: cutoff, TrainExamples: len(exs.Train), ValExamples: len(exs.Val),
		Weights: m.NumWeights(), Threads: nn.Threads(),
	}
	state := &trainState{BestRecall: -1}
	if opts.Resume {
		st, err := t.resume(runDir)
		if err != nil {
			return nil, nil, fmt.Errorf("train: resume: %w", err)
		}
		if st != nil {
			state = st
			rep.Resumed = true
		}
	}
	if !rep.Resumed {
		if err := writeConfig(filepath.Join(runDir, ConfigFile), &m.cfg); err != nil {
			return nil, nil, fmt.Errorf("train: %w", err)
		}
	}
	if len(exs.Val) > 0 {
		rep.Baselines = map[string]map[int]float64{
			MethodPopularity:      recallAt(popularityRanks(w, exs.Val, exs.LabelCount), valKs),
			MethodHistoryInterest: recallAt(historyRanks(w, m.f, exs.Val, exs.LabelCount), valKs),
		}
	}
	var seqs, secs float64
	for epoch := state.Epoch; epoch < tc.Epochs && !state.Stopped; epoch++ {
		er, err := t.epoch(ctx, epoch, state, opts.Progress)
		if err != nil {
			return nil, nil, fmt.Errorf("train: epoch %d: %w", epoch+1, err)
		}
		seqs += er.SeqPerSec * er.Seconds
		secs += er.Seconds
		improved := len(exs.Val) == 0
		if len(exs.Val) > 0 {
			if opts.Progress != nil {
				opts.Progress(TrainProgress{Phase: "validate", Epoch: epoch + 1, Epochs: tc.Epochs, Step: state.Step, Loss: er.TrainLoss})
			}
			items := m.computeItems(m.net)
			ranks, err := netRanks(ctx, m.net, w, exs.Val, ctxLabel, items, cfg.EmbeddingDim())
			if err != nil {
				return nil, nil, fmt.Errorf("train: validate epoch %d: %w", epoch+1, err)
			}
			er.ValRecall = recallAt(ranks, valKs)
			if cfg.Contextual() {
				if ranks, err = netRanks(ctx, m.net, w, exs.Val, ctxNone, items, cfg.EmbeddingDim()); err != nil {
					return nil, nil, fmt.Errorf("train: validate epoch %d: %w", epoch+1, err)
				}
				er.ValRecallNoContext = recallAt(ranks, valKs)
			}
			improved = er.ValRecall[100] > state.BestRecall
		}
		state.Epoch = epoch + 1
		state.Epochs = append(state.Epochs, er)
		if improved {
			state.BestRecall = er.ValRecall[100]
			state.BestEpoch = epoch + 1
			state.BadEpochs = 0
			t.keepBest()
			if err := m.writeWeights(filepath.Join(runDir, WeightsFile), map[string]string{"epoch": strconv.Itoa(epoch + 1)}); err != nil {
				return nil, nil, fmt.Errorf("train: %w", err)
			}
		} else {
			state.BadEpochs++
			if tc.Patience > 0 && state.BadEpochs >= tc.Patience {
				state.Stopped = true
			}
		}
		if err := t.checkpoint(runDir, state); err != nil {
			return nil, nil, fmt.Errorf("train: %w", err)
		}
	}
	if secs > 0 {
		rep.SeqPerSec = seqs / secs
	}
	if err := t.restoreBest(runDir); err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	m.weightsChanged()
	rep.Steps = state.Step
	rep.StoppedEarly = state.Stopped
	rep.BestEpoch = state.BestEpoch
	rep.BestValRecall100 = max(state.BestRecall, 0)
	rep.Epochs = state.Epochs
	if err := writeJSON(filepath.Join(runDir, TrainReportFile), rep); err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	return m, rep, nil
}

// trainer holds the training loop's state and buffers.
type trainer struct {
	m       *Model
	net     *net
	w       *datasets.World
	exs     *exampleSet
	cfg     *Config
	opt     *nn.Adam
	ss      *nn.SampledSoftmax
	pc      *pseudoContext
	q       []float64 // training-label frequency per ad Pin
	best    [][]float32
	batches int

	b               batch
	pcg             rand.PCG
	rng             *rand.Rand
	ids, negIDs     []int32
	logQ, negLogQ   []float32
	vpos, neg       nn.Mat
	dItems          *nn.Mat
	batchExs        []example
	batchExampleIdx []int
}

func newTrainer(m *Model, w *datasets.World, exs *exampleSet) *trainer {
	cfg := &m.cfg
	t := &trainer{m: m, net: m.net, w: w, exs: exs, cfg: cfg, dItems: &nn.Mat{}}
	t.opt = nn.NewAdam(m.net.params, float32(cfg.Train.LR))
	t.opt.WeightDecay = float32(cfg.Train.WeightDecay)
	t.ss = nn.NewSampledSoftmax(float32(cfg.Temperature))
	t.pc = newPseudoContext(cfg, w.AdPins, len(w.Categories))
	t.q = make([]float64, len(exs.LabelCount))
	for i, c := range exs.LabelCount {
		t.q[i] = float64(c) / float64(exs.LabelTotal)
	}
	t.rng = rand.New(&t.pcg)
	B := cfg.Train.BatchSize
	n := len(exs.Train)
	if cap := cfg.Train.ExamplesPerEpoch; cap > 0 {
		n = min(n, cap)
	}
	t.batches = n / B
	if t.batches == 0 {
		t.batches = 1 // one short batch (at least 2 examples)
	}
	return t
}

// lr is the learning rate at step: linear warm-up, then constant or cosine
// decay to 10% at the last step.
func (t *trainer) lr(step int64) float64 {
	tc := &t.cfg.Train
	base := tc.LR
	if w := int64(tc.WarmupSteps); w > 0 && step < w {
		return base * float64(step+1) / float64(w)
	}
	if tc.Schedule == ScheduleConstant {
		return base
	}
	total := int64(t.batches) * int64(tc.Epochs)
	span := total - int64(tc.WarmupSteps)
	if span <= 0 {
		return base
	}
	p := math.Min(1, float64(step-int64(tc.WarmupSteps))/float64(span))
	return base * (0.1 + 0.9*0.5*(1+math.Cos(math.Pi*p)))
}

// epoch runs one epoch of training (0-based epoch).
func (t *trainer) epoch(ctx context.Context, epoch int, state *trainState, progress func(TrainProgress)) (EpochReport, error) {
	tc := &t.cfg.Train
	seed := tc.Seed
	train := t.exs.Train
	perm := rand.New(rand.NewPCG(mix(seed^stageShuffle<<56), uint64(epoch))).Perm(len(train))
	B := min(tc.BatchSize, len(train))
	dropRng := rand.New(rand.NewPCG(0, 0))
	var lossSum float64
	start := time.Now()
	er := EpochReport{Epoch: epoch + 1}
	for bi := range t.batches {
		if err := ctx.Err(); err != nil {
			return er, err
		}
		idx := perm[bi*B : (bi+1)*B]
		t.batchExs = t.batchExs[:0]
		for _, i := range idx {
			t.batchExs = append(t.batchExs, train[i])
		}
		pseudoKey := mix(seed^stagePseudo<<56) ^ mix(uint64(epoch))
		fillBatch(&t.b, t.net, t.w, t.batchExs, func(i int, ex example, dst []datasets.CategoryScore) []datasets.CategoryScore {
			t.pcg.Seed(pseudoKey, uint64(idx[i]))
			return t.pc.project(dst, t.w.Events[ex.Target].AdPinID, t.rng)
		})
		t.pcg.Seed(mix(seed^stageNegatives<<56), uint64(state.Step))
		t.negIDs = t.negIDs[:0]
		for range tc.RandomNegatives {
			t.negIDs = append(t.negIDs, int32(t.rng.IntN(t.net.f.nItems)))
		}
		dropRng = rand.New(rand.NewPCG(mix(seed^stageDropout<<56), uint64(state.Step)))
		loss := t.step(&t.b, t.negIDs, dropRng)
		if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
			return er, fmt.Errorf("step %d: loss is %v", state.Step, loss)
		}
		if tc.ClipNorm > 0 {
			nn.ClipGradNorm(t.net.params, tc.ClipNorm)
		}
		er.LR = t.lr(state.Step)
		t.opt.LR = float32(er.LR)
		t.opt.Step()
		nn.ZeroGrad(t.net.params)
		state.Step++
		lossSum += float64(loss)
		if progress != nil && (bi%10 == 9 || bi == t.batches-1) {
			el := time.Since(start).Seconds()
			progress(TrainProgress{Phase: "train", Epoch: epoch + 1, Epochs: tc.Epochs, Batch: bi + 1, Batches: t.batches,
				Step: state.Step, Loss: lossSum / float64(bi+1), SeqPerSec: float64((bi+1)*B) / max(el, 1e-9)})
		}
	}
	er.Seconds = time.Since(start).Seconds()
	er.TrainLoss = lossSum / float64(t.batches)
	er.SeqPerSec = float64(t.batches*B) / max(er.Seconds, 1e-9)
	return er, nil
}

// step runs forward and backward of one batch (negIDs: extra uniform
// negatives) and returns the loss; gradients accumulate into the params.
func (t *trainer) step(b *batch, negIDs []int32, rng *rand.Rand) float32 {
	n := t.net
	d := n.cfg.EmbeddingDim()
	B, R := b.B, len(negIDs)
	U := n.userForward(b, true, rng)
	t.ids = append(append(t.ids[:0], b.labels...), negIDs...)
	V := n.itemsForward(t.ids, true, rng)
	nItems := float64(n.f.nItems)
	logQ := func(dst []float32, ids []int32) []float32 {
		dst = dst[:0]
		for _, id := range ids {
			dst = append(dst, float32(math.Log(float64(B)*t.q[id]+float64(R)/nItems+1e-12)))
		}
		return dst
	}
	t.logQ = logQ(t.logQ, b.labels)
	t.vpos = nn.Mat{R: B, C: d, D: V.D[:B*d]}
	var neg *nn.Mat
	if R > 0 {
		t.negLogQ = logQ(t.negLogQ, negIDs)
		t.neg = nn.Mat{R: R, C: d, D: V.D[B*d : (B+R)*d]}
		neg = &t.neg
	}
	loss := t.ss.Forward(U, &t.vpos, b.labels, t.logQ, neg, negIDs, t.negLogQ)
	dU, dV, dNeg := t.ss.Backward()
	dItems := t.dItems.Reshape(B+R, d)
	copy(dItems.D, dV.D[:B*d])
	if R > 0 {
		copy(dItems.D[B*d:], dNeg.D[:R*d])
	}
	n.itemsBackward(dItems)
	n.userBackward(dU)
	return loss
}

// keepBest copies the current weights as the best ones.
func (t *trainer) keepBest() {
	if t.best == nil {
		t.best = make([][]float32, len(t.net.params))
	}
	for i, p := range t.net.params {
		t.best[i] = append(t.best[i][:0], p.W...)
	}
}

// restoreBest puts the best weights back (read from disk after a resume
// that ran no better epoch).
func (t *trainer) restoreBest(runDir string) error {
	if t.best != nil {
		for i, p := range t.net.params {
			copy(p.W, t.best[i])
		}
		return nil
	}
	st, err := readSafetensors(filepath.Join(runDir, WeightsFile))
	if err != nil {
		return err
	}
	return loadParams(st, t.net.params, "")
}

// checkpoint writes the state after a finished epoch; train_state.json is
// written last, so a crash in between leaves the previous epoch's state,
// which resume detects by the epoch recorded in the weight files.
func (t *trainer) checkpoint(runDir string, state *trainState) error {
	ep := strconv.Itoa(state.Epoch)
	if err := t.m.writeWeights(filepath.Join(runDir, LastWeightsFile), map[string]string{"epoch": ep}); err != nil {
		return err
	}
	if err := writeOptimizer(filepath.Join(runDir, OptimizerFile), t.net.params, t.opt, state.Epoch); err != nil {
		return err
	}
	return writeJSON(filepath.Join(runDir, TrainStateFile), state)
}

// resume restores the state of the last finished epoch from runDir, or
// returns nil when runDir holds no train state.
func (t *trainer) resume(runDir string) (*trainState, error) {
	state, err := readTrainState(filepath.Join(runDir, TrainStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(runDir, ConfigFile)
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, err
	}
	saved, err := parseConfig(data, Config{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	if !sameTraining(saved, *t.cfg) {
		return nil, fmt.Errorf("%s does not match the config to resume with (only train.epochs, train.patience and train.threads may change)", cfgPath)
	}
	st, err := readSafetensors(filepath.Join(runDir, LastWeightsFile))
	if err != nil {
		return nil, err
	}
	if e, err := st.metaInt("epoch"); err != nil {
		return nil, err
	} else if int(e) != state.Epoch {
		return nil, fmt.Errorf("read %s: weights of epoch %d, %s says %d", st.Path, e, TrainStateFile, state.Epoch)
	}
	if got, want := st.Meta["config"], archJSON(*t.cfg); got != want {
		return nil, fmt.Errorf("read %s: config mismatch", st.Path)
	}
	if err := loadParams(st, t.net.params, ""); err != nil {
		return nil, err
	}
	if err := readOptimizer(filepath.Join(runDir, OptimizerFile), t.net.params, t.opt, state.Epoch); err != nil {
		return nil, err
	}
	if state.BestEpoch > 0 {
		// A later run may allow more patience than the one that stopped.
		state.Stopped = t.cfg.Train.Patience > 0 && state.BadEpochs >= t.cfg.Train.Patience
	}
	if state.Epochs == nil {
		state.Epochs = []EpochReport{}
	}
	state.Epochs = slices.Clip(state.Epochs)
	return state, nil
}

// sameTraining reports whether two configs describe the same training run
// up to the settings that may change on resume.
func sameTraining(a, b Config) bool {
	for _, c := range []*Config{&a, &b} {
		c.Train.Epochs, c.Train.Patience, c.Train.Threads = 0, 0, 0
	}
	x, y := archJSON(a)+jsonOf(a.Train)+jsonOf(a.PseudoContext), archJSON(b)+jsonOf(b.Train)+jsonOf(b.PseudoContext)
	return x == y
}
