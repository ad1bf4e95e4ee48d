package reports

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/cgbench/cgbench/eval"
)

// palette is the Okabe-Ito colour-blind-safe palette without its yellow,
// which is unreadable on white.
var palette = []color.NRGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0x00, 0x00, 0x00, 0xFF}, // black
}

func colorAt(i int) color.NRGBA { return palette[i%len(palette)] }

// translucent returns c with alpha a in [0, 1], for interval bands.
func translucent(c color.NRGBA, a float64) color.NRGBA {
	c.A = uint8(math.Round(255 * a))
	return c
}

// dashes distinguishes arms drawn in the same colour: solid, dashed, dotted.
func dashes(i int) []vg.Length {
	switch i % 3 {
	case 1:
		return []vg.Length{vg.Points(6), vg.Points(3)}
	case 2:
		return []vg.Length{vg.Points(1.5), vg.Points(2)}
	default:
		return nil
	}
}

var (
	grey     = color.NRGBA{0x88, 0x88, 0x88, 0xFF}
	gridGrey = color.NRGBA{0xE3, 0xE3, 0xE3, 0xFF}
	// sansFont is metric-compatible with Arial and Helvetica, so text laid
	// out with its metrics fits when a browser substitutes either.
	sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
)

// chartWidth is the default width of a chart; browsers scale it down to
// the page through CSS.
const chartWidth = 9 * vg.Inch

// newPlot returns a plot with sans-serif text, a light grid and the given
// labels.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sansFont, 12)
	p.Title.Padding = vg.Points(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sansFont, 10)
		a.Tick.Label.Font = font.From(sansFont, 9)
	}
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = plot.TickerFunc(preciseTicks)
	p.Y.Tick.Marker = plot.TickerFunc(preciseTicks)
	p.Legend.TextStyle.Font = font.From(sansFont, 9)
	g := plotter.NewGrid()
	g.Vertical.Color = gridGrey
	g.Horizontal.Color = gridGrey
	p.Add(g)
	return p
}

// preciseTicks are gonum's default ticks, relabelled with as many digits as
// the tick values need: the default labels round to the tick spacing's
// precision and can print 2.05 and 2.1 both as "2.1".
func preciseTicks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label == "" {
			continue
		}
		v, _ := strconv.ParseFloat(strconv.FormatFloat(t.Value, 'g', 6, 64), 64)
		ticks[i].Label = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ticks
}

// legendEntry is one line of a chart's legend, drawn beside the plot so
// that it never hides data.
type legendEntry struct {
	label  string
	thumbs []plot.Thumbnailer
}

// renderSVG draws p at the given height with the legend in a column on the
// right and returns the SVG element (no XML prolog), with font families
// that browsers resolve without embedded fonts.
func renderSVG(p *plot.Plot, legend []legendEntry, height vg.Length) (string, error) {
	return renderSVGSize(p, legend, chartWidth, height)
}

// renderSVGSize is renderSVG at a given width.
func renderSVGSize(p *plot.Plot, legend []legendEntry, width, height vg.Length) (string, error) {
	c := vgsvg.New(width, height)
	dc := draw.New(c)
	plotArea := dc
	if len(legend) > 0 {
		l := plot.NewLegend()
		l.TextStyle.Font = font.From(sansFont, 9)
		l.Top, l.Left = true, true
		l.Padding = vg.Points(3)
		for _, e := range legend {
			l.Add(e.label, e.thumbs...)
		}
		r := l.Rectangle(dc)
		lw := min(r.Max.X-r.Min.X+vg.Points(10), width*0.45)
		plotArea = draw.Crop(dc, 0, -lw, 0, 0)
		top := vg.Points(0)
		if p.Title.Text != "" {
			top = -p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y - p.Title.Padding - vg.Points(4)
		}
		l.Draw(draw.Crop(dc, width-lw+vg.Points(6), 0, 0, top))
	}
	if err := drawPlot(p, plotArea); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("render chart: %w", err)
	}
	return cleanSVG(buf.String()), nil
}

