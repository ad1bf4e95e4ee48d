package datasets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// TableError is a problem with a table's data, located by file, row and
// column. Row is -1 when the problem is not one row's; Column is "" when it
// is not one column's.
type TableError struct {
	Path   string
	Row    int64
	Column string
	Msg    string
}

func (e *TableError) Error() string {
	var b strings.Builder
	b.WriteString("read ")
	b.WriteString(e.Path)
	if e.Row >= 0 {
		fmt.Fprintf(&b, ": row %d", e.Row)
	}
	if e.Column != "" {
		b.WriteString(": column ")
		b.WriteString(e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func tableErrorf(path string, row int64, column, format string, args ...any) *TableError {
	return &TableError{Path: path, Row: row, Column: column, Msg: fmt.Sprintf(format, args...)}
}

// checkColumns checks that the file schema has every column of want with the
// same physical type and repetition. A column's name is its dotted path
// without the LIST levels ("categories.confidence"). Optional columns are
// accepted where want has required ones, since writers such as Arrow mark
// every column optional.
func checkColumns(path string, file, want parquet.Node) error {
	return checkFields(path, "", file, want)
}

func checkFields(path, prefix string, file, want parquet.Node) error {
	for _, wf := range want.Fields() {
		name := prefix + wf.Name()
		display := displayColumn(name)
		var ff parquet.Field
		for _, f := range file.Fields() {
			if f.Name() == wf.Name() {
				ff = f
				break
			}
		}
		if ff == nil {
			return tableErrorf(path, -1, display, "missing column %s", display)
		}
		if wf.Repeated() != ff.Repeated() {
			return tableErrorf(path, -1, display, "repetition %s, want %s", repetition(ff), repetition(wf))
		}
		if wf.Leaf() != ff.Leaf() {
			return tableErrorf(path, -1, display, "is a %s, want a %s", nodeKind(ff), nodeKind(wf))
		}
		if wf.Leaf() {
			if wk, fk := wf.Type().Kind(), ff.Type().Kind(); wk != fk {
				return tableErrorf(path, -1, display, "type %s, want %s", fk, wk)
			}
			continue
		}
		if err := checkFields(path, name+".", ff, wf); err != nil {
			return err
		}
	}
	return nil
}

// displayColumn drops the LIST encoding's inner levels from a column path.
func displayColumn(name string) string {
	name = strings.ReplaceAll(name, ".list.element", "")
	name = strings.TrimSuffix(name, ".list")
	return name
}

func repetition(n parquet.Node) string {
	switch {
	case n.Repeated():
		return "repeated"
	case n.Optional():
		return "optional"
	}
	return "required"
}

func nodeKind(n parquet.Node) string {
	if n.Leaf() {
		return "leaf column"
	}
	return "group"
}

// checkFrame checks a Parquet file's frame before parquet-go reads it: the
// magic bytes at both ends and a footer length that fits in the file.
// parquet-go allocates the footer length it reads without checking it, so a
// corrupt length would allocate gigabytes.
func checkFrame(f io.ReaderAt, size int64) error {
	const magic = "PAR1"
	if size < 12 {
		return fmt.Errorf("%d bytes, too short for a parquet file", size)
	}
	var head, tail [8]byte
	if _, err := f.ReadAt(head[:4], 0); err != nil {
		return err
	}
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return err
	}
	if string(head[:4]) != magic || string(tail[4:]) != magic {
		return errors.New("no PAR1 magic bytes")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n == 0 || n > size-12 {
		return fmt.Errorf("footer length %d does not fit in a file of %d bytes", n, size)
	}
	return nil
}

// scanChecked reads the table at path in batches like ScanTable, after
// checking that the file has every column of T with the right type:
// parquet-go would otherwise zero-fill a missing column silently. start, when
// not nil, is called with the row count of the file's footer before the
// first batch. Data errors are *TableError; a corrupt file never panics.
func scanChecked[T any](path string, batch int, start func(rows int64), fn func(first int64, rows []T) error) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	var first int64
	inFn := false
	defer func() {
		if r := recover(); r != nil {
			if inFn {
				panic(r) // our callback's bug, not the file's
			}
			// parquet-go can panic on corrupt input; it is data at fault.
			err = tableErrorf(path, first, "", "corrupt parquet file: %v", r)
		}
	}()
	if err := checkFrame(f, st.Size()); err != nil {
		return tableErrorf(path, -1, "", "not a valid parquet file: %v", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return tableErrorf(path, -1, "", "not a valid parquet file: %v", err)
	}
	if err := checkColumns(path, pf.Schema(), parquet.SchemaOf(new(T))); err != nil {
		return err
	}
	if start != nil {
		inFn = true
		start(pf.NumRows())
		inFn = false
	}
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	buf := make([]T, max(1, min(int64(batch), pf.NumRows())))
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			inFn = true
			if err := fn(first, buf[:n]); err != nil {
				return err
			}
			inFn = false
			first += int64(n)
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return tableErrorf(path, first, "", "%v", rerr)
		}
	}
}

// readChecked reads a whole table after checking its columns.
func readChecked[T any](path string) ([]T, error) {
	var out []T
	err := scanChecked(path, ReadBatchRows, func(n int64) {
		// The footer's count is only a hint: a corrupt file may claim anything.
		out = make([]T, 0, min(max(n, 0), 1<<22))
	}, func(_ int64, rows []T) error {
		out = append(out, rows...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
