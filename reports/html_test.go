package reports

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/eval"
)

// reportShape is what a parsed report contains.
type reportShape struct {
	sections []string          // section ids in order
	svgs     map[string]int    // section id -> inline SVG charts
	tables   map[string]int    // section id -> HTML tables
	text     map[string]string // section id -> character data
	elements map[string]int    // element name -> count, whole document
	badRefs  []string          // href/src attributes that leave the document
}

// parseReport parses the report as XML (the template keeps it well formed)
// and records its sections, charts, tables and references.
func parseReport(t *testing.T, doc []byte) reportShape {
	t.Helper()
	s := reportShape{svgs: map[string]int{}, tables: map[string]int{}, text: map[string]string{}, elements: map[string]int{}}
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var stack []string // enclosing section id per open element ("" outside)
	current := func() string {
		if len(stack) == 0 {
			return ""
		}
		return stack[len(stack)-1]
	}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("report is not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			name := el.Name.Local
			s.elements[name]++
			id := current()
			for _, a := range el.Attr {
				if a.Name.Local == "id" && name == "section" {
					id = a.Value
					s.sections = append(s.sections, id)
				}
				if (a.Name.Local == "href" || a.Name.Local == "src") && !strings.HasPrefix(a.Value, "#") {
					s.badRefs = append(s.badRefs, a.Value)
				}
			}
			switch name {
			case "svg":
				s.svgs[id]++
			case "table":
				s.tables[id]++
			}
			stack = append(stack, id)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			s.text[current()] += string(el)
		}
	}
	return s
}

func renderHTML(t *testing.T, files []*eval.File, opts HTMLOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, files, opts); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return buf.Bytes()
}

func stalenessAblation() *Ablation {
	return &Ablation{Name: "staleness sweep", Variants: []Variant{
		{Name: "hourly", Overrides: map[string]string{"replay.staleness": "hourly"}, Seeds: []uint64{1, 2}, File: fullFile(1.1)},
		{Name: "daily", Overrides: map[string]string{"replay.staleness": "daily"}, Seeds: []uint64{1, 2}, File: fullFile(1)},
		{Name: "weekly", Overrides: map[string]string{"replay.staleness": "weekly"}, Seeds: []uint64{1, 2}, File: fullFile(0.8)},
	}}
}

func TestWriteHTMLSections(t *testing.T) {
	doc := renderHTML(t, []*eval.File{fullFile(1)}, HTMLOptions{Title: "quickstart", Ablation: stalenessAblation()})
	s := parseReport(t, doc)
	want := []string{"summary", "recall", "survival", "relevance", "comparisons", "segments", "figures", "ablation", "staleness", "warnings", "provenance"}
	if !slices.Equal(s.sections, want) {
		t.Fatalf("sections = %q, want %q", s.sections, want)
	}
	tests := []struct {
		section            string
		minSVGs, minTables int
	}{
		{"summary", 0, 1},
		{"recall", 2, 0},      // recall@K counterfactual and logged
		{"survival", 2, 0},    // survival by stage, impression share
		{"relevance", 2, 0},   // two distributions
		{"comparisons", 1, 1}, // forest plot and table
		{"segments", 0, 1},
		{"figures", 0, 1},
		{"ablation", 0, 1}, // staleness is the varying override: curves go to staleness
		{"staleness", 5, 0},
		{"provenance", 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.section, func(t *testing.T) {
			if s.svgs[tc.section] < tc.minSVGs {
				t.Errorf("section %s has %d charts, want >= %d", tc.section, s.svgs[tc.section], tc.minSVGs)
			}
			if s.tables[tc.section] < tc.minTables {
				t.Errorf("section %s has %d tables, want >= %d", tc.section, s.tables[tc.section], tc.minTables)
			}
		})
	}
	for _, w := range []string{"feature store snapshot older than 2 days", "fewer than 20 positives"} {
		if !strings.Contains(s.text["warnings"], w) {
			t.Errorf("warnings section lacks %q", w)
		}
	}
	for _, w := range []string{"sha256:0123456789abcdef", "bootstrap=7", "runs/quickstart/baseline", "true relevance of retrieved candidates", `"staleness": "daily"`} {
		if !strings.Contains(s.text["provenance"], w) {
			t.Errorf("provenance section lacks %q", w)
		}
	}
	if !strings.Contains(s.text["summary"], "~ (p=0.200)") || !strings.Contains(s.text["summary"], "+1.4% [+0.2%, +2.6%] (p=0.040)") {
		t.Errorf("summary lacks the ROAS rows:\n%s", s.text["summary"])
	}
}

