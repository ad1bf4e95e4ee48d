package experiment

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/eval"
	"github.com/cgbench/cgbench/reports"
)

// RenderReport renders the HTML report of inputs to out. An input is a
// metrics.json file, a folder holding one (a results folder, a quickstart
// folder) or an ablation folder (holding ablation.json). Nothing is
// recomputed: the report reads the metrics files only.
func RenderReport(inputs []string, out, title string) error {
	var files []*eval.File
	opts := reports.HTMLOptions{Title: title}
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if !st.IsDir() {
			f, err := eval.ReadFile(in)
			if err != nil {
				return err
			}
			files = append(files, f)
			continue
		}
		if _, err := os.Stat(filepath.Join(in, AblationFile)); err == nil {
			if opts.Ablation != nil {
				return fmt.Errorf("report: %s: one ablation per report", in)
			}
			res, cells, err := ReadAblation(in)
			if err != nil {
				return err
			}
			ab := &reports.Ablation{Name: res.Name}
			for _, v := range res.Variants {
				fs := cells[v.Name]
				if len(fs) == 0 {
					continue
				}
				// The first seed's cell stands for the variant in the
				// charts; every seed's figures are in ablation.json.
				ab.Variants = append(ab.Variants, reports.Variant{Name: v.Name, Overrides: v.Overrides, Seeds: v.Seeds, File: fs[0]})
			}
			opts.Ablation = ab
			if len(ab.Variants) > 0 {
				// The per-run sections show the first variant's cell in
				// full; the ablation section compares every variant.
				files = append(files, ab.Variants[0].File)
				if opts.Title == "" {
					opts.Title = fmt.Sprintf("cgbench ablation: %s (run sections: variant %s)", res.Name, ab.Variants[0].Name)
				}
			}
			continue
		}
		f, err := eval.ReadFile(filepath.Join(in, MetricsFile))
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	if len(files) > 0 {
		opts.Baseline = eval.Subject{Arm: ArmBaseline, CG: LearnedCG}
		opts.Candidate = eval.Subject{Arm: ArmContextual, CG: LearnedCG}
		if !hasFigure(files[0], opts.Baseline) || !hasFigure(files[0], opts.Candidate) {
			opts.Baseline, opts.Candidate = eval.Subject{}, eval.Subject{}
		}
	}
	return datasets.WriteFileAtomic(out, func(w io.Writer) error {
		return reports.WriteHTML(w, files, opts)
	})
}

func hasFigure(f *eval.File, s eval.Subject) bool {
	for _, fg := range f.Figures {
		if fg.Arm == s.Arm && fg.CG == s.CG {
			return true
		}
	}
	return false
}
