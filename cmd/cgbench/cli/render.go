package cli

import (
	"io"

	"github.com/cgbench/cgbench/reports"
	"github.com/cgbench/cgbench/sim"
)

// shareRows lists every CG's impression share of every arm of a replay.
func shareRows(sum *sim.ReplaySummary) []reports.ShareRow {
	var rows []reports.ShareRow
	for _, a := range sum.Arms {
		for _, c := range a.CGs {
			rows = append(rows, reports.ShareRow{Arm: a.Name, CG: c.Name, Retrieved: c.Retrieved, Impressions: c.Impressions, Share: c.ImpressionShare})
		}
	}
	return rows
}

func writeShares(w io.Writer, sum *sim.ReplaySummary) error {
	return reports.WriteShares(w, shareRows(sum))
}
