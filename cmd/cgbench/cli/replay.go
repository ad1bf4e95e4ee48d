package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cgbench/cgbench/cmd/cgbench/experiment"
	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/sim"
)

// ReplayOptions are the flags of `cgbench replay`.
type ReplayOptions struct {
	Data        string
	Out         string
	CGs         []string
	Arms        []string
	Funnel      string
	Staleness   string
	Seed        uint64
	MaxRequests int
	Quiet       bool
}

func newReplayCmd(streams *IO) *cobra.Command {
	opts := &ReplayOptions{}
	cmd := &cobra.Command{
		Use:   "replay --data DIR --out RESULTS",
		Short: "Replay the request log through CG mixes and the funnel",
		Long: `Replay runs one or more arms (CG mixes) over the request log: every CG
retrieves its top-K, candidates are merged with source attribution, pre-ranked,
ranked with noisy pCTR/pCVR estimates and a relevance filter, auctioned
(generalized second price on bid x pCTR x quality with a reserve price), and
users respond with the world's true probabilities. The funnel noise and the
responses are drawn per (request, ad Pin), so arms are paired.

CGs are given with --cg NAME[=KIND[:key=val,...]]; without any, the production
mix (content, popularity, retargeting, history_interest) is used. Kinds:
content, popularity, retargeting, history_interest, and learned (a run folder
written by cgbench train, with snapshots from cgbench infer):
  --cg ctx=learned:run=runs/ctx,k=200,lag=daily,index=exact|ivf
Arms are given with --arm NAME=CG+CG+...; "production" stands for the
production mix's CGs. Without --arm, one arm "replay" holds every --cg.

Writes RESULTS/candidates.parquet (one row per arm, request, CG and
candidate), RESULTS/requests.parquet and RESULTS/replay.json, and prints each
CG's impression share.`,
		Example: `  # the production mix alone
  cgbench replay --data data/world --out results/prod

  # production + baseline vs production + contextual
  cgbench replay --data data/world --out results/ab \
    --cg base=learned:run=runs/base --cg ctx=learned:run=runs/ctx \
    --arm baseline=production+base --arm contextual=production+ctx`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Data == "" || opts.Out == "" {
				return usagef("--data and --out are required")
			}
			stale, err := sim.ParseStaleness(opts.Staleness)
			if err != nil {
				return usageError{err}
			}
			funnel := sim.DefaultFunnelConfig()
			if opts.Funnel != "" {
				if funnel, err = sim.LoadFunnelConfig(opts.Funnel, funnel); err != nil {
					return err
				}
			}
			pool, arms, err := sim.ParseArms(opts.CGs, opts.Arms)
			if err != nil {
				return usageError{err}
			}
			// The replay streams the request log from disk.
			w, err := datasets.Open(opts.Data, datasets.OpenOptions{SkipRequests: true})
			if err != nil {
				return err
			}
			truth, err := datasets.OpenTruth(opts.Data, w)
			if err != nil {
				return err
			}
			gens, err := sim.BuildGenerators(w, pool, experiment.LearnedFactory(cmd.Context(), w, opts.Seed))
			if err != nil {
				return err
			}
			simArms, err := sim.BuildArms(gens, arms)
			if err != nil {
				return err
			}
			p := newProgress(streams.Err, opts.Quiet)
			sum, err := sim.Replay(cmd.Context(), w, truth, simArms, sim.ReplayConfig{
				Funnel: funnel, Staleness: stale, Seed: opts.Seed, MaxRequests: opts.MaxRequests,
			}, opts.Out, p.stage("replay"))
			if err != nil {
				return err
			}
			fmt.Fprintf(streams.Out, "Replayed %d requests; per-CG impression share:\n", sum.Requests)
			if err := writeShares(streams.Out, sum); err != nil {
				return err
			}
			fmt.Fprintf(streams.Out, "wrote %s\n", opts.Out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Data, "data", "", "dataset folder")
	f.StringVar(&opts.Out, "out", "", "results folder")
	f.StringArrayVar(&opts.CGs, "cg", nil, "a CG: NAME[=KIND[:key=val,...]] (repeatable)")
	f.StringArrayVar(&opts.Arms, "arm", nil, "an arm: NAME=CG+CG+... (repeatable; \"production\" expands to the production mix)")
	f.StringVar(&opts.Funnel, "funnel", "", "funnel config YAML overriding the defaults (see docs/funnel.md)")
	f.StringVar(&opts.Staleness, "staleness", "daily", "user state of every CG: realtime, daily or weekly")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of the funnel noise and the responses")
	f.IntVar(&opts.MaxRequests, "max-requests", 0, "replay only the first N requests (0: all)")
	f.BoolVar(&opts.Quiet, "quiet", false, "no progress on stderr")
	_ = cmd.RegisterFlagCompletionFunc("staleness", cobra.FixedCompletions([]string{"realtime", "daily", "weekly"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

type armSpec struct {
	name string
	cgs  []string
}

// parseArms resolves --cg and --arm into the CG pool and the arms (see
// sim.ParseArms, which the Beam pipeline shares).
func parseArms(cgFlags, armFlags []string) ([]sim.CGSpec, []armSpec, error) {
	pool, specs, err := sim.ParseArms(cgFlags, armFlags)
	if err != nil {
		return nil, nil, err
	}
	arms := make([]armSpec, len(specs))
	for i, a := range specs {
		arms[i] = armSpec{name: a.Name, cgs: a.CGs}
	}
	return pool, arms, nil
}

func names(specs []sim.CGSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}