// drawPlot draws p, turning gonum's panics on degenerate input (such as a
// log axis over non-positive values) into errors.
func drawPlot(p *plot.Plot, c draw.Canvas) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("draw chart %q: %v", p.Title.Text, r)
		}
	}()
	p.Draw(c)
	return nil
}

// cleanSVG strips the XML prolog and generator comment that gonum writes
// (invalid inside HTML) and gives every font a fallback list: gonum names
// the font it measured text with ("Liberation Sans"); Arial and Helvetica
// share its metrics.
func cleanSVG(s string) string {
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	s = strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	return strings.TrimSpace(s)
}

// series is one line of a chart: points with intervals.
type series struct {
	label    string
	colorIdx int
	dashIdx  int
	xs, ys   []float64
	lo, hi   []float64
}

// addSeries adds a line with glyphs, its interval as a translucent band
// (band) or as error bars (!band), and returns the legend entry.
func addSeries(p *plot.Plot, s series, band bool) (legendEntry, error) {
	if len(s.xs) == 0 {
		return legendEntry{}, errors.New("empty series")
	}
	col := colorAt(s.colorIdx)
	pts := make(plotter.XYs, len(s.xs))
	for i := range s.xs {
		pts[i] = plotter.XY{X: s.xs[i], Y: s.ys[i]}
	}
	var thumbs []plot.Thumbnailer
	if band && len(s.xs) > 1 {
		ring := make(plotter.XYs, 0, 2*len(s.xs))
		for i := range s.xs {
			ring = append(ring, plotter.XY{X: s.xs[i], Y: s.lo[i]})
		}
		for i := len(s.xs) - 1; i >= 0; i-- {
			ring = append(ring, plotter.XY{X: s.xs[i], Y: s.hi[i]})
		}
		poly, err := plotter.NewPolygon(ring)
		if err != nil {
			return legendEntry{}, err
		}
		poly.Color = translucent(col, 0.14)
		poly.LineStyle.Width = 0
		p.Add(poly)
	} else {
		errs := make(plotter.YErrors, len(s.xs))
		for i := range s.xs {
			errs[i].Low = s.ys[i] - s.lo[i]
			errs[i].High = s.hi[i] - s.ys[i]
		}
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{pts, errs})
		if err != nil {
			return legendEntry{}, err
		}
		eb.LineStyle.Color = col
		eb.CapWidth = vg.Points(4)
		p.Add(eb)
	}
	line, sc, err := plotter.NewLinePoints(pts)
	if err != nil {
		return legendEntry{}, err
	}
	line.LineStyle.Color = col
	line.LineStyle.Width = vg.Points(1.5)
	line.LineStyle.Dashes = dashes(s.dashIdx)
	sc.GlyphStyle.Color = col
	sc.GlyphStyle.Radius = vg.Points(2)
	sc.GlyphStyle.Shape = draw.CircleGlyph{}
	p.Add(line, sc)
	thumbs = append(thumbs, line, sc)
	return legendEntry{label: s.label, thumbs: thumbs}, nil
}

// seriesLabel names a series: "arm · cg".
func seriesLabel(arm, cg string) string { return arm + " · " + cgLabel(cg) }

// cgColor is the colour index of a CG: its position among the named CGs,
// the arm-level aggregate ("") last, so that a CG keeps one colour in
// every chart of a file.
func cgColor(ix *index, cg string) int {
	named := 0
	for _, c := range ix.cgs {
		if c == cg && c != "" {
			return named
		}
		if c != "" {
			named++
		}
	}
	return named
}

// kFamilies groups the @K metrics of a file by family and qualifier
// ("recall", "counterfactual"), recall first, in metric order.
func kFamilies(ix *index) [][2]string {
	var out [][2]string
	for _, m := range ix.metrics {
		fam, _, q, ok := parseK(m)
		if !ok {
			continue
		}
		key := [2]string{fam, q}
		if !slices.Contains(out, key) {
			out = append(out, key)
		}
	}
	slices.SortStableFunc(out, func(a, b [2]string) int {
		ra, rb := a[0] == "recall", b[0] == "recall"
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		}
		return 0
	})
	return out
}

