package reports

import (
	"fmt"

	"github.com/cgbench/cgbench/eval"
)

// est builds an estimate with a symmetric interval.
func est(v, hw float64, n int, warnings ...string) eval.Estimate {
	return eval.Estimate{Value: v, Lo: v - hw, Hi: v + hw, N: n, Users: n / 4, Warnings: warnings}
}

// cmpRel builds a comparison B vs A with a relative change rel ± relHW on a
// base value a.
func cmpRel(metric string, a, b eval.Subject, base, rel, relHW, p float64, sig bool) eval.Comparison {
	return eval.Comparison{
		Metric:      metric,
		A:           a,
		B:           b,
		Diff:        eval.Estimate{Value: base * rel, Lo: base * (rel - relHW), Hi: base * (rel + relHW), N: 400, Users: 100},
		Relative:    eval.Estimate{Value: rel, Lo: rel - relHW, Hi: rel + relHW, N: 400, Users: 100},
		PValue:      p / 2,
		PAdjusted:   p,
		Significant: sig,
	}
}

// smallFile is the golden-table fixture: two arms, two CGs, one
// significant and one non-significant comparison, one warning on a figure
// and one run-level warning.
func smallFile() *eval.File {
	base := eval.Subject{Arm: "baseline", CG: "two_tower"}
	ctx := eval.Subject{Arm: "contextual", CG: "two_tower"}
	pop := eval.Subject{Arm: "baseline", CG: "popular"}
	popC := eval.Subject{Arm: "contextual", CG: "popular"}
	return &eval.File{
		SchemaVersion: eval.FileSchemaVersion,
		Provenance: eval.Provenance{
			Version: "v0.1.0", CreatedAt: "2026-11-02T10:00:00Z", DataHash: "sha256:abc",
			ConfigHashes: map[string]string{"world": "w1", "funnel": "f1"},
			Seeds:        map[string]uint64{"world": 1, "bootstrap": 7},
			Results:      []string{"runs/a"},
			Arms:         []string{"baseline", "contextual"},
			CGs:          []string{"two_tower", "popular"},
			Ks:           []int{10, 100}, BootstrapReps: 200, ConfidenceLvl: 0.95,
		},
		Definitions: []eval.Definition{
			{Name: "recall@100/counterfactual", Description: "share of counterfactual impressions found in the CG's top 100"},
			{Name: "impression_share", Description: "impressions attributed to the CG / all impressions"},
		},
		Figures: []eval.Figure{
			{Arm: "baseline", CG: "two_tower", Metric: "recall@100/counterfactual", Estimate: est(0.0412, 0.004, 400)},
			{Arm: "contextual", CG: "two_tower", Metric: "recall@100/counterfactual", Estimate: est(0.1530, 0.011, 400)},
			{Arm: "baseline", CG: "popular", Metric: "recall@100/counterfactual", Estimate: est(0.2210, 0.015, 400)},
			{Arm: "contextual", CG: "popular", Metric: "recall@100/counterfactual", Estimate: est(0.2180, 0.016, 400)},
			{Arm: "baseline", CG: "two_tower", Metric: "impression_share", Estimate: est(0.0081, 0.0012, 380, "need >= 6 users with impressions for a stable interval")},
			{Arm: "contextual", CG: "two_tower", Metric: "impression_share", Estimate: est(0.0210, 0.0030, 380)},
		},
		Comparisons: []eval.Comparison{
			cmpRel("recall@100/counterfactual", base, ctx, 0.0412, 2.714, 0.3, 0.002, true),
			cmpRel("recall@100/counterfactual", pop, popC, 0.2210, -0.0136, 0.05, 0.485, false),
		},
		Warnings: []string{"replay covered 400 of 500 requests"},
	}
}

