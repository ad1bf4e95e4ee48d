package reports

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cgbench/cgbench/eval"
)

// headlineLabels names the headline metrics that are not Recall@K, in the
// order of the quickstart's table.
var headlineLabels = []struct{ metric, label string }{
	{"survival/impressed", "survival rate (end to end)"},
	{"impression_share", "impression share"},
	{"median_relevance/retrieved", "median relevance (retrieved)"},
	{"mean_relevance/delivered", "mean relevance (delivered)"},
	{"roas", "ROAS"},
}

// headlineMetrics lists the headline rows of a file as (metric, label):
// Recall@K on survived candidates, counterfactual then logged, by K; then
// survival, impression share, relevance, ROAS and its per-country variants.
func headlineMetrics(ix *index) [][2]string {
	type rk struct {
		k    int
		qual string
	}
	var recalls []rk
	for _, m := range ix.metrics {
		fam, k, q, ok := parseK(m)
		if ok && fam == "recall" && (q == "counterfactual" || q == "logged") {
			recalls = append(recalls, rk{k, q})
		}
	}
	slices.SortStableFunc(recalls, func(a, b rk) int {
		if a.qual != b.qual {
			// counterfactual first: it is the funnel the CG is judged by.
			return strings.Compare(a.qual, b.qual)
		}
		return a.k - b.k
	})
	var out [][2]string
	for _, r := range recalls {
		out = append(out, [2]string{fmt.Sprintf("recall@%d/%s", r.k, r.qual), fmt.Sprintf("Recall@%d on survived (%s)", r.k, r.qual)})
	}
	for _, h := range headlineLabels {
		if slices.Contains(ix.metrics, h.metric) {
			out = append(out, [2]string{h.metric, h.label})
		}
	}
	for _, m := range ix.metrics {
		if strings.HasPrefix(m, "roas/") {
			out = append(out, [2]string{m, "ROAS (" + strings.TrimPrefix(m, "roas/") + ")"})
		}
	}
	return out
}

// headlineGrid builds the headline table: one row per headline metric with
// the baseline and candidate estimates and the paired change of candidate vs
// baseline (relative and absolute, with intervals). Arm-level figures stand
// in when a metric has none for the subject's CG (ROAS is per arm).
func headlineGrid(ix *index, base, cand eval.Subject, style IntervalStyle, nt *notes) grid {
	g := grid{
		header:  []string{"metric", subjectLabel(base), subjectLabel(cand), "change", "diff"},
		numeric: []bool{false, true, true, true, true},
	}
	for _, mm := range headlineMetrics(ix) {
		m, label := mm[0], mm[1]
		row := []cell{{text: label}}
		found := false
		for _, s := range []eval.Subject{base, cand} {
			fg, ok := ix.figOrArm(s.Arm, s.CG, m)
			if !ok {
				row = append(row, cell{text: "—"})
				continue
			}
			found = true
			row = append(row, cell{text: fmtEstimateN(fg.Estimate, style), notes: nt.add(fg.Warnings), kind: "num"})
		}
		if c, ok := ix.cmpOrArm(m, base, cand); ok {
			ws := append(slices.Clone(c.Diff.Warnings), c.Relative.Warnings...)
			row = append(row,
				cell{text: fmtDelta(c), notes: nt.add(ws), kind: deltaKind(c)},
				cell{text: fmtDiff(c), kind: "num"})
		} else {
			row = append(row, cell{text: "no paired comparison"}, cell{text: ""})
		}
		if found {
			g.rows = append(g.rows, row)
		}
	}
	return g
}

// WriteHeadline writes the quickstart's headline table of f: Recall@K on
// survived candidates (counterfactual and logged), end-to-end survival rate,
// impression share, median relevance, ROAS, each for base and cand with its
// interval, and the paired change cand vs base with its interval and
// Holm-adjusted p ("~" when not significant). Warnings print as footnotes.
func WriteHeadline(w io.Writer, f *eval.File, base, cand eval.Subject) error {
	if f == nil {
		return errors.New("write headline: nil metrics file")
	}
	ix := newIndex(f)
	var nt notes
	g := headlineGrid(ix, base, cand, Brackets, &nt)
	if len(g.rows) == 0 {
		return fmt.Errorf("write headline: no headline figures for %s or %s", subjectLabel(base), subjectLabel(cand))
	}
	if err := renderTerminal(w, g); err != nil {
		return fmt.Errorf("write headline: %w", err)
	}
	if err := writeFootnotes(w, f, &nt); err != nil {
		return fmt.Errorf("write headline: %w", err)
	}
	return nil
}
