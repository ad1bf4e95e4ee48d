package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cgbench/cgbench/eval"
)

// IntervalStyle selects how an estimate's confidence interval prints.
type IntervalStyle int

const (
	// PlusMinus prints "value ± half-width", half-width = (hi - lo) / 2. Compact,
	// but hides the asymmetry of a bootstrap interval.
	PlusMinus IntervalStyle = iota
	// Brackets prints "value [lo, hi]".
	Brackets
)

// finite reports whether every x is neither NaN nor infinite.
func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// decimals returns how many decimals show sig significant digits of v,
// clamped to [0, 6].
func decimals(v float64, sig int) int {
	if v == 0 || !finite(v) {
		return 0
	}
	d := sig - 1 - int(math.Floor(math.Log10(math.Abs(v))))
	return max(0, min(d, 6))
}

// estimateDecimals picks one precision for a value and its interval: three
// significant digits of the value, two of the half-width, but never more than
// two digits finer than the value needs (an interval a thousand times
// narrower than the value says nothing more at that precision).
func estimateDecimals(e eval.Estimate) int {
	dv := decimals(e.Value, 3)
	dh := decimals((e.Hi-e.Lo)/2, 2)
	if e.Value == 0 {
		return dh
	}
	return min(max(dv, dh), dv+2)
}

// fmtFloat formats v with d decimals; non-finite values print as "n/a"
// because metrics JSON cannot carry them and a reader should not see "NaN".
func fmtFloat(v float64, d int) string {
	if !finite(v) {
		return "n/a"
	}
	s := strconv.FormatFloat(v, 'f', d, 64)
	if s == "-0" || strings.Trim(s, "-0.") == "" && strings.HasPrefix(s, "-") {
		s = s[1:]
	}
	return s
}

// fmtValue formats a bare value with three significant digits.
func fmtValue(v float64) string { return fmtFloat(v, decimals(v, 3)) }

// fmtEstimate formats an estimate with its interval in the given style,
// without n: "0.123 ± 0.010" or "0.123 [0.113, 0.133]".
func fmtEstimate(e eval.Estimate, style IntervalStyle) string {
	d := estimateDecimals(e)
	switch style {
	case Brackets:
		return fmt.Sprintf("%s [%s, %s]", fmtFloat(e.Value, d), fmtFloat(e.Lo, d), fmtFloat(e.Hi, d))
	default:
		return fmt.Sprintf("%s ± %s", fmtFloat(e.Value, d), fmtFloat((e.Hi-e.Lo)/2, d))
	}
}

// fmtEstimateN is fmtEstimate followed by the number of units.
func fmtEstimateN(e eval.Estimate, style IntervalStyle) string {
	return fmt.Sprintf("%s n=%d", fmtEstimate(e, style), e.N)
}

// fmtPercent formats a fraction as a signed percentage: 0.123 -> "+12.3%".
func fmtPercent(frac float64) string {
	if !finite(frac) {
		return "n/a"
	}
	p := 100 * frac
	d := 1
	if math.Abs(p) >= 1000 {
		d = 0
	}
	s := strconv.FormatFloat(p, 'f', d, 64)
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	if strings.Trim(s, "+-0.") == "" {
		s = "+" + s[1:]
	}
	return s + "%"
}

// fmtSigned formats a difference with an explicit sign and d decimals.
func fmtSigned(v float64, d int) string {
	s := fmtFloat(v, d)
	if s != "n/a" && !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

// fmtPBare formats a p-value without a prefix: "0.002", "<0.001". Bootstrap
// p-values have a resolution of about 1/reps, so three decimals suffice.
func fmtPBare(p float64) string {
	switch {
	case !finite(p):
		return "n/a"
	case p < 0.0005:
		return "<0.001"
	default:
		return strconv.FormatFloat(p, 'f', 3, 64)
	}
}

// fmtP formats a p-value as "p=0.002" or "p<0.001".
func fmtP(p float64) string {
	s := fmtPBare(p)
	if strings.HasPrefix(s, "<") {
		return "p" + s
	}
	return "p=" + s
}

// relativeUsable reports whether a comparison's relative change is defined.
// A relative change is undefined when A is zero; the eval package then
// leaves Relative zero (JSON cannot carry NaN) while Diff is not, or fills
// it with non-finite values.
func relativeUsable(c eval.Comparison) bool {
	r := c.Relative
	if !finite(r.Value, r.Lo, r.Hi) {
		return false
	}
	zeroRel := r.Value == 0 && r.Lo == 0 && r.Hi == 0
	zeroDiff := c.Diff.Value == 0 && c.Diff.Lo == 0 && c.Diff.Hi == 0
	return !zeroRel || zeroDiff
}

// fmtChange formats the change B - A of a comparison: the relative change
// with its interval when defined, else the absolute difference.
func fmtChange(c eval.Comparison) string {
	if relativeUsable(c) {
		r := c.Relative
		return fmt.Sprintf("%s [%s, %s]", fmtPercent(r.Value), fmtPercent(r.Lo), fmtPercent(r.Hi))
	}
	d := estimateDecimals(c.Diff)
	return fmt.Sprintf("%s [%s, %s]", fmtSigned(c.Diff.Value, d), fmtSigned(c.Diff.Lo, d), fmtSigned(c.Diff.Hi, d))
}

// fmtDelta formats a comparison benchstat-style: "+12.3% [+8.1%, +16.0%]
// (p=0.002)" when significant, "~ (p=0.485)" when not, so that a change the
// data cannot support never reads as a win.
func fmtDelta(c eval.Comparison) string {
	if !c.Significant {
		return fmt.Sprintf("~ (%s)", fmtP(c.PAdjusted))
	}
	return fmt.Sprintf("%s (%s)", fmtChange(c), fmtP(c.PAdjusted))
}

// fmtDiff formats the absolute difference of a comparison with its interval.
func fmtDiff(c eval.Comparison) string {
	d := estimateDecimals(c.Diff)
	return fmt.Sprintf("%s [%s, %s]", fmtSigned(c.Diff.Value, d), fmtSigned(c.Diff.Lo, d), fmtSigned(c.Diff.Hi, d))
}

// superscript renders a footnote number with Unicode superscript digits.
func superscript(n int) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	runes := []rune(digits)
	var b strings.Builder
	for _, c := range strconv.Itoa(n) {
		b.WriteRune(runes[c-'0'])
	}
	return b.String()
}

