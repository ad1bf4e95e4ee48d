package reports

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/cgbench/cgbench/eval"
)

// TableOptions selects what WriteTable prints. The zero value prints every
// metric on the whole population with "±" intervals.
type TableOptions struct {
	// Metrics are glob patterns over metric names ('*' matches any run of
	// characters, including '/'): "recall@*" selects every recall metric.
	// None selects every metric.
	Metrics []string
	// Segments are glob patterns over segment names ("country", "*") whose
	// rows print after the whole-population rows. None prints no segments.
	Segments []string
	// Interval selects "value ± half-width" (PlusMinus) or "value [lo, hi]".
	Interval IntervalStyle
}

// WriteTable writes a benchstat-style table of f: for each selected metric,
// one row per CG (and segment value), one column per arm with the estimate,
// its interval and n, and one column per pair of compared arms with the
// paired change, its interval and Holm-adjusted p-value, or "~" when the
// change is not significant. Comparisons between CGs follow in a second
// table. Warnings attached to a number print as footnote markers next to it
// and in full below the tables, followed by the file's run-level warnings.
func WriteTable(w io.Writer, f *eval.File, opts TableOptions) error {
	if f == nil {
		return errors.New("write table: nil metrics file")
	}
	ix := newIndex(f)
	var nt notes
	g, other := figureGrid(ix, figureGridOptions{
		metrics:  opts.Metrics,
		segment:  func(s string) bool { return s == "" || len(opts.Segments) > 0 && matchAny(opts.Segments, s) },
		interval: opts.Interval,
	}, &nt)
	if len(g.rows) == 0 {
		if _, err := fmt.Fprintln(w, "no figures match the selection"); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	} else if err := renderTerminal(w, g); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	if len(other) > 0 {
		if _, err := fmt.Fprintln(w, "\ncomparisons between CGs:"); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
		if err := renderTerminal(w, comparisonGrid(other, &nt)); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	if err := writeFootnotes(w, f, &nt); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// writeFootnotes prints the interval convention, numbered warnings and the
// run-level warnings of f.
func writeFootnotes(w io.Writer, f *eval.File, nt *notes) error {
	if _, err := fmt.Fprintln(w, intervalNote(f)); err != nil {
		return err
	}
	for i, t := range nt.texts {
		if _, err := fmt.Fprintf(w, "%s %s\n", superscript(i+1), t); err != nil {
			return err
		}
	}
	for _, t := range f.Warnings {
		if _, err := fmt.Fprintf(w, "warning: %s\n", t); err != nil {
			return err
		}
	}
	return nil
}

// renderTerminal draws a grid with tablewriter: headers as given (no
// upper-casing), numbers right-aligned.
func renderTerminal(w io.Writer, g grid) error {
	align := make(tw.Alignment, len(g.header))
	for i := range align {
		align[i] = tw.AlignLeft
		if i < len(g.numeric) && g.numeric[i] {
			align[i] = tw.AlignRight
		}
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Configure(func(c *tablewriter.Config) {
		c.Row.Alignment.PerColumn = align
	})
	t.Header(anyStrings(g.header)...)
	for _, r := range g.rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = c.terminal()
		}
		if err := t.Append(cells); err != nil {
			return err
		}
	}
	return t.Render()
}

func anyStrings(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// ShareRow is one CG's share of the impressions of an arm, as counted by a
// replay.
type ShareRow struct {
	Arm, CG     string
	Retrieved   int64   // candidates the CG retrieved
	Impressions int64   // impressions attributed to the CG
	Share       float64 // Impressions / all impressions of the arm, in [0, 1]
}

// WriteShares writes the per-CG impression share table printed by
// `cgbench replay`, rows in the order given.
func WriteShares(w io.Writer, rows []ShareRow) error {
	g := grid{
		header:  []string{"arm", "cg", "retrieved", "impressions", "share"},
		numeric: []bool{false, false, true, true, true},
	}
	for _, r := range rows {
		share := "n/a"
		if finite(r.Share) {
			share = strconv.FormatFloat(100*r.Share, 'f', 2, 64) + "%"
		}
		g.rows = append(g.rows, []cell{
			{text: r.Arm}, {text: cgLabel(r.CG)},
			{text: strconv.FormatInt(r.Retrieved, 10)},
			{text: strconv.FormatInt(r.Impressions, 10)},
			{text: share},
		})
	}
	if err := renderTerminal(w, g); err != nil {
		return fmt.Errorf("write shares: %w", err)
	}
	return nil
}
