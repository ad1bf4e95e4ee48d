package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cgbench/cgbench/cmd/cgbench/experiment"
	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/model"
)

// TrainOptions are the flags of `cgbench train`.
type TrainOptions struct {
	Data    string
	Out     string
	Kind    string
	Config  string
	Seed    uint64
	Epochs  int
	Threads int
	Fresh   bool
	Quiet   bool
}

func newTrainCmd(streams *IO) *cobra.Command {
	opts := &TrainOptions{}
	cmd := &cobra.Command{
		Use:   "train --data DIR --out RUN",
		Short: "Train the baseline or the contextual two-tower model",
		Long: `Train fits a sequential two-tower model on the offsite conversion history
before the evaluation window: a Transformer over the user's last conversions
(the baseline) or, with --model contextual, the same encoder plus a context
layer over the subject Pin's categories and the user's demographics, trained
with pseudo-context derived from the positive label under high dropout.

The run folder receives config.yaml, model.safetensors (best weights by
validation Recall@100), a checkpoint after every epoch and train_report.json.
The best weights are then scored on held-out data, each user's first
conversion at or after the cut-off, over the full catalogue, beside the
popularity and history-interest reference points; the table is printed and
written to heldout.json.
Interrupt with Ctrl-C and run the same command again to resume from the last
finished epoch (--fresh starts over).`,
		Example: `  cgbench train --data data/world --out runs/base
  cgbench train --data data/world --out runs/ctx --model contextual --config ctx.yaml`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Data == "" || opts.Out == "" {
				return usagef("--data and --out are required")
			}
			if opts.Kind != model.KindBaseline && opts.Kind != model.KindContextual {
				return usagef("--model must be baseline or contextual, not %q", opts.Kind)
			}
			cfg := model.DefaultConfig(opts.Kind)
			if opts.Config != "" {
				var err error
				if cfg, err = model.LoadConfig(opts.Config, cfg); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("seed") {
				cfg.Train.Seed = opts.Seed
			}
			if opts.Epochs > 0 {
				cfg.Train.Epochs = opts.Epochs
			}
			if opts.Threads > 0 {
				cfg.Train.Threads = opts.Threads
			}
			w, err := datasets.Open(opts.Data, datasets.OpenOptions{SkipRequests: true})
			if err != nil {
				return err
			}
			p := newProgress(streams.Err, opts.Quiet)
			hook := p.named()
			m, rep, err := model.Train(cmd.Context(), w, cfg, opts.Out, model.TrainOptions{
				Resume: !opts.Fresh,
				Progress: func(tp model.TrainProgress) {
					if hook != nil && tp.Phase == "train" {
						hook(fmt.Sprintf("epoch %d/%d (loss %.3f, %.0f seq/s)", tp.Epoch, tp.Epochs, tp.Loss, tp.SeqPerSec), int64(tp.Batch), int64(tp.Batches))
					}
				},
			})
			if err != nil {
				return err
			}
			if err := writeTrainReport(streams, rep, opts.Out); err != nil {
				return err
			}
			if hook != nil {
				hook("held-out evaluation", 0, 1)
			}
			held, err := model.EvaluateNextItem(cmd.Context(), m, w, rep.Cutoff, []int{10, 100})
			if err != nil {
				return err
			}
			if hook != nil {
				hook("held-out evaluation", 1, 1)
			}
			if held.Users == 0 {
				return nil
			}
			return writeHeldOut(streams, held, opts.Out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Data, "data", "", "dataset folder")
	f.StringVar(&opts.Out, "out", "", "run folder (created; an unfinished run there is resumed)")
	f.StringVar(&opts.Kind, "model", model.KindBaseline, "model kind: baseline or contextual")
	f.StringVar(&opts.Config, "config", "", "model config YAML overriding the defaults (see docs/model.md)")
	f.Uint64Var(&opts.Seed, "seed", 1, "training seed (overrides the config's train.seed)")
	f.IntVar(&opts.Epochs, "epochs", 0, "maximum epochs (0: from the config)")
	f.IntVar(&opts.Threads, "threads", 0, "threads for matrix products (0: all cores)")
	f.BoolVar(&opts.Fresh, "fresh", false, "ignore a checkpoint in --out and start over")
	f.BoolVar(&opts.Quiet, "quiet", false, "no progress on stderr")
	_ = cmd.RegisterFlagCompletionFunc("model", cobra.FixedCompletions([]string{model.KindBaseline, model.KindContextual}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func writeTrainReport(streams *IO, rep *model.TrainReport, run string) error {
	fmt.Fprintf(streams.Out, "%s model: %d training and %d validation examples, %d weights, %.0f sequences/s on %d threads\n",
		rep.Kind, rep.TrainExamples, rep.ValExamples, rep.Weights, rep.SeqPerSec, rep.Threads)
	for _, e := range rep.Epochs {
		fmt.Fprintf(streams.Out, "  epoch %2d  loss %.4f  val Recall@10 %.4f  Recall@100 %.4f  (%.0fs)\n", e.Epoch, e.TrainLoss, e.ValRecall[10], e.ValRecall[100], e.Seconds)
	}
	fmt.Fprintf(streams.Out, "best epoch %d: validation Recall@100 %.4f", rep.BestEpoch, rep.BestValRecall100)
	for _, m := range []string{model.MethodPopularity, model.MethodHistoryInterest} {
		if r, ok := rep.Baselines[m]; ok {
			fmt.Fprintf(streams.Out, "; %s %.4f", m, r[100])
		}
	}
	fmt.Fprintf(streams.Out, "\nwrote %s\n", filepath.Join(run, model.WeightsFile))
	return nil
}

// writeHeldOut prints the held-out Recall@K of the model and of its
// reference points and writes them to RUN/heldout.json.
func writeHeldOut(streams *IO, r *model.NextItemResult, run string) error {
	fmt.Fprintf(streams.Out, "held-out (each user's first conversion at or after the cut-off, %d users):\n", r.Users)
	for _, m := range []string{model.MethodModel, model.MethodModelNoContext, model.MethodPopularity, model.MethodHistoryInterest} {
		if rc, ok := r.Recall[m]; ok {
			fmt.Fprintf(streams.Out, "  %-18s Recall@10 %.4f  Recall@100 %.4f\n", m, rc[10], rc[100])
		}
	}
	path := filepath.Join(run, HeldOutFile)
	if err := datasets.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}); err != nil {
		return fmt.Errorf("write held-out metrics: %w", err)
	}
	fmt.Fprintf(streams.Out, "wrote %s\n", path)
	return nil
}

// HeldOutFile is where `cgbench train` writes the held-out Recall@K.
const HeldOutFile = "heldout.json"

// InferOptions are the flags of `cgbench infer`.
type InferOptions struct {
	Run   string
	Data  string
	AsOf  int
	Days  int
	Quiet bool
}

func newInferCmd(streams *IO) *cobra.Command {
	opts := &InferOptions{}
	cmd := &cobra.Command{
		Use:   "infer --run RUN --data DIR",
		Short: "Write the offline encoder's feature-store snapshots",
		Long: `Infer runs the offline half of a trained model's user tower (the Transformer
over the offsite history) and writes a feature-store snapshot: per user the
last hidden state and, for cross-attention fusion, the encoder's output
sequence. A snapshot "as of DAY" holds the events up to the end of that day,
so it serves the requests of day DAY+1 under daily staleness.

It writes one snapshot per day from --as-of to the day before the last
evaluation day (--days N writes N); each day re-encodes only the users with
new offsite activity and carries the others over. A request whose day has no
snapshot runs the whole user tower online: the same result, slower.
Snapshots go to RUN/features/day-NNN.safetensors, named by the first day they
serve; cgbench replay reads them from there.`,
		Example: `  cgbench infer --run runs/ctx --data data/world
  cgbench infer --run runs/ctx --data data/world --as-of 55 --days 3`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Run == "" || opts.Data == "" {
				return usagef("--run and --data are required")
			}
			w, err := datasets.Open(opts.Data, datasets.OpenOptions{SkipRequests: true})
			if err != nil {
				return err
			}
			asOf := opts.AsOf
			if !cmd.Flags().Changed("as-of") {
				asOf = w.Manifest.EvalStartDay - 1
			}
			days := opts.Days
			if days == 0 {
				days = w.Manifest.EvalStartDay + w.Manifest.EvalDays - 1 - asOf
			}
			if days < 1 {
				return usagef("--days must be at least 1")
			}
			res, err := experiment.Infer(cmd.Context(), opts.Run, w, asOf, days)
			if err != nil {
				return err
			}
			for _, s := range res {
				fmt.Fprintf(streams.Out, "day %d: %d users (%d re-encoded), %.0f bytes per user -> %s\n", s.Day, s.Users, s.Recomputed, s.BytesPerUser, s.Path)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Run, "run", "", "run folder written by cgbench train")
	f.StringVar(&opts.Data, "data", "", "dataset folder")
	f.IntVar(&opts.AsOf, "as-of", 0, "last day of history in the snapshot (default: the day before the evaluation window)")
	f.IntVar(&opts.Days, "days", 0, "number of consecutive daily snapshots (0: through the evaluation window)")
	f.BoolVar(&opts.Quiet, "quiet", false, "no progress on stderr")
	return cmd
}