// atKChart draws family@K/qualifier against K on a log axis: one line per
// (arm, CG) on the whole population, with its interval as a band.
func atKChart(ix *index, family, qualifier string) (string, error) {
	name := func(k int) string {
		if qualifier == "" {
			return fmt.Sprintf("%s@%d", family, k)
		}
		return fmt.Sprintf("%s@%d/%s", family, k, qualifier)
	}
	var ks []int
	for _, m := range ix.metrics {
		if fam, k, q, ok := parseK(m); ok && fam == family && q == qualifier {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	title := family + "@K"
	if qualifier != "" {
		title += " (" + qualifier + ")"
	}
	p := newPlot(title, "K (log scale)", family)
	p.X.Scale = plot.LogScale{}
	ticks := make(plot.ConstantTicks, len(ks))
	for i, k := range ks {
		ticks[i] = plot.Tick{Value: float64(k), Label: strconv.Itoa(k)}
	}
	p.X.Tick.Marker = ticks
	p.Y.Min = 0
	var legend []legendEntry
	for _, cg := range ix.cgs {
		for ai, arm := range ix.arms {
			s := series{label: seriesLabel(arm, cg), colorIdx: cgColor(ix, cg), dashIdx: ai}
			for _, k := range ks {
				fg, ok := ix.fig(arm, cg, name(k), "", "")
				if !ok || !finite(fg.Value, fg.Lo, fg.Hi) {
					continue
				}
				s.xs = append(s.xs, float64(k))
				s.ys = append(s.ys, fg.Value)
				s.lo = append(s.lo, fg.Lo)
				s.hi = append(s.hi, fg.Hi)
			}
			if len(s.xs) == 0 {
				continue
			}
			e, err := addSeries(p, s, true)
			if err != nil {
				return "", fmt.Errorf("chart %s: %w", title, err)
			}
			legend = append(legend, e)
		}
	}
	if len(legend) == 0 {
		return "", nil
	}
	if len(ks) == 1 {
		p.X.Min, p.X.Max = float64(ks[0])/2, float64(ks[0])*2
	}
	return renderSVG(p, legend, 3.6*vg.Inch)
}

// survivalStages lists the survival metrics of a file in funnel order.
func survivalStages(ix *index) []string {
	order := []string{"survival/retrieved", "survival/pre-ranked", "survival/ranked", "survival/auctioned", "survival/impressed"}
	var out []string
	for _, m := range order {
		if slices.Contains(ix.metrics, m) {
			out = append(out, m)
		}
	}
	for _, m := range ix.metrics {
		if strings.HasPrefix(m, "survival/") && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// survivalChart draws each CG's survival rate across funnel stages, one
// line per (arm, CG) with error bars, on a log axis when the rates span
// more than a factor of 20 and are all positive.
func survivalChart(ix *index) (string, error) {
	stages := survivalStages(ix)
	if len(stages) == 0 {
		return "", nil
	}
	p := newPlot("Candidate survival by funnel stage", "stage", "surviving share")
	ticks := make(plot.ConstantTicks, len(stages))
	for i, st := range stages {
		ticks[i] = plot.Tick{Value: float64(i), Label: strings.TrimPrefix(st, "survival/")}
	}
	p.X.Tick.Marker = ticks
	p.X.Min, p.X.Max = -0.3, float64(len(stages)-1)+0.3
	var all []series
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, cg := range ix.cgs {
		for ai, arm := range ix.arms {
			s := series{label: seriesLabel(arm, cg), colorIdx: cgColor(ix, cg), dashIdx: ai}
			for i, st := range stages {
				fg, ok := ix.fig(arm, cg, st, "", "")
				if !ok || !finite(fg.Value, fg.Lo, fg.Hi) {
					continue
				}
				// Offset arms sideways a little so error bars do not overlap.
				s.xs = append(s.xs, float64(i)+0.04*float64(ai)-0.02*float64(len(ix.arms)-1))
				s.ys = append(s.ys, fg.Value)
				s.lo = append(s.lo, fg.Lo)
				s.hi = append(s.hi, fg.Hi)
				lo, hi = min(lo, fg.Lo), max(hi, fg.Hi)
			}
			if len(s.xs) > 0 {
				all = append(all, s)
			}
		}
	}
	if len(all) == 0 {
		return "", nil
	}
	if lo > 0 && hi/lo > 20 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text += " (log scale)"
	} else {
		p.Y.Min = 0
	}
	var legend []legendEntry
	for _, s := range all {
		e, err := addSeries(p, s, false)
		if err != nil {
			return "", fmt.Errorf("survival chart: %w", err)
		}
		legend = append(legend, e)
	}
	return renderSVG(p, legend, 3.6*vg.Inch)
}

// barChart draws metric per CG as grouped bars (one bar per arm) with error
// bars, on the whole population.
func barChart(ix *index, metric, title, ylabel string) (string, error) {
	var cgs []string
	for _, cg := range ix.cgs {
		for _, arm := range ix.arms {
			if _, ok := ix.fig(arm, cg, metric, "", ""); ok {
				cgs = append(cgs, cg)
				break
			}
		}
	}
	if len(cgs) == 0 {
		return "", nil
	}
	p := newPlot(title, "candidate generator", ylabel)
	ticks := make(plot.ConstantTicks, len(cgs))
	for i, cg := range cgs {
		ticks[i] = plot.Tick{Value: float64(i), Label: cgLabel(cg)}
	}
	p.X.Tick.Marker = ticks
	p.X.Min, p.X.Max = -0.6, float64(len(cgs)-1)+0.6
	p.Y.Min = 0
	width := 0.8 / float64(len(ix.arms))
	var legend []legendEntry
	for ai, arm := range ix.arms {
		col := colorAt(ai)
		var pts plotter.XYs
		var errs plotter.YErrors
		var thumb plot.Thumbnailer
		for gi, cg := range cgs {
			fg, ok := ix.fig(arm, cg, metric, "", "")
			if !ok || !finite(fg.Value, fg.Lo, fg.Hi) {
				continue
			}
			x0 := float64(gi) - 0.4 + width*float64(ai)
			bar, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: 0}, {X: x0 + width*0.92, Y: 0}, {X: x0 + width*0.92, Y: fg.Value}, {X: x0, Y: fg.Value}})
			if err != nil {
				return "", fmt.Errorf("chart %s: %w", title, err)
			}
			bar.Color = translucent(col, 0.75)
			bar.LineStyle.Width = 0
			p.Add(bar)
			thumb = bar
			pts = append(pts, plotter.XY{X: x0 + width*0.46, Y: fg.Value})
			errs = append(errs, struct{ Low, High float64 }{fg.Value - fg.Lo, fg.Hi - fg.Value})
		}
		if len(pts) == 0 {
			continue
		}
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{pts, errs})
		if err != nil {
			return "", fmt.Errorf("chart %s: %w", title, err)
		}
		eb.CapWidth = vg.Points(4)
		p.Add(eb)
		legend = append(legend, legendEntry{label: arm, thumbs: []plot.Thumbnailer{thumb}})
	}
	return renderSVG(p, legend, 3.4*vg.Inch)
}

