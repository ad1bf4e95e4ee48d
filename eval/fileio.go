package eval

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/cgbench/cgbench/datasets"
)

// MetricsFile is the conventional name of a metrics file in a run folder.
const MetricsFile = "metrics.json"

// ReadFile reads a metrics file. It refuses a file of another schema version
// and a file with unknown fields, naming the file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read metrics %s: %w", path, err)
	}
	var head struct {
		SchemaVersion *int `json:"schema_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("read metrics %s: not a metrics JSON file: %w", path, err)
	}
	if head.SchemaVersion == nil {
		return nil, fmt.Errorf("read metrics %s: no schema_version: not a cgbench metrics file", path)
	}
	if *head.SchemaVersion != FileSchemaVersion {
		return nil, fmt.Errorf("read metrics %s: schema version %d, this cgbench reads version %d: recompute it with this version", path, *head.SchemaVersion, FileSchemaVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("read metrics %s: %w", path, err)
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("read metrics %s: %w", path, err)
	}
	return &f, nil
}

// validate checks what a consumer relies on.
func (f *File) validate() error {
	for i, d := range f.Distributions {
		if len(d.Edges) != len(d.Counts)+1 {
			return fmt.Errorf("distribution %d (%s %s %s): %d edges for %d counts", i, d.Arm, d.CG, d.Name, len(d.Edges), len(d.Counts))
		}
	}
	for i, g := range f.Figures {
		if g.Metric == "" || g.Arm == "" {
			return fmt.Errorf("figure %d: empty arm or metric", i)
		}
		if (g.Segment == "") != (g.SegmentValue == "") {
			return fmt.Errorf("figure %d (%s): segment %q with value %q", i, g.Metric, g.Segment, g.SegmentValue)
		}
	}
	return nil
}

// WriteFile writes f as indented JSON, atomically. Struct fields keep their
// declared order and map keys are sorted, so equal files are equal bytes. A
// non-finite number is an error.
func WriteFile(path string, f *File) error {
	b, err := Marshal(f)
	if err != nil {
		return fmt.Errorf("write metrics %s: %w", path, err)
	}
	return datasets.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// Marshal returns the bytes WriteFile writes.
func Marshal(f *File) ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Lookup returns the figure of (arm, cg, metric) in a segment value; cg ""
// is an arm-level figure and segment "" with value "" the whole population.
func (f *File) Lookup(arm, cg, metric, segment, value string) (Figure, bool) {
	for _, g := range f.Figures {
		if g.Arm == arm && g.CG == cg && g.Metric == metric && g.Segment == segment && g.SegmentValue == value {
			return g, true
		}
	}
	return Figure{}, false
}

// WriteCSV writes the figures as CSV with the header
// arm,cg,metric,segment,segment_value,value,lo,hi,n,users,oracle,warnings;
// warnings are joined with "; ".
func WriteCSV(w io.Writer, f *File) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"arm", "cg", "metric", "segment", "segment_value", "value", "lo", "hi", "n", "users", "oracle", "warnings"}); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, g := range f.Figures {
		d, _ := f.Definition(g.Metric)
		rec := []string{g.Arm, g.CG, g.Metric, g.Segment, g.SegmentValue}
		rec = append(rec, estimateFields(g.Estimate)...)
		rec = append(rec, strconv.FormatBool(d.Oracle), strings.Join(g.Warnings, "; "))
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// WriteComparisonsCSV writes the comparisons as CSV with the header
// metric,segment,segment_value,a_arm,a_cg,b_arm,b_cg,diff,diff_lo,diff_hi,
// n,users,relative,relative_lo,relative_hi,p_value,p_adjusted,significant,
// warnings.
func WriteComparisonsCSV(w io.Writer, f *File) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"metric", "segment", "segment_value", "a_arm", "a_cg", "b_arm", "b_cg",
		"diff", "diff_lo", "diff_hi", "n", "users", "relative", "relative_lo", "relative_hi",
		"p_value", "p_adjusted", "significant", "warnings"}); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, c := range f.Comparisons {
		rec := []string{c.Metric, c.Segment, c.SegmentValue, c.A.Arm, c.A.CG, c.B.Arm, c.B.CG}
		rec = append(rec, estimateFields(c.Diff)...)
		rec = append(rec, formatFloat(c.Relative.Value), formatFloat(c.Relative.Lo), formatFloat(c.Relative.Hi),
			formatFloat(c.PValue), formatFloat(c.PAdjusted), strconv.FormatBool(c.Significant), strings.Join(c.Relative.Warnings, "; "))
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

func estimateFields(e Estimate) []string {
	return []string{formatFloat(e.Value), formatFloat(e.Lo), formatFloat(e.Hi), strconv.Itoa(e.N), strconv.Itoa(e.Users)}
}

func formatFloat(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}
