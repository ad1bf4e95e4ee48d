package model

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// parityConfigs are the variants whose online/offline split is checked.
func parityConfigs() []struct {
	name string
	cfg  Config
} {
	mk := func(kind, fusion string) Config {
		c := tinyConfig(kind)
		c.Context.Fusion = fusion
		return c
	}
	return []struct {
		name string
		cfg  Config
	}{
		{"baseline", mk(KindBaseline, FusionConcat)},
		{"concat", mk(KindContextual, FusionConcat)},
		{"cross_attention", mk(KindContextual, FusionCrossAttention)},
		{"both", mk(KindContextual, FusionBoth)},
		{"baseline/tied/last_mean/out_dim", tied(mk(KindBaseline, FusionConcat))},
		{"both/tied/last_mean/out_dim", tied(mk(KindContextual, FusionBoth))},
		{"baseline/untied/last", untied(mk(KindBaseline, FusionConcat))},
		{"cross_attention/untied/last", untied(mk(KindContextual, FusionCrossAttention))},
		{"baseline/tied/category_residual", residual(tied(mk(KindBaseline, FusionConcat)))},
		{"both/category_residual", residual(mk(KindContextual, FusionBoth))},
		{"baseline/id_residual", idResidual(tied(mk(KindBaseline, FusionConcat)))},
	}
}

// randomSubject draws 0..4 categories with random confidences (unsorted, so
// the serving projection has work to do).
func randomSubject(rng *rand.Rand, nCats int) []datasets.CategoryScore {
	var s []datasets.CategoryScore
	for range rng.IntN(5) {
		s = append(s, datasets.CategoryScore{Category: int32(rng.IntN(nCats)), Confidence: float32(0.05 + 0.9*rng.Float64())})
	}
	return s
}

