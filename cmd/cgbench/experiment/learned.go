package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/model"
	"github.com/cgbench/cgbench/sim"
)

// loadLearned loads a trained run and every feature-store snapshot in its
// features folder, and returns the model with its online server.
func loadLearned(ctx context.Context, run string, w *datasets.World) (*model.Model, *model.Server, error) {
	m, err := model.Load(run)
	if err != nil {
		return nil, nil, err
	}
	paths, err := filepath.Glob(filepath.Join(run, FeaturesDir, "day-*.safetensors"))
	if err != nil {
		return nil, nil, fmt.Errorf("list snapshots of %s: %w", run, err)
	}
	sort.Strings(paths)
	var snaps []*model.Snapshot
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		s, err := model.ReadSnapshot(p)
		if err != nil {
			return nil, nil, err
		}
		snaps = append(snaps, s)
	}
	srv := m.NewServer(w, snaps)
	if ws := srv.Warnings(); len(ws) > 0 {
		return nil, nil, fmt.Errorf("load %s: %s", run, ws[0])
	}
	return m, srv, nil
}

// learnedCG is the embedding CG of a trained model: the online user tower
// and an index over the model's item embeddings. The spec's "index"
// parameter selects exact (default) or ivf retrieval with "nlist" and
// "nprobe".
func learnedCG(sp sim.CGSpec, m *model.Model, srv *model.Server, seed uint64) (sim.Generator, error) {
	n, d, items := m.ItemEmbeddings()
	var idx sim.Index
	switch sp.Params["index"] {
	case "", "exact":
		idx = sim.NewExactIndex(n, d, items)
	case "ivf":
		nlist, err := intParam(sp, "nlist", 256)
		if err != nil {
			return nil, err
		}
		nprobe, err := intParam(sp, "nprobe", 16)
		if err != nil {
			return nil, err
		}
		if nlist < 1 || nlist > n || nprobe < 1 || nprobe > nlist {
			return nil, fmt.Errorf("cg %q: nlist %d, nprobe %d: want 1 <= nprobe <= nlist <= %d items", sp.Name, nlist, nprobe, n)
		}
		idx = sim.NewIVFIndex(n, d, items, nlist, nprobe, newRand(seed, "ivf"))
	default:
		return nil, fmt.Errorf("cg %q: index %q, want exact or ivf", sp.Name, sp.Params["index"])
	}
	return sim.NewEmbeddingCG(sp.Name, sp.K, srv, idx), nil
}

func intParam(sp sim.CGSpec, key string, def int) (int, error) {
	v, ok := sp.Params[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("cg %q: %s = %q, want an integer", sp.Name, key, v)
	}
	return n, nil
}

// LearnedFactory builds learned CGs from --cg specs naming a run folder
// (NAME=learned:run=DIR[,k=K][,lag=daily][,index=ivf,nlist=N,nprobe=M]).
// Each run is loaded once.
func LearnedFactory(ctx context.Context, w *datasets.World, seed uint64) func(sim.CGSpec) (sim.Generator, error) {
	type loaded struct {
		m   *model.Model
		srv *model.Server
	}
	runs := map[string]loaded{}
	return func(sp sim.CGSpec) (sim.Generator, error) {
		run := sp.Params["run"]
		if run == "" {
			return nil, fmt.Errorf("cg %q: a learned CG needs run=DIR (a folder written by cgbench train)", sp.Name)
		}
		l, ok := runs[run]
		if !ok {
			m, srv, err := loadLearned(ctx, run, w)
			if err != nil {
				return nil, fmt.Errorf("cg %q: %w", sp.Name, err)
			}
			l = loaded{m, srv}
			runs[run] = l
		}
		return learnedCG(sp, l.m, l.srv, seed)
	}
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return datasets.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// SnapshotInfo describes a snapshot written by Infer.
type SnapshotInfo struct {
	Day          int // the first day it serves (its cut-off is that day's start)
	Users        int
	Recomputed   int
	BytesPerUser float64
	Path         string
}

// Infer writes days consecutive daily snapshots of a trained run, the first
// holding the events up to the end of day asOf. Each one re-encodes only
// the users with offsite activity since the previous one.
func Infer(ctx context.Context, run string, w *datasets.World, asOf, days int) ([]SnapshotInfo, error) {
	// The snapshot as of day d serves day d+1, which must be in the data.
	last := w.Manifest.EvalStartDay + w.Manifest.EvalDays - 1
	if asOf < 0 || days < 1 || asOf+days > last {
		return nil, fmt.Errorf("infer: snapshots as of days %d..%d serve days outside the data (days 0..%d)", asOf, asOf+days-1, last)
	}
	m, err := model.Load(run)
	if err != nil {
		return nil, err
	}
	return writeSnapshots(ctx, m, w, filepath.Join(run, FeaturesDir), asOf+1, days)
}

// writeSnapshots writes the snapshots serving days first..first+days-1 into
// dir: the one of day d holds the events before d starts.
func writeSnapshots(ctx context.Context, m *model.Model, w *datasets.World, dir string, first, days int) ([]SnapshotInfo, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	var prev *model.Snapshot
	var out []SnapshotInfo
	for d := first; d < first+days; d++ {
		s, err := m.Infer(ctx, w, w.DayStart(d), prev)
		if err != nil {
			return nil, err
		}
		path := model.SnapshotPath(dir, d)
		if err := model.WriteSnapshot(path, s); err != nil {
			return nil, err
		}
		out = append(out, SnapshotInfo{Day: d, Users: s.Users, Recomputed: s.Recomputed, BytesPerUser: s.BytesPerUser(), Path: path})
		prev = s
	}
	return out, nil
}
