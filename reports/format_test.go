package reports

import (
	"math"
	"testing"

	"github.com/cgbench/cgbench/eval"
)

func TestFmtEstimate(t *testing.T) {
	tests := []struct {
		name  string
		e     eval.Estimate
		style IntervalStyle
		want  string
	}{
		{"three significant digits", eval.Estimate{Value: 0.1234, Lo: 0.11, Hi: 0.13}, PlusMinus, "0.123 ± 0.010"},
		{"small value", eval.Estimate{Value: 0.0412, Lo: 0.0372, Hi: 0.0452}, PlusMinus, "0.0412 ± 0.0040"},
		{"brackets", eval.Estimate{Value: 2.1, Lo: 2.05, Hi: 2.15}, Brackets, "2.100 [2.050, 2.150]"},
		{"narrow interval capped at two extra digits", eval.Estimate{Value: 0.5, Lo: 0.4999999, Hi: 0.5000001}, PlusMinus, "0.50000 ± 0.00000"},
		{"zero value uses the interval", eval.Estimate{Value: 0, Lo: -0.002, Hi: 0.002}, Brackets, "0.0000 [-0.0020, 0.0020]"},
		{"large value", eval.Estimate{Value: 12345, Lo: 12000, Hi: 12700}, PlusMinus, "12345 ± 350"},
		{"non-finite", eval.Estimate{Value: math.NaN(), Lo: 0, Hi: 1}, PlusMinus, "n/a ± 0.50"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmtEstimate(tc.e, tc.style); got != tc.want {
				t.Errorf("fmtEstimate(%+v) = %q, want %q", tc.e, got, tc.want)
			}
		})
	}
}

func TestFmtPercentAndP(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"positive", fmtPercent(0.123), "+12.3%"},
		{"negative", fmtPercent(-0.0136), "-1.4%"},
		{"negative zero", fmtPercent(-0.0001), "+0.0%"},
		{"tenfold", fmtPercent(9.0), "+900.0%"},
		{"huge drops decimals", fmtPercent(12.3456), "+1235%"},
		{"p", fmtP(0.0021), "p=0.002"},
		{"p below resolution", fmtP(0.0001), "p<0.001"},
		{"p bare", fmtPBare(0.0001), "<0.001"},
		{"p NaN", fmtP(math.NaN()), "p=n/a"},
		{"superscript", superscript(12), "¹²"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestFmtDelta(t *testing.T) {
	a, b := eval.Subject{Arm: "a"}, eval.Subject{Arm: "b"}
	sig := cmpRel("m", a, b, 0.1, 0.5, 0.1, 0.01, true)
	ns := cmpRel("m", a, b, 0.1, 0.5, 0.6, 0.3, false)
	undefined := eval.Comparison{Metric: "m", A: a, B: b, Diff: eval.Estimate{Value: 0.02, Lo: 0.01, Hi: 0.03}, PAdjusted: 0.01, Significant: true}
	tests := []struct {
		name string
		c    eval.Comparison
		want string
	}{
		{"significant relative", sig, "+50.0% [+40.0%, +60.0%] (p=0.010)"},
		{"not significant", ns, "~ (p=0.300)"},
		{"relative undefined falls back to the difference", undefined, "+0.0200 [+0.0100, +0.0300] (p=0.010)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmtDelta(tc.c); got != tc.want {
				t.Errorf("fmtDelta = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseK(t *testing.T) {
	tests := []struct {
		metric    string
		family    string
		k         int
		qualifier string
		ok        bool
	}{
		{"recall@100/logged", "recall", 100, "logged", true},
		{"ndcg@10/counterfactual", "ndcg", 10, "counterfactual", true},
		{"hit@5", "hit", 5, "", true},
		{"mrr/counterfactual", "", 0, "", false},
		{"recall@K/logged", "", 0, "", false},
		{"recall@0", "", 0, "", false},
		{"@10", "", 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.metric, func(t *testing.T) {
			f, k, q, ok := parseK(tc.metric)
			if f != tc.family || k != tc.k || q != tc.qualifier || ok != tc.ok {
				t.Errorf("parseK(%q) = (%q, %d, %q, %v), want (%q, %d, %q, %v)", tc.metric, f, k, q, ok, tc.family, tc.k, tc.qualifier, tc.ok)
			}
		})
	}
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"recall@*", "recall@10/logged", true},
		{"recall@*/logged", "recall@10/logged", true},
		{"recall@*/logged", "recall@10/counterfactual", false},
		{"*share", "impression_share", true},
		{"roas", "roas/country=US", false},
		{"roas*", "roas/country=US", true},
		{"recall@?0/*", "recall@10/logged", true},
		{"recall@?0/*", "recall@100/logged", false},
		{"", "", true},
		{"*", "", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+"~"+tc.name, func(t *testing.T) {
			if got := matchGlob(tc.pattern, tc.name); got != tc.want {
				t.Errorf("matchGlob(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
			}
		})
	}
}

func TestNotes(t *testing.T) {
	var n notes
	if got := n.add([]string{"a", "b", "a"}); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("add(a, b, a) = %v, want [1 2]", got)
	}
	if got := n.add([]string{"b", "c"}); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Errorf("add(b, c) = %v, want [2 3]", got)
	}
	if got := n.add(nil); got != nil {
		t.Errorf("add(nil) = %v, want nil", got)
	}
	if len(n.texts) != 3 {
		t.Errorf("texts = %v, want 3 distinct", n.texts)
	}
}