// TestWriteHTMLSelfContained checks that the report needs nothing from the
// network and runs no code.
func TestWriteHTMLSelfContained(t *testing.T) {
	doc := renderHTML(t, []*eval.File{fullFile(1)}, HTMLOptions{Ablation: stalenessAblation()})
	s := parseReport(t, doc)
	for _, el := range []string{"script", "link", "iframe", "img", "object", "embed"} {
		if s.elements[el] > 0 {
			t.Errorf("report has %d <%s> elements, want none", s.elements[el], el)
		}
	}
	if len(s.badRefs) > 0 {
		t.Errorf("report references outside itself: %q", s.badRefs)
	}
	rest := strings.ReplaceAll(string(doc), `xmlns="http://www.w3.org/2000/svg"`, "")
	rest = strings.ReplaceAll(rest, `xmlns:xlink="http://www.w3.org/1999/xlink"`, "")
	for _, bad := range []string{"http://", "https://", "url(", "@import", "@font-face", "<?xml"} {
		if strings.Contains(rest, bad) {
			i := strings.Index(rest, bad)
			t.Errorf("report contains %q near %q", bad, rest[max(0, i-60):min(len(rest), i+60)])
		}
	}
	// Fonts are named with fallbacks, never embedded.
	if strings.Contains(string(doc), "font-family:Liberation Sans;") {
		t.Error("an SVG names Liberation Sans without fallback fonts")
	}
	if n := len(doc); n > 1<<20 {
		t.Errorf("report is %d bytes, want < 1 MiB", n)
	}
}

