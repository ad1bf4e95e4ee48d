// Package cli holds cgbench's cobra commands. Each command binds its flags
// into an options struct and hands it to a run function in the packages that
// do the work; the exit code is decided in one place, Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes of cgbench.
const (
	ExitOK         = 0
	ExitError      = 1
	ExitUsage      = 2
	ExitRegression = 3 // cgbench gate: a gated metric regressed
)

// Version is cgbench's version, recorded in every result's provenance.
const Version = "0.1.0"

// usageError marks an error in how cgbench was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errRegression is returned by gate when a gated metric regressed.
var errRegression = errors.New("gate failed: regression")

// IO carries the streams a command writes to.
type IO struct {
	Out io.Writer
	Err io.Writer
}

// Main runs cgbench with args and returns its exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	streams := &IO{Out: stdout, Err: stderr}
	root := NewRootCmd(streams)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errRegression):
		return ExitRegression
	case isUsage(err):
		fmt.Fprintf(stderr, "cgbench: %v\nRun 'cgbench --help' for usage.\n", err)
		return ExitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "cgbench: interrupted; finished work is kept, partial files were removed")
		return ExitError
	default:
		fmt.Fprintf(stderr, "cgbench: %v\n", err)
		return ExitError
	}
}

func isUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	// cobra reports unknown commands and bad arguments as plain errors.
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "required flag", "invalid argument", "flag needs an argument", "bad flag syntax"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// NewRootCmd builds the cgbench command tree.
func NewRootCmd(streams *IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "cgbench",
		Short: "Offline evaluation of ad candidate generators on contextual surfaces",
		Long: `cgbench replays Related Pins traffic through ad candidate generators (CGs),
simulates the ranking and auction funnel, and measures Recall@K on survived
candidates, candidate survival, impression share, relevance and ROAS with
bootstrap confidence intervals.

Exit codes: 0 ok, 1 error, 2 usage, 3 gate found a regression.`,
		Example: `  # the whole study on the embedded synthetic world
  cgbench quickstart --out runs/qs

  # a world, then a look at it
  cgbench data generate --out data/world
  cgbench data describe data/world`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newQuickstartCmd(streams),
		newDataCmd(streams),
		newTrainCmd(streams),
		newInferCmd(streams),
		newReplayCmd(streams),
		newEvalCmd(streams),
		newExportCmd(streams),
		newGateCmd(streams),
		newReportCmd(streams),
		newAblateCmd(streams),
		newNextItemCmd(streams),
	)
	for _, c := range root.Commands() {
		markUsage(c)
	}
	return root
}

// markUsage makes flag errors of every subcommand usage errors.
func markUsage(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, s := range c.Commands() {
		markUsage(s)
	}
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs with a usage error.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MinimumNArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
