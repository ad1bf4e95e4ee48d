package reports

import (
	"os"
	"testing"

	"github.com/cgbench/cgbench/eval"
)

func TestScratch(t *testing.T) {
	WriteTable(os.Stdout, smallFile(), TableOptions{})
	WriteTable(os.Stdout, fullFile(1), TableOptions{Metrics: []string{"recall@100*", "roas*"}, Segments: []string{"*"}, Interval: Brackets})
	WriteHeadline(os.Stdout, fullFile(1), eval.Subject{Arm: "baseline", CG: "two_tower"}, eval.Subject{Arm: "contextual", CG: "two_tower"})
	WriteShares(os.Stdout, []ShareRow{{"baseline", "two_tower", 1000, 8, 0.008}})
	WriteCSV(os.Stdout, smallFile())
}