func TestWriteHTMLEscapes(t *testing.T) {
	f := fullFile(1)
	f.Provenance.DataHash = `"><b>hash</b>`
	f.Warnings = append(f.Warnings, `<img src=x onerror=alert(2)>`)
	f.Definitions = append(f.Definitions, eval.Definition{Name: "x", Description: "a & b < c"})
	doc := renderHTML(t, []*eval.File{f}, HTMLOptions{Title: "<i>title</i>"})
	s := parseReport(t, doc) // parsing at all proves no markup leaked
	if s.elements["script"] > 0 || s.elements["img"] > 0 || s.elements["i"] > 0 || s.elements["b"] > 0 {
		t.Errorf("data became markup: elements %v", s.elements)
	}
	for _, want := range []string{"<script>alert(1)</script>", `<img src=x onerror=alert(2)>`, `"><b>hash</b>`, "a & b < c"} {
		found := false
		for _, txt := range s.text {
			if strings.Contains(txt, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("report text lacks %q (it must appear, escaped)", want)
		}
	}
	if !strings.Contains(string(doc), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the CG name <script>alert(1)</script> does not appear escaped")
	}
	if strings.Contains(string(doc), "<title><i>") {
		t.Error("title not escaped")
	}
}

var fixtureReport = flag.String("fixture-report", "", "also write the fixture report to this path, for a look in a browser")

func TestWriteHTMLDeterministic(t *testing.T) {
	a := renderHTML(t, []*eval.File{fullFile(1)}, HTMLOptions{Ablation: stalenessAblation()})
	b := renderHTML(t, []*eval.File{fullFile(1)}, HTMLOptions{Ablation: stalenessAblation()})
	if !bytes.Equal(a, b) {
		t.Error("two renders of the same input differ")
	}
	if *fixtureReport != "" {
		if err := os.WriteFile(*fixtureReport, a, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteHTMLVariants(t *testing.T) {
	dropout := &Ablation{Name: "context dropout", Variants: []Variant{
		{Name: "p=0.1", Overrides: map[string]string{"model.context.dropout": "0.1"}, File: fullFile(0.7)},
		{Name: "p=0.3", Overrides: map[string]string{"model.context.dropout": "0.3"}, File: fullFile(1)},
		{Name: "p=0.5", Overrides: map[string]string{"model.context.dropout": "0.5"}, File: fullFile(0.9)},
		{Name: "no metrics", Overrides: map[string]string{"model.context.dropout": "0.7"}},
	}}
	second := fullFile(1)
	second.Provenance.Results = []string{"runs/other"}
	tests := []struct {
		name         string
		files        []*eval.File
		opts         HTMLOptions
		wantSections []string
		noSections   []string
		minSVGs      map[string]int
		wantText     map[string]string
	}{
		{
			name:         "no ablation",
			files:        []*eval.File{smallFile()},
			wantSections: []string{"summary", "recall", "comparisons", "warnings", "provenance"},
			noSections:   []string{"ablation", "staleness"},
			minSVGs:      map[string]int{"recall": 1, "comparisons": 1},
		},
		{
			name:         "dropout sweep",
			files:        []*eval.File{fullFile(1)},
			opts:         HTMLOptions{Ablation: dropout},
			wantSections: []string{"ablation"},
			noSections:   []string{"staleness"},
			minSVGs:      map[string]int{"ablation": 5},
			wantText:     map[string]string{"ablation": "model.context.dropout=0.3"},
		},
		{
			name:         "two files",
			files:        []*eval.File{fullFile(1), second},
			wantSections: []string{"summary", "recall"},
			minSVGs:      map[string]int{"recall": 4},
			wantText:     map[string]string{"summary": "runs/other", "recall": "runs/quickstart/baseline"},
		},
		{
			name:         "ablation only",
			opts:         HTMLOptions{Ablation: stalenessAblation()},
			wantSections: []string{"summary", "ablation", "staleness"},
			minSVGs:      map[string]int{"staleness": 5},
		},
		{
			name:         "explicit subjects",
			files:        []*eval.File{fullFile(1)},
			opts:         HTMLOptions{Baseline: eval.Subject{Arm: "baseline", CG: "popular"}, Candidate: eval.Subject{Arm: "contextual", CG: "popular"}},
			wantSections: []string{"summary"},
			wantText:     map[string]string{"summary": "contextual/popular vs baseline/popular"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := parseReport(t, renderHTML(t, tc.files, tc.opts))
			for _, id := range tc.wantSections {
				if !slices.Contains(s.sections, id) {
					t.Errorf("sections = %q, want %q among them", s.sections, id)
				}
			}
			for _, id := range tc.noSections {
				if slices.Contains(s.sections, id) {
					t.Errorf("sections = %q, want no %q", s.sections, id)
				}
			}
			seen := map[string]bool{}
			for _, id := range s.sections {
				if seen[id] {
					t.Errorf("section id %q appears twice", id)
				}
				seen[id] = true
			}
			for id, n := range tc.minSVGs {
				if s.svgs[id] < n {
					t.Errorf("section %s has %d charts, want >= %d", id, s.svgs[id], n)
				}
			}
			for id, txt := range tc.wantText {
				if !strings.Contains(s.text[id], txt) {
					t.Errorf("section %s lacks %q", id, txt)
				}
			}
		})
	}
}

func TestWriteHTMLErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, nil, HTMLOptions{}); err == nil {
		t.Error("WriteHTML(no files, no ablation) = nil error")
	}
	if err := WriteHTML(&buf, []*eval.File{nil}, HTMLOptions{}); err == nil {
		t.Error("WriteHTML(nil file) = nil error")
	}
}

func TestAxisFor(t *testing.T) {
	vs := func(key string, vals ...string) []Variant {
		var out []Variant
		for _, v := range vals {
			out = append(out, Variant{Name: "v" + v, Overrides: map[string]string{key: v}})
		}
		return out
	}
	tests := []struct {
		name    string
		key     string
		vs      []Variant
		wantXs  []float64
		numeric bool
	}{
		{"numeric dropout", "model.context.dropout", vs("model.context.dropout", "0.1", "0.3", "0.5"), []float64{0.1, 0.3, 0.5}, true},
		{"staleness words and durations", "replay.staleness", vs("replay.staleness", "hourly", "daily", "6h", "3d", "weekly"), []float64{1.0 / 24, 1, 0.25, 3, 7}, true},
		{"categorical", "model.fusion", vs("model.fusion", "concat", "cross-attention"), []float64{0, 1}, false},
		{"missing value falls back to order", "a", append(vs("a", "1"), Variant{Name: "b"}), []float64{0, 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ax := axisFor(tc.key, tc.vs)
			if len(ax.xs) != len(tc.wantXs) {
				t.Fatalf("axisFor(%q).xs = %v, want %v", tc.key, ax.xs, tc.wantXs)
			}
			for i := range ax.xs {
				if d := ax.xs[i] - tc.wantXs[i]; d > 1e-12 || d < -1e-12 {
					t.Errorf("axisFor(%q).xs = %v, want %v", tc.key, ax.xs, tc.wantXs)
					break
				}
			}
			if (ax.ticks == nil) != tc.numeric {
				t.Errorf("axisFor(%q) numeric = %v, want %v", tc.key, ax.ticks == nil, tc.numeric)
			}
		})
	}
}