// notes numbers warning texts in order of first use, so that a number can
// carry a footnote marker and the text prints once.
type notes struct {
	index map[string]int
	texts []string
}

// add registers warnings and returns their footnote numbers (1-based), in
// the order given, without duplicates.
func (n *notes) add(ws []string) []int {
	if len(ws) == 0 {
		return nil
	}
	if n.index == nil {
		n.index = make(map[string]int)
	}
	var ids []int
	seen := make(map[int]bool, len(ws))
	for _, w := range ws {
		id, ok := n.index[w]
		if !ok {
			n.texts = append(n.texts, w)
			id = len(n.texts)
			n.index[w] = id
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// cell is one formatted table cell with the footnotes of its warnings.
type cell struct {
	text  string
	notes []int
	// kind is a CSS hook for the HTML report: "num" for numbers, "up"/"down"
	// for significant changes, "ns" for non-significant ones, "" for text.
	kind string
}

// terminal renders the cell for a terminal: the text followed by
// superscript footnote markers.
func (c cell) terminal() string {
	if len(c.notes) == 0 {
		return c.text
	}
	parts := make([]string, len(c.notes))
	for i, n := range c.notes {
		parts[i] = superscript(n)
	}
	return c.text + " " + strings.Join(parts, "˒")
}

// deltaKind classifies a comparison for styling.
func deltaKind(c eval.Comparison) string {
	switch {
	case !c.Significant:
		return "ns"
	case c.Diff.Value > 0:
		return "up"
	case c.Diff.Value < 0:
		return "down"
	default:
		return "ns"
	}
}

// parseK splits a metric name like "recall@100/counterfactual" into its
// family "recall", K = 100 and the qualifier "counterfactual". ok is false
// for names without "@K".
func parseK(metric string) (family string, k int, qualifier string, ok bool) {
	at := strings.IndexByte(metric, '@')
	if at <= 0 {
		return "", 0, "", false
	}
	rest := metric[at+1:]
	digits := rest
	if slash := strings.IndexByte(rest, '/'); slash >= 0 {
		digits, qualifier = rest[:slash], rest[slash+1:]
	}
	k, err := strconv.Atoi(digits)
	if err != nil || k <= 0 {
		return "", 0, "", false
	}
	return metric[:at], k, qualifier, true
}

// matchGlob reports whether name matches pattern, where '*' matches any run
// of characters (including '/', unlike path.Match, so that "recall@*"
// matches "recall@10/logged") and '?' any one character.
func matchGlob(pattern, name string) bool {
	p, s := []rune(pattern), []rune(name)
	// Iterative wildcard matching with backtracking to the last '*'.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchAny reports whether name matches one of the patterns; no patterns
// match everything.
func matchAny(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if matchGlob(p, name) {
			return true
		}
	}
	return false
}

// cgLabel names a CG in a table; CG "" is the arm-level aggregate.
func cgLabel(cg string) string {
	if cg == "" {
		return "(all)"
	}
	return cg
}

// subjectLabel names one side of a comparison: "arm/cg", or the arm alone
// for arm-level figures.
func subjectLabel(s eval.Subject) string {
	if s.CG == "" {
		return s.Arm
	}
	return s.Arm + "/" + s.CG
}

// segmentLabel names a segment value: "country=US", "" for the population.
func segmentLabel(segment, value string) string {
	if segment == "" && value == "" {
		return ""
	}
	return segment + "=" + value
}

// intervalNote explains the intervals and tests of a file in one line.
func intervalNote(f *eval.File) string {
	lvl := f.Provenance.ConfidenceLvl
	if lvl <= 0 || lvl >= 1 {
		lvl = 0.95
	}
	var b strings.Builder
	fmt.Fprintf(&b, "intervals: %s%% bootstrap", strconv.FormatFloat(100*lvl, 'f', -1, 64))
	if f.Provenance.BootstrapReps > 0 {
		fmt.Fprintf(&b, " (%d reps, resampling users)", f.Provenance.BootstrapReps)
	}
	b.WriteString("; changes: paired, B vs A, p Holm-adjusted; ~: not significant")
	return b.String()
}
