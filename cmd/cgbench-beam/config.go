package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cgbench/cgbench/cmd/cgbench/experiment"
	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/eval"
	"github.com/cgbench/cgbench/sim"
)

// Config is everything a worker needs; it travels inside the DoFns as JSON,
// so every field is exported and plain. The replay fields mean what
// `cgbench replay`'s flags mean, the eval fields what `cgbench eval`'s do.
type Config struct {
	Data        string   // dataset folder (readable by every worker)
	Requests    []string // request log files; nil: Data/requests.parquet
	CGs         []string // --cg
	Arms        []string // --arm
	Funnel      string   // funnel YAML, "" for the defaults
	Staleness   string
	Seed        uint64
	MaxRequests int
	Out         string // results folder (writable by every worker)
	RangeRows   int64  // requests per unit of work

	Ks         []int
	Segments   []string
	Reps       int
	Confidence float64
	EvalSeed   uint64
	Compare    []string // A:B with A, B = ARM or ARM/CG
	Version    string
	Timestamp  bool
}

// DefaultRangeRows is the default request rows per unit of work: a quarter
// of a Parquet row group (datasets.RowGroupRows), a multiple of the replay's
// chunk size.
const DefaultRangeRows = datasets.RowGroupRows / 4

// Output layout, under Config.Out.
const (
	candidatesDir = "candidates"
	requestsDir   = "requests"
)

// shardName names the part-th of parts result shards.
func shardName(part, parts int) string { return fmt.Sprintf("part-%05d-of-%05d.parquet", part, parts) }

// evalOptions returns the eval options of c.
func (c *Config) evalOptions() (eval.Options, error) {
	pairs, err := parseCompare(c.Compare)
	if err != nil {
		return eval.Options{}, err
	}
	now := time.Now
	if !c.Timestamp {
		now = func() time.Time { return time.Unix(0, 0).UTC() }
	}
	return eval.Options{Ks: c.Ks, Segments: c.Segments, BootstrapReps: c.Reps, Confidence: c.Confidence,
		Seed: c.EvalSeed, Compare: pairs, Version: c.Version, Now: now}, nil
}

// parseCompare parses A:B comparisons, each side ARM or ARM/CG.
func parseCompare(specs []string) ([]eval.Pair, error) {
	var out []eval.Pair
	side := func(s string) eval.Subject {
		arm, cg, _ := strings.Cut(s, "/")
		return eval.Subject{Arm: arm, CG: cg}
	}
	for _, s := range specs {
		a, b, ok := strings.Cut(s, ":")
		if !ok || a == "" || b == "" || strings.HasPrefix(a, "/") || strings.HasPrefix(b, "/") {
			return nil, fmt.Errorf("--compare %q: want ARM:ARM or ARM/CG:ARM/CG", s)
		}
		out = append(out, eval.Pair{A: side(a), B: side(b)})
	}
	return out, nil
}

// env is what a worker loads once: the world, its truth, the arms' CGs and
// the replayer.
type env struct {
	w     *datasets.World
	truth *datasets.Truth
	arms  []sim.Arm
	cfg   sim.ReplayConfig
	rp    *sim.Replayer
}

// envs caches loaded environments per process, keyed by the config's JSON:
// Beam makes a DoFn instance per bundle thread and per stage, and the world,
// models and item index must be loaded once per worker process, not once
// per instance. It is the one piece of process state, read-only once built.
var envs = struct {
	sync.Mutex
	m map[string]*envOnce
}{m: map[string]*envOnce{}}

type envOnce struct {
	once sync.Once
	e    *env
	err  error
}

// loadEnv returns the (cached) environment of c.
func loadEnv(ctx context.Context, c *Config) (*env, error) {
	key, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("load environment: %w", err)
	}
	envs.Lock()
	o := envs.m[string(key)]
	if o == nil {
		o = &envOnce{}
		envs.m[string(key)] = o
	}
	envs.Unlock()
	// The load outlives the bundle that triggers it: other bundles share it.
	o.once.Do(func() { o.e, o.err = buildEnv(context.WithoutCancel(ctx), c) })
	return o.e, o.err
}

