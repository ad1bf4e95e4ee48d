package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cgbench/cgbench/cmd/cgbench/experiment"
	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/eval"
	"github.com/cgbench/cgbench/model"
)

func newDataImportCmd(streams *IO) *cobra.Command {
	opts := datasets.ImportOptions{}
	var out string
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import public next-item datasets into cgbench's schema",
		Long: `Import converts the two layouts most sequential-recommendation papers use
into a cgbench dataset folder, so that train and nextitem work unchanged:
items become ad Pins (and organic Pins), genres become interest categories,
interactions become offsite events. Filtering is off by default and every
dropped row is counted in the manifest. A malformed line is an error that
names the file and line; nothing is dropped silently.`,
	}
	flags := func(c *cobra.Command) {
		c.Flags().StringVar(&out, "out", "", "dataset folder to write")
		c.Flags().IntVar(&opts.MinUserInteractions, "min-user", 0, "drop users with fewer interactions (repeated with --min-item until stable)")
		c.Flags().IntVar(&opts.MinItemInteractions, "min-item", 0, "drop items with fewer interactions")
	}
	report := func(r *datasets.ImportReport) {
		fmt.Fprintf(streams.Out, "imported %d users, %d items, %d interactions into %s\n", r.Users, r.Items, r.Interactions, out)
		keys := make([]string, 0, len(r.Dropped))
		for k, n := range r.Dropped {
			if n > 0 {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(streams.Out, "  dropped %s: %d\n", k, r.Dropped[k])
		}
	}
	ml := &cobra.Command{
		Use:   "movielens DIR --out OUT",
		Short: "Import the MovieLens-100k layout (u.data, u.item, u.user, u.genre)",
		Long: `Reads u.data (user, item, rating, unix time; tab-separated), u.item (pipe-
separated, Latin-1, 19 genre flags in u.genre order), u.user (age, gender,
occupation, zip) and u.genre. A movie's first three genres become its
categories with equal confidence; age and gender become demographics.`,
		Example: `  cgbench data import movielens ml-100k --out data/ml100k
  cgbench data import movielens ml-100k --out data/ml100k-4 --min-rating 4 --min-user 5`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out is required")
			}
			r, err := datasets.ImportMovieLens(cmd.Context(), args[0], out, opts)
			if err != nil {
				return err
			}
			report(r)
			return nil
		},
	}
	flags(ml)
	ml.Flags().Float64Var(&opts.MinRating, "min-rating", 0, "keep ratings >= this (0: all)")
	seq := &cobra.Command{
		Use:   "sequences FILE --out OUT",
		Short: "Import a plain sequence file (one 'user item' pair per line, in time order)",
		Long: `Reads the layout the SASRec code ships its datasets in: one "user item" pair
per line, each user's lines in time order, no timestamps. A user's k-th line
gets the timestamp 2000-01-01 UTC + k seconds.`,
		Example: `  cgbench data import sequences ml-1m.txt --out data/ml1m-seq`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out is required")
			}
			r, err := datasets.ImportSequences(cmd.Context(), args[0], out, opts)
			if err != nil {
				return err
			}
			report(r)
			return nil
		},
	}
	flags(seq)
	cmd.AddCommand(ml, seq)
	return cmd
}

// NextItemOptions are the flags of `cgbench nextitem`.
type NextItemOptions struct {
	Data     string
	Out      string
	Kind     string
	Config   string
	Protocol string
	Holdout  string
	Seed     uint64
	Ks       []int
	Quiet    bool
}

func newNextItemCmd(streams *IO) *cobra.Command {
	opts := &NextItemOptions{}
	cmd := &cobra.Command{
		Use:   "nextitem --data DIR --out RUN",
		Short: "Train and evaluate a model with a standard next-item protocol",
		Long: `Nextitem splits every user's sequence leave-last-out (the last item is the
test target, the second-last the validation target; equal timestamps are
ordered by item id), trains the model on the training parts only, and ranks
the held-out item under a protocol, beside the popularity floor:

  full                 the whole catalog
  full-masked          the whole catalog without the user's history
  sampled-N            the target among N sampled negatives (masked), saved
                       to RUN so every model sees the same negatives

Reports HR@K, NDCG@K, Recall@K and MRR with bootstrap intervals, and writes
RUN/nextitem-PROTOCOL-HOLDOUT.json. The model is trained once per run folder:
rerun with another protocol and the same --out to reuse it. A contextual model
gets the last item of the history as its subject Pin (never the target's
genres).`,
		Example: `  cgbench nextitem --data data/ml100k --out runs/ml100k --protocol sampled-100
  cgbench nextitem --data data/ml100k --out runs/ml100k-full --protocol full-masked --k 10,20`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Data == "" || opts.Out == "" {
				return usagef("--data and --out are required")
			}
			if opts.Kind != model.KindBaseline && opts.Kind != model.KindContextual {
				return usagef("--model must be baseline or contextual, not %q", opts.Kind)
			}
			if _, err := eval.ParseProtocol(opts.Protocol); err != nil {
				return usageError{err}
			}
			if _, err := eval.ParseHoldout(opts.Holdout); err != nil {
				return usageError{err}
			}
			cfg := model.DefaultConfig(opts.Kind)
			if opts.Config != "" {
				var err error
				if cfg, err = model.LoadConfig(opts.Config, cfg); err != nil {
					return err
				}
			}
			p := newProgress(streams.Err, opts.Quiet)
			res, err := experiment.NextItem(cmd.Context(), experiment.NextItemSpec{
				Data: opts.Data, Out: opts.Out, Model: cfg, Protocol: opts.Protocol, Holdout: opts.Holdout, Seed: opts.Seed, Ks: opts.Ks,
			}, experiment.Hooks{Progress: p.named(), Logf: p.logf})
			if err != nil {
				return err
			}
			fmt.Fprintf(streams.Out, "protocol %s, holdout %s, ties: %s\n", opts.Protocol, opts.Holdout, eval.TieRule)
			for _, name := range []string{model.MethodModel, model.MethodPopularity} {
				r := res.Methods[name]
				var parts []string
				for _, k := range r.Ks {
					parts = append(parts, fmt.Sprintf("HR@%d %.4f  NDCG@%d %.4f", k, r.HR[k], k, r.NDCG[k]))
				}
				fmt.Fprintf(streams.Out, "%-10s n=%d  %s  MRR %.4f\n", name, r.N, strings.Join(parts, "  "), r.MRR)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Data, "data", "", "imported dataset folder")
	f.StringVar(&opts.Out, "out", "", "run folder")
	f.StringVar(&opts.Kind, "model", model.KindBaseline, "model kind: baseline or contextual")
	f.StringVar(&opts.Config, "config", "", "model config YAML overriding the defaults")
	f.StringVar(&opts.Protocol, "protocol", "full", "full, full-masked, sampled-N or sampled-N-unmasked")
	f.StringVar(&opts.Holdout, "holdout", "test", "test or valid")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of training and of the sampled negatives")
	f.IntSliceVar(&opts.Ks, "k", []int{10, 20}, "cut-offs of HR, NDCG and Recall")
	f.BoolVar(&opts.Quiet, "quiet", false, "no progress on stderr")
	return cmd
}