// distributionChart draws the histograms named name as step lines, one per
// (arm, CG), each normalised to the share of its candidates per bin so that
// CGs retrieving different numbers of candidates compare.
func distributionChart(f *eval.File, ix *index, name string) (string, error) {
	p := newPlot(name, "relevance to the subject Pin", "share of candidates per bin")
	p.Y.Min = 0
	var legend []legendEntry
	for _, d := range f.Distributions {
		if d.Name != name || len(d.Counts) == 0 || len(d.Edges) != len(d.Counts)+1 {
			continue
		}
		var total int64
		for _, c := range d.Counts {
			total += c
		}
		if total <= 0 {
			continue
		}
		pts := make(plotter.XYs, 0, len(d.Edges))
		for i, c := range d.Counts {
			pts = append(pts, plotter.XY{X: d.Edges[i], Y: float64(c) / float64(total)})
		}
		pts = append(pts, plotter.XY{X: d.Edges[len(d.Edges)-1], Y: pts[len(pts)-1].Y})
		line, err := plotter.NewLine(pts)
		if err != nil {
			return "", fmt.Errorf("chart %s: %w", name, err)
		}
		line.StepStyle = plotter.PostStep
		line.LineStyle.Color = colorAt(cgColor(ix, d.CG))
		line.LineStyle.Width = vg.Points(1.5)
		line.LineStyle.Dashes = dashes(max(0, slices.Index(ix.arms, d.Arm)))
		p.Add(line)
		legend = append(legend, legendEntry{label: fmt.Sprintf("%s (n=%d)", seriesLabel(d.Arm, d.CG), total), thumbs: []plot.Thumbnailer{line}})
	}
	if len(legend) == 0 {
		return "", nil
	}
	return renderSVG(p, legend, 3.4*vg.Inch)
}

