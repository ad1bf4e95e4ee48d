package sim

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// tableEncoder encodes user u as row u of a table; it records the cutoff it
// was asked for.
type tableEncoder struct {
	d       int
	rows    []float32
	fail    error
	cutoffs chan int64
}

func (e *tableEncoder) Dim() int { return e.d }
func (e *tableEncoder) EncodeUser(u int32, _ []datasets.CategoryScore, cutoff int64, dst []float32) error {
	if e.fail != nil {
		return e.fail
	}
	if e.cutoffs != nil {
		e.cutoffs <- cutoff
	}
	copy(dst, e.rows[int(u)*e.d:(int(u)+1)*e.d])
	return nil
}

func TestEmbeddingCG(t *testing.T) {
	fx := newFixture(t, 31, 500, 20, 10)
	var items, users []float32
	for _, a := range fx.truth.AdPins {
		items = append(items, a.Latent...)
	}
	for _, u := range fx.truth.Users {
		users = append(users, u.Interest...)
	}
	idx := NewExactIndex(len(fx.truth.AdPins), fxDim, items)
	req := &fx.w.Requests[0]
	q := &Query{Request: req, Cutoff: req.Timestamp - 5}
	t.Run("retrieves the index's top k", func(t *testing.T) {
		enc := &tableEncoder{d: fxDim, rows: users, cutoffs: make(chan int64, 1)}
		got, err := NewEmbeddingCG("ctx", 25, enc, idx).Retrieve(q, nil)
		if err != nil {
			t.Fatalf("Retrieve error: %v", err)
		}
		want := idx.Search(users[int(req.UserID)*fxDim:(int(req.UserID)+1)*fxDim], 25, nil)
		if !slices.Equal(got, want) || len(got) != 25 {
			t.Errorf("Retrieve = %v, want %v", got, want)
		}
		if c := <-enc.cutoffs; c != q.Cutoff {
			t.Errorf("encoder saw cutoff %d, want the query's %d", c, q.Cutoff)
		}
	})
	t.Run("staleness override", func(t *testing.T) {
		enc := &tableEncoder{d: fxDim, rows: users, cutoffs: make(chan int64, 1)}
		g := WithStaleness(NewEmbeddingCG("ctx", 5, enc, idx), StalenessDaily, fx.w)
		if _, err := g.Retrieve(q, nil); err != nil {
			t.Fatal(err)
		}
		if c, want := <-enc.cutoffs, StalenessDaily.Cutoff(fx.w, req); c != want {
			t.Errorf("encoder saw cutoff %d, want the daily snapshot %d", c, want)
		}
	})
	nanRows := slices.Clone(users)
	nanRows[int(req.UserID)*fxDim] = float32(math.NaN())
	bad := []struct {
		name    string
		enc     *tableEncoder
		wantErr string
	}{
		{"dimension mismatch", &tableEncoder{d: fxDim + 1, rows: make([]float32, 100*(fxDim+1))}, "dimension"},
		{"encoder error", &tableEncoder{d: fxDim, fail: errors.New("no snapshot for day 99")}, "no snapshot"},
		{"non-finite embedding", &tableEncoder{d: fxDim, rows: nanRows}, "not finite"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEmbeddingCG("ctx", 5, tc.enc, idx).Retrieve(q, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Retrieve error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
