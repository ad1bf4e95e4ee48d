package model

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/cgbench/cgbench/datasets"
)

// Model kinds of Config.Kind.
const (
	KindBaseline   = "baseline"
	KindContextual = "contextual"
)

// Fusion modes of ContextConfig.Fusion.
const (
	FusionConcat         = "concat"
	FusionCrossAttention = "cross_attention"
	FusionBoth           = "both"
)

// Pseudo-context projections of PseudoContextConfig.Projection.
const (
	ProjectionLabel   = "label"
	ProjectionTopK    = "topk"
	ProjectionNoised  = "noised"
	ProjectionMixture = "mixture"
)

// Summaries of the encoder output of Config.Pooling.
const (
	PoolingLast     = "last"
	PoolingLastMean = "last_mean"
)

// Learning-rate schedules of TrainConfig.Schedule.
const (
	ScheduleConstant = "constant"
	ScheduleCosine   = "cosine"
)

// Config is the full configuration of a two-tower model and its training.
// It is written beside every checkpoint (config.yaml) and must match the
// weights it is loaded with.
type Config struct {
	// Kind is KindBaseline (history only, fully offline user embedding) or
	// KindContextual (history plus an online context layer).
	Kind string `yaml:"kind" json:"kind"`
	// MaxLen is L, the number of most recent offsite events the user tower
	// reads; shorter histories are left-padded and masked.
	MaxLen int `yaml:"max_len" json:"max_len"`
	// Dim is d, the width of the encoder, the context vector and both towers'
	// output embeddings.
	Dim    int `yaml:"dim" json:"dim"`
	Layers int `yaml:"layers" json:"layers"`
	Heads  int `yaml:"heads" json:"heads"`
	FFN    int `yaml:"ffn" json:"ffn"`
	// Dropout is the encoder layers' dropout rate, in [0, 0.9].
	Dropout float64 `yaml:"dropout" json:"dropout"`
	// Causal restricts encoder self-attention to earlier positions. Only the
	// last position feeds the baseline head, so non-causal is the default.
	Causal bool `yaml:"causal" json:"causal"`
	// Temperature divides the dot product of the L2-normalised towers.
	Temperature float64 `yaml:"temperature" json:"temperature"`
	// OutDim is the width of the user and item embeddings, the towers'
	// outputs; 0 means Dim. Wider outputs let one user embedding separate a
	// few categories of interest from hundreds of others.
	OutDim int `yaml:"out_dim" json:"out_dim,omitempty"`
	// UserHead and ItemTower are the hidden widths of the two MLPs; both end
	// in EmbeddingDim(). The user head's input is the fused state, the item tower's the
	// concatenation of the ad Pin's id embedding and category bag (2*Dim).
	UserHead  []int `yaml:"user_head" json:"user_head"`
	ItemTower []int `yaml:"item_tower" json:"item_tower"`
	// GapBuckets buckets log1p(hours since the previous event) in steps of
	// GapBucketWidth; bucket 0 is "no previous event".
	GapBuckets     int     `yaml:"gap_buckets" json:"gap_buckets"`
	GapBucketWidth float64 `yaml:"gap_bucket_width" json:"gap_bucket_width"`
	// HistoryCategories adds each history event's confidence-weighted
	// category bag to its token, so that rare ad Pins in a history still
	// carry their interests.
	HistoryCategories bool `yaml:"history_categories" json:"history_categories"`
	// IDInitScale scales the initial ad Pin id embeddings (of the history
	// tokens and of the item tower) relative to the other tables, in [0, 1].
	// Small values make an id start as no signal, so an ad Pin seen in few
	// examples is scored by its categories rather than by random noise.
	IDInitScale float64 `yaml:"id_init_scale" json:"id_init_scale,omitempty"`
	// Pooling is how the encoder output is summarised for the head:
	// PoolingLast (the most recent event's state; also what an empty value,
	// as in run folders written before the key existed, means) or
	// PoolingLastMean (that plus the mean over the history's events).
	Pooling string `yaml:"pooling" json:"pooling,omitempty"`
	// TieIDEmbeddings makes the history tokens and the item tower read one
	// ad Pin id table, so an ad Pin in the history points the user towards
	// that same ad Pin (repeat conversions are common).
	TieIDEmbeddings bool `yaml:"tie_id_embeddings" json:"tie_id_embeddings,omitempty"`
	// CategoryResidual adds one category table, EmbeddingDim() wide, to
	// both towers' outputs before normalisation: the user's is the mean
	// of the category bags of the whole history before the cut-off, the
	// ad Pin's its own bag. Their dot product is then, from the first
	// step, the overlap of the user's categories with the ad Pin's (what
	// the history-interest heuristic scores), which the narrow Transformer
	// state cannot resolve among hundreds of categories.
	CategoryResidual bool `yaml:"category_residual" json:"category_residual,omitempty"`
	// IDResidual does the same with the ad Pin ids: a table (ad Pins x
	// EmbeddingDim(), random rows, so nearly orthogonal) whose user side is
	// the mean over the history's ad Pins, so an ad Pin the user converted
	// on scores by how often from the first step.
	IDResidual bool `yaml:"id_residual" json:"id_residual,omitempty"`

	Context       ContextConfig       `yaml:"context" json:"context"`
	PseudoContext PseudoContextConfig `yaml:"pseudo_context" json:"pseudo_context"`
	Train         TrainConfig         `yaml:"train" json:"train"`
}

