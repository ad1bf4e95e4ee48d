package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cgbench/cgbench/eval"
	"github.com/cgbench/cgbench/reports"
	"github.com/cgbench/cgbench/sim"
)

// EvalOptions are the flags of `cgbench eval`.
type EvalOptions struct {
	Results   []string
	Ks        []int
	By        []string
	Format    string
	Out       string
	Reps      int
	Seed      uint64
	Metrics   []string
	Interval  string
	Timestamp bool
	Quiet     bool
}

func newEvalCmd(streams *IO) *cobra.Command {
	opts := &EvalOptions{}
	cmd := &cobra.Command{
		Use:   "eval RESULTS...",
		Short: "Compute metrics with confidence intervals from replay results",
		Long: `Eval reads replay results folders and computes, per arm and CG, Recall@K
on survived candidates (against the logged impressions and against the
counterfactual funnel's impressions), NDCG@K, hit rate and MRR, candidate
survival per funnel stage, impression share, median relevance of retrieved
candidates and mean relevance of delivered ones (category-based, and the
oracle from the world's truth, labelled oracle_), ROAS overall and for the
top countries, and clicks and conversions per request.

Every figure carries a bootstrap interval that resamples users; every
comparison of arms is a paired difference with its interval and a
Holm-adjusted p-value; a change that is not significant prints as "~".
Figures too small to trust carry warnings, printed next to them.

Writes metrics.json (schema: docs/metrics.md) into the single results folder,
or to --out, then prints the chosen format. Segments (--by):
history_length, context_strength, fresh_activity, country_tier.`,
		Example: `  cgbench eval results/ab
  cgbench eval results/ab --k 10,100 --by history_length --by country_tier
  cgbench eval results/ab --format csv > metrics.csv`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Results = args
			if opts.Format != "table" && opts.Format != "json" && opts.Format != "csv" {
				return usagef("--format must be table, json or csv, not %q", opts.Format)
			}
			style, err := parseInterval(opts.Interval)
			if err != nil {
				return err
			}
			out := opts.Out
			if out == "" {
				if len(args) > 1 {
					return usagef("--out is required with several results folders")
				}
				out = filepath.Join(args[0], "metrics.json")
			}
			now := time.Now
			if !opts.Timestamp {
				now = func() time.Time { return time.Unix(0, 0).UTC() }
			}
			p := newProgress(streams.Err, opts.Quiet)
			f, err := eval.Compute(cmd.Context(), args, eval.Options{
				Ks: opts.Ks, Segments: opts.By, BootstrapReps: opts.Reps, Seed: opts.Seed,
				Version: Version, Now: now, Progress: p.named(),
			})
			if err != nil {
				return err
			}
			if err := eval.WriteFile(out, f); err != nil {
				return err
			}
			switch opts.Format {
			case "json":
				data, err := os.ReadFile(out)
				if err != nil {
					return err
				}
				_, err = streams.Out.Write(data)
				return err
			case "csv":
				return eval.WriteCSV(streams.Out, f)
			}
			segs := []string(nil)
			if len(opts.By) > 0 {
				segs = opts.By
			}
			if err := reports.WriteTable(streams.Out, f, reports.TableOptions{Metrics: opts.Metrics, Segments: segs, Interval: style}); err != nil {
				return err
			}
			p.logf("wrote %s", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&opts.Ks, "k", nil, "cut-offs of Recall@K, NDCG@K and hit@K (default 10,50,100,500)")
	f.StringArrayVar(&opts.By, "by", nil, "split by a segment (repeatable): history_length, context_strength, fresh_activity, country_tier")
	f.StringVar(&opts.Format, "format", "table", "output: table, json or csv")
	f.StringVar(&opts.Out, "out", "", "metrics.json path (default RESULTS/metrics.json)")
	f.IntVar(&opts.Reps, "reps", 0, fmt.Sprintf("bootstrap replicates (default %d)", eval.DefaultBootstrapReps))
	f.Uint64Var(&opts.Seed, "seed", 1, "bootstrap seed")
	f.StringArrayVar(&opts.Metrics, "metric", nil, "show only metrics matching a glob, e.g. 'recall@*' (repeatable; table format)")
	f.StringVar(&opts.Interval, "interval", "pm", "interval style in tables: pm (value ± half-width) or range (value [lo, hi])")
	f.BoolVar(&opts.Timestamp, "timestamp", false, "record the wall-clock time in metrics.json (off: byte-identical reruns)")
	f.BoolVar(&opts.Quiet, "quiet", false, "no progress on stderr")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json", "csv"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("by", cobra.FixedCompletions([]string{"history_length", "context_strength", "fresh_activity", "country_tier"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func parseInterval(s string) (reports.IntervalStyle, error) {
	switch s {
	case "pm":
		return reports.PlusMinus, nil
	case "range":
		return reports.Brackets, nil
	}
	return 0, usagef("--interval must be pm or range, not %q", s)
}

func newExportCmd(streams *IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export replay results to other tools' formats",
	}
	var arm, cg, flavour, out string
	trec := &cobra.Command{
		Use:   "trec RESULTS --cg NAME --out DIR",
		Short: "Write a TREC run file and qrels for one CG",
		Long: `Export trec writes the CG's ranked candidates of every request as a TREC run
file (qid Q0 docid rank score runname) and the positives (the counterfactual
funnel's impressions, or with --flavour logged the logged impressions) as
qrels, so that trec_eval or ranx can cross-check Recall@K and NDCG@K.`,
		Example: `  cgbench export trec results/ab --arm contextual --cg ctx --out trec/
  trec_eval -c -m recall.100 trec/contextual.ctx.counterfactual.qrels trec/contextual.ctx.run`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cg == "" || out == "" {
				return usagef("--cg and --out are required")
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			a := arm
			if a == "" {
				arms, err := resultArms(args[0])
				if err != nil {
					return err
				}
				if len(arms) != 1 {
					return usagef("results hold arms %s: choose one with --arm", strings.Join(arms, ", "))
				}
				a = arms[0]
			}
			run, qrels, err := eval.ExportTREC(args[0], a, cg, flavour, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(streams.Out, "wrote %s\nwrote %s\n", run, qrels)
			return nil
		},
	}
	trec.Flags().StringVar(&arm, "arm", "", "arm (required when the results hold several)")
	trec.Flags().StringVar(&cg, "cg", "", "CG name")
	trec.Flags().StringVar(&flavour, "flavour", eval.FlavourCounterfactual, "positives: counterfactual or logged")
	trec.Flags().StringVar(&out, "out", "", "output folder")
	cmd.AddCommand(trec)
	return cmd
}

// GateOptions are the flags of `cgbench gate`.
type GateOptions struct {
	Baseline string
	Current  string
	Metrics  []string
	MaxDrop  float64
	Relative bool
}

func newGateCmd(streams *IO) *cobra.Command {
	opts := &GateOptions{}
	cmd := &cobra.Command{
		Use:   "gate --baseline OLD.json --current NEW.json",
		Short: "Fail (exit 3) when a gated metric regressed",
		Long: `Gate compares two metrics files on the same data and metric definitions and
exits 0 when no gated metric regressed, 3 when one did, 1 on error (files
that differ in data hash, metric definitions, schema version or confidence
level are refused).

Rule: let tol = --max-drop (absolute, in the metric's unit) or, with
--relative, --max-drop x |baseline value|, and floor = baseline value - tol.
A figure regresses when both
  current.hi    < floor             (its whole interval is below the floor)
  current.value < baseline.lo - tol (its value is below the baseline's interval, less the tolerance)
hold: a drop must exceed the tolerance and be clear of the noise both
intervals describe. A drop inside either interval is shown as within noise.
Every arm and CG of the baseline file is gated on the whole population.
Default metrics: ` + strings.Join(eval.DefaultGateMetrics, ", ") + `.`,
		Example: `  cgbench gate --baseline ci/metrics-baseline.json --current runs/ci/metrics.json
  cgbench gate --baseline old.json --current new.json --metric recall@100/counterfactual --max-drop 0.05 --relative`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Baseline == "" || opts.Current == "" {
				return usagef("--baseline and --current are required")
			}
			if !(opts.MaxDrop >= 0) {
				return usagef("--max-drop must be >= 0")
			}
			base, err := eval.ReadFile(opts.Baseline)
			if err != nil {
				return err
			}
			cur, err := eval.ReadFile(opts.Current)
			if err != nil {
				return err
			}
			res, err := eval.Gate(base, cur, eval.GateOptions{Metrics: opts.Metrics, MaxDrop: opts.MaxDrop, Relative: opts.Relative})
			if err != nil {
				return err
			}
			if err := reports.WriteGate(streams.Out, res); err != nil {
				return err
			}
			if res.Regressed {
				return errRegression
			}
			fmt.Fprintln(streams.Out, "gate passed: no gated metric regressed")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Baseline, "baseline", "", "metrics file of the reference (e.g. committed in the repo)")
	f.StringVar(&opts.Current, "current", "", "metrics file of the change under test")
	f.StringArrayVar(&opts.Metrics, "metric", nil, "metric to gate (repeatable); default "+strings.Join(eval.DefaultGateMetrics, ", "))
	f.Float64Var(&opts.MaxDrop, "max-drop", 0.01, "tolerated drop (absolute, or a fraction with --relative)")
	f.BoolVar(&opts.Relative, "relative", false, "--max-drop is a fraction of the baseline value")
	return cmd
}

// resultArms lists the arms of a results folder from its replay.json.
func resultArms(dir string) ([]string, error) {
	m, err := sim.ReadReplayManifest(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range m.Arms {
		out = append(out, a.Name)
	}
	return out, nil
}
