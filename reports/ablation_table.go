package reports

import (
	"fmt"
	"io"
	"strconv"

	"github.com/cgbench/cgbench/eval"
)

// AblationRow is one cell of an ablation: a variant under one seed, and the
// subjects whose paired difference the ablation table shows.
type AblationRow struct {
	Variant   string
	Seed      uint64
	File      *eval.File
	Base      eval.Subject // zero: the A side of the first comparison of one CG across arms
	Candidate eval.Subject // zero: its B side
}

// AblationMetrics are the columns of the ablation table.
var AblationMetrics = []string{"recall@100/counterfactual", "recall@100/logged", "survival/impressed", "impression_share", "median_relevance/retrieved"}

// WriteAblationTable writes one row per ablation cell with, per metric, the
// candidate's value and its paired change against the base ("~" when not
// significant).
func WriteAblationTable(w io.Writer, rows []AblationRow) error {
	g := grid{header: []string{"variant", "seed"}, numeric: []bool{false, true}}
	for _, m := range AblationMetrics {
		g.header = append(g.header, m, "Δ "+m)
		g.numeric = append(g.numeric, true, true)
	}
	for _, r := range rows {
		base, cand := r.Base, r.Candidate
		if base == (eval.Subject{}) && cand == (eval.Subject{}) {
			for _, c := range r.File.Comparisons {
				if c.A.Arm != c.B.Arm && c.A.CG != "" && c.A.CG == c.B.CG && c.Segment == "" {
					base, cand = c.A, c.B
					break
				}
			}
		}
		row := []cell{{text: r.Variant}, {text: strconv.FormatUint(r.Seed, 10)}}
		for _, m := range AblationMetrics {
			val, delta := "n/a", "n/a"
			if fg, ok := r.File.Lookup(cand.Arm, cand.CG, m, "", ""); ok {
				val = strconv.FormatFloat(fg.Value, 'f', 4, 64)
			}
			for _, c := range r.File.Comparisons {
				if c.Metric == m && c.Segment == "" && c.A == base && c.B == cand {
					if c.Significant {
						delta = fmt.Sprintf("%+.4f [%+.4f, %+.4f]", c.Diff.Value, c.Diff.Lo, c.Diff.Hi)
					} else {
						delta = "~"
					}
				}
			}
			row = append(row, cell{text: val}, cell{text: delta})
		}
		g.rows = append(g.rows, row)
	}
	if err := renderTerminal(w, g); err != nil {
		return fmt.Errorf("write ablation table: %w", err)
	}
	return nil
}
