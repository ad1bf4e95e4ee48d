package reports

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/eval"
)

// TestWriteCSVRoundTrip reads the CSV back with encoding/csv and checks
// every field against the figures, including names that need quoting.
func TestWriteCSVRoundTrip(t *testing.T) {
	f := fullFile(1)
	f.Figures = append(f.Figures, eval.Figure{
		Arm: "arm, with comma", CG: `cg "quoted"`, Metric: "recall@10/logged", Segment: "country", SegmentValue: "US",
		Estimate: eval.Estimate{Value: 1.0 / 3, Lo: 0.1, Hi: 0.7, N: 3, Users: 2, Warnings: []string{"first", "second\nline"}},
	})
	var buf bytes.Buffer
	if err := WriteCSV(&buf, f); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("read back CSV: %v", err)
	}
	if !slices.Equal(recs[0], csvHeader) {
		t.Fatalf("header = %q, want %q", recs[0], csvHeader)
	}
	if got, want := len(recs)-1, len(f.Figures); got != want {
		t.Fatalf("rows = %d, want %d", got, want)
	}
	for i, fg := range f.Figures {
		r := recs[i+1]
		num := func(col int) float64 {
			v, err := strconv.ParseFloat(r[col], 64)
			if err != nil {
				t.Fatalf("row %d column %s: %v", i+1, csvHeader[col], err)
			}
			return v
		}
		atoi := func(col int) int {
			v, err := strconv.Atoi(r[col])
			if err != nil {
				t.Fatalf("row %d column %s: %v", i+1, csvHeader[col], err)
			}
			return v
		}
		got := eval.Figure{Arm: r[0], CG: r[1], Metric: r[2], Segment: r[3], SegmentValue: r[4],
			Estimate: eval.Estimate{Value: num(5), Lo: num(6), Hi: num(7), N: atoi(8), Users: atoi(9)}}
		if r[10] != "" {
			got.Warnings = strings.Split(r[10], warningSep)
		}
		// Floats must read back bit for bit: the CSV uses the shortest exact form.
		if got.Arm != fg.Arm || got.CG != fg.CG || got.Metric != fg.Metric || got.Segment != fg.Segment ||
			got.SegmentValue != fg.SegmentValue || got.Value != fg.Value || got.Lo != fg.Lo || got.Hi != fg.Hi ||
			got.N != fg.N || got.Users != fg.Users || !slices.Equal(got.Warnings, fg.Warnings) {
			t.Errorf("row %d = %+v, want %+v", i+1, got, fg)
		}
	}
}
