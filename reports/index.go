package reports

import (
	"slices"
	"strings"

	"github.com/cgbench/cgbench/eval"
)

// figKey addresses one figure.
type figKey struct {
	arm, cg, metric, segment, value string
}

// cmpKey addresses one comparison.
type cmpKey struct {
	metric, segment, value string
	a, b                   eval.Subject
}

// index orders and looks up the contents of one metrics file. Orders are
// deterministic: provenance order first, then order of first appearance.
type index struct {
	f        *eval.File
	arms     []string
	cgs      []string
	metrics  []string
	segments []string            // segment names, "" first when present
	values   map[string][]string // segment -> values in order of appearance
	figs     map[figKey]eval.Figure
	cmps     map[cmpKey]eval.Comparison
	defs     map[string]eval.Definition
}

// appendNew appends s to list unless present.
func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func newIndex(f *eval.File) *index {
	ix := &index{
		f:      f,
		values: make(map[string][]string),
		figs:   make(map[figKey]eval.Figure, len(f.Figures)),
		cmps:   make(map[cmpKey]eval.Comparison, len(f.Comparisons)),
		defs:   make(map[string]eval.Definition, len(f.Definitions)),
	}
	for _, a := range f.Provenance.Arms {
		ix.arms = appendNew(ix.arms, a)
	}
	hasArmLevel := false
	for _, fg := range f.Figures {
		if fg.CG == "" {
			hasArmLevel = true
		}
	}
	if hasArmLevel {
		ix.cgs = append(ix.cgs, "")
	}
	for _, c := range f.Provenance.CGs {
		ix.cgs = appendNew(ix.cgs, c)
	}
	usedMetric := make(map[string]bool)
	for _, fg := range f.Figures {
		usedMetric[fg.Metric] = true
	}
	for _, c := range f.Comparisons {
		usedMetric[c.Metric] = true
	}
	for _, d := range f.Definitions {
		ix.defs[d.Name] = d
		if usedMetric[d.Name] {
			ix.metrics = appendNew(ix.metrics, d.Name)
		}
	}
	seg := func(s, v string) {
		if s == "" && v == "" {
			if !slices.Contains(ix.segments, "") {
				ix.segments = slices.Insert(ix.segments, 0, "")
			}
			return
		}
		ix.segments = appendNew(ix.segments, s)
		ix.values[s] = appendNew(ix.values[s], v)
	}
	for _, fg := range f.Figures {
		ix.arms = appendNew(ix.arms, fg.Arm)
		ix.cgs = appendNew(ix.cgs, fg.CG)
		ix.metrics = appendNew(ix.metrics, fg.Metric)
		seg(fg.Segment, fg.SegmentValue)
		ix.figs[figKey{fg.Arm, fg.CG, fg.Metric, fg.Segment, fg.SegmentValue}] = fg
	}
	for _, c := range f.Comparisons {
		ix.metrics = appendNew(ix.metrics, c.Metric)
		seg(c.Segment, c.SegmentValue)
		k := cmpKey{c.Metric, c.Segment, c.SegmentValue, c.A, c.B}
		if _, dup := ix.cmps[k]; !dup {
			ix.cmps[k] = c
		}
	}
	return ix
}

// fig returns the figure of (arm, cg, metric) in a segment value.
func (ix *index) fig(arm, cg, metric, segment, value string) (eval.Figure, bool) {
	fg, ok := ix.figs[figKey{arm, cg, metric, segment, value}]
	return fg, ok
}

// figOrArm returns the figure of (arm, cg, metric) on the whole population,
// falling back to the arm-level figure (CG "") for metrics such as ROAS that
// are only defined per arm.
func (ix *index) figOrArm(arm, cg, metric string) (eval.Figure, bool) {
	if fg, ok := ix.fig(arm, cg, metric, "", ""); ok {
		return fg, true
	}
	if cg != "" {
		return ix.fig(arm, "", metric, "", "")
	}
	return eval.Figure{}, false
}

// cmp returns the comparison B vs A of a metric in a segment value.
func (ix *index) cmp(metric, segment, value string, a, b eval.Subject) (eval.Comparison, bool) {
	c, ok := ix.cmps[cmpKey{metric, segment, value, a, b}]
	return c, ok
}

// cmpOrArm is cmp on the whole population with the arm-level fallback of
// figOrArm.
func (ix *index) cmpOrArm(metric string, a, b eval.Subject) (eval.Comparison, bool) {
	if c, ok := ix.cmp(metric, "", "", a, b); ok {
		return c, true
	}
	if a.CG != "" || b.CG != "" {
		return ix.cmp(metric, "", "", eval.Subject{Arm: a.Arm}, eval.Subject{Arm: b.Arm})
	}
	return eval.Comparison{}, false
}

// armPair is a comparison between two arms on the same CG, the shape of a
// delta column.
type armPair struct{ a, b string }

// armPairs lists the arm pairs of the comparisons accepted by keep, in
// order of first appearance.
func (ix *index) armPairs(keep func(eval.Comparison) bool) []armPair {
	var pairs []armPair
	for _, c := range ix.f.Comparisons {
		if c.A.CG != c.B.CG || c.A.Arm == c.B.Arm || !keep(c) {
			continue
		}
		p := armPair{c.A.Arm, c.B.Arm}
		if !slices.Contains(pairs, p) {
			pairs = append(pairs, p)
		}
	}
	return pairs
}

// focus returns the subjects the file is about: the baseline and candidate
// of its first whole-population arm-vs-arm comparison on a CG (preferring a
// recall metric), else the first two arms on the first CG. ok is false when
// the file has fewer than two arms.
func (ix *index) focus() (base, cand eval.Subject, ok bool) {
	var first *eval.Comparison
	for i, c := range ix.f.Comparisons {
		if c.Segment != "" || c.A.CG != c.B.CG || c.A.Arm == c.B.Arm || c.A.CG == "" {
			continue
		}
		if first == nil {
			first = &ix.f.Comparisons[i]
		}
		if strings.HasPrefix(c.Metric, "recall@") {
			return c.A, c.B, true
		}
	}
	if first != nil {
		return first.A, first.B, true
	}
	if len(ix.arms) < 2 {
		return eval.Subject{}, eval.Subject{}, false
	}
	cg := ""
	for _, c := range ix.cgs {
		if c != "" {
			cg = c
			break
		}
	}
	return eval.Subject{Arm: ix.arms[0], CG: cg}, eval.Subject{Arm: ix.arms[1], CG: cg}, true
}