// ContextConfig configures the contextual model's context layer. The
// baseline ignores it.
type ContextConfig struct {
	// TopK is the number of the subject Pin's categories (by confidence)
	// the context layer reads.
	TopK            int  `yaml:"top_k" json:"top_k"`
	UseCategories   bool `yaml:"use_categories" json:"use_categories"`
	UseDemographics bool `yaml:"use_demographics" json:"use_demographics"`
	// DemoDim is the width of each of the age, country and gender embeddings.
	DemoDim int `yaml:"demo_dim" json:"demo_dim"`
	// Fusion is FusionConcat, FusionCrossAttention or FusionBoth.
	Fusion string `yaml:"fusion" json:"fusion"`
	// Dropout is element-wise dropout on the context vector during training;
	// WholeDropout the share of examples whose whole context vector is
	// zeroed. Both in [0, 0.9]. The high rates keep the model from leaning
	// on the pseudo-context, which is derived from the label.
	Dropout      float64 `yaml:"dropout" json:"dropout"`
	WholeDropout float64 `yaml:"whole_dropout" json:"whole_dropout"`
}

// PseudoContextConfig configures how a training example's context is derived
// from its positive label.
type PseudoContextConfig struct {
	// Projection is ProjectionLabel, ProjectionTopK, ProjectionNoised or
	// ProjectionMixture.
	Projection string `yaml:"projection" json:"projection"`
	// DropProb drops each category, AddProb adds one random category and
	// Jitter is the sigma of the log-normal confidence jitter (noised).
	DropProb float64 `yaml:"drop_prob" json:"drop_prob"`
	AddProb  float64 `yaml:"add_prob" json:"add_prob"`
	Jitter   float64 `yaml:"jitter" json:"jitter"`
	// MixtureProb is the probability of using a random ad Pin's categories
	// instead of the label's (mixture).
	MixtureProb float64 `yaml:"mixture_prob" json:"mixture_prob"`
}

// TrainConfig configures the training loop.
type TrainConfig struct {
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	Epochs    int `yaml:"epochs" json:"epochs"`
	// ExamplesPerEpoch caps an epoch at this many examples, a fresh random
	// subset each epoch, so that big worlds train within a time budget;
	// 0 uses every example.
	ExamplesPerEpoch int     `yaml:"examples_per_epoch" json:"examples_per_epoch"`
	LR               float64 `yaml:"lr" json:"lr"`
	WarmupSteps      int     `yaml:"warmup_steps" json:"warmup_steps"`
	// Schedule after warm-up: ScheduleConstant or ScheduleCosine (to 10% of
	// LR at the last epoch).
	Schedule    string  `yaml:"schedule" json:"schedule"`
	ClipNorm    float64 `yaml:"clip_norm" json:"clip_norm"` // 0 = no clipping
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"`
	// RandomNegatives is the number of uniformly drawn extra negatives per
	// batch, shared by all its rows.
	RandomNegatives int `yaml:"random_negatives" json:"random_negatives"`
	// Window in days: with Window > 0 a prefix predicts every later event
	// within Window days of its last event; 0 predicts the next event only.
	Window int `yaml:"window" json:"window"`
	// ValidationShare of users have their last event before the cut-off held
	// out for early stopping.
	ValidationShare float64 `yaml:"validation_share" json:"validation_share"`
	// Patience is the number of epochs without a better validation
	// Recall@100 before training stops; 0 never stops early.
	Patience int    `yaml:"patience" json:"patience"`
	Seed     uint64 `yaml:"seed" json:"seed"`
	// Threads for matrix products; 0 keeps the current setting.
	Threads int `yaml:"threads" json:"threads"`
	// Cutoff is the unix time before which events are used for training;
	// 0 means the start of the world's evaluation window.
	Cutoff int64 `yaml:"cutoff" json:"cutoff"`
}

