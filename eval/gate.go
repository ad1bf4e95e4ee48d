package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// DefaultGateMetrics are gated when GateOptions.Metrics is nil: recall@100
// against the counterfactual funnel's impressions and against the logged
// impressions. A default metric that the baseline lacks (say, its Ks have no
// 100) is skipped; at least one must be present.
var DefaultGateMetrics = []string{"recall@100/counterfactual", "recall@100/logged"}

// GateOptions configure Gate.
type GateOptions struct {
	// Metrics to gate; nil means DefaultGateMetrics. Every figure of these
	// metrics on the whole population (every arm and CG of the baseline) is
	// gated.
	Metrics []string
	// MaxDrop is the tolerated drop: absolute (in the metric's unit) or, with
	// Relative, a fraction of the baseline value (0.05 = 5%). >= 0.
	MaxDrop  float64
	Relative bool
}

// GateRow is one gated figure.
type GateRow struct {
	Metric, Arm, CG   string
	Baseline, Current Estimate
	// Drop is baseline - current, absolute or (Relative, non-zero baseline)
	// relative to the baseline value; negative is an improvement.
	Drop      float64
	Regressed bool
	Reason    string
}

// GateResult is the outcome of Gate: Regressed when any row regressed.
type GateResult struct {
	Rows      []GateRow
	Regressed bool
	Warnings  []string // e.g. files without a data hash
}

// Gate compares the gated figures of current against baseline.
//
// Rule. Let tol = MaxDrop (absolute) or MaxDrop * |baseline.value|
// (relative), and floor = baseline.value - tol. A figure regresses when both
//
//	current.hi    < floor                  (its whole interval is below the tolerated floor)
//	current.value < baseline.lo - tol      (its value is below the baseline's interval, less the tolerance)
//
// hold. So a drop must exceed the tolerance and be clear of the noise that
// both intervals describe; a drop inside either interval is reported (as
// "within noise") but does not fail the gate. Because both files come from
// the same data and bootstrap seed, their intervals describe the same user
// resampling.
//
// Gate returns an error, and no result, when the files cannot be compared:
// different schema versions, data hashes, metric definitions
// (DefinitionHash) or confidence levels; a gated metric missing from the
// baseline, a baseline figure missing from current, or an undefined figure.
func Gate(baseline, current *File, opts GateOptions) (*GateResult, error) {
	if baseline == nil || current == nil {
		return nil, errors.New("gate: missing metrics file")
	}
	if !(opts.MaxDrop >= 0) || math.IsInf(opts.MaxDrop, 0) {
		return nil, fmt.Errorf("gate: max drop %v: want a finite value >= 0", opts.MaxDrop)
	}
	bp, cp := &baseline.Provenance, &current.Provenance
	switch {
	case baseline.SchemaVersion != current.SchemaVersion:
		return nil, fmt.Errorf("gate: schema versions differ (baseline %d, current %d): recompute both with the same cgbench", baseline.SchemaVersion, current.SchemaVersion)
	case bp.DataHash != cp.DataHash:
		return nil, fmt.Errorf("gate: data hashes differ (baseline %q, current %q): the files describe different data and cannot be compared", bp.DataHash, cp.DataHash)
	case bp.DefinitionHash != cp.DefinitionHash:
		return nil, fmt.Errorf("gate: metric definitions differ (baseline %s, current %s): the files were computed by cgbench versions that define metrics differently (%q vs %q)", short(bp.DefinitionHash), short(cp.DefinitionHash), bp.Version, cp.Version)
	case bp.ConfidenceLvl != cp.ConfidenceLvl:
		return nil, fmt.Errorf("gate: confidence levels differ (baseline %v, current %v)", bp.ConfidenceLvl, cp.ConfidenceLvl)
	}
	res := &GateResult{}
	if bp.DataHash == "" {
		res.Warnings = append(res.Warnings, "neither file records a data hash: cannot check that they describe the same data")
	}
	if bp.Seeds["bootstrap"] != cp.Seeds["bootstrap"] {
		res.Warnings = append(res.Warnings, fmt.Sprintf("bootstrap seeds differ (%d vs %d): intervals are from different resamples", bp.Seeds["bootstrap"], cp.Seeds["bootstrap"]))
	}
	metrics := opts.Metrics
	defaults := metrics == nil
	if defaults {
		metrics = DefaultGateMetrics
	}
	for _, m := range metrics {
		var rows []GateRow
		for _, b := range baseline.Figures {
			if b.Metric != m || b.Segment != "" {
				continue
			}
			c, ok := current.Lookup(b.Arm, b.CG, b.Metric, "", "")
			if !ok {
				return nil, fmt.Errorf("gate: current has no figure %s for arm %q CG %q, which the baseline has", m, b.Arm, b.CG)
			}
			row, err := gateRow(b, c, opts)
			if err != nil {
				return nil, err
			}
			rows = append(rows, row)
		}
		if len(rows) == 0 && !defaults {
			return nil, fmt.Errorf("gate: the baseline has no figure %s (metrics in it: %s)", m, strings.Join(metricNames(baseline), ", "))
		}
		res.Rows = append(res.Rows, rows...)
	}
	if len(res.Rows) == 0 {
		return nil, fmt.Errorf("gate: the baseline has none of the default gated metrics %v: name the metrics to gate", DefaultGateMetrics)
	}
	for _, r := range res.Rows {
		res.Regressed = res.Regressed || r.Regressed
	}
	return res, nil
}

func gateRow(b, c Figure, opts GateOptions) (GateRow, error) {
	row := GateRow{Metric: b.Metric, Arm: b.Arm, CG: b.CG, Baseline: b.Estimate, Current: c.Estimate}
	for _, e := range []struct {
		side string
		w    []string
	}{{"baseline", b.Warnings}, {"current", c.Warnings}} {
		for _, w := range e.w {
			if strings.HasPrefix(w, "undefined") {
				return row, fmt.Errorf("gate: %s figure %s of arm %q CG %q is %s", e.side, b.Metric, b.Arm, b.CG, w)
			}
		}
	}
	tol := opts.MaxDrop
	if opts.Relative {
		tol = opts.MaxDrop * math.Abs(b.Value)
	}
	floor := b.Value - tol
	row.Drop = b.Value - c.Value
	if opts.Relative && b.Value != 0 {
		row.Drop /= math.Abs(b.Value)
	}
	switch {
	case c.Hi < floor && c.Value < b.Lo-tol:
		row.Regressed = true
		row.Reason = fmt.Sprintf("regressed: current interval [%.4g, %.4g] below baseline - tolerance %.4g and current value below baseline low %.4g - tolerance", c.Lo, c.Hi, floor, b.Lo)
	case c.Value >= b.Value:
		row.Reason = "no drop"
	case c.Value >= floor:
		row.Reason = fmt.Sprintf("drop within tolerance %.4g", tol)
	default:
		row.Reason = "drop within noise: intervals overlap the tolerated floor"
	}
	if len(b.Warnings)+len(c.Warnings) > 0 {
		row.Reason += " (warnings: " + strings.Join(append(slices.Clone(b.Warnings), c.Warnings...), "; ") + ")"
	}
	return row, nil
}

func metricNames(f *File) []string {
	var out []string
	for _, g := range f.Figures {
		if !slices.Contains(out, g.Metric) {
			out = append(out, g.Metric)
		}
	}
	return out
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
