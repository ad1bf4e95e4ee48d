package reports

import (
	"slices"

	"github.com/cgbench/cgbench/eval"
)

// grid is a formatted table: a header and rows of cells, the shared form of
// the terminal tables and the HTML tables.
type grid struct {
	header []string
	// numeric marks the columns that hold numbers (right-aligned).
	numeric []bool
	rows    [][]cell
}

// figureGridOptions selects the rows of a figure grid.
type figureGridOptions struct {
	metrics []string // glob patterns; none = all
	// segment decides which segment names to include ("" is the population).
	segment  func(name string) bool
	interval IntervalStyle
}

// figureGrid builds the benchstat-style table of one file: one row per
// (metric, segment value, CG), one column per arm, one delta column per pair
// of arms compared on the same CG. It returns the comparisons that fit no
// delta column (between CGs) among the selected metrics and segments.
func figureGrid(ix *index, o figureGridOptions, nt *notes) (grid, []eval.Comparison) {
	keepMetric := func(m string) bool { return matchAny(o.metrics, m) }
	keepSeg := func(s string) bool { return o.segment(s) }
	pairs := ix.armPairs(func(c eval.Comparison) bool { return keepMetric(c.Metric) && keepSeg(c.Segment) })

	type rowKey struct{ metric, segment, value, cg string }
	present := make(map[rowKey]bool)
	for _, fg := range ix.f.Figures {
		present[rowKey{fg.Metric, fg.Segment, fg.SegmentValue, fg.CG}] = true
	}
	for _, c := range ix.f.Comparisons {
		if c.A.CG == c.B.CG && c.A.Arm != c.B.Arm {
			present[rowKey{c.Metric, c.Segment, c.SegmentValue, c.A.CG}] = true
		}
	}
	segmented := false
	for k := range present {
		if k.segment != "" && keepMetric(k.metric) && keepSeg(k.segment) {
			segmented = true
		}
	}

	g := grid{header: []string{"metric", "cg"}, numeric: []bool{false, false}}
	if segmented {
		g.header = append(g.header, "segment")
		g.numeric = append(g.numeric, false)
	}
	for _, a := range ix.arms {
		g.header = append(g.header, a)
		g.numeric = append(g.numeric, true)
	}
	for _, p := range pairs {
		g.header = append(g.header, p.b+" vs "+p.a)
		g.numeric = append(g.numeric, true)
	}

	for _, m := range ix.metrics {
		if !keepMetric(m) {
			continue
		}
		firstOfMetric := true
		for _, s := range ix.segments {
			if !keepSeg(s) {
				continue
			}
			vals := []string{""}
			if s != "" {
				vals = ix.values[s]
			}
			for _, v := range vals {
				for _, cg := range ix.cgs {
					if !present[rowKey{m, s, v, cg}] {
						continue
					}
					row := make([]cell, 0, len(g.header))
					name := ""
					if firstOfMetric {
						name = m
						firstOfMetric = false
					}
					row = append(row, cell{text: name}, cell{text: cgLabel(cg)})
					if segmented {
						row = append(row, cell{text: segmentLabel(s, v)})
					}
					for _, a := range ix.arms {
						fg, ok := ix.fig(a, cg, m, s, v)
						if !ok {
							row = append(row, cell{text: "—"})
							continue
						}
						row = append(row, cell{text: fmtEstimateN(fg.Estimate, o.interval), notes: nt.add(fg.Warnings), kind: "num"})
					}
					for _, p := range pairs {
						c, ok := ix.cmp(m, s, v, eval.Subject{Arm: p.a, CG: cg}, eval.Subject{Arm: p.b, CG: cg})
						if !ok {
							row = append(row, cell{text: ""})
							continue
						}
						ws := append(slices.Clone(c.Diff.Warnings), c.Relative.Warnings...)
						row = append(row, cell{text: fmtDelta(c), notes: nt.add(ws), kind: deltaKind(c)})
					}
					g.rows = append(g.rows, row)
				}
			}
		}
	}

	var other []eval.Comparison
	for _, c := range ix.f.Comparisons {
		if keepMetric(c.Metric) && keepSeg(c.Segment) && (c.A.CG != c.B.CG || c.A.Arm == c.B.Arm) {
			other = append(other, c)
		}
	}
	return g, other
}

// comparisonGrid lists comparisons one per row: metric, segment, B vs A,
// absolute difference, relative change, raw and Holm-adjusted p-values.
func comparisonGrid(cs []eval.Comparison, nt *notes) grid {
	g := grid{
		header:  []string{"metric", "segment", "B vs A", "diff [interval]", "change (p adjusted)", "p", "p (Holm)"},
		numeric: []bool{false, false, false, true, true, true, true},
	}
	for _, c := range cs {
		ws := append(slices.Clone(c.Diff.Warnings), c.Relative.Warnings...)
		g.rows = append(g.rows, []cell{
			{text: c.Metric},
			{text: segmentLabel(c.Segment, c.SegmentValue)},
			{text: subjectLabel(c.B) + " vs " + subjectLabel(c.A)},
			{text: fmtDiff(c), kind: "num"},
			{text: fmtDelta(c), notes: nt.add(ws), kind: deltaKind(c)},
			{text: fmtPBare(c.PValue), kind: "num"},
			{text: fmtPBare(c.PAdjusted), kind: "num"},
		})
	}
	return g
}
