package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cgbench/cgbench/cmd/cgbench/experiment"
	"github.com/cgbench/cgbench/eval"
	"github.com/cgbench/cgbench/reports"
)

// QuickstartOptions are the flags of `cgbench quickstart`.
type QuickstartOptions struct {
	Out    string
	Preset string
	Study  string
	Seed   uint64
	Quiet  bool
}

func newQuickstartCmd(streams *IO) *cobra.Command {
	opts := &QuickstartOptions{}
	cmd := &cobra.Command{
		Use:   "quickstart --out DIR",
		Short: "Run the whole study: world, both models, funnel, metrics, report",
		Long: `Quickstart generates the default synthetic world, trains the history-only
baseline and the contextual two-tower model, writes their feature-store
snapshots, logs the production funnel (heuristic CGs plus the baseline),
replays the production mix with the baseline and with the contextual CG in
its place, computes every metric with intervals and renders the report.

Prints the headline table (contextual vs baseline, paired differences with
intervals) and the report's path. Every stage is cached under DIR/cache by
the hash of what it depends on: run the command again after a Ctrl-C and
finished stages are reused.`,
		Example: `  cgbench quickstart --out runs/quickstart
  cgbench quickstart --out runs/qs-small --preset small
  cgbench quickstart --out runs/qs --study study.yaml --seed 2`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Out == "" {
				return usagef("--out is required")
			}
			s, err := loadStudy(opts.Preset, opts.Study)
			if err != nil {
				return err
			}
			p := newProgress(streams.Err, opts.Quiet)
			res, err := experiment.Quickstart(cmd.Context(), s, opts.Seed, opts.Out, experiment.Hooks{Progress: p.named(), Logf: p.logf})
			if err != nil {
				return err
			}
			c := res.Cell
			fmt.Fprintf(streams.Out, "Production funnel (logged impressions): per-CG impression share\n")
			if err := writeShares(streams.Out, c.Production); err != nil {
				return err
			}
			fmt.Fprintf(streams.Out, "\nContextual vs baseline two-tower CG (%s), paired over the same requests:\n", experiment.LearnedCG)
			if err := reports.WriteHeadline(streams.Out, c.Metrics,
				eval.Subject{Arm: experiment.ArmBaseline, CG: experiment.LearnedCG},
				eval.Subject{Arm: experiment.ArmContextual, CG: experiment.LearnedCG}); err != nil {
				return err
			}
			fmt.Fprintf(streams.Out, "\nmetrics: %s\nreport:  %s\ntook %s\n", res.Metrics, res.Report, res.Elapsed.Round(1e9))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Out, "out", "", "output folder")
	f.StringVar(&opts.Preset, "preset", "default", "world size preset: small, default or large")
	f.StringVar(&opts.Study, "study", "", "study YAML (world, baseline, contextual, funnel, production, replay, eval sections) over the preset")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of the world, training, funnel and bootstrap")
	f.BoolVar(&opts.Quiet, "quiet", false, "no progress on stderr")
	_ = cmd.RegisterFlagCompletionFunc("preset", cobra.FixedCompletions([]string{"small", "default", "large"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func loadStudy(preset, path string) (experiment.Study, error) {
	if path != "" {
		return experiment.LoadStudy(path)
	}
	return experiment.DefaultStudy(preset)
}

func newAblateCmd(streams *IO) *cobra.Command {
	var spec, out string
	var seeds []uint
	var parallel int
	var quiet bool
	cmd := &cobra.Command{
		Use:   "ablate --spec SPEC.yaml --out DIR",
		Short: "Run a variant x seed grid of studies, cached and resumable",
		Long: `Ablate runs every variant of a spec with every seed. A variant overrides the
base study by dotted path (world.*, baseline.*, contextual.*, funnel.*,
production, replay.*, eval.*). Cells of one seed share the world, the funnel
noise and the response draws, so variants are paired by seed.

Every stage of every cell is cached under DIR/cache by the hash of its full
config: a run killed at any moment resumes without redoing finished work, and
variants reuse the stages they do not change (a dropout sweep trains the
baseline once). Writes DIR/ablation.json and DIR/report.html.

Example specs ship in examples/ablations/.`,
		Example: `  cgbench ablate --spec examples/ablations/context-dropout.yaml --out runs/dropout`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spec == "" || out == "" {
				return usagef("--spec and --out are required")
			}
			sp, studies, err := experiment.LoadAblation(spec)
			if err != nil {
				return err
			}
			if len(seeds) > 0 {
				sp.Seeds = sp.Seeds[:0]
				for _, s := range seeds {
					sp.Seeds = append(sp.Seeds, uint64(s))
				}
			}
			if parallel > 0 {
				sp.Parallel = parallel
			}
			p := newProgress(streams.Err, quiet)
			res, err := experiment.RunAblation(cmd.Context(), sp, studies, out, experiment.Hooks{Progress: p.named(), Logf: p.logf})
			if err != nil {
				return err
			}
			report := filepath.Join(out, "report.html")
			if err := experiment.RenderReport([]string{out}, report, ""); err != nil {
				return err
			}
			_, files, err := experiment.ReadAblation(out)
			if err != nil {
				return err
			}
			if err := reports.WriteAblationTable(streams.Out, toReportAblation(res, files)); err != nil {
				return err
			}
			fmt.Fprintf(streams.Out, "\nresults: %s\nreport:  %s\n", filepath.Join(out, experiment.AblationFile), report)
			return nil
		},
	}
	cmd.Flags().StringVar(&spec, "spec", "", "ablation spec YAML")
	cmd.Flags().StringVar(&out, "out", "", "output folder (reused on a rerun)")
	cmd.Flags().UintSliceVar(&seeds, "seeds", nil, "run these seeds instead of the spec's")
	cmd.Flags().IntVar(&parallel, "parallel", 0, "cells run at once (0: the spec's, default 1)")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress on stderr")
	return cmd
}

func toReportAblation(res *experiment.AblationResult, files map[string][]*eval.File) []reports.AblationRow {
	var rows []reports.AblationRow
	for _, v := range res.Variants {
		for i, f := range files[v.Name] {
			rows = append(rows, reports.AblationRow{Variant: v.Name, Seed: v.Seeds[i], File: f,
				Base:      eval.Subject{Arm: experiment.ArmBaseline, CG: experiment.LearnedCG},
				Candidate: eval.Subject{Arm: experiment.ArmContextual, CG: experiment.LearnedCG}})
		}
	}
	return rows
}

func newReportCmd(streams *IO) *cobra.Command {
	var out, title string
	cmd := &cobra.Command{
		Use:   "report RESULTS... --out report.html",
		Short: "Render the self-contained HTML report",
		Long: `Report renders one HTML file (no network, no scripts, opens from disk) with
inline SVG charts: Recall@K curves with interval bands, survival per funnel
stage, impression share, relevance distributions, paired differences as a
forest plot, segment tables, ablation and staleness curves, every warning next
to its number, and the provenance (data and config hashes, seeds, version).

RESULTS are metrics.json files, folders holding one (results folders,
quickstart folders) or ablation folders. Nothing is recomputed.`,
		Example: `  cgbench report runs/quickstart --out report.html
  cgbench report results/ab/metrics.json --out ab.html
  cgbench report runs/dropout --out dropout.html`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out is required")
			}
			if err := experiment.RenderReport(args, out, title); err != nil {
				return err
			}
			fmt.Fprintf(streams.Out, "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "HTML file to write")
	cmd.Flags().StringVar(&title, "title", "", "report title")
	return cmd
}
