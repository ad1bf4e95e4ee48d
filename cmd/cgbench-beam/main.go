// Command cgbench-beam runs `cgbench replay` and `cgbench eval` as one Apache
// Beam pipeline: locally on Prism (in process, the default) or on a
// portable runner (Flink, Spark) through a job endpoint, and on Dataflow when
// built with -tags dataflow. It lives in its own module so that the main
// cgbench binary does not carry the Beam SDK.
//
//	cgbench-beam --data data/world --out results/beam
//	cgbench-beam --data data/world --out results/ab \
//	  --arm a=production --cg ctx=learned:run=runs/ctx --arm b=production+ctx
//	cgbench-beam --runner flink --endpoint localhost:8099 --environment_type LOOPBACK ...
//
// Flags are Go flags (Beam's own, such as --runner, --endpoint,
// --environment_type and --job_name, share the command line).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := Main(ctx, flag.CommandLine, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// intList is a comma-separated list of ints.
type intList []int

func (l *intList) String() string {
	var parts []string
	for _, k := range *l {
		parts = append(parts, strconv.Itoa(k))
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(v string) error {
	*l = nil
	for _, p := range strings.Split(v, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return fmt.Errorf("%q is not an integer", p)
		}
		*l = append(*l, k)
	}
	return nil
}

// bindFlags binds c's fields to fs (Beam's flags are on flag.CommandLine).
func bindFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.Data, "data", "", "dataset folder (every worker must read it)")
	fs.StringVar(&c.Out, "out", "", "results folder (every worker must write it)")
	fs.Var((*stringList)(&c.Requests), "requests", "request log file or glob, each with its truth at DATA/truth/<same name> (repeatable; default DATA/requests.parquet)")
	fs.Var((*stringList)(&c.CGs), "cg", "a CG: NAME[=KIND[:key=val,...]] (repeatable; as cgbench replay)")
	fs.Var((*stringList)(&c.Arms), "arm", "an arm: NAME=CG+CG+... (repeatable; \"production\" expands to the production mix)")
	fs.StringVar(&c.Funnel, "funnel", "", "funnel config YAML overriding the defaults")
	fs.StringVar(&c.Staleness, "staleness", "daily", "user state of every CG: realtime, daily or weekly")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the funnel noise and the responses")
	fs.IntVar(&c.MaxRequests, "max-requests", 0, "replay only the first N requests (0: all)")
	fs.Int64Var(&c.RangeRows, "range-rows", DefaultRangeRows, "request rows per unit of work")
	fs.Var((*intList)(&c.Ks), "k", "cut-offs of Recall@K, NDCG@K and hit@K (default 10,50,100,500)")
	fs.Var((*stringList)(&c.Segments), "by", "split by a segment (repeatable): history_length, context_strength, fresh_activity, country_tier")
	fs.IntVar(&c.Reps, "reps", 0, "bootstrap replicates (default 1000)")
	fs.Float64Var(&c.Confidence, "confidence", 0, "confidence level of the intervals (default 0.95)")
	fs.Uint64Var(&c.EvalSeed, "eval-seed", 1, "bootstrap seed (cgbench eval --seed)")
	fs.Var((*stringList)(&c.Compare), "compare", "a paired comparison A:B, each ARM or ARM/CG (repeatable; default: every arm against the first)")
	fs.StringVar(&c.Version, "version-label", "cgbench-beam", "version recorded in the metrics' provenance")
	fs.BoolVar(&c.Timestamp, "timestamp", false, "record the wall-clock time in metrics.json (off: byte-identical reruns)")
}

// Main parses args into fs (which must hold Beam's flags: flag.CommandLine)
// and runs the pipeline; it returns the exit code: 0 ok, 1 error, 2 usage.
func Main(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	var c Config
	bindFlags(fs, &c)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	// Beam's worker mode (on a remote runner the binary is started as a
	// worker) takes over here.
	beam.Init()
	if c.Data == "" || c.Out == "" {
		fmt.Fprintln(stderr, "cgbench-beam: --data and --out are required")
		return 2
	}
	if _, err := c.evalOptions(); err != nil {
		fmt.Fprintln(stderr, "cgbench-beam:", err)
		return 2
	}
	runner := *runners.Runner
	if runner == "" {
		runner = "prism"
	}
	n, err := run(ctx, c, runner)
	if err != nil {
		fmt.Fprintln(stderr, "cgbench-beam:", err)
		return 1
	}
	fmt.Fprintf(stdout, "replayed %d ranges on %s\nwrote %s\n", n, runner, c.Out)
	return 0
}

// run plans the ranges, clears the output folder's previous results and
// runs the pipeline on runner; it returns the number of ranges.
func run(ctx context.Context, c Config, runner string) (int, error) {
	// Workers may start elsewhere: hand them absolute paths.
	for _, p := range []*string{&c.Data, &c.Out, &c.Funnel} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return 0, err
		}
		*p = abs
	}
	c.Requests = slices.Clone(c.Requests)
	for i, p := range c.Requests {
		abs, err := filepath.Abs(p)
		if err != nil {
			return 0, err
		}
		c.Requests[i] = abs
	}
	ranges, err := plan(&c)
	if err != nil {
		return 0, err
	}
	if err := prepareOut(c.Out); err != nil {
		return 0, err
	}
	p, s := beam.NewPipelineWithRoot()
	build(s, c, ranges)
	if _, err := beam.Run(ctx, runner, p); err != nil {
		return 0, fmt.Errorf("run pipeline on %s: %w", runner, err)
	}
	return len(ranges), nil
}