// fullFile is a richer fixture for the HTML report: every metric family,
// segments, distributions, between-CG comparisons and warnings. scale
// shifts the contextual arm's recall so that ablation variants differ.
func fullFile(scale float64) *eval.File {
	arms := []string{"baseline", "contextual"}
	cgs := []string{"two_tower", "popular", "<script>alert(1)</script>"}
	ks := []int{10, 50, 100, 500}
	f := &eval.File{
		SchemaVersion: eval.FileSchemaVersion,
		Provenance: eval.Provenance{
			Version: "v0.1.0", CreatedAt: "2026-11-02T10:00:00Z", DataHash: "sha256:0123456789abcdef",
			ConfigHashes: map[string]string{"world": "w1", "funnel": "f1", "replay": "r1"},
			Configs:      map[string]any{"replay": map[string]any{"staleness": "daily", "requests": 500}},
			Seeds:        map[string]uint64{"world": 1, "replay": 2, "bootstrap": 7},
			Results:      []string{"runs/quickstart/baseline", "runs/quickstart/contextual"},
			Arms:         arms, CGs: cgs, Ks: ks,
			BootstrapReps: 200, ConfidenceLvl: 0.95, DefinitionHash: "sha256:defs",
			Protocol: "counterfactual replay",
		},
		Warnings: []string{"feature store snapshot older than 2 days for 3% of users"},
	}
	def := func(name, desc string, oracle bool) {
		f.Definitions = append(f.Definitions, eval.Definition{Name: name, Description: desc, Oracle: oracle})
	}
	add := func(arm, cg, metric string, e eval.Estimate) {
		f.Figures = append(f.Figures, eval.Figure{Arm: arm, CG: cg, Metric: metric, Estimate: e})
	}
	for _, q := range []string{"counterfactual", "logged"} {
		for _, k := range ks {
			def(fmt.Sprintf("recall@%d/%s", k, q), fmt.Sprintf("share of %s positives in the CG's top %d", q, k), false)
		}
	}
	for _, m := range []string{"survival/pre-ranked", "survival/ranked", "survival/impressed", "impression_share",
		"median_relevance/retrieved", "mean_relevance/delivered", "roas", "roas/country=US", "clicks_per_request"} {
		def(m, "definition of "+m, false)
	}
	def("oracle_median_relevance/retrieved", "true relevance of retrieved candidates", true)
	for ai, arm := range arms {
		for ci, cg := range cgs {
			lift := 1.0
			switch {
			case ai == 1 && ci == 0:
				lift = 2.5 * scale
			case ai == 1:
				lift = 0.97
			}
			base := 0.02 * float64(ci+1)
			for qi, q := range []string{"counterfactual", "logged"} {
				for _, k := range ks {
					r := min(0.95, base*lift*(1+float64(qi)*0.2)*float64(k)/(float64(k)+60))
					var ws []string
					if k == 10 && ci == 2 {
						ws = []string{"fewer than 20 positives in 31% of resamples"}
					}
					add(arm, cg, fmt.Sprintf("recall@%d/%s", k, q), est(r, r*0.1+0.002, 500, ws...))
				}
			}
			surv := []float64{0.4, 0.1, 0.01}
			for si, st := range []string{"pre-ranked", "ranked", "impressed"} {
				v := surv[si] * lift * float64(ci+1) / 2
				add(arm, cg, "survival/"+st, est(v, v*0.08, 5000))
			}
			add(arm, cg, "impression_share", est(0.05*lift*float64(ci+1), 0.01, 480))
			add(arm, cg, "median_relevance/retrieved", est(0.12*lift, 0.02, 5000))
			add(arm, cg, "mean_relevance/delivered", est(0.3*(1+0.1*float64(ai)), 0.03, 480))
			add(arm, cg, "oracle_median_relevance/retrieved", est(0.11*lift, 0.02, 5000))
			for _, name := range []string{"relevance/retrieved", "relevance/delivered"} {
				d := eval.Distribution{Arm: arm, CG: cg, Name: name}
				for b := 0; b <= 10; b++ {
					d.Edges = append(d.Edges, float64(b)/10)
				}
				for b := range 10 {
					center := 0.15 + 0.1*float64(ci) + 0.35*float64(ai)
					x := float64(b)/10 + 0.05 - center
					d.Counts = append(d.Counts, int64(1000/(1+40*x*x)))
				}
				f.Distributions = append(f.Distributions, d)
			}
		}
		add(arm, "", "roas", est(2.1*(1+0.007*float64(ai)), 0.05, 500))
		add(arm, "", "roas/country=US", est(2.4*(1+0.014*float64(ai)), 0.08, 200))
		add(arm, "", "clicks_per_request", est(0.031, 0.002, 500))
		for _, tier := range []string{"short", "long"} {
			f.Figures = append(f.Figures, eval.Figure{Arm: arm, CG: "two_tower", Metric: "recall@100/counterfactual",
				Segment: "history_length", SegmentValue: tier, Estimate: est(0.05*float64(ai+1), 0.01, 250)})
		}
	}
	b := eval.Subject{Arm: "baseline", CG: "two_tower"}
	c := eval.Subject{Arm: "contextual", CG: "two_tower"}
	for _, q := range []string{"counterfactual", "logged"} {
		for _, k := range ks {
			f.Comparisons = append(f.Comparisons, cmpRel(fmt.Sprintf("recall@%d/%s", k, q), b, c, 0.02, 2.5*scale-1, 0.4, 0.001, true))
		}
	}
	f.Comparisons = append(f.Comparisons,
		cmpRel("survival/impressed", b, c, 0.005, 2.5*scale-1, 0.5, 0.004, true),
		cmpRel("impression_share", b, c, 0.05, 2.5*scale-1, 0.6, 0.01, true),
		cmpRel("median_relevance/retrieved", b, c, 0.12, 2.8, 0.3, 0.001, true),
		cmpRel("mean_relevance/delivered", b, c, 0.3, 0.0108, 0.02, 0.31, false),
		cmpRel("roas", eval.Subject{Arm: "baseline"}, eval.Subject{Arm: "contextual"}, 2.1, 0.007, 0.01, 0.2, false),
		cmpRel("roas/country=US", eval.Subject{Arm: "baseline"}, eval.Subject{Arm: "contextual"}, 2.4, 0.014, 0.012, 0.04, true),
		cmpRel("recall@100/counterfactual", c, eval.Subject{Arm: "contextual", CG: "popular"}, 0.06, -0.4, 0.2, 0.02, true),
	)
	seg := cmpRel("recall@100/counterfactual", b, c, 0.05, 1.0, 0.5, 0.03, true)
	seg.Segment, seg.SegmentValue = "history_length", "short"
	f.Comparisons = append(f.Comparisons, seg)
	return f
}