// DefaultConfig returns the reference configuration of a model kind
// (KindBaseline or KindContextual). It panics on any other kind.
func DefaultConfig(kind string) Config {
	if kind != KindBaseline && kind != KindContextual {
		panic("model: DefaultConfig of unknown kind " + kind)
	}
	return Config{
		Kind:              kind,
		MaxLen:            32,
		Dim:               64,
		Layers:            2,
		Heads:             2,
		FFN:               256,
		Dropout:           0.1,
		Temperature:       0.05,
		OutDim:            256,
		UserHead:          []int{256},
		ItemTower:         []int{256},
		GapBuckets:        16,
		GapBucketWidth:    0.6,
		HistoryCategories: true,
		IDInitScale:       0,
		TieIDEmbeddings:   true,
		Pooling:           PoolingLastMean,
		CategoryResidual:  kind == KindBaseline,
		IDResidual:        kind == KindBaseline,
		Context: ContextConfig{
			TopK:            3,
			UseCategories:   true,
			UseDemographics: true,
			DemoDim:         16,
			Fusion:          FusionConcat,
			Dropout:         0.5,
			WholeDropout:    0.2,
		},
		PseudoContext: PseudoContextConfig{
			Projection:  ProjectionTopK,
			DropProb:    0.2,
			AddProb:     0.2,
			Jitter:      0.3,
			MixtureProb: 0.2,
		},
		Train: TrainConfig{
			BatchSize:       256,
			Epochs:          10,
			LR:              1e-3,
			WarmupSteps:     100,
			Schedule:        ScheduleCosine,
			ClipNorm:        1.0,
			WeightDecay:     0,
			RandomNegatives: 512,
			Window:          0,
			ValidationShare: 0.25,
			Patience:        2,
			Seed:            1,
			Threads:         0,
		},
	}
}

// LoadConfig reads a YAML file whose keys override base. Unknown keys are an
// error naming the key and the file; the result is validated.
func LoadConfig(path string, base Config) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("load config: %w", err)
	}
	cfg, err := parseConfig(data, base)
	if err != nil {
		return Config{}, fmt.Errorf("load config %s: %w", path, err)
	}
	return cfg, nil
}