func buildEnv(ctx context.Context, c *Config) (*env, error) {
	stale, err := sim.ParseStaleness(c.Staleness)
	if err != nil {
		return nil, err
	}
	funnel := sim.DefaultFunnelConfig()
	if c.Funnel != "" {
		if funnel, err = sim.LoadFunnelConfig(c.Funnel, funnel); err != nil {
			return nil, err
		}
	}
	pool, specs, err := sim.ParseArms(c.CGs, c.Arms)
	if err != nil {
		return nil, err
	}
	w, err := datasets.Open(c.Data, datasets.OpenOptions{SkipRequests: true})
	if err != nil {
		return nil, err
	}
	truth, err := datasets.OpenTruth(c.Data, w)
	if err != nil {
		return nil, err
	}
	gens, err := sim.BuildGenerators(w, pool, experiment.LearnedFactory(ctx, w, c.Seed))
	if err != nil {
		return nil, err
	}
	arms, err := sim.BuildArms(gens, specs)
	if err != nil {
		return nil, err
	}
	cfg := sim.ReplayConfig{Funnel: funnel, Staleness: stale, Seed: c.Seed, MaxRequests: c.MaxRequests}
	rp, err := sim.NewReplayer(w, truth, arms, cfg)
	if err != nil {
		return nil, err
	}
	return &env{w: w, truth: truth, arms: arms, cfg: cfg, rp: rp}, nil
}

// armNames lists the arms' names in order.
func (e *env) armNames() []string {
	out := make([]string, len(e.arms))
	for i, a := range e.arms {
		out[i] = a.Name
	}
	return out
}

// Range is one unit of work: rows [Lo, Hi) of a request log file and its
// truth; Base is the log-wide row of the file's first row, Part the
// range's index among Parts (it names the output shards).
type Range struct {
	Requests, Truth string
	Lo, Hi, Base    int64
	Part, Parts     int
}

// truthPath returns the truth file of a request log file: the same name
// under the dataset's truth folder.
func truthPath(data, reqPath string) string {
	return filepath.Join(data, "truth", filepath.Base(reqPath))
}

// plan splits the request log into ranges of c.RangeRows rows (the first
// c.MaxRequests rows when > 0), reading only the files' footers.
func plan(c *Config) ([]Range, error) {
	files := c.Requests
	if len(files) == 0 {
		files = []string{filepath.Join(c.Data, datasets.RequestsFile)}
	}
	var expanded []string
	for _, f := range files {
		m, err := filepath.Glob(f)
		if err != nil {
			return nil, fmt.Errorf("plan: request log %q: %w", f, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("plan: request log %q: no such file", f)
		}
		expanded = append(expanded, m...)
	}
	slices.Sort(expanded)
	expanded = slices.Compact(expanded)
	size := c.RangeRows
	if size <= 0 {
		size = DefaultRangeRows
	}
	var out []Range
	var base int64
	budget := int64(c.MaxRequests)
	for _, f := range expanded {
		rows, err := sim.RequestLogRows(f)
		if err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		if budget > 0 {
			rows = min(rows, budget-base)
		}
		for lo := int64(0); lo < rows; lo += size {
			out = append(out, Range{Requests: f, Truth: truthPath(c.Data, f), Lo: lo, Hi: min(lo+size, rows), Base: base})
		}
		base += rows
		if budget > 0 && base >= budget {
			break
		}
	}
	if len(out) == 0 {
		return nil, errors.New("plan: the request log holds no requests")
	}
	for i := range out {
		out[i].Part, out[i].Parts = i, len(out)
	}
	return out, nil
}

// prepareOut creates the output folders and removes a previous run's
// manifest, metrics and shards, so that a failed run leaves no stale
// manifest beside new shards.
func prepareOut(out string) error {
	for _, d := range []string{candidatesDir, requestsDir} {
		dir := filepath.Join(out, d)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("prepare %s: %w", out, err)
		}
		old, err := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
		if err != nil {
			return fmt.Errorf("prepare %s: %w", out, err)
		}
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("prepare %s: %w", out, err)
			}
		}
	}
	for _, f := range []string{datasets.ReplayManifestFile, eval.MetricsFile} {
		if err := os.Remove(filepath.Join(out, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("prepare %s: %w", out, err)
		}
	}
	return nil
}
