package reports

import (
	"fmt"
	"io"
	"strconv"

	"github.com/cgbench/cgbench/datasets"
)

// WriteDescription writes `cgbench data describe` as terminal tables: the
// dataset's identity and tables, then the count distributions and the
// categorical mixes a data scientist checks first.
func WriteDescription(w io.Writer, d *datasets.Description) error {
	fmt.Fprintf(w, "%s: %s world, seed %d, data hash %.12s\n", d.Dir, d.Kind, d.Seed, d.Hash)
	fmt.Fprintf(w, "day 0 is %s; evaluation window: days %d-%d\n\n", d.StartDate, d.EvalStartDay, d.EvalStartDay+d.EvalDays-1)

	tables := grid{header: []string{"table", "rows", "bytes"}, numeric: []bool{false, true, true}}
	for _, t := range d.Tables {
		tables.rows = append(tables.rows, []cell{{text: t.File}, {text: strconv.FormatInt(t.Rows, 10)}, {text: strconv.FormatInt(t.Bytes, 10)}})
	}
	if err := renderTerminal(w, tables); err != nil {
		return fmt.Errorf("write description: %w", err)
	}

	q := grid{
		header:  []string{"distribution", "n", "mean", "p10", "p25", "p50", "p75", "p90", "p99", "max"},
		numeric: []bool{false, true, true, true, true, true, true, true, true, true},
	}
	for _, r := range []struct {
		name string
		q    datasets.Quantiles
	}{
		{"history length (events before the eval window)", d.HistoryLength},
		{"offsite events per user in the eval window", d.EvalEventsPerUser},
		{"requests per requesting user", d.RequestsPerUser},
	} {
		row := []cell{{text: r.name}, {text: strconv.FormatInt(r.q.N, 10)}, {text: strconv.FormatFloat(r.q.Mean, 'f', 2, 64)}}
		for _, x := range []float64{r.q.P10, r.q.P25, r.q.P50, r.q.P75, r.q.P90, r.q.P99, r.q.Max} {
			row = append(row, cell{text: strconv.FormatFloat(x, 'f', -1, 64)})
		}
		q.rows = append(q.rows, row)
	}
	fmt.Fprintln(w)
	if err := renderTerminal(w, q); err != nil {
		return fmt.Errorf("write description: %w", err)
	}
	fmt.Fprintf(w, "users with offsite activity in the eval window: %.1f%%; users with requests: %.1f%%\n",
		100*d.FreshActivityShare, 100*d.RequestUserShare)
	if d.ImpressionsPerRequest > 0 {
		fmt.Fprintf(w, "logged impressions per request: %.2f; click rate: %.2f%%\n", d.ImpressionsPerRequest, 100*d.ClickRate)
	}

	mixes := grid{header: []string{"mix", "value", "count", "share"}, numeric: []bool{false, false, true, true}}
	for _, m := range []struct {
		name   string
		shares []datasets.Share
	}{
		{"categories per ad Pin", d.CategoriesPerAdPin},
		{"categories per organic Pin", d.CategoriesPerOrganicPin},
		{"logged subject categories", d.SubjectCategories},
		{"event type", d.EventTypes},
		{"session intent (truth)", d.IntentKinds},
		{"age bucket", d.AgeBuckets},
		{"gender", d.Genders},
		{"country", d.Countries},
	} {
		for i, s := range m.shares {
			name := ""
			if i == 0 {
				name = m.name
			}
			mixes.rows = append(mixes.rows, []cell{{text: name}, {text: s.Key}, {text: strconv.FormatInt(s.Count, 10)}, {text: strconv.FormatFloat(100*s.Share, 'f', 1, 64) + "%"}})
		}
	}
	fmt.Fprintln(w)
	if err := renderTerminal(w, mixes); err != nil {
		return fmt.Errorf("write description: %w", err)
	}
	return nil
}
