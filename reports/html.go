package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cgbench/cgbench/eval"
)

// HTMLOptions configures WriteHTML.
type HTMLOptions struct {
	// Title heads the report; "" gives "cgbench report".
	Title string
	// Baseline and Candidate are the subjects of the headline table. Zero
	// values pick, per file, the pair of its first arm-vs-arm comparison.
	Baseline, Candidate eval.Subject
	// Ablation adds the ablation (and, when an override names staleness, the
	// staleness) section; nil omits it.
	Ablation *Ablation
}

// Ablation is a sweep of variants of one experiment, such as a context
// dropout sweep or a feature-store staleness curve.
type Ablation struct {
	Name     string
	Variants []Variant
}

// Variant is one point of an ablation: the config overrides that define it
// (e.g. "model.context.dropout" -> "0.3", "replay.staleness" -> "daily"),
// its seeds and its metrics. An override whose values parse as numbers (or,
// for staleness, as durations such as "daily" or "6h") across variants
// becomes the x axis of the ablation's curves.
type Variant struct {
	Name      string
	Overrides map[string]string
	Seeds     []uint64
	File      *eval.File
}

// WriteHTML writes one self-contained HTML report of files (one or more
// metrics files, each shown under its own heading) and of opts.Ablation: no
// scripts, no network references, fonts by name, charts as inline SVG.
// Sections have stable ids: summary, recall, survival, relevance,
// comparisons, segments, figures, ablation and staleness (when an ablation
// is given), warnings, provenance. Every string taken from the files is
// escaped by html/template.
func WriteHTML(w io.Writer, files []*eval.File, opts HTMLOptions) error {
	if len(files) == 0 && opts.Ablation == nil {
		return errors.New("write html: no metrics files")
	}
	for i, f := range files {
		if f == nil {
			return fmt.Errorf("write html: metrics file %d is nil", i+1)
		}
	}
	title := opts.Title
	if title == "" {
		title = "cgbench report"
	}
	r := &htmlReport{Title: title}
	for i, f := range files {
		label := ""
		if len(files) > 1 {
			label = runLabel(f, i)
		}
		run, err := buildRun(f, label, opts, &r.notes)
		if err != nil {
			return fmt.Errorf("write html: %w", err)
		}
		r.Runs = append(r.Runs, run)
		for _, t := range f.Warnings {
			r.RunWarnings = append(r.RunWarnings, labelled{Label: label, Text: t})
		}
	}
	if opts.Ablation != nil {
		ab, err := buildAblation(opts.Ablation, opts, &r.notes)
		if err != nil {
			return fmt.Errorf("write html: %w", err)
		}
		r.Ablation = ab
		for _, v := range opts.Ablation.Variants {
			if v.File == nil {
				continue
			}
			for _, t := range v.File.Warnings {
				r.RunWarnings = append(r.RunWarnings, labelled{Label: "variant " + v.Name, Text: t})
			}
		}
	}
	for i, t := range r.notes.texts {
		r.Notes = append(r.Notes, note{ID: i + 1, Text: t})
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, r); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

// runLabel names a file among several: its result folders, else its
// position.
func runLabel(f *eval.File, i int) string {
	if len(f.Provenance.Results) > 0 {
		return strings.Join(f.Provenance.Results, ", ")
	}
	return "results " + strconv.Itoa(i+1)
}

// htmlReport is the data of the report template.
type htmlReport struct {
	Title       string
	Runs        []runView
	Ablation    *ablationView
	Notes       []note
	RunWarnings []labelled
	notes       notes
}

// WarningCount is the number of distinct warnings in the report.
func (r *htmlReport) WarningCount() int { return len(r.Notes) + len(r.RunWarnings) }

type note struct {
	ID   int
	Text string
}

type labelled struct{ Label, Text string }

type tableView struct {
	Caption string
	Header  []string
	Numeric []bool
	Rows    [][]cellView
}

type cellView struct {
	Text  string
	Notes []int
	Class string
}

type chartView struct {
	Caption string
	SVG     template.HTML
}

type runView struct {
	Label        string
	Headline     *tableView
	HeadlineNote string
	Recall       []chartView
	Survival     []chartView
	Relevance    []chartView
	Forest       []chartView
	Comparisons  *tableView
	Segments     []tableView
	Figures      tableView
	Provenance   []labelled
	Configs      string
	Definitions  []eval.Definition
}

type ablationView struct {
	Name      string
	Axis      string
	Table     tableView
	Curves    []chartView
	Staleness []chartView
	StaleKey  string // the override naming staleness, "" if none
	Note      string
}

// view converts a grid into template data.
func (g grid) view(caption string) tableView {
	t := tableView{Caption: caption, Header: g.header, Numeric: g.numeric}
	for _, r := range g.rows {
		row := make([]cellView, len(r))
		for i, c := range r {
			row[i] = cellView{Text: c.text, Notes: c.notes, Class: c.kind}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// chart wraps a rendered SVG; an empty SVG (nothing to draw) yields no chart.
func appendChart(dst []chartView, caption, svg string) []chartView {
	if svg == "" {
		return dst
	}
	// The SVG comes from gonum/plot, which escapes all text it draws.
	return append(dst, chartView{Caption: caption, SVG: template.HTML(svg)})
}

// buildRun assembles the views of one metrics file.
func buildRun(f *eval.File, label string, opts HTMLOptions, nt *notes) (runView, error) {
	ix := newIndex(f)
	rv := runView{Label: label, Definitions: f.Definitions}

	base, cand := opts.Baseline, opts.Candidate
	ok := base != (eval.Subject{}) || cand != (eval.Subject{})
	if !ok {
		base, cand, ok = ix.focus()
	}
	if ok {
		if g := headlineGrid(ix, base, cand, Brackets, nt); len(g.rows) > 0 {
			t := g.view(subjectLabel(cand) + " vs " + subjectLabel(base))
			rv.Headline = &t
		}
	}
	rv.HeadlineNote = intervalNote(f)

	for _, fq := range kFamilies(ix) {
		svg, err := atKChart(ix, fq[0], fq[1])
		if err != nil {
			return rv, err
		}
		caption := fmt.Sprintf("%s@K", fq[0])
		if fq[1] != "" {
			caption += " (" + fq[1] + ")"
		}
		rv.Recall = appendChart(rv.Recall, caption+" per arm and CG; shaded: "+confidenceLabel(f)+" interval", svg)
	}

	svg, err := survivalChart(ix)
	if err != nil {
		return rv, err
	}
	rv.Survival = appendChart(rv.Survival, "survival rate per funnel stage; bars: "+confidenceLabel(f)+" interval", svg)
	svg, err = barChart(ix, "impression_share", "Impression share per CG", "share of the arm's impressions")
	if err != nil {
		return rv, err
	}
	rv.Survival = appendChart(rv.Survival, "impression share per CG; bars: "+confidenceLabel(f)+" interval", svg)

	var distNames []string
	for _, d := range f.Distributions {
		distNames = appendNew(distNames, d.Name)
	}
	for _, name := range distNames {
		svg, err := distributionChart(f, ix, name)
		if err != nil {
			return rv, err
		}
		rv.Relevance = appendChart(rv.Relevance, name+": share of candidates per bin", svg)
	}
	for _, m := range ix.metrics {
		if strings.Contains(m, "relevance") && !strings.Contains(m, "@") {
			svg, err := barChart(ix, m, m, m)
			if err != nil {
				return rv, err
			}
			rv.Relevance = appendChart(rv.Relevance, m+" per CG; bars: "+confidenceLabel(f)+" interval", svg)
		}
	}

	if len(f.Comparisons) > 0 {
		rows, common := forestRows(f.Comparisons)
		title := "Paired changes"
		if common != "" {
			title += ": " + common + " unless labelled"
		}
		svg, err := forestChart(title, rows)
		if err != nil {
			return rv, err
		}
		rv.Forest = appendChart(rv.Forest, "point: relative change; bar: paired "+confidenceLabel(f)+" interval; blue: significant after Holm adjustment, grey: not", svg)
		t := comparisonGrid(f.Comparisons, nt).view("all comparisons (B vs A)")
		rv.Comparisons = &t
	}

	for _, s := range ix.segments {
		if s == "" {
			continue
		}
		g, _ := figureGrid(ix, figureGridOptions{segment: func(n string) bool { return n == s }, interval: Brackets}, nt)
		if len(g.rows) > 0 {
			rv.Segments = append(rv.Segments, g.view("segment: "+s))
		}
	}

	g, _ := figureGrid(ix, figureGridOptions{segment: func(n string) bool { return n == "" }, interval: Brackets}, nt)
	rv.Figures = g.view("every figure on the whole population")

	rv.Provenance, rv.Configs = provenanceRows(f)
	return rv, nil
}

// confidenceLabel is "95%" for a file's confidence level.
func confidenceLabel(f *eval.File) string {
	lvl := f.Provenance.ConfidenceLvl
	if lvl <= 0 || lvl >= 1 {
		lvl = 0.95
	}
	return strconv.FormatFloat(100*lvl, 'f', -1, 64) + "%"
}

// provenanceRows lists a file's provenance as label/value rows (maps with
// sorted keys) and its configs as indented JSON.
func provenanceRows(f *eval.File) ([]labelled, string) {
	p := f.Provenance
	kv := func(m map[string]string) string {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			parts = append(parts, k+"="+m[k])
		}
		return strings.Join(parts, ", ")
	}
	seeds := make([]string, 0, len(p.Seeds))
	for _, k := range slices.Sorted(maps.Keys(p.Seeds)) {
		seeds = append(seeds, k+"="+strconv.FormatUint(p.Seeds[k], 10))
	}
	ks := make([]string, len(p.Ks))
	for i, k := range p.Ks {
		ks[i] = strconv.Itoa(k)
	}
	rows := []labelled{
		{"cgbench version", p.Version},
		{"created at", p.CreatedAt},
		{"data hash", p.DataHash},
		{"config hashes", kv(p.ConfigHashes)},
		{"seeds", strings.Join(seeds, ", ")},
		{"results read", strings.Join(p.Results, ", ")},
		{"arms", strings.Join(p.Arms, ", ")},
		{"candidate generators", strings.Join(p.CGs, ", ")},
		{"K", strings.Join(ks, ", ")},
		{"bootstrap", fmt.Sprintf("%d resamples of users, %s intervals", p.BootstrapReps, confidenceLabel(f))},
		{"definition hash", p.DefinitionHash},
		{"protocol", p.Protocol},
		{"schema version", strconv.Itoa(f.SchemaVersion)},
	}
	configs := ""
	if len(p.Configs) > 0 {
		b, err := json.MarshalIndent(p.Configs, "", "  ")
		if err != nil {
			configs = fmt.Sprintf("configs not representable as JSON (%v): %v", err, p.Configs)
		} else {
			configs = string(b)
		}
	}
	return rows, configs
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"align": func(numeric []bool, i int) string {
		if i < len(numeric) && numeric[i] {
			return "num"
		}
		return ""
	},
}).Parse(reportHTML))