// fullForward runs the whole model (inference mode) over every user of w in
// one batch, with the events before cutoff and the given subjects.
func fullForward(m *Model, w *datasets.World, cutoff int64, subjects [][]datasets.CategoryScore) []float32 {
	var b batch
	b.reset(len(w.Users), m.cfg.MaxLen)
	for u := range w.Users {
		b.addSeq(w.HistoryBefore(int32(u), cutoff), -1, &m.cfg, m.f)
		if m.cfg.Contextual() {
			b.addContext(projectTopK(nil, subjects[u], m.cfg.Context.TopK), &w.Users[u], m.f)
		}
	}
	U := m.net.userForward(&b, false, nil)
	return append([]float32(nil), U.D...)
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// TestOnlineHeadParity checks that snapshot + online head, and the server's
// full-tower fallback, equal the whole model's forward pass within 1e-5.
func TestOnlineHeadParity(t *testing.T) {
	w := genWorld(tinySpec)
	rng := rand.New(rand.NewPCG(11, 12))
	subjects := make([][]datasets.CategoryScore, len(w.Users))
	for u := range subjects {
		subjects[u] = randomSubject(rng, len(w.Categories))
	}
	cutoff := w.DayStart(w.Manifest.EvalStartDay) + 3600*7
	for _, tc := range parityConfigs() {
		t.Run(tc.name, func(t *testing.T) {
			m, err := newModel(tc.cfg, w)
			if err != nil {
				t.Fatal(err)
			}
			want := fullForward(m, w, cutoff, subjects)
			snap, err := m.Infer(context.Background(), w, cutoff, nil)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Seq != (strings.HasPrefix(tc.name, "cross_attention") || strings.HasPrefix(tc.name, "both")) {
				t.Errorf("snapshot Seq = %v for fusion %s", snap.Seq, tc.name)
			}
			withSnap := m.NewServer(w, []*Snapshot{snap})
			if len(withSnap.Warnings()) > 0 {
				t.Fatalf("server warnings: %v", withSnap.Warnings())
			}
			if !withSnap.HasSnapshot(cutoff) {
				t.Fatal("server has no snapshot at the cut-off")
			}
			noSnap := m.NewServer(w, nil)
			d := m.Dim()
			got := make([]float32, d)
			for u := range w.Users {
				for _, s := range []*Server{withSnap, noSnap} {
					if err := s.EncodeUser(int32(u), subjects[u], cutoff, got); err != nil {
						t.Fatal(err)
					}
					if diff := maxAbsDiff(got, want[u*d:(u+1)*d]); diff > 1e-5 {
						t.Fatalf("user %d (history %d, snapshot %v): max abs difference %g from the full forward pass, want <= 1e-5",
							u, snap.HistLen[u], s == withSnap, diff)
					}
				}
			}
		})
	}
}

// TestBaselineIgnoresSubject checks that the baseline's embedding does not
// depend on the subject Pin.
func TestBaselineIgnoresSubject(t *testing.T) {
	w := genWorld(tinySpec)
	m, err := newModel(tinyConfig(KindBaseline), w)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewServer(w, nil)
	a, b := make([]float32, m.Dim()), make([]float32, m.Dim())
	cut := w.DayStart(w.Manifest.EvalStartDay)
	if err := s.EncodeUser(3, nil, cut, a); err != nil {
		t.Fatal(err)
	}
	if err := s.EncodeUser(3, []datasets.CategoryScore{{Category: 1, Confidence: 0.9}}, cut, b); err != nil {
		t.Fatal(err)
	}
	if diff := maxAbsDiff(a, b); diff != 0 {
		t.Errorf("baseline embedding changed by %g with the subject", diff)
	}
}

// TestIncrementalInfer checks that carrying users over from the previous
// day's snapshot gives the snapshot a full recomputation gives, and that
// only the users with new events are recomputed.
func TestIncrementalInfer(t *testing.T) {
	w := genWorld(tinySpec)
	cfg := tinyConfig(KindContextual)
	cfg.Context.Fusion = FusionBoth
	m, err := newModel(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	day0 := w.DayStart(w.Manifest.EvalStartDay)
	day1 := w.DayStart(w.Manifest.EvalStartDay + 1)
	prev, err := m.Infer(ctx, w, day0, nil)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := m.Infer(ctx, w, day1, prev)
	if err != nil {
		t.Fatal(err)
	}
	full, err := m.Infer(ctx, w, day1, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantRe := 0
	for u := range w.Users {
		if len(w.HistoryBefore(int32(u), day1)) != len(w.HistoryBefore(int32(u), day0)) {
			wantRe++
		}
	}
	if inc.Recomputed != wantRe || full.Recomputed != len(w.Users) {
		t.Errorf("Recomputed = %d (incremental), %d (full), want %d, %d", inc.Recomputed, full.Recomputed, wantRe, len(w.Users))
	}
	if wantRe == 0 || wantRe == len(w.Users) {
		t.Fatalf("fixture: %d of %d users have events on the day, want some but not all", wantRe, len(w.Users))
	}
	if d := maxAbsDiff(inc.Last, full.Last); d > 1e-5 {
		t.Errorf("incremental Last differs by %g", d)
	}
	if len(inc.SeqData) != len(full.SeqData) {
		t.Fatalf("incremental SeqData has %d floats, full %d", len(inc.SeqData), len(full.SeqData))
	}
	if d := maxAbsDiff(inc.SeqData, full.SeqData); d > 1e-5 {
		t.Errorf("incremental SeqData differs by %g", d)
	}
	if _, err := m.Infer(ctx, w, day0, full); err == nil {
		t.Error("Infer with a previous snapshot after the cut-off: no error")
	}
}

// TestSnapshotRoundTrip writes and reads snapshots and checks corrupt ones
// are refused.
func TestSnapshotRoundTrip(t *testing.T) {
	w := genWorld(tinySpec)
	dir := t.TempDir()
	for _, tc := range parityConfigs() {
		t.Run(tc.name, func(t *testing.T) {
			m, err := newModel(tc.cfg, w)
			if err != nil {
				t.Fatal(err)
			}
			s, err := m.Infer(context.Background(), w, w.DayStart(w.Manifest.EvalStartDay), nil)
			if err != nil {
				t.Fatal(err)
			}
			path := SnapshotPath(filepath.Join(dir, tc.name), s.Day)
			if err := mkdirAll(filepath.Dir(path)); err != nil {
				t.Fatal(err)
			}
			if err := WriteSnapshot(path, s); err != nil {
				t.Fatal(err)
			}
			r, err := ReadSnapshot(path)
			if err != nil {
				t.Fatal(err)
			}
			if r.Cutoff != s.Cutoff || r.Day != s.Day || r.Dim != s.Dim || r.Seq != s.Seq || r.ModelHash != s.ModelHash ||
				r.Users != s.Users || maxAbsDiff(r.Last, s.Last) != 0 || maxAbsDiff(r.SeqData, s.SeqData) != 0 || len(r.SeqData) != len(s.SeqData) {
				t.Errorf("read snapshot differs from the written one")
			}
			if r.BytesPerUser() != s.BytesPerUser() || s.BytesPerUser() < float64(4*s.Dim) {
				t.Errorf("BytesPerUser = %g (read), %g (written), want equal and >= %d", r.BytesPerUser(), s.BytesPerUser(), 4*s.Dim)
			}
			if len(m.NewServer(w, []*Snapshot{r}).Warnings()) != 0 {
				t.Error("server refused the read snapshot")
			}
			other, _ := newModel(func() Config { c := tc.cfg; c.Train.Seed = 77; return c }(), w)
			if len(other.NewServer(w, []*Snapshot{r}).Warnings()) != 1 {
				t.Error("another model's server accepted the snapshot")
			}
		})
	}
}

// TestServerConcurrent checks that concurrent EncodeUser calls (run it with
// -race) give the sequential results.
func TestServerConcurrent(t *testing.T) {
	w := genWorld(tinySpec)
	cfg := tinyConfig(KindContextual)
	cfg.Context.Fusion = FusionBoth
	m, err := newModel(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	cut := w.DayStart(w.Manifest.EvalStartDay)
	snap, err := m.Infer(context.Background(), w, cut, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewServer(w, []*Snapshot{snap})
	d := m.Dim()
	rng := rand.New(rand.NewPCG(1, 2))
	subjects := make([][]datasets.CategoryScore, len(w.Users))
	want := make([]float32, len(w.Users)*d)
	for u := range w.Users {
		subjects[u] = randomSubject(rng, len(w.Categories))
		c := cut
		if u%2 == 1 {
			c = cut + 1 // no snapshot: the whole tower
		}
		if err := s.EncodeUser(int32(u), subjects[u], c, want[u*d:(u+1)*d]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]float32, d)
			for i := range 3 * len(w.Users) {
				u := (i*7 + g) % len(w.Users)
				c := cut
				if u%2 == 1 {
					c = cut + 1
				}
				if err := s.EncodeUser(int32(u), subjects[u], c, got); err != nil {
					errs <- err
					return
				}
				if maxAbsDiff(got, want[u*d:(u+1)*d]) != 0 {
					errs <- errorf("user %d: concurrent result differs", u)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := s.EncodeUser(int32(len(w.Users)), nil, cut, make([]float32, d)); err == nil {
		t.Error("EncodeUser of an unknown user: no error")
	}
	if err := s.EncodeUser(0, nil, cut, make([]float32, d+1)); err == nil {
		t.Error("EncodeUser with a wrong dst length: no error")
	}
}
