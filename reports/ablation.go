package reports

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"

	"github.com/cgbench/cgbench/eval"
)

// ablationMetrics picks the metrics an ablation plots, from the first
// variant's file: Recall@K (counterfactual, K closest to 100), end-to-end
// survival, impression share, median relevance and ROAS, those present.
func ablationMetrics(ix *index) []string {
	var out []string
	bestK, best := 0, ""
	for _, m := range ix.metrics {
		fam, k, q, ok := parseK(m)
		if !ok || fam != "recall" || q != "counterfactual" {
			continue
		}
		if best == "" || abs(k-100) < abs(bestK-100) {
			bestK, best = k, m
		}
	}
	if best != "" {
		out = append(out, best)
	}
	for _, m := range []string{"survival/impressed", "impression_share", "median_relevance/retrieved", "roas"} {
		if slices.Contains(ix.metrics, m) {
			out = append(out, m)
		}
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// parseStaleness reads a feature-store staleness as days: "daily" = 1,
// "hourly" = 1/24, "weekly" = 7, "none"/"fresh" = 0, "3d", Go durations
// ("6h"), or a bare number of days.
func parseStaleness(s string) (float64, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "none", "fresh", "online", "realtime", "real-time":
		return 0, true
	case "hourly":
		return 1.0 / 24, true
	case "daily":
		return 1, true
	case "weekly":
		return 7, true
	case "monthly":
		return 30, true
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if v, err := strconv.ParseFloat(n, 64); err == nil {
			return v, true
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d.Hours() / 24, true
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return v, true
	}
	return 0, false
}

// ablationAxis is the x axis of an ablation's curves.
type ablationAxis struct {
	key    string             // override key; "" = variant order
	xs     []float64          // per variant
	ticks  plot.ConstantTicks // nil for numeric axes
	xlabel string
}

// axisFor places the variants along an override key: numerically when
// every variant's value parses (as staleness days for staleness keys),
// else in variant order labelled with the values.
func axisFor(key string, vs []Variant) ablationAxis {
	ax := ablationAxis{key: key, xlabel: key}
	stale := strings.Contains(strings.ToLower(key), "staleness")
	numeric := key != ""
	for _, v := range vs {
		val, present := v.Overrides[key]
		var x float64
		var ok bool
		if stale {
			x, ok = parseStaleness(val)
		} else {
			var err error
			x, err = strconv.ParseFloat(strings.TrimSpace(val), 64)
			ok = err == nil
		}
		if !present || !ok || !finite(x) {
			numeric = false
			break
		}
		ax.xs = append(ax.xs, x)
	}
	if numeric {
		if stale {
			ax.xlabel = key + " (days)"
		}
		return ax
	}
	ax.xs = ax.xs[:0]
	for i, v := range vs {
		ax.xs = append(ax.xs, float64(i))
		label := v.Name
		if val, ok := v.Overrides[key]; ok && key != "" {
			label = val
		}
		ax.ticks = append(ax.ticks, plot.Tick{Value: float64(i), Label: label})
	}
	if key == "" {
		ax.xlabel = "variant"
	}
	return ax
}

// buildAblation assembles the ablation views: a table of every variant's
// headline metrics with the change candidate vs baseline, curves of those
// metrics against the varying override, and staleness curves when an
// override names staleness.
func buildAblation(a *Ablation, opts HTMLOptions, nt *notes) (*ablationView, error) {
	var vs []Variant
	for _, v := range a.Variants {
		if v.File != nil {
			vs = append(vs, v)
		}
	}
	name := a.Name
	if name == "" {
		name = "ablation"
	}
	av := &ablationView{Name: name}
	if len(vs) == 0 {
		av.Note = "no variant has metrics"
		return av, nil
	}
	first := newIndex(vs[0].File)
	base, cand := opts.Baseline, opts.Candidate
	if base == (eval.Subject{}) && cand == (eval.Subject{}) {
		var ok bool
		if base, cand, ok = first.focus(); !ok {
			av.Note = "the variants have fewer than two arms to compare"
			return av, nil
		}
	}
	metrics := ablationMetrics(first)

	// Keys whose values differ across variants, sorted; staleness keys are
	// found among all keys so a constant staleness still labels the section.
	keySet := make(map[string]bool)
	for _, v := range vs {
		for k := range v.Overrides {
			keySet[k] = true
		}
	}
	var varying []string
	staleKey := ""
	for _, k := range slices.Sorted(maps.Keys(keySet)) {
		vals := make(map[string]bool)
		for _, v := range vs {
			vals[v.Overrides[k]] = true
		}
		if len(vals) > 1 {
			varying = append(varying, k)
		}
		if staleKey == "" && strings.Contains(strings.ToLower(k), "staleness") {
			staleKey = k
		}
	}
	primary := ""
	for _, k := range varying {
		if axisFor(k, vs).ticks == nil {
			primary = k
			break
		}
	}
	if primary == "" && len(varying) > 0 {
		primary = varying[0]
	}
	ax := axisFor(primary, vs)

	// Table: one row per (variant, metric).
	g := grid{
		header:  []string{"variant", "overrides and seeds", "metric", subjectLabel(base), subjectLabel(cand), "change"},
		numeric: []bool{false, false, false, true, true, true},
	}
	for _, v := range vs {
		ix := newIndex(v.File)
		var ov []string
		for _, k := range slices.Sorted(maps.Keys(v.Overrides)) {
			ov = append(ov, k+"="+v.Overrides[k])
		}
		seeds := make([]string, len(v.Seeds))
		for i, s := range v.Seeds {
			seeds[i] = strconv.FormatUint(s, 10)
		}
		for mi, m := range metrics {
			row := []cell{{}, {}, {text: m}}
			if mi == 0 {
				row[0].text = v.Name
				row[1].text = strings.Join(ov, ", ")
				if len(seeds) > 0 {
					row[1].text += "; seeds " + strings.Join(seeds, ", ")
				}
				row[1].kind = "wrap"
			}
			for _, s := range []eval.Subject{base, cand} {
				if fg, ok := ix.figOrArm(s.Arm, s.CG, m); ok {
					row = append(row, cell{text: fmtEstimateN(fg.Estimate, Brackets), notes: nt.add(fg.Warnings), kind: "num"})
				} else {
					row = append(row, cell{text: "—"})
				}
			}
			if c, ok := ix.cmpOrArm(m, base, cand); ok {
				row = append(row, cell{text: fmtDelta(c), kind: deltaKind(c)})
			} else {
				row = append(row, cell{})
			}
			g.rows = append(g.rows, row)
		}
	}
	av.Table = g.view(name + ": every variant")

	curves := func(ax ablationAxis, what string) ([]chartView, error) {
		var out []chartView
		for _, m := range metrics {
			lines := make(map[string][]curvePoint)
			order := []string{subjectLabel(base), subjectLabel(cand)}
			for i, v := range vs {
				ix := newIndex(v.File)
				for j, s := range []eval.Subject{base, cand} {
					if fg, ok := ix.figOrArm(s.Arm, s.CG, m); ok {
						lines[order[j]] = append(lines[order[j]], curvePoint{x: ax.xs[i], est: fg.Estimate})
					}
				}
			}
			for _, k := range order {
				slices.SortStableFunc(lines[k], func(a, b curvePoint) int {
					switch {
					case a.x < b.x:
						return -1
					case a.x > b.x:
						return 1
					}
					return 0
				})
			}
			svg, err := curveChart(fmt.Sprintf("%s vs %s", m, ax.xlabel), ax.xlabel, m, lines, order, ax.ticks)
			if err != nil {
				return nil, fmt.Errorf("%s curve %s: %w", what, m, err)
			}
			out = appendChart(out, fmt.Sprintf("%s against %s; bars: %s interval", m, ax.xlabel, confidenceLabel(vs[0].File)), svg)
		}
		return out, nil
	}

	av.StaleKey = staleKey
	if staleKey != "" {
		sc, err := curves(axisFor(staleKey, vs), "staleness")
		if err != nil {
			return nil, err
		}
		av.Staleness = sc
	}
	if staleKey != "" && primary == staleKey {
		av.Note = "the varying override is the staleness: its curves are in the staleness section"
		return av, nil
	}
	c, err := curves(ax, "ablation")
	if err != nil {
		return nil, err
	}
	av.Curves = c
	av.Axis = ax.xlabel
	return av, nil
}
