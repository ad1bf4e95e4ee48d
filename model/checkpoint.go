package model

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/model/nn"
)

// Files of a run folder.
const (
	// ConfigFile is the full Config (YAML) of the run.
	ConfigFile = "config.yaml"
	// WeightsFile holds the best weights (safetensors); Load reads it.
	WeightsFile = "model.safetensors"
	// LastWeightsFile, OptimizerFile and TrainStateFile hold the state after
	// the last finished epoch, for resuming.
	LastWeightsFile = "last.safetensors"
	OptimizerFile   = "optimizer.safetensors"
	TrainStateFile  = "train_state.json"
	// TrainReportFile is the TrainReport (JSON) of a finished run.
	TrainReportFile = "train_report.json"
)

const (
	weightsFormat    = "cgbench-model-v1"
	tensorItemCats   = "features.item_categories"
	tensorItemConfs  = "features.item_confidences"
	optimizerFormat  = "cgbench-adam-v1"
	optimizerPrefixM = "adam.m/"
	optimizerPrefixV = "adam.v/"
)

// archJSON renders the parts of cfg that decide the weights' shapes and
// meaning (everything but training, initialisation and pseudo-context
// settings). Keys added later are omitted at their zero value, so weights
// written before they existed still match.
func archJSON(cfg Config) string {
	cfg.Train = TrainConfig{}
	cfg.PseudoContext = PseudoContextConfig{}
	cfg.IDInitScale = 0
	b, err := json.Marshal(cfg)
	if err != nil {
		panic("model: marshal config: " + err.Error())
	}
	return string(b)
}

// writeWeights writes the parameters and the catalogue features to path.
func (m *Model) writeWeights(path string, extra map[string]string) error {
	const k = datasets.MaxCategoriesPerItem
	ts := make([]stTensor, 0, len(m.net.params)+2)
	for _, p := range m.net.params {
		ts = append(ts, stTensor{Name: p.Name, DType: dtypeF32, Shape: p.Shape, F32: p.W})
	}
	ts = append(ts,
		stTensor{Name: tensorItemCats, DType: dtypeI32, Shape: []int{m.f.nItems, k}, I32: m.f.itemCats},
		stTensor{Name: tensorItemConfs, DType: dtypeF32, Shape: []int{m.f.nItems, k}, F32: m.f.itemConf})
	countries, err := json.Marshal(m.f.countries)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	meta := map[string]string{
		"format":       weightsFormat,
		"config":       archJSON(m.cfg),
		"n_items":      strconv.Itoa(m.f.nItems),
		"n_categories": strconv.Itoa(m.f.nCats),
		"countries":    string(countries),
	}
	for k, v := range extra {
		meta[k] = v
	}
	return writeSafetensors(path, ts, meta)
}

// writeConfig writes cfg as YAML to path atomically.
func writeConfig(path string, cfg *Config) error {
	y, err := cfg.marshalYAML()
	if err != nil {
		return err
	}
	return datasets.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(y)
		return err
	})
}

