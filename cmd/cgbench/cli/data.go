package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cgbench/cgbench/cmd/cgbench/experiment"
	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/reports"
)

func newDataCmd(streams *IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Generate, import, validate and describe datasets",
		Long: `A dataset is a folder of Parquet tables (categories, ad Pins, organic Pins,
users, offsite events, the request log, logged impressions), a truth/ folder
that only the simulator reads, and manifest.json with row counts and hashes.
See docs/schema.md for every column.`,
	}
	cmd.AddCommand(newDataGenerateCmd(streams), newDataImportCmd(streams), newDataValidateCmd(streams), newDataDescribeCmd(streams))
	return cmd
}

// GenerateOptions are the flags of `cgbench data generate`.
type GenerateOptions struct {
	Out      string
	Config   string
	Preset   string
	Seed     uint64
	Users    int
	AdPins   int
	Pins     int
	Requests int
	NoLog    bool
	Quiet    bool
}

func newDataGenerateCmd(streams *IO) *cobra.Command {
	opts := &GenerateOptions{}
	cmd := &cobra.Command{
		Use:   "generate --out DIR",
		Short: "Generate a synthetic Related Pins world and its production logs",
		Long: `Generate writes a seeded synthetic world: the interest taxonomy, ad and
organic Pins, users, offsite conversion histories, the Related Pins request
log and the hidden truth (latent vectors, session intents), then runs the
production CG mix through the funnel to write the logged impressions.

Sizes come from the preset, then the --config YAML, then the size flags.
The same config and seed give byte-identical files.`,
		Example: `  cgbench data generate --out data/world
  cgbench data generate --out data/big --preset large --seed 7
  cgbench data generate --out data/w --config world.yaml --users 5000`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Out == "" {
				return usagef("--out is required")
			}
			cfg, err := experiment.WorldConfig(opts.Preset, opts.Config)
			if err != nil {
				return err
			}
			applySizes(&cfg, opts)
			p := newProgress(streams.Err, opts.Quiet)
			res, err := experiment.GenerateData(cmd.Context(), experiment.GenerateSpec{
				World: cfg, Seed: opts.Seed, Out: opts.Out, LogImpressions: !opts.NoLog,
			}, p.named())
			if err != nil {
				return err
			}
			p.logf("wrote %s (data hash %s)", opts.Out, short(res.Manifest.Hash))
			if res.Summary != nil {
				fmt.Fprintln(streams.Out, "Production funnel: per-CG impression share")
				return writeShares(streams.Out, res.Summary)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Out, "out", "", "output folder (created; must not hold a dataset already)")
	f.StringVar(&opts.Config, "config", "", "world config YAML overriding the preset")
	f.StringVar(&opts.Preset, "preset", "default", "size preset: small, default or large")
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed")
	f.IntVar(&opts.Users, "users", 0, "number of users (0: from the preset/config)")
	f.IntVar(&opts.AdPins, "ad-pins", 0, "number of ad Pins (0: from the preset/config)")
	f.IntVar(&opts.Pins, "organic-pins", 0, "number of organic Pins (0: from the preset/config)")
	f.IntVar(&opts.Requests, "requests", 0, "number of Related Pins requests (0: from the preset/config)")
	f.BoolVar(&opts.NoLog, "no-log", false, "skip the production funnel (no impressions.parquet)")
	f.BoolVar(&opts.Quiet, "quiet", false, "no progress on stderr")
	_ = cmd.RegisterFlagCompletionFunc("preset", cobra.FixedCompletions([]string{"small", "default", "large"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newDataValidateCmd(streams *IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a dataset's schema, ranges, ids, timestamps and hashes",
		Long: `Validate reads every table of a dataset folder and prints each problem with
its file, row and column: missing or mistyped columns, values out of range,
NaN or Inf, duplicate or unknown ids, timestamps outside the manifest's days,
and files whose content hash differs from the manifest. Exit code 1 when any
problem is found.`,
		Example: `  cgbench data validate data/world`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			problems, err := datasets.Validate(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			for _, p := range problems {
				fmt.Fprintln(streams.Out, p.String())
			}
			if len(problems) > 0 {
				return fmt.Errorf("validate %s: %d problems", args[0], len(problems))
			}
			fmt.Fprintf(streams.Out, "%s: ok\n", args[0])
			return nil
		},
	}
	return cmd
}

func newDataDescribeCmd(streams *IO) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "describe DIR",
		Short: "Print row counts and the distributions to check first",
		Long: `Describe prints each table's row count and the distributions a data
scientist checks first: history length quantiles, requests per user,
categories per Pin, event types, the country mix and, for synthetic worlds,
the session-intent mix.`,
		Example: `  cgbench data describe data/world
  cgbench data describe data/world --format json | jq .history_length`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usagef("--format must be table or json, not %q", format)
			}
			d, err := datasets.Describe(args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(streams.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
			return reports.WriteDescription(streams.Out, d)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// applySizes overrides the config's sizes with the flags that were set.
func applySizes(cfg *datasets.WorldConfig, o *GenerateOptions) {
	for _, s := range []struct {
		flag int
		dst  *int
	}{
		{o.Users, &cfg.Sizes.Users},
		{o.AdPins, &cfg.Sizes.AdPins},
		{o.Pins, &cfg.Sizes.OrganicPins},
		{o.Requests, &cfg.Sizes.Requests},
	} {
		if s.flag > 0 {
			*s.dst = s.flag
		}
	}
}
