package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/eval"
	"github.com/cgbench/cgbench/model"
	"github.com/cgbench/cgbench/sim"
)

// Version is cgbench's version; it is part of every stage's cache key.
var Version = "dev"

// Progress receives a stage's progress; nil is silent.
type Progress func(stage string, done, total int64)

func (p Progress) stage(name string) func(done, total int64) {
	if p == nil {
		return nil
	}
	return func(done, total int64) { p(name, done, total) }
}

// Logf receives status lines; nil is silent.
type Logf func(format string, args ...any)

// Hooks are the caller's views into a running study.
type Hooks struct {
	Progress Progress
	Logf     Logf
}

func (h Hooks) logf(format string, args ...any) {
	if h.Logf != nil {
		h.Logf(format, args...)
	}
}

// Cell is the outcome of one study cell.
type Cell struct {
	Seed        uint64
	WorldDir    string
	Baseline    string // run folder of the baseline model
	Contextual  string // run folder of the contextual model
	LogsDir     string
	ReplayDir   string
	MetricsPath string
	Metrics     *eval.File
	Summary     *sim.ReplaySummary
	Production  *sim.ReplaySummary // the production funnel that wrote the logs
	Training    map[string]*model.TrainReport
}

// RunCell runs every stage of a study for one seed under the cache root.
func RunCell(ctx context.Context, s Study, seed uint64, cache string, h Hooks) (*Cell, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("check study: %w", err)
	}
	c := &Cell{Seed: seed, Training: map[string]*model.TrainReport{}}

	worldKey := hashOf("world", datasets.SchemaVersion, s.World, seed)
	dir, hit, err := cached(cache, "world", worldKey, map[string]any{"seed": seed}, func(dir string) error {
		h.logf("generating the world (seed %d)", seed)
		_, err := datasets.Generate(ctx, s.World, seed, dir, h.Progress)
		return err
	})
	if err != nil {
		return nil, err
	}
	logHit(h, "world", dir, hit)
	c.WorldDir = dir
	w, err := datasets.Open(dir, datasets.OpenOptions{})
	if err != nil {
		return nil, err
	}
	truth, err := datasets.OpenTruth(dir, w)
	if err != nil {
		return nil, err
	}

	servers := map[string]*model.Server{}
	models := map[string]*model.Model{}
	for _, mc := range []model.Config{s.Baseline, s.Contextual} {
		mc.Train.Seed = seed
		key := hashOf("model", Version, worldKey, mc)
		dir, hit, err := cached(cache, "model-"+mc.Kind, key, map[string]any{"kind": mc.Kind}, func(dir string) error {
			h.logf("training the %s model", mc.Kind)
			m, rep, err := model.Train(ctx, w, mc, dir, model.TrainOptions{Progress: trainProgress(h, mc.Kind)})
			if err != nil {
				return err
			}
			if rep != nil && len(rep.Epochs) > 0 {
				h.logf("%s: %d epochs, best validation Recall@100 %.4f, %.0f sequences/s", mc.Kind, len(rep.Epochs), rep.BestValRecall100, rep.SeqPerSec)
			}
			// The snapshot of day d serves its requests under daily
			// staleness and, on refresh days, under weekly staleness.
			snaps, err := writeSnapshots(ctx, m, w, filepath.Join(dir, FeaturesDir), w.Manifest.EvalStartDay, w.Manifest.EvalDays)
			for _, s := range snaps {
				h.logf("%s snapshot of day %d: %d users re-encoded, %.0f bytes per user", mc.Kind, s.Day, s.Recomputed, s.BytesPerUser)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		logHit(h, mc.Kind+" model", dir, hit)
		m, srv, err := loadLearned(ctx, dir, w)
		if err != nil {
			return nil, err
		}
		models[mc.Kind], servers[mc.Kind] = m, srv
		rep := new(model.TrainReport)
		if err := readJSON(filepath.Join(dir, model.TrainReportFile), rep); err == nil {
			c.Training[mc.Kind] = rep
		}
		if mc.Kind == model.KindBaseline {
			c.Baseline = dir
		} else {
			c.Contextual = dir
		}
	}

	stale, _ := sim.ParseStaleness(s.Replay.Staleness)
	prodSpecs, _ := s.productionSpecs()
	learned := func(kind string) func(sim.CGSpec) (sim.Generator, error) {
		return func(sp sim.CGSpec) (sim.Generator, error) {
			return learnedCG(sp, models[kind], servers[kind], seed)
		}
	}
	mix := func(kind string) ([]sim.Generator, error) {
		specs := append(append([]sim.CGSpec(nil), prodSpecs...), sim.CGSpec{Name: LearnedCG, Kind: sim.KindLearned, K: s.Replay.LearnedK})
		return sim.BuildGenerators(w, specs, learned(kind))
	}

	baseModelKey := models[model.KindBaseline].Hash()
	logsKey := hashOf("logs", Version, worldKey, baseModelKey, s.Funnel, s.Production, s.Replay.LearnedK, stale.String(), seed)
	dir, hit, err = cached(cache, "logs", logsKey, nil, func(dir string) error {
		cgs, err := mix(model.KindBaseline)
		if err != nil {
			return err
		}
		h.logf("logging the production funnel")
		imps, sum, err := sim.LogProduction(ctx, w, truth, cgs, s.Funnel, stale, seed, h.Progress.stage("production funnel"))
		if err != nil {
			return err
		}
		if err := datasets.WriteTable(filepath.Join(dir, datasets.ImpressionsFile), imps); err != nil {
			return err
		}
		return writeJSON(filepath.Join(dir, "production.json"), sum)
	})
	if err != nil {
		return nil, err
	}
	logHit(h, "logs", dir, hit)
	c.LogsDir = dir
	if w.Impressions, err = datasets.ReadTable[datasets.Impression](filepath.Join(dir, datasets.ImpressionsFile)); err != nil {
		return nil, err
	}
	c.Production = new(sim.ReplaySummary)
	if err := readJSON(filepath.Join(dir, "production.json"), c.Production); err != nil {
		return nil, err
	}

	ctxModelKey := models[model.KindContextual].Hash()
	replayKey := hashOf("replay", Version, logsKey, ctxModelKey, s.Replay, s.Funnel, seed)
	dir, hit, err = cached(cache, "replay", replayKey, nil, func(dir string) error {
		var arms []sim.Arm
		for _, a := range []struct{ name, kind string }{{ArmBaseline, model.KindBaseline}, {ArmContextual, model.KindContextual}} {
			cgs, err := mix(a.kind)
			if err != nil {
				return err
			}
			arms = append(arms, sim.Arm{Name: a.name, CGs: cgs})
		}
		h.logf("replaying %d arms", len(arms))
		_, err := sim.Replay(ctx, w, truth, arms, sim.ReplayConfig{
			Funnel: s.Funnel, Staleness: stale, Seed: seed, MaxRequests: s.Replay.MaxRequests,
		}, dir, h.Progress.stage("replay"))
		return err
	})
	if err != nil {
		return nil, err
	}
	logHit(h, "replay", dir, hit)
	c.ReplayDir = dir
	rm, err := sim.ReadReplayManifest(dir)
	if err != nil {
		return nil, err
	}
	c.Summary = &rm.Summary

	metricsKey := hashOf("metrics", Version, replayKey, s.Eval, seed)
	dir, hit, err = cached(cache, "metrics", metricsKey, nil, func(dir string) error {
		h.logf("computing metrics with %d bootstrap replicates", s.Eval.BootstrapReps)
		f, err := eval.Compute(ctx, []string{c.ReplayDir}, eval.Options{
			Ks: s.Eval.Ks, Segments: s.Eval.Segments, BootstrapReps: s.Eval.BootstrapReps,
			Seed: seed, Version: Version, Now: fixedNow,
		})
		if err != nil {
			return err
		}
		f.Provenance.Seeds["world"] = seed
		f.Provenance.ConfigHashes["study"] = hashOf(s)
		f.Provenance.Configs["study"] = s
		return eval.WriteFile(filepath.Join(dir, MetricsFile), f)
	})
	if err != nil {
		return nil, err
	}
	logHit(h, "metrics", dir, hit)
	c.MetricsPath = filepath.Join(dir, MetricsFile)
	if c.Metrics, err = eval.ReadFile(c.MetricsPath); err != nil {
		return nil, err
	}
	return c, nil
}

// File names inside stage folders.
const (
	FeaturesDir = "features"
	MetricsFile = "metrics.json"
)

// fixedNow keeps metrics byte-identical across runs: the provenance time of a
// study's metrics is not the wall clock but a constant; reports show when
// they were rendered.
func fixedNow() time.Time { return time.Unix(0, 0).UTC() }

func logHit(h Hooks, what, dir string, hit bool) {
	if hit {
		h.logf("%s: reusing %s", what, dir)
	}
}

func trainProgress(h Hooks, kind string) func(model.TrainProgress) {
	if h.Progress == nil {
		return nil
	}
	return func(p model.TrainProgress) {
		if p.Phase != "train" {
			return
		}
		h.Progress(fmt.Sprintf("train %s epoch %d/%d", kind, p.Epoch, p.Epochs), int64(p.Batch), int64(p.Batches))
	}
}
