package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/eval"
)

func TestWriteGate(t *testing.T) {
	res := &eval.GateResult{
		Rows: []eval.GateRow{
			{Metric: "recall@100/counterfactual", Arm: "a", CG: "c1", Baseline: eval.Estimate{Value: 0.5, Lo: 0.45, Hi: 0.55}, Current: eval.Estimate{Value: 0.3, Lo: 0.25, Hi: 0.35}, Drop: 0.2, Regressed: true, Reason: "below the floor"},
			{Metric: "recall@100/logged", Arm: "a", CG: "", Baseline: eval.Estimate{Value: 0.5}, Current: eval.Estimate{Value: 0.5}},
		},
		Regressed: true,
		Warnings:  []string{"bootstrap seeds differ"},
	}
	var buf bytes.Buffer
	if err := WriteGate(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"REGRESSED: below the floor", "0.5000 [0.4500, 0.5500]", "0.2000", "(all)", "warning: bootstrap seeds differ"} {
		if !strings.Contains(out, want) {
			t.Errorf("gate table lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "REGRESSED") != 1 {
		t.Errorf("gate table marks %d rows regressed, want 1:\n%s", strings.Count(out, "REGRESSED"), out)
	}
}