// forestRow is one comparison of a forest plot.
type forestRow struct {
	label       string
	ratio       float64 // 1 + relative change
	lo, hi      float64
	significant bool
}

// forestChart draws comparisons as a forest plot on the ratio B/A with a
// log axis, so that +1% and +300% both read; ticks are labelled as
// percentage changes and a vertical line marks no change.
func forestChart(title string, rows []forestRow) (string, error) {
	if len(rows) == 0 {
		return "", nil
	}
	p := newPlot(title, "change B vs A (log ratio scale)", "")
	p.X.Scale = plot.LogScale{}
	const floor = 0.01 // a ratio interval reaching 0 (B = 0) is clipped here
	xmin, xmax := 1.0, 1.0
	n := len(rows)
	yticks := make(plot.ConstantTicks, n)
	for i, r := range rows {
		y := float64(n - 1 - i)
		yticks[i] = plot.Tick{Value: y, Label: r.label}
		xmin = min(xmin, max(r.lo, floor))
		xmax = max(xmax, r.hi)
	}
	p.Y.Tick.Marker = yticks
	p.Y.Tick.Label.Font = font.From(sansFont, 8)
	p.Y.Min, p.Y.Max = -0.7, float64(n)-0.3
	p.X.Min, p.X.Max = xmin/1.1, xmax*1.1
	p.X.Tick.Marker = ratioTicks(p.X.Min, p.X.Max)

	zero, err := plotter.NewLine(plotter.XYs{{X: 1, Y: -0.7}, {X: 1, Y: float64(n) - 0.3}})
	if err != nil {
		return "", err
	}
	zero.LineStyle.Color = grey
	zero.LineStyle.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(zero)
	for _, sig := range []bool{false, true} {
		var pts plotter.XYs
		var errs plotter.XErrors
		for i, r := range rows {
			if r.significant != sig {
				continue
			}
			x := max(r.ratio, floor)
			pts = append(pts, plotter.XY{X: x, Y: float64(n - 1 - i)})
			errs = append(errs, struct{ Low, High float64 }{x - max(r.lo, floor), max(r.hi, floor) - x})
		}
		if len(pts) == 0 {
			continue
		}
		col := grey
		if sig {
			col = colorAt(0)
		}
		eb, err := plotter.NewXErrorBars(struct {
			plotter.XYs
			plotter.XErrors
		}{pts, errs})
		if err != nil {
			return "", fmt.Errorf("forest chart: %w", err)
		}
		eb.LineStyle.Color = col
		eb.LineStyle.Width = vg.Points(1.5)
		eb.CapWidth = vg.Points(4)
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return "", fmt.Errorf("forest chart: %w", err)
		}
		sc.GlyphStyle.Color = col
		sc.GlyphStyle.Radius = vg.Points(3)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(eb, sc)
	}
	return renderSVG(p, nil, vg.Points(float64(16*n+70)))
}

