package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/model/nn"
)

// benchWorld is the reference shape: 20,000 ad Pins with 3 categories each
// out of 64, and users with 40 random offsite events.
func benchWorld(users int) *datasets.World {
	rng := rand.New(rand.NewPCG(42, 42))
	w := &datasets.World{Manifest: datasets.Manifest{StartTime: 0, EvalStartDay: 100, EvalDays: 10}}
	for c := range 64 {
		w.Categories = append(w.Categories, datasets.Category{ID: int32(c)})
	}
	for a := range 20000 {
		p := rng.Perm(64)
		w.AdPins = append(w.AdPins, datasets.AdPin{ID: int32(a), Categories: []datasets.CategoryScore{
			{Category: int32(p[0]), Confidence: 0.5}, {Category: int32(p[1]), Confidence: 0.3}, {Category: int32(p[2]), Confidence: 0.2}}})
	}
	w.UserEvents = []int{0}
	for u := range users {
		w.Users = append(w.Users, datasets.User{ID: int32(u), AgeBucket: int32(rng.IntN(7)), Country: []string{"US", "DE", "FR"}[rng.IntN(3)], Gender: int32(rng.IntN(3))})
		var ts []int64
		for range 40 {
			ts = append(ts, rng.Int64N(100*datasets.SecondsPerDay))
		}
		slices.Sort(ts)
		for _, t := range ts {
			w.Events = append(w.Events, datasets.Event{UserID: int32(u), AdPinID: int32(rng.IntN(20000)), Type: int32(rng.IntN(3)), Timestamp: t})
		}
		w.UserEvents = append(w.UserEvents, len(w.Events))
	}
	return w
}

// benchConfig is the reference model of the speed bar: L 32, d 64, 2
// layers, 2 heads, FFN 256, batch 256, head 64->128->64, item tower
// 128->128->64, T 0.05, no extra negatives; separate id tables, the last
// state and no residuals, whatever the defaults become.
func benchConfig(kind, fusion string) Config {
	c := DefaultConfig(kind)
	c.Context.Fusion = fusion
	c.MaxLen, c.Dim, c.Layers, c.Heads, c.FFN, c.Temperature = 32, 64, 2, 2, 256, 0.05
	c.OutDim, c.UserHead, c.ItemTower = 64, []int{128}, []int{128}
	c.TieIDEmbeddings, c.Pooling, c.IDInitScale = false, PoolingLast, 1
	c.CategoryResidual, c.IDResidual = false, false
	c.Train.BatchSize, c.Train.RandomNegatives = 256, 0
	return c
}

// BenchmarkTrainStepDefault measures one training step of the default
// baseline (tied tables, mean pooling, 256-wide outputs, category and id
// residuals, 512 random negatives), to show what the defaults cost against
// the reference.
func BenchmarkTrainStepDefault(b *testing.B) {
	w := benchWorld(256)
	cfg := DefaultConfig(KindBaseline)
	benchStep(b, w, cfg)
}

// BenchmarkTrainStep measures forward, backward and Adam on a synthetic
// full-length batch of the reference shape.
func BenchmarkTrainStep(b *testing.B) {
	w := benchWorld(256)
	for _, kind := range []string{KindBaseline, KindContextual} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", kind, threads), func(b *testing.B) {
				old := nn.Threads()
				nn.SetThreads(threads)
				defer nn.SetThreads(old)
				benchStep(b, w, benchConfig(kind, FusionConcat))
			})
		}
	}
}

// benchStep measures forward, backward and Adam of cfg's model on a batch
// of full-length histories, with cfg.Train.RandomNegatives uniform
// negatives drawn once.
func benchStep(b *testing.B, w *datasets.World, cfg Config) {
	m, err := newModel(cfg, w)
	if err != nil {
		b.Fatal(err)
	}
	exs := &exampleSet{LabelCount: make([]int64, len(w.AdPins))}
	B := cfg.Train.BatchSize
	var batchExs []example
	for u := range B {
		end := int32(w.UserEvents[u+1] - 1)
		batchExs = append(batchExs, example{User: int32(u), End: end, Target: end})
		exs.LabelCount[w.Events[end].AdPinID]++
		exs.LabelTotal++
	}
	exs.Train = batchExs
	tr := newTrainer(m, w, exs)
	pc := newPseudoContext(&cfg, w.AdPins, len(w.Categories))
	fillBatch(&tr.b, m.net, w, batchExs, func(_ int, ex example, dst []datasets.CategoryScore) []datasets.CategoryScore {
		return pc.project(dst, w.Events[ex.Target].AdPinID, nil)
	})
	rng := rand.New(rand.NewPCG(1, 1))
	var negs []int32
	for range cfg.Train.RandomNegatives {
		negs = append(negs, int32(rng.IntN(len(w.AdPins))))
	}
	step := func() {
		tr.step(&tr.b, negs, rng)
		nn.ClipGradNorm(tr.net.params, 1)
		tr.opt.Step()
		nn.ZeroGrad(tr.net.params)
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		step()
	}
	b.ReportMetric(float64(B*b.N)/b.Elapsed().Seconds(), "seq/s")
}

// BenchmarkServe measures the latency of one request: the online head over
// a snapshot versus the whole user tower, single-threaded GEMM.
func BenchmarkServe(b *testing.B) {
	w := benchWorld(1000)
	cut := w.DayStart(w.Manifest.EvalStartDay)
	subj := []datasets.CategoryScore{{Category: 3, Confidence: 0.6}, {Category: 9, Confidence: 0.2}, {Category: 1, Confidence: 0.1}}
	for _, v := range []struct{ name, kind, fusion string }{
		{"baseline", KindBaseline, FusionConcat},
		{"concat", KindContextual, FusionConcat},
		{"cross_attention", KindContextual, FusionCrossAttention},
	} {
		m, err := newModel(benchConfig(v.kind, v.fusion), w)
		if err != nil {
			b.Fatal(err)
		}
		snap, err := m.Infer(context.Background(), w, cut, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []string{"online_head", "full_tower"} {
			b.Run(v.name+"/"+mode, func(b *testing.B) {
				old := nn.Threads()
				nn.SetThreads(1)
				defer nn.SetThreads(old)
				var s *Server
				if mode == "online_head" {
					s = m.NewServer(w, []*Snapshot{snap})
				} else {
					s = m.NewServer(w, nil)
				}
				dst := make([]float32, m.Dim())
				lat := make([]time.Duration, 0, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					t0 := time.Now()
					if err := s.EncodeUser(int32(i%len(w.Users)), subj, cut, dst); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
				}
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
			})
		}
	}
}

// BenchmarkEncodeOffline measures the offline encoder's throughput and the
// feature store's size per user (last state vs full sequence).
func BenchmarkEncodeOffline(b *testing.B) {
	w := benchWorld(2000)
	cut := w.DayStart(w.Manifest.EvalStartDay)
	for _, v := range []struct{ name, kind, fusion string }{
		{"last_state", KindContextual, FusionConcat},
		{"full_sequence", KindContextual, FusionCrossAttention},
	} {
		b.Run(v.name, func(b *testing.B) {
			m, err := newModel(benchConfig(v.kind, v.fusion), w)
			if err != nil {
				b.Fatal(err)
			}
			var s *Snapshot
			b.ResetTimer()
			for range b.N {
				if s, err = m.Infer(context.Background(), w, cut, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(w.Users)*b.N)/b.Elapsed().Seconds(), "users/s")
			b.ReportMetric(s.BytesPerUser(), "bytes/user")
		})
	}
}
