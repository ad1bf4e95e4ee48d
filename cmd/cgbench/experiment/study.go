// Package experiment is the one layer that wires datasets, model, sim, eval
// and reports together: the study behind `cgbench quickstart` and each cell
// of `cgbench ablate`.
//
// A study cell, for one seed, runs these stages; each stage's output is a
// folder under the cache root named by the hash of everything it depends on,
// so a killed run resumes without redoing finished stages and variants of an
// ablation share the stages they do not change:
//
//  1. world: the synthetic world of the study's world config and seed;
//  2. model: the baseline and the contextual model, each trained on the
//     world's offsite history, with the feature-store snapshot of every
//     evaluation day (the offline half of the user tower);
//  3. logs: the production CG mix, including the learned baseline, run
//     through the funnel to write the logged impressions;
//  4. replay: two arms over the request log — the production mix with the
//     baseline, and the same mix with the contextual CG in its place — with
//     the same funnel noise and response draws per (request, ad Pin);
//  5. metrics: every metric with bootstrap intervals over users, and the
//     paired differences of the contextual arm against the baseline arm.
package experiment

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/eval"
	"github.com/cgbench/cgbench/model"
	"github.com/cgbench/cgbench/sim"
)

// Study is the full configuration of a study cell. Its YAML form is the base
// of an ablation spec; every field has a documented default (DefaultStudy).
type Study struct {
	// Preset names the world size preset the World section starts from.
	Preset     string               `yaml:"preset" json:"preset"`
	World      datasets.WorldConfig `yaml:"world" json:"world"`
	Baseline   model.Config         `yaml:"baseline" json:"baseline"`
	Contextual model.Config         `yaml:"contextual" json:"contextual"`
	Funnel     sim.FunnelConfig     `yaml:"funnel" json:"funnel"`
	// Production is the heuristic part of the production CG mix, as
	// --cg specs; the learned CG is added to it in every arm.
	Production []string       `yaml:"production" json:"production"`
	Replay     ReplaySettings `yaml:"replay" json:"replay"`
	Eval       EvalSettings   `yaml:"eval" json:"eval"`
}

// ReplaySettings configure the replay of a study.
type ReplaySettings struct {
	// Staleness of the learned CGs' user state: realtime, daily or weekly.
	Staleness string `yaml:"staleness" json:"staleness"`
	// LearnedK is the number of candidates of the learned CG.
	LearnedK int `yaml:"learned_k" json:"learned_k"`
	// MaxRequests replays only the first requests; 0 replays all.
	MaxRequests int `yaml:"max_requests" json:"max_requests"`
}

// EvalSettings configure the metrics of a study.
type EvalSettings struct {
	Ks            []int    `yaml:"ks" json:"ks"`
	BootstrapReps int      `yaml:"bootstrap_reps" json:"bootstrap_reps"`
	Segments      []string `yaml:"segments" json:"segments"`
}

// Names of the arms and of the learned CG in a study's replay.
const (
	ArmBaseline   = "baseline"
	ArmContextual = "contextual"
	LearnedCG     = "two_tower"
)

// DefaultStudy returns the study of a world preset ("small", "default" or
// "large") with the reference models, the default funnel and the default
// production mix.
func DefaultStudy(preset string) (Study, error) {
	w, err := datasets.Preset(preset)
	if err != nil {
		return Study{}, err
	}
	s := Study{
		Preset:     preset,
		World:      w,
		Baseline:   model.DefaultConfig(model.KindBaseline),
		Contextual: model.DefaultConfig(model.KindContextual),
		Funnel:     sim.DefaultFunnelConfig(),
		Replay:     ReplaySettings{Staleness: "daily", LearnedK: sim.DefaultK(sim.KindLearned)},
		Eval:       EvalSettings{Ks: eval.DefaultKs, BootstrapReps: eval.DefaultBootstrapReps},
	}
	for _, c := range sim.DefaultProductionMix() {
		s.Production = append(s.Production, c.String())
	}
	for _, m := range []*model.Config{&s.Baseline, &s.Contextual} {
		// A training budget: a fresh random 48k examples per epoch keeps
		// the default study within minutes on 2 cores. With so few steps a
		// higher learning rate learns more: on the default world the
		// baseline's validation Recall@100 was 0.376 at 1e-3, 0.455 at 4e-3
		// (before tied tables, mean pooling and 256-wide outputs; 0.593 with).
		m.Train.Epochs = 3
		m.Train.ExamplesPerEpoch = 48 << 10
		m.Train.LR = 4e-3
	}
	// 30k of the default world's 100k requests give intervals of about
	// +-0.005 on Recall@100 while keeping the replay's tables near 250 MB.
	s.Replay.MaxRequests = 30000
	if preset == "small" {
		for _, m := range []*model.Config{&s.Baseline, &s.Contextual} {
			m.Train.Epochs = 3
		}
		s.Eval.BootstrapReps = 200
	}
	return s, nil
}

// Validate checks every section.
func (s *Study) Validate() error {
	if err := s.World.Validate(); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	if s.Baseline.Kind != model.KindBaseline {
		return fmt.Errorf("baseline: kind %q, want %q", s.Baseline.Kind, model.KindBaseline)
	}
	if s.Contextual.Kind != model.KindContextual {
		return fmt.Errorf("contextual: kind %q, want %q", s.Contextual.Kind, model.KindContextual)
	}
	for _, m := range []*model.Config{&s.Baseline, &s.Contextual} {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("%s: %w", m.Kind, err)
		}
	}
	if err := s.Funnel.Validate(); err != nil {
		return fmt.Errorf("funnel: %w", err)
	}
	if _, err := s.productionSpecs(); err != nil {
		return err
	}
	if _, err := sim.ParseStaleness(s.Replay.Staleness); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if s.Replay.LearnedK < 1 {
		return fmt.Errorf("replay: learned_k %d, want >= 1", s.Replay.LearnedK)
	}
	if s.Replay.MaxRequests < 0 {
		return fmt.Errorf("replay: max_requests %d, want >= 0", s.Replay.MaxRequests)
	}
	return nil
}

func (s *Study) productionSpecs() ([]sim.CGSpec, error) {
	var specs []sim.CGSpec
	for _, p := range s.Production {
		c, err := sim.ParseCGSpec(p)
		if err != nil {
			return nil, fmt.Errorf("production: %w", err)
		}
		if c.Kind == sim.KindLearned {
			return nil, fmt.Errorf("production: %q: the learned CG is added by the study, list only heuristic CGs", p)
		}
		specs = append(specs, c)
	}
	return specs, nil
}

// LoadStudy reads a study YAML over the defaults of its preset (default
// "default"). Unknown keys are errors naming the file.
func LoadStudy(path string) (Study, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Study{}, fmt.Errorf("read study: %w", err)
	}
	s, err := decodeStudy(data)
	if err != nil {
		return Study{}, fmt.Errorf("read study %s: %w", path, err)
	}
	return s, nil
}

// decodeStudy decodes a study YAML over the defaults of its preset.
func decodeStudy(data []byte) (Study, error) {
	var head struct {
		Preset string `yaml:"preset"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return Study{}, err
	}
	if head.Preset == "" {
		head.Preset = "default"
	}
	s, err := DefaultStudy(head.Preset)
	if err != nil {
		return Study{}, err
	}
	if err := datasets.DecodeYAML(data, &s); err != nil {
		return Study{}, err
	}
	if err := s.Validate(); err != nil {
		return Study{}, err
	}
	return s, nil
}