// ratioTicks labels a log ratio axis with percentage changes at round
// ratios inside [lo, hi], spaced at least an eighth of the axis apart so
// that labels never overlap; 1 (no change) is always labelled.
func ratioTicks(lo, hi float64) plot.ConstantTicks {
	candidates := []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1, 1.01, 1.02, 1.05, 1.1, 1.25, 1.5, 2, 3, 5, 10, 20, 50, 100}
	gap := (math.Log(hi) - math.Log(lo)) / 8
	ticks := plot.ConstantTicks{{Value: 1, Label: "0%"}}
	// Walk outwards from 1 in both directions, keeping a candidate when it
	// is far enough (in log distance) from the last kept one.
	last := 1.0
	for _, c := range candidates {
		if c > 1 && c <= hi && math.Log(c)-math.Log(last) >= gap {
			ticks = append(ticks, plot.Tick{Value: c, Label: tickPercent(c)})
			last = c
		}
	}
	last = 1.0
	for i := len(candidates) - 1; i >= 0; i-- {
		c := candidates[i]
		if c < 1 && c >= lo && math.Log(last)-math.Log(c) >= gap {
			ticks = append(ticks, plot.Tick{Value: c, Label: tickPercent(c)})
			last = c
		}
	}
	slices.SortFunc(ticks, func(a, b plot.Tick) int {
		switch {
		case a.Value < b.Value:
			return -1
		case a.Value > b.Value:
			return 1
		}
		return 0
	})
	return ticks
}

// tickPercent labels a ratio as a percentage change: 1.5 -> "+50%".
func tickPercent(ratio float64) string {
	return strings.Replace(fmtPercent(ratio-1), ".0%", "%", 1)
}

// forestRows turns whole-population comparisons with a defined relative
// change into forest rows labelled by metric; rows comparing another pair
// than the most frequent one (returned as common) also name their pair.
func forestRows(cs []eval.Comparison) (rows []forestRow, common string) {
	type pair struct{ a, b eval.Subject }
	var usable []eval.Comparison
	count := make(map[pair]int)
	var top pair
	for _, c := range cs {
		if c.Segment != "" || !relativeUsable(c) {
			continue
		}
		usable = append(usable, c)
		p := pair{c.A, c.B}
		count[p]++
		// Ties go to the pair seen first, for a deterministic title.
		if count[p] > count[top] {
			top = p
		}
	}
	if len(usable) > 0 {
		common = subjectLabel(top.b) + " vs " + subjectLabel(top.a)
	}
	for _, c := range usable {
		label := c.Metric
		if (pair{c.A, c.B}) != top {
			label += ": " + subjectLabel(c.B) + " vs " + subjectLabel(c.A)
		}
		rows = append(rows, forestRow{
			label: label, ratio: 1 + c.Relative.Value,
			lo: 1 + c.Relative.Lo, hi: 1 + c.Relative.Hi,
			significant: c.Significant,
		})
	}
	return rows, common
}

// curvePoint is one variant's estimate at one x position.
type curvePoint struct {
	x   float64
	est eval.Estimate
}

// curveChart draws one metric against an ablation axis: one line per
// subject with error bars. xticks label categorical axes; nil keeps
// gonum's numeric ticks.
func curveChart(title, xlabel, ylabel string, lines map[string][]curvePoint, order []string, xticks plot.ConstantTicks) (string, error) {
	p := newPlot(title, xlabel, ylabel)
	if xticks != nil {
		p.X.Tick.Marker = xticks
	}
	var legend []legendEntry
	for i, name := range order {
		pts := lines[name]
		if len(pts) == 0 {
			continue
		}
		s := series{label: name, colorIdx: i, dashIdx: 0}
		for _, cp := range pts {
			if !finite(cp.x, cp.est.Value, cp.est.Lo, cp.est.Hi) {
				continue
			}
			s.xs = append(s.xs, cp.x)
			s.ys = append(s.ys, cp.est.Value)
			s.lo = append(s.lo, cp.est.Lo)
			s.hi = append(s.hi, cp.est.Hi)
		}
		if len(s.xs) == 0 {
			continue
		}
		e, err := addSeries(p, s, false)
		if err != nil {
			return "", fmt.Errorf("chart %s: %w", title, err)
		}
		legend = append(legend, e)
	}
	if len(legend) == 0 {
		return "", nil
	}
	if p.X.Min == p.X.Max {
		p.X.Min, p.X.Max = p.X.Min-1, p.X.Max+1
	} else {
		pad := (p.X.Max - p.X.Min) * 0.05
		p.X.Min, p.X.Max = p.X.Min-pad, p.X.Max+pad
	}
	return renderSVGSize(p, legend, 6*vg.Inch, 2.8*vg.Inch)
}