// Save writes the model into runDir as config.yaml and model.safetensors.
func (m *Model) Save(runDir string) error {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := writeConfig(filepath.Join(runDir, ConfigFile), &m.cfg); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := m.writeWeights(filepath.Join(runDir, WeightsFile), nil); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// Load reads the model of a run folder: config.yaml and model.safetensors.
// A truncated or corrupt file, a tensor with the wrong dtype or shape, a
// missing tensor or a config.yaml that does not match the weights is an
// error naming the file and the tensor.
func Load(runDir string) (*Model, error) {
	cfgPath := filepath.Join(runDir, ConfigFile)
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	cfg, err := parseConfig(data, Config{})
	if err != nil {
		return nil, fmt.Errorf("load model: %s: %w", cfgPath, err)
	}
	st, err := readSafetensors(filepath.Join(runDir, WeightsFile))
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m, err := modelFromWeights(cfg, st)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	return m, nil
}

// modelFromWeights builds a model of cfg from a weights file.
func modelFromWeights(cfg Config, st *stFile) (*Model, error) {
	const k = datasets.MaxCategoriesPerItem
	if st.Meta["format"] != weightsFormat {
		return nil, fmt.Errorf("read %s: format %q, want %q", st.Path, st.Meta["format"], weightsFormat)
	}
	if got, want := st.Meta["config"], archJSON(cfg); got != want {
		return nil, fmt.Errorf("read %s: config mismatch: the weights were trained with %s, %s says %s", st.Path, got, ConfigFile, want)
	}
	nItems, err := st.metaInt("n_items")
	if err != nil {
		return nil, err
	}
	nCats, err := st.metaInt("n_categories")
	if err != nil {
		return nil, err
	}
	if nItems < 1 || nItems > 1<<30 || nCats < 1 || nCats > 1<<30 {
		return nil, fmt.Errorf("read %s: bad sizes n_items=%d n_categories=%d", st.Path, nItems, nCats)
	}
	f := &features{nItems: int(nItems), nCats: int(nCats)}
	if err := json.Unmarshal([]byte(st.Meta["countries"]), &f.countries); err != nil {
		return nil, fmt.Errorf("read %s: metadata countries: %w", st.Path, err)
	}
	f.index()
	if f.itemCats, err = st.tensorI32(tensorItemCats, f.nItems, k); err != nil {
		return nil, err
	}
	if f.itemConf, err = st.tensorF32(tensorItemConfs, f.nItems, k); err != nil {
		return nil, err
	}
	for i, c := range f.itemCats {
		if c < -1 || int(c) >= f.nCats {
			return nil, fmt.Errorf("read %s: tensor %s: element %d = %d outside [-1, %d)", st.Path, tensorItemCats, i, c, f.nCats)
		}
	}
	m := newModelFeatures(cfg, f)
	if err := loadParams(st, m.net.params, ""); err != nil {
		return nil, err
	}
	want := len(m.net.params) + 2
	if len(st.Tensors) != want {
		names := map[string]bool{tensorItemCats: true, tensorItemConfs: true}
		for _, p := range m.net.params {
			names[p.Name] = true
		}
		for name := range st.Tensors {
			if !names[name] {
				return nil, fmt.Errorf("read %s: unexpected tensor %s (config mismatch?)", st.Path, name)
			}
		}
	}
	return m, nil
}

// loadParams copies the tensors prefix+name into the weights of params.
func loadParams(st *stFile, params []*nn.Param, prefix string) error {
	for _, p := range params {
		w, err := st.tensorF32(prefix+p.Name, p.Shape...)
		if err != nil {
			return err
		}
		copy(p.W, w)
	}
	return nil
}

// trainState is train_state.json: where a run stopped and what it had
// achieved, for resuming.
type trainState struct {
	Epoch      int           `json:"epoch"` // finished epochs
	Step       int64         `json:"step"`
	BestRecall float64       `json:"best_recall"`
	BestEpoch  int           `json:"best_epoch"`
	BadEpochs  int           `json:"bad_epochs"`
	Stopped    bool          `json:"stopped"` // early stopping fired
	Epochs     []EpochReport `json:"epochs"`
}

// writeOptimizer writes Adam's moments per parameter.
func writeOptimizer(path string, params []*nn.Param, opt *nn.Adam, epoch int) error {
	step, mo, vo := opt.State()
	ts := make([]stTensor, 0, 2*len(params))
	for i, p := range params {
		ts = append(ts,
			stTensor{Name: optimizerPrefixM + p.Name, DType: dtypeF32, Shape: p.Shape, F32: mo[i]},
			stTensor{Name: optimizerPrefixV + p.Name, DType: dtypeF32, Shape: p.Shape, F32: vo[i]})
	}
	return writeSafetensors(path, ts, map[string]string{
		"format": optimizerFormat,
		"step":   strconv.FormatInt(step, 10),
		"epoch":  strconv.Itoa(epoch),
	})
}

// readOptimizer restores Adam's moments written by writeOptimizer after
// epoch.
func readOptimizer(path string, params []*nn.Param, opt *nn.Adam, epoch int) error {
	st, err := readSafetensors(path)
	if err != nil {
		return err
	}
	if st.Meta["format"] != optimizerFormat {
		return fmt.Errorf("read %s: format %q, want %q", path, st.Meta["format"], optimizerFormat)
	}
	e, err := st.metaInt("epoch")
	if err != nil {
		return err
	}
	if int(e) != epoch {
		return fmt.Errorf("read %s: optimizer state of epoch %d, %s says %d", path, e, TrainStateFile, epoch)
	}
	step, err := st.metaInt("step")
	if err != nil {
		return err
	}
	mo := make([][]float32, len(params))
	vo := make([][]float32, len(params))
	for i, p := range params {
		if mo[i], err = st.tensorF32(optimizerPrefixM+p.Name, p.Shape...); err != nil {
			return err
		}
		if vo[i], err = st.tensorF32(optimizerPrefixV+p.Name, p.Shape...); err != nil {
			return err
		}
	}
	if err := opt.SetState(step, mo, vo); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// readTrainState reads train_state.json.
func readTrainState(path string) (*trainState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s trainState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &s, nil
}

// writeJSON writes v as indented JSON to path atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return datasets.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// jsonOf renders v as JSON; v is a plain config struct.
func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("model: marshal: " + err.Error())
	}
	return string(b)
}
