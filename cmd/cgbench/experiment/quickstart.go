package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cgbench/cgbench/eval"
)

// QuickstartResult is what Quickstart wrote.
type QuickstartResult struct {
	Cell    *Cell
	Metrics string // out/metrics.json
	Report  string // out/report.html
	Elapsed time.Duration
}

// Quickstart runs one study cell into out (stages under out/cache), copies
// its metrics to out/metrics.json and renders out/report.html.
func Quickstart(ctx context.Context, s Study, seed uint64, out string, h Hooks) (*QuickstartResult, error) {
	start := time.Now()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("quickstart: %w", err)
	}
	c, err := RunCell(ctx, s, seed, filepath.Join(out, "cache"), h)
	if err != nil {
		return nil, err
	}
	res := &QuickstartResult{Cell: c, Metrics: filepath.Join(out, MetricsFile), Report: filepath.Join(out, "report.html")}
	if err := eval.WriteFile(res.Metrics, c.Metrics); err != nil {
		return nil, err
	}
	if err := RenderReport([]string{res.Metrics}, res.Report, "cgbench quickstart: contextual vs baseline two-tower CG"); err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}
