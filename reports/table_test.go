package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/eval"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// checkGolden compares got with testdata/name, or rewrites the file under
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestWriteTableGolden(t *testing.T) {
	tests := []struct {
		name   string
		file   *eval.File
		opts   TableOptions
		golden string
	}{
		{"default", smallFile(), TableOptions{}, "table.golden"},
		{"recall brackets", smallFile(), TableOptions{Metrics: []string{"recall@*"}, Interval: Brackets}, "table_recall_brackets.golden"},
		{"segments and cg comparisons", fullFile(1), TableOptions{Metrics: []string{"recall@100/*", "roas*"}, Segments: []string{"*"}}, "table_segments.golden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteTable(&buf, tc.file, tc.opts); err != nil {
				t.Fatalf("WriteTable: %v", err)
			}
			checkGolden(t, tc.golden, buf.Bytes())
		})
	}
}

// TestWriteTableContent checks the conventions the golden files encode, so
// that a careless -update cannot bless a broken table.
func TestWriteTableContent(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, smallFile(), TableOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(out, "\n")
	find := func(sub string) string {
		for _, l := range lines {
			if strings.Contains(l, sub) {
				return l
			}
		}
		return ""
	}
	tests := []struct {
		name, line, want string
	}{
		{"significant change", "two_tower", "+271.4% [+241.4%, +301.4%] (p=0.002)"},
		{"not significant prints ~", "popular", "~ (p=0.485)"},
		{"estimate with half-width and n", "two_tower", "0.0412 ± 0.0040 n=400"},
		{"warning marker next to the number", "impression_share", "0.00810 ± 0.00120 n=380 ¹"},
		{"warning text below the table", "¹ need", "¹ need >= 6 users with impressions for a stable interval"},
		{"run-level warning", "warning:", "warning: replay covered 400 of 500 requests"},
		{"header kept as given", "metric", "recall"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := find(tc.line)
			if tc.name == "header kept as given" {
				l = lines[1]
				if strings.Contains(l, "METRIC") || !strings.Contains(l, "contextual vs baseline") {
					t.Errorf("header line = %q, want lower-case names and the delta column \"contextual vs baseline\"", l)
				}
				return
			}
			if !strings.Contains(l, tc.want) {
				t.Errorf("line with %q = %q, want it to contain %q", tc.line, l, tc.want)
			}
		})
	}
	// The non-significant row must not also print a percentage as if it were a win.
	if l := find("popular"); strings.Contains(l, "%") {
		t.Errorf("non-significant row %q prints a percentage", l)
	}
}

func TestWriteTableMetricFilter(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		want     []string
		wantNot  []string
	}{
		{"all", nil, []string{"recall@100/counterfactual", "impression_share"}, nil},
		{"recall glob crosses slash", []string{"recall@*"}, []string{"recall@100/counterfactual"}, []string{"impression_share"}},
		{"exact", []string{"impression_share"}, []string{"impression_share"}, []string{"recall@100"}},
		{"no match", []string{"ndcg@*"}, []string{"no figures match"}, []string{"recall@100", "impression_share"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteTable(&buf, smallFile(), TableOptions{Metrics: tc.patterns}); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("WriteTable(metrics=%q) lacks %q", tc.patterns, w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(buf.String(), w) {
					t.Errorf("WriteTable(metrics=%q) contains %q", tc.patterns, w)
				}
			}
		})
	}
}

func TestWriteTableSegmentsAndCGComparisons(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, fullFile(1), TableOptions{Metrics: []string{"recall@100/counterfactual"}, Segments: []string{"history_*"}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"history_length=short", "history_length=long", "+100.0% [+50.0%, +150.0%] (p=0.030)",
		"comparisons between CGs:", "contextual/popular vs contextual/two_tower", "-40.0% [-60.0%, -20.0%] (p=0.020)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteTable(segments) lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	if err := WriteTable(&buf, fullFile(1), TableOptions{Metrics: []string{"recall@100/counterfactual"}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "history_length") {
		t.Errorf("WriteTable without Segments prints segment rows:\n%s", buf.String())
	}
}

func TestWriteHeadline(t *testing.T) {
	var buf bytes.Buffer
	base := eval.Subject{Arm: "baseline", CG: "two_tower"}
	cand := eval.Subject{Arm: "contextual", CG: "two_tower"}
	if err := WriteHeadline(&buf, fullFile(1), base, cand); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "headline.golden", buf.Bytes())
	out := buf.String()
	rows := []struct{ label, want string }{
		{"Recall@100 on survived (counterfactual)", "+150.0% [+110.0%, +190.0%] (p=0.001)"},
		{"Recall@10 on survived (logged)", "0.00343 [0.00109, 0.00577] n=500"},
		{"survival rate (end to end)", "+150.0% [+100.0%, +200.0%] (p=0.004)"},
		{"impression share", "0.0500 [0.0400, 0.0600] n=480"},
		{"median relevance (retrieved)", "+280.0% [+250.0%, +310.0%] (p=0.001)"},
		// ROAS is arm-level: the table falls back to the arm's figure and comparison.
		{"ROAS ", "~ (p=0.200)"},
		{"ROAS (country=US)", "+1.4% [+0.2%, +2.6%] (p=0.040)"},
	}
	for _, r := range rows {
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, r.label) {
				line = l
				break
			}
		}
		if !strings.Contains(line, r.want) {
			t.Errorf("headline row %q = %q, want it to contain %q", r.label, line, r.want)
		}
	}
	if err := WriteHeadline(&buf, fullFile(1), eval.Subject{Arm: "x"}, eval.Subject{Arm: "y"}); err == nil {
		t.Error("WriteHeadline(unknown subjects) = nil error, want an error")
	}
}

func TestWriteShares(t *testing.T) {
	var buf bytes.Buffer
	rows := []ShareRow{
		{Arm: "baseline", CG: "two_tower", Retrieved: 120000, Impressions: 95, Share: 0.0095},
		{Arm: "baseline", CG: "popular", Retrieved: 120000, Impressions: 9905, Share: 0.9905},
		{Arm: "contextual", CG: "two_tower", Retrieved: 120000, Impressions: 2210, Share: 0.221},
	}
	if err := WriteShares(&buf, rows); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "shares.golden", buf.Bytes())
	for _, want := range []string{"0.95%", "99.05%", "22.10%", "2210"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("WriteShares lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestNilFile(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, nil, TableOptions{}); err == nil {
		t.Error("WriteTable(nil) = nil error")
	}
	if err := WriteHeadline(&buf, nil, eval.Subject{}, eval.Subject{}); err == nil {
		t.Error("WriteHeadline(nil) = nil error")
	}
}
