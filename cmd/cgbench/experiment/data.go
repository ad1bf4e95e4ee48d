package experiment

import (
	"context"
	"fmt"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/sim"
)

// WorldConfig returns the world config of a preset with the YAML at path
// (if any) applied over it.
func WorldConfig(preset, path string) (datasets.WorldConfig, error) {
	cfg, err := datasets.Preset(preset)
	if err != nil {
		return cfg, err
	}
	if path != "" {
		return datasets.LoadWorldConfig(path, cfg)
	}
	return cfg, nil
}

// GenerateSpec says what `cgbench data generate` writes.
type GenerateSpec struct {
	World datasets.WorldConfig
	Seed  uint64
	Out   string
	// LogImpressions runs the heuristic production mix through the default
	// funnel (daily staleness) and writes impressions.parquet.
	LogImpressions bool
}

// GenerateResult is what GenerateData wrote.
type GenerateResult struct {
	Manifest *datasets.Manifest
	Summary  *sim.ReplaySummary // the production funnel's counts; nil without logs
}

// GenerateData writes a synthetic world and, optionally, the logged
// impressions of the production funnel over its request log.
func GenerateData(ctx context.Context, spec GenerateSpec, progress Progress) (*GenerateResult, error) {
	m, err := datasets.Generate(ctx, spec.World, spec.Seed, spec.Out, progress)
	if err != nil {
		return nil, err
	}
	res := &GenerateResult{Manifest: m}
	if !spec.LogImpressions {
		return res, nil
	}
	// The funnel streams the request log, so big worlds need not fit.
	w, err := datasets.Open(spec.Out, datasets.OpenOptions{SkipRequests: true})
	if err != nil {
		return nil, err
	}
	truth, err := datasets.OpenTruth(spec.Out, w)
	if err != nil {
		return nil, err
	}
	cgs, err := sim.BuildGenerators(w, sim.DefaultProductionMix(), nil)
	if err != nil {
		return nil, err
	}
	imps, sum, err := sim.LogProduction(ctx, w, truth, cgs, sim.DefaultFunnelConfig(), sim.StalenessDaily, spec.Seed, progress.stage("production funnel"))
	if err != nil {
		return nil, err
	}
	if err := datasets.WriteImpressions(spec.Out, imps); err != nil {
		return nil, err
	}
	if res.Manifest, err = datasets.UpdateManifest(spec.Out); err != nil {
		return nil, fmt.Errorf("record impressions: %w", err)
	}
	res.Summary = sum
	return res, nil
}