// parseConfig decodes YAML over a copy of base and validates the result.
func parseConfig(data []byte, base Config) (Config, error) {
	cfg := base.clone()
	if err := datasets.DecodeYAML(data, &cfg); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// clone returns a deep copy (the slices are not shared).
func (c Config) clone() Config {
	c.UserHead = append([]int(nil), c.UserHead...)
	c.ItemTower = append([]int(nil), c.ItemTower...)
	return c
}

// EmbeddingDim returns the width of the user and item embeddings: OutDim,
// or Dim when OutDim is 0.
func (c *Config) EmbeddingDim() int {
	if c.OutDim > 0 {
		return c.OutDim
	}
	return c.Dim
}

// Contextual reports whether the model has a context layer.
func (c *Config) Contextual() bool { return c.Kind == KindContextual }

// Validate checks every field's range and names the first bad one.
func (c *Config) Validate() error {
	rate := func(name string, v float64) error {
		if !(v >= 0 && v <= 0.9) {
			return fmt.Errorf("invalid config: %s = %g, want in [0, 0.9]", name, v)
		}
		return nil
	}
	prob := func(name string, v float64) error {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("invalid config: %s = %g, want in [0, 1]", name, v)
		}
		return nil
	}
	positive := func(name string, v int) error {
		if v < 1 {
			return fmt.Errorf("invalid config: %s = %d, want >= 1", name, v)
		}
		return nil
	}
	switch c.Kind {
	case KindBaseline, KindContextual:
	default:
		return fmt.Errorf("invalid config: kind = %q, want %q or %q", c.Kind, KindBaseline, KindContextual)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"max_len", c.MaxLen}, {"dim", c.Dim}, {"heads", c.Heads}, {"ffn", c.FFN},
		{"gap_buckets", c.GapBuckets}, {"train.batch_size", c.Train.BatchSize}, {"train.epochs", c.Train.Epochs},
	} {
		if err := positive(f.name, f.v); err != nil {
			return err
		}
	}
	if c.Layers < 0 {
		return fmt.Errorf("invalid config: layers = %d, want >= 0", c.Layers)
	}
	if c.Dim%c.Heads != 0 {
		return fmt.Errorf("invalid config: dim = %d is not a multiple of heads = %d", c.Dim, c.Heads)
	}
	if !(c.Temperature > 0) {
		return fmt.Errorf("invalid config: temperature = %g, want > 0", c.Temperature)
	}
	if !(c.GapBucketWidth > 0) {
		return fmt.Errorf("invalid config: gap_bucket_width = %g, want > 0", c.GapBucketWidth)
	}
	for i, h := range c.UserHead {
		if err := positive(fmt.Sprintf("user_head[%d]", i), h); err != nil {
			return err
		}
	}
	for i, h := range c.ItemTower {
		if err := positive(fmt.Sprintf("item_tower[%d]", i), h); err != nil {
			return err
		}
	}
	if err := rate("dropout", c.Dropout); err != nil {
		return err
	}
	if c.OutDim < 0 {
		return fmt.Errorf("invalid config: out_dim = %d, want >= 0 (0: dim)", c.OutDim)
	}
	if err := prob("id_init_scale", c.IDInitScale); err != nil {
		return err
	}
	if err := rate("context.dropout", c.Context.Dropout); err != nil {
		return err
	}
	if err := rate("context.whole_dropout", c.Context.WholeDropout); err != nil {
		return err
	}
	if err := positive("context.top_k", c.Context.TopK); err != nil {
		return err
	}
	if err := positive("context.demo_dim", c.Context.DemoDim); err != nil {
		return err
	}
	if c.Pooling != "" && c.Pooling != PoolingLast && c.Pooling != PoolingLastMean {
		return fmt.Errorf("invalid config: pooling = %q, want %q or %q", c.Pooling, PoolingLast, PoolingLastMean)
	}
	switch c.Context.Fusion {
	case FusionConcat, FusionCrossAttention, FusionBoth:
	default:
		return fmt.Errorf("invalid config: context.fusion = %q, want %q, %q or %q",
			c.Context.Fusion, FusionConcat, FusionCrossAttention, FusionBoth)
	}
	if c.Contextual() && !c.Context.UseCategories && !c.Context.UseDemographics {
		return errors.New("invalid config: a contextual model needs context.use_categories or context.use_demographics")
	}
	switch c.PseudoContext.Projection {
	case ProjectionLabel, ProjectionTopK, ProjectionNoised, ProjectionMixture:
	default:
		return fmt.Errorf("invalid config: pseudo_context.projection = %q, want %q, %q, %q or %q",
			c.PseudoContext.Projection, ProjectionLabel, ProjectionTopK, ProjectionNoised, ProjectionMixture)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"pseudo_context.drop_prob", c.PseudoContext.DropProb}, {"pseudo_context.add_prob", c.PseudoContext.AddProb},
		{"pseudo_context.mixture_prob", c.PseudoContext.MixtureProb},
	} {
		if err := prob(f.name, f.v); err != nil {
			return err
		}
	}
	if !(c.PseudoContext.Jitter >= 0 && c.PseudoContext.Jitter <= 3) {
		return fmt.Errorf("invalid config: pseudo_context.jitter = %g, want in [0, 3]", c.PseudoContext.Jitter)
	}
	t := &c.Train
	if !(t.LR > 0) {
		return fmt.Errorf("invalid config: train.lr = %g, want > 0", t.LR)
	}
	if t.ExamplesPerEpoch < 0 {
		return fmt.Errorf("invalid config: train.examples_per_epoch = %d, want >= 0 (0: all)", t.ExamplesPerEpoch)
	}
	if t.BatchSize < 2 {
		return fmt.Errorf("invalid config: train.batch_size = %d, want >= 2 (in-batch negatives)", t.BatchSize)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"train.warmup_steps", t.WarmupSteps}, {"train.random_negatives", t.RandomNegatives},
		{"train.window", t.Window}, {"train.patience", t.Patience}, {"train.threads", t.Threads},
	} {
		if f.v < 0 {
			return fmt.Errorf("invalid config: %s = %d, want >= 0", f.name, f.v)
		}
	}
	switch t.Schedule {
	case ScheduleConstant, ScheduleCosine:
	default:
		return fmt.Errorf("invalid config: train.schedule = %q, want %q or %q", t.Schedule, ScheduleConstant, ScheduleCosine)
	}
	if !(t.ClipNorm >= 0) {
		return fmt.Errorf("invalid config: train.clip_norm = %g, want >= 0", t.ClipNorm)
	}
	if !(t.WeightDecay >= 0 && t.WeightDecay < 1) {
		return fmt.Errorf("invalid config: train.weight_decay = %g, want in [0, 1)", t.WeightDecay)
	}
	if !(t.ValidationShare >= 0 && t.ValidationShare <= 1) {
		return fmt.Errorf("invalid config: train.validation_share = %g, want in [0, 1]", t.ValidationShare)
	}
	if t.Cutoff < 0 {
		return fmt.Errorf("invalid config: train.cutoff = %d, want >= 0", t.Cutoff)
	}
	return nil
}

// marshalYAML renders the config as YAML.
func (c *Config) marshalYAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}
