package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cgbench/cgbench/datasets"
	"github.com/parquet-go/parquet-go"
)

// tableReader pulls rows of a Parquet table, so that two tables can be read
// in step (the request log and its truth).
type tableReader[T any] struct {
	path string
	f    *os.File
	r    *parquet.GenericReader[T]
	rows int64 // rows in the file
	row  int64 // rows read so far
}

func openTable[T any](path string) (t *tableReader[T], err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer func() {
		// parquet-go can panic on corrupt input; it is data at fault.
		if r := recover(); r != nil {
			f.Close()
			t, err = nil, fmt.Errorf("read %s: corrupt parquet file: %v", path, r)
		}
	}()
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read %s: not a valid parquet file: %w", path, err)
	}
	return &tableReader[T]{path: path, f: f, r: parquet.NewGenericReader[T](pf), rows: pf.NumRows()}, nil
}

// read fills buf as far as the table goes and returns the rows read; 0
// rows and no error mean the end of the table.
func (t *tableReader[T]) read(buf []T) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read %s: row %d: corrupt parquet file: %v", t.path, t.row, r)
		}
	}()
	for n < len(buf) {
		m, rerr := t.r.Read(buf[n:])
		n += m
		t.row += int64(m)
		if errors.Is(rerr, io.EOF) {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("read %s: row %d: %w", t.path, t.row, rerr)
		}
		if m == 0 {
			return n, nil
		}
	}
	return n, nil
}

// seek positions the reader at row.
func (t *tableReader[T]) seek(row int64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read %s: row %d: corrupt parquet file: %v", t.path, row, r)
		}
	}()
	if err := t.r.SeekToRow(row); err != nil {
		return fmt.Errorf("read %s: seek to row %d: %w", t.path, row, err)
	}
	t.row = row
	return nil
}

func (t *tableReader[T]) close() {
	t.r.Close()
	t.f.Close()
}

// chunk is a run of consecutive selected requests with their truth.
type chunk struct {
	idx    int
	reqs   []datasets.Request
	truths []datasets.TruthRequest
	rows   []int64 // row of each request in the request log
}

// requestSource yields the request log with its truth, aligned by row, from
// memory when loaded and streamed from the dataset folder otherwise.
type requestSource struct {
	memReqs   []datasets.Request
	memTruths []datasets.TruthRequest
	reqFile   *tableReader[datasets.Request]
	truthFile *tableReader[datasets.TruthRequest]
	rows      int64
	reqPath   string
}

func openRequests(w *datasets.World, truth *datasets.Truth) (*requestSource, error) {
	s := &requestSource{memReqs: w.Requests, memTruths: truth.Requests, reqPath: filepath.Join(w.Dir, datasets.RequestsFile)}
	var err error
	if w.Requests == nil {
		if s.reqFile, err = openTable[datasets.Request](s.reqPath); err != nil {
			return nil, fmt.Errorf("open request log: %w", err)
		}
		s.rows = s.reqFile.rows
	} else {
		s.rows = int64(len(w.Requests))
	}
	truthRows := int64(len(truth.Requests))
	if truth.Requests == nil {
		if s.truthFile, err = openTable[datasets.TruthRequest](filepath.Join(w.Dir, datasets.TruthRequestsFile)); err != nil {
			s.close()
			return nil, fmt.Errorf("open request truth: %w", err)
		}
		truthRows = s.truthFile.rows
	}
	if truthRows != s.rows {
		s.close()
		return nil, fmt.Errorf("open request log: %d requests but %d truth requests", s.rows, truthRows)
	}
	return s, nil
}

func (s *requestSource) close() {
	if s.reqFile != nil {
		s.reqFile.close()
	}
	if s.truthFile != nil {
		s.truthFile.close()
	}
}

// run reads the log in order and emits chunks of up to size selected
// requests (keep filters rows; at most max are selected when max > 0) until
// the log ends, emit returns false or ctx is done.
func (s *requestSource) run(ctx context.Context, size int, keep func(*datasets.Request) bool, max int, emit func(*chunk) bool) error {
	var row int64
	selected := 0
	idx := 0
	for row < s.rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(min(int64(size), s.rows-row))
		var reqs []datasets.Request
		var truths []datasets.TruthRequest
		if s.reqFile != nil {
			// Fresh buffers per read: the reader may reuse the list
			// columns' backing arrays of the rows it decodes into, which
			// earlier chunks still hold.
			rbuf := make([]datasets.Request, n)
			m, err := s.reqFile.read(rbuf)
			if err != nil {
				return err
			}
			if m < n {
				return fmt.Errorf("read %s: %d rows, header says %d", s.reqPath, row+int64(m), s.rows)
			}
			reqs = rbuf
		} else {
			reqs = s.memReqs[row : row+int64(n)]
		}
		if s.truthFile != nil {
			tbuf := make([]datasets.TruthRequest, n)
			m, err := s.truthFile.read(tbuf)
			if err != nil {
				return err
			}
			if m < n {
				return fmt.Errorf("read %s: %d rows, header says %d", s.truthFile.path, row+int64(m), s.rows)
			}
			truths = tbuf
		} else {
			truths = s.memTruths[row : row+int64(n)]
		}
		c := &chunk{idx: idx}
		for i := range reqs {
			if reqs[i].RequestID != truths[i].RequestID {
				return fmt.Errorf("read request log: row %d: request id %d, truth row has request id %d", row+int64(i), reqs[i].RequestID, truths[i].RequestID)
			}
			if keep != nil && !keep(&reqs[i]) {
				continue
			}
			if max > 0 && selected == max {
				break
			}
			selected++
			c.reqs = append(c.reqs, reqs[i])
			c.truths = append(c.truths, truths[i])
			c.rows = append(c.rows, row+int64(i))
		}
		row += int64(n)
		if len(c.reqs) > 0 {
			if !emit(c) {
				return nil
			}
			idx++
		}
		if max > 0 && selected == max {
			return nil
		}
	}
	return nil
}
