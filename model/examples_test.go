package model

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// plantAfter returns a copy of w with extra ad Pins (ids from len(w.AdPins))
// of one extra category, and events of them at or after cutoff for every
// user (one exactly at cutoff).
func plantAfter(w *datasets.World, cutoff int64, rng *rand.Rand) (*datasets.World, int32, int32) {
	p := *w
	firstPlanted := int32(len(w.AdPins))
	plantedCat := int32(len(w.Categories))
	p.Categories = append(slices.Clone(w.Categories), datasets.Category{ID: plantedCat, Group: 99, Name: "planted"})
	p.AdPins = slices.Clone(w.AdPins)
	p.Events = nil
	p.UserEvents = []int{0}
	for u := range w.Users {
		h := w.History(int32(u))
		events := slices.Clone(h)
		for i := range 2 {
			id := int32(len(p.AdPins))
			p.AdPins = append(p.AdPins, datasets.AdPin{ID: id, Categories: []datasets.CategoryScore{{Category: plantedCat, Confidence: 0.9}}})
			ts := cutoff
			if i == 1 {
				ts += rng.Int64N(3 * datasets.SecondsPerDay)
			}
			events = append(events, datasets.Event{UserID: int32(u), AdPinID: id, Timestamp: ts})
		}
		slices.SortStableFunc(events, func(a, b datasets.Event) int {
			switch {
			case a.Timestamp < b.Timestamp:
				return -1
			case a.Timestamp > b.Timestamp:
				return 1
			}
			return int(a.AdPinID - b.AdPinID)
		})
		p.Events = append(p.Events, events...)
		p.UserEvents = append(p.UserEvents, len(p.Events))
	}
	return &p, firstPlanted, plantedCat
}

