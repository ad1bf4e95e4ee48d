// Command cgbench evaluates ad candidate generators offline: it generates or
// reads Related Pins logs, trains the baseline and contextual two-tower
// models, replays traffic through a simulated ranking and auction funnel and
// reports Recall@K on survived candidates, survival, impression share,
// relevance and ROAS with confidence intervals.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cgbench/cgbench/cmd/cgbench/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
