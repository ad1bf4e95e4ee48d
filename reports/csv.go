package reports

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cgbench/cgbench/eval"
)

// csvHeader is the header row of WriteCSV.
var csvHeader = []string{"arm", "cg", "metric", "segment", "segment_value", "value", "lo", "hi", "n", "users", "warnings"}

// warningSep joins a figure's warnings in one CSV field.
const warningSep = "; "

// WriteCSV writes the figures of f as CSV: the csvHeader row, then one row
// per figure in file order. Floats print with the shortest representation
// that reads back exactly; warnings are joined with "; ".
func WriteCSV(w io.Writer, f *eval.File) error {
	if f == nil {
		return errors.New("write csv: nil metrics file")
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	ff := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, fg := range f.Figures {
		rec := []string{
			fg.Arm, fg.CG, fg.Metric, fg.Segment, fg.SegmentValue,
			ff(fg.Value), ff(fg.Lo), ff(fg.Hi),
			strconv.Itoa(fg.N), strconv.Itoa(fg.Users),
			strings.Join(fg.Warnings, warningSep),
		}
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