// TestNoLeakageAfterCutoff plants events at and after the training cut-off
// with unique ad Pins and a unique category and checks that none reaches any
// training or validation input, label, category bag, pseudo-context or
// popularity count, and that the snapshot at the cut-off ignores them.
func TestNoLeakageAfterCutoff(t *testing.T) {
	base := genWorld(tinySpec)
	cutoff := base.DayStart(base.Manifest.EvalStartDay - 3)
	w, firstPlanted, plantedCat := plantAfter(base, cutoff, rand.New(rand.NewPCG(3, 3)))
	for _, window := range []int{0, 30} {
		cfg := tinyConfig(KindContextual)
		cfg.Train.Window = window
		cfg.Train.ValidationShare = 0.5
		cfg.PseudoContext.Projection = ProjectionLabel
		cfg.CategoryResidual, cfg.IDResidual = true, true
		exs, err := buildExamples(w, &cfg, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if len(exs.Train) < 100 || len(exs.Val) < 5 {
			t.Fatalf("fixture: %d training and %d validation examples", len(exs.Train), len(exs.Val))
		}
		for id := firstPlanted; id < int32(len(w.AdPins)); id++ {
			if exs.LabelCount[id] != 0 {
				t.Fatalf("planted ad Pin %d counted %d times as a training label", id, exs.LabelCount[id])
			}
		}
		m, err := newModel(cfg, w)
		if err != nil {
			t.Fatal(err)
		}
		pc := newPseudoContext(&cfg, w.AdPins, len(w.Categories))
		rng := rand.New(rand.NewPCG(1, 1))
		for _, set := range [][]example{exs.Train, exs.Val} {
			for lo := 0; lo < len(set); lo += 32 {
				var b batch
				fillBatch(&b, m.net, w, set[lo:min(lo+32, len(set))], func(_ int, ex example, dst []datasets.CategoryScore) []datasets.CategoryScore {
					return pc.project(dst, w.Events[ex.Target].AdPinID, rng)
				})
				for _, id := range slices.Concat(b.ids, b.labels, b.histAds.ids) {
					if id >= firstPlanted {
						t.Fatalf("window %d: planted ad Pin %d in a batch (inputs or labels)", window, id)
					}
				}
				if slices.Contains(b.tokenCats.ids, plantedCat) || slices.Contains(b.subject.ids, plantedCat) || slices.Contains(b.histCats.ids, plantedCat) {
					t.Fatalf("window %d: planted category in a category bag or pseudo-context", window)
				}
			}
		}
		for _, ex := range slices.Concat(exs.Train, exs.Val) {
			if w.Events[ex.Target].Timestamp >= cutoff || ex.End > ex.Target {
				t.Fatalf("example %+v: target at %d, cut-off %d", ex, w.Events[ex.Target].Timestamp, cutoff)
			}
		}
	}
	// The snapshot at the cut-off is the same with and without the planted
	// events (the model is built on the planted world's catalogue).
	cfg := tinyConfig(KindContextual)
	cfg.Context.Fusion = FusionBoth
	m, err := newModel(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	plain := *w
	plain.Events, plain.UserEvents = base.Events, base.UserEvents
	a, err := m.Infer(context.Background(), w, cutoff, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Infer(context.Background(), &plain, cutoff, nil)
	if err != nil {
		t.Fatal(err)
	}
	if maxAbsDiff(a.Last, b.Last) != 0 || maxAbsDiff(a.SeqData, b.SeqData) != 0 || !slices.Equal(a.HistLen, b.HistLen) {
		t.Error("snapshot at the cut-off depends on events at or after it")
	}
}

// TestBuildExamples checks the example layout on a hand-made history.
func TestBuildExamples(t *testing.T) {
	day := int64(datasets.SecondsPerDay)
	w := &datasets.World{
		Manifest:   datasets.Manifest{StartTime: 0, EvalStartDay: 10},
		Categories: []datasets.Category{{ID: 0}},
		AdPins:     []datasets.AdPin{{ID: 0, Categories: cs(0, 1)}, {ID: 1, Categories: cs(0, 1)}, {ID: 2, Categories: cs(0, 1)}, {ID: 3, Categories: cs(0, 1)}},
		Users:      []datasets.User{{ID: 0}, {ID: 1}},
		Events: []datasets.Event{
			{UserID: 0, AdPinID: 0, Timestamp: 0 * day}, {UserID: 0, AdPinID: 1, Timestamp: 1 * day},
			{UserID: 0, AdPinID: 2, Timestamp: 2 * day}, {UserID: 0, AdPinID: 3, Timestamp: 9 * day},
			{UserID: 0, AdPinID: 0, Timestamp: 10 * day}, // at the cut-off: never used
			{UserID: 1, AdPinID: 1, Timestamp: 3 * day},
		},
		UserEvents: []int{0, 5, 6},
	}
	for _, tc := range []struct {
		name      string
		window    int
		valShare  float64
		wantTrain []example
		wantVal   []example
	}{
		{"next event", 0, 0, []example{{0, 1, 1}, {0, 2, 2}, {0, 3, 3}}, nil},
		{"window 2 days", 2, 0, []example{{0, 1, 1}, {0, 1, 2}, {0, 2, 2}, {0, 3, 3}}, nil},
		{"validation holds out the last event", 0, 1, []example{{0, 1, 1}, {0, 2, 2}}, []example{{0, 3, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig(KindBaseline)
			cfg.Train.Window = tc.window
			cfg.Train.ValidationShare = tc.valShare
			exs, err := buildExamples(w, &cfg, 10*day)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(exs.Train, tc.wantTrain) || !slices.Equal(exs.Val, tc.wantVal) {
				t.Errorf("train %v val %v, want %v and %v", exs.Train, exs.Val, tc.wantTrain, tc.wantVal)
			}
			var total int64
			for _, c := range exs.LabelCount {
				total += c
			}
			if total != int64(len(tc.wantTrain)) || total != exs.LabelTotal {
				t.Errorf("label counts sum to %d (total %d), want %d", total, exs.LabelTotal, len(tc.wantTrain))
			}
		})
	}
	bad := *w
	bad.Events = slices.Clone(w.Events)
	bad.Events[1].AdPinID = 9
	dc := DefaultConfig(KindBaseline)
	if _, err := buildExamples(&bad, &dc, 10*day); err == nil {
		t.Error("buildExamples with an unknown ad Pin: no error")
	}
}

func TestGapBucket(t *testing.T) {
	for _, tc := range []struct {
		hours float64
		want  int32
	}{
		{0, 1}, {0.5, 1}, {1, 2}, {24, 6}, {1e9, 15},
	} {
		if got := gapBucket(tc.hours, 16, 0.6); got != tc.want {
			t.Errorf("gapBucket(%g h) = %d, want %d", tc.hours, got, tc.want)
		}
	}
}

func TestBatchLeftPadding(t *testing.T) {
	cfg := tinyConfig(KindBaseline)
	cfg.MaxLen = 4
	f := &features{nItems: 3, nCats: 2, itemCats: []int32{0, -1, -1, 1, 0, -1, 1, -1, -1}, itemConf: []float32{1, 0, 0, 0.7, 0.2, 0, 0.5, 0, 0}}
	var b batch
	b.reset(2, 4)
	h := []datasets.Event{{AdPinID: 2, Timestamp: 0}, {AdPinID: 1, Type: 2, Timestamp: 3600}}
	b.addSeq(h, -1, &cfg, f)
	long := []datasets.Event{{AdPinID: 0, Timestamp: 0}, {AdPinID: 1, Timestamp: 10}, {AdPinID: 2, Timestamp: 20}, {AdPinID: 0, Timestamp: 30}, {AdPinID: 1, Timestamp: 40}}
	b.addSeq(long, -1, &cfg, f)
	b.checkSeq()
	if want := []int32{-1, -1, 2, 1, 1, 2, 0, 1}; !slices.Equal(b.ids, want) {
		t.Errorf("ids = %v, want %v", b.ids, want)
	}
	if want := []bool{true, true, false, false, false, false, false, false}; !slices.Equal(b.pad, want) {
		t.Errorf("pad = %v, want %v", b.pad, want)
	}
	// Row 0: first event has no predecessor (bucket 0), second is 1 h later.
	// Row 1: the first kept event has a predecessor 10 s earlier.
	if want := []int32{-1, -1, 0, gapBucket(1, cfg.GapBuckets, cfg.GapBucketWidth), gapBucket(10.0/3600, cfg.GapBuckets, cfg.GapBucketWidth)}; !slices.Equal(b.gaps[:5], want) {
		t.Errorf("gaps = %v, want prefix %v", b.gaps, want)
	}
	if want := []int32{0, 0, 0, 1, 3}; !slices.Equal(b.tokenCats.off[:5], want) {
		t.Errorf("history bag offsets = %v, want prefix %v", b.tokenCats.off, want)
	}
	if !slices.Equal(b.histLen, []int32{2, 4}) {
		t.Errorf("histLen = %v", b.histLen)
	}
}

// TestHistoryBag checks the residuals' bags by hand: every event of the
// history, not only the last L, with (confidence) / number of events.
func TestHistoryBag(t *testing.T) {
	cfg := tinyConfig(KindBaseline)
	cfg.MaxLen = 2
	cfg.CategoryResidual, cfg.IDResidual = true, false
	f := &features{nItems: 3, nCats: 2, itemCats: []int32{0, -1, -1, 1, 0, -1, 1, -1, -1}, itemConf: []float32{1, 0, 0, 0.7, 0.2, 0, 0.5, 0, 0}}
	var b batch
	b.reset(3, 2)
	b.addSeq(nil, -1, &cfg, f)
	b.addSeq([]datasets.Event{{AdPinID: 1}}, -1, &cfg, f)
	b.addSeq([]datasets.Event{{AdPinID: 0}, {AdPinID: 1, Timestamp: 10}, {AdPinID: 2, Timestamp: 20}, {AdPinID: 2, Timestamp: 30}}, -1, &cfg, f)
	if want := []int32{0, 0, 2, 7}; !slices.Equal(b.histCats.off, want) {
		t.Errorf("offsets = %v, want %v", b.histCats.off, want)
	}
	if want := []int32{1, 0, 0, 1, 0, 1, 1}; !slices.Equal(b.histCats.ids, want) {
		t.Errorf("categories = %v, want %v", b.histCats.ids, want)
	}
	want := []float32{0.7, 0.2, 1.0 / 4, 0.7 / 4, 0.2 / 4, 0.5 / 4, 0.5 / 4}
	for i, w := range want {
		if math.Abs(float64(b.histCats.w[i]-w)) > 1e-7 {
			t.Errorf("weights = %v, want %v", b.histCats.w, want)
			break
		}
	}
	if len(b.histAds.ids) != 0 || len(b.histAds.off) != 1 {
		t.Errorf("without the id residual: bag %v, offsets %v, want none", b.histAds.ids, b.histAds.off)
	}
	cfg.CategoryResidual, cfg.IDResidual = false, true
	b.reset(2, 2)
	b.addSeq([]datasets.Event{{AdPinID: 1}}, -1, &cfg, f)
	b.addSeq([]datasets.Event{{AdPinID: 0}, {AdPinID: 2, Timestamp: 10}, {AdPinID: 2, Timestamp: 20}, {AdPinID: 1, Timestamp: 30}}, -1, &cfg, f)
	if len(b.histCats.ids) != 0 || len(b.histCats.off) != 1 {
		t.Errorf("without the category residual: bag %v, offsets %v, want none", b.histCats.ids, b.histCats.off)
	}
	if !slices.Equal(b.histAds.off, []int32{0, 1, 5}) || !slices.Equal(b.histAds.ids, []int32{1, 0, 2, 2, 1}) ||
		!slices.Equal(b.histAds.w, []float32{1, 0.25, 0.25, 0.25, 0.25}) {
		t.Errorf("id bags: ids %v, weights %v, offsets %v; want [1 0 2 2 1], [1 .25 .25 .25 .25], [0 1 5]", b.histAds.ids, b.histAds.w, b.histAds.off)
	}
}
