package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/eval"
)

// AblationSpec is the YAML of `cgbench ablate --spec`: a base study, the
// variants (each a set of overrides of the base by dotted path, such as
// contextual.context.dropout or replay.staleness) and the seeds. Every
// variant runs with every seed; cells of one seed share the world, the
// funnel noise and the response draws, so variants are paired by seed.
type AblationSpec struct {
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	Base        yaml.Node     `yaml:"base"`
	Seeds       []uint64      `yaml:"seeds"`
	Variants    []VariantSpec `yaml:"variants"`
	// Parallel is the number of cells run at once (default 1: each cell
	// already uses both cores for training and replay).
	Parallel int `yaml:"parallel"`
}

// VariantSpec is one variant: a name and its overrides of the base study.
type VariantSpec struct {
	Name string         `yaml:"name"`
	Set  map[string]any `yaml:"set"`
}

// LoadAblation reads and checks an ablation spec, resolving every variant's
// study so that a bad override fails before any work starts.
func LoadAblation(path string) (*AblationSpec, []Study, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read spec: %w", err)
	}
	spec, studies, err := parseAblation(data)
	if err != nil {
		return nil, nil, fmt.Errorf("read spec %s: %w", path, err)
	}
	return spec, studies, nil
}

func parseAblation(data []byte) (*AblationSpec, []Study, error) {
	spec := &AblationSpec{}
	if err := datasets.DecodeYAML(data, spec); err != nil {
		return nil, nil, err
	}
	if spec.Name == "" {
		return nil, nil, fmt.Errorf("name: missing")
	}
	if len(spec.Seeds) == 0 {
		spec.Seeds = []uint64{1}
	}
	if len(spec.Variants) == 0 {
		return nil, nil, fmt.Errorf("variants: none given")
	}
	if spec.Parallel == 0 {
		spec.Parallel = 1
	}
	if spec.Parallel < 1 {
		return nil, nil, fmt.Errorf("parallel: %d, want >= 1", spec.Parallel)
	}
	base := map[string]any{}
	if spec.Base.Kind != 0 {
		if err := spec.Base.Decode(&base); err != nil {
			return nil, nil, fmt.Errorf("base: %w", err)
		}
	}
	seen := map[string]bool{}
	var studies []Study
	for i, v := range spec.Variants {
		if v.Name == "" || strings.ContainsAny(v.Name, "/\\") {
			return nil, nil, fmt.Errorf("variants[%d]: name %q: want a non-empty name without slashes", i, v.Name)
		}
		if seen[v.Name] {
			return nil, nil, fmt.Errorf("variants[%d]: name %q given twice", i, v.Name)
		}
		seen[v.Name] = true
		s, err := resolveVariant(base, v.Set)
		if err != nil {
			return nil, nil, fmt.Errorf("variant %q: %w", v.Name, err)
		}
		studies = append(studies, s)
	}
	return spec, studies, nil
}

// resolveVariant applies a variant's overrides to the base study: the base
// is decoded over its preset's defaults, written back as a tree, the dotted
// paths are set, and the tree is decoded again with unknown keys refused.
func resolveVariant(base map[string]any, set map[string]any) (Study, error) {
	raw, err := yaml.Marshal(base)
	if err != nil {
		return Study{}, err
	}
	s, err := decodeStudy(raw)
	if err != nil {
		return Study{}, fmt.Errorf("base: %w", err)
	}
	if len(set) == 0 {
		return s, nil
	}
	full, err := yaml.Marshal(s)
	if err != nil {
		return Study{}, err
	}
	tree := map[string]any{}
	if err := yaml.Unmarshal(full, &tree); err != nil {
		return Study{}, err
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := setPath(tree, k, set[k]); err != nil {
			return Study{}, err
		}
	}
	out, err := yaml.Marshal(tree)
	if err != nil {
		return Study{}, err
	}
	return decodeStudy(out)
}

func setPath(tree map[string]any, path string, v any) error {
	parts := strings.Split(path, ".")
	node := tree
	for i, p := range parts[:len(parts)-1] {
		next, ok := node[p].(map[string]any)
		if !ok {
			return fmt.Errorf("set %s: %s is not a section of the study", path, strings.Join(parts[:i+1], "."))
		}
		node = next
	}
	last := parts[len(parts)-1]
	if _, ok := node[last]; !ok {
		return fmt.Errorf("set %s: no such setting", path)
	}
	node[last] = v
	return nil
}

// AblationResult is ablation.json: every cell's metrics file and the
// overrides that define its variant.
type AblationResult struct {
	Name     string          `json:"name"`
	Variants []VariantResult `json:"variants"`
}

// VariantResult lists one variant's cells.
type VariantResult struct {
	Name      string            `json:"name"`
	Overrides map[string]string `json:"overrides"`
	Seeds     []uint64          `json:"seeds"`
	Metrics   []string          `json:"metrics"` // per seed, relative to the ablation folder
}

// AblationFile is the result file of an ablation folder.
const AblationFile = "ablation.json"

// RunAblation runs every (variant, seed) cell under out/cache, reusing
// finished stages, then writes out/ablation.json.
func RunAblation(ctx context.Context, spec *AblationSpec, studies []Study, out string, h Hooks) (*AblationResult, error) {
	type job struct{ v, s int }
	var jobs []job
	for s := range spec.Seeds {
		for v := range spec.Variants {
			jobs = append(jobs, job{v, s})
		}
	}
	cache := filepath.Join(out, "cache")
	metrics := make([][]string, len(spec.Variants))
	for v := range metrics {
		metrics[v] = make([]string, len(spec.Seeds))
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan job)
	)
	for range spec.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				name, seed := spec.Variants[j.v].Name, spec.Seeds[j.s]
				h.logf("cell %s, seed %d", name, seed)
				c, err := RunCell(ctx, studies[j.v], seed, cache, h)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("cell %s seed %d: %w", name, seed, err)
				}
				if err == nil {
					rel, _ := filepath.Rel(out, c.MetricsPath)
					metrics[j.v][j.s] = rel
				}
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- j
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ablate: %w", err)
	}
	res := &AblationResult{Name: spec.Name}
	for v, vs := range spec.Variants {
		res.Variants = append(res.Variants, VariantResult{
			Name: vs.Name, Overrides: overrideStrings(vs.Set), Seeds: spec.Seeds, Metrics: metrics[v],
		})
	}
	if err := writeJSON(filepath.Join(out, AblationFile), res); err != nil {
		return nil, err
	}
	return res, nil
}

func overrideStrings(set map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range set {
		switch x := v.(type) {
		case float64:
			out[k] = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

// ReadAblation reads an ablation folder's result and every cell's metrics.
func ReadAblation(dir string) (*AblationResult, map[string][]*eval.File, error) {
	res := &AblationResult{}
	if err := readJSON(filepath.Join(dir, AblationFile), res); err != nil {
		return nil, nil, err
	}
	files := map[string][]*eval.File{}
	for _, v := range res.Variants {
		for _, m := range v.Metrics {
			f, err := eval.ReadFile(filepath.Join(dir, m))
			if err != nil {
				return nil, nil, err
			}
			files[v.Name] = append(files[v.Name], f)
		}
	}
	return res, files, nil
}
