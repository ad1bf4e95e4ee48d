package reports

import (
	"fmt"
	"io"
	"strconv"

	"github.com/cgbench/cgbench/eval"
)

// WriteGate writes what `cgbench gate` compared: one row per gated figure
// with both estimates, the drop and the verdict, then the gate's warnings.
func WriteGate(w io.Writer, r *eval.GateResult) error {
	g := grid{
		header:  []string{"metric", "arm", "cg", "baseline", "current", "drop", "verdict"},
		numeric: []bool{false, false, false, true, true, true, false},
	}
	for _, row := range r.Rows {
		verdict := "ok"
		if row.Regressed {
			verdict = "REGRESSED"
		}
		if row.Reason != "" {
			verdict += ": " + row.Reason
		}
		g.rows = append(g.rows, []cell{
			{text: row.Metric}, {text: row.Arm}, {text: cgLabel(row.CG)},
			{text: gateEstimate(row.Baseline)}, {text: gateEstimate(row.Current)},
			{text: strconv.FormatFloat(row.Drop, 'f', 4, 64)}, {text: verdict},
		})
	}
	if err := renderTerminal(w, g); err != nil {
		return fmt.Errorf("write gate: %w", err)
	}
	for _, msg := range r.Warnings {
		if _, err := fmt.Fprintf(w, "warning: %s\n", msg); err != nil {
			return fmt.Errorf("write gate: %w", err)
		}
	}
	return nil
}

func gateEstimate(e eval.Estimate) string {
	return fmt.Sprintf("%.4f [%.4f, %.4f]", e.Value, e.Lo, e.Hi)
}
