package sim

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
)

var (
	benchOnce sync.Once
	benchFx   *fixture
)

// benchFixture is a world of 10k ads, 20k users and 20k requests.
func benchFixture(b *testing.B) *fixture {
	benchOnce.Do(func() { benchFx = newFixture(b, 99, 10_000, 20_000, 20_000) })
	return benchFx
}

// BenchmarkFunnel measures requests/s through retrieval with the heuristic
// production mix, the funnel and the response draws, building the result
// rows, on all cores (one worker per goroutine).
func BenchmarkFunnel(b *testing.B) {
	fx := benchFixture(b)
	e, err := newEngine(fx.w, fx.truth, []Arm{{Name: "production", CGs: heuristicMix(b, fx.w)}}, DefaultFunnelConfig(), StalenessRealtime, 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	e.outCand, e.outReq = true, true
	var next sync.Mutex
	pos := 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	b.RunParallel(func(pb *testing.PB) {
		wk := e.newWorker()
		out := &chunkOut{stats: []armStats{{cgs: make([]cgStats, 4)}}}
		n := 0
		for pb.Next() {
			next.Lock()
			i := pos % len(fx.w.Requests)
			pos++
			next.Unlock()
			if err := wk.request(&fx.w.Requests[i], &fx.truth.Requests[i], int64(i), out); err != nil {
				b.Error(err)
				return
			}
			if n++; n%256 == 0 {
				out.cands, out.reqs = out.cands[:0], out.reqs[:0]
			}
		}
	})
	cpu.report(b, 1)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkReplay measures requests/s of a full Replay of the heuristic mix,
// Parquet output included, with two workers.
func BenchmarkReplay(b *testing.B) {
	fx := benchFixture(b)
	arms := []Arm{{Name: "production", CGs: heuristicMix(b, fx.w)}}
	cfg := ReplayConfig{Funnel: DefaultFunnelConfig(), MaxRequests: 5000}
	b.ResetTimer()
	for range b.N {
		if _, err := Replay(context.Background(), fx.w, fx.truth, arms, cfg, b.TempDir(), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*cfg.MaxRequests)/b.Elapsed().Seconds(), "req/s")
}

const benchItems, benchDim, benchBatch, benchK = 100_000, 64, 256, 100

var (
	benchIdxOnce sync.Once
	benchItemsV  []float32
	benchQueries []float32
)

func benchData() ([]float32, []float32) {
	benchIdxOnce.Do(func() {
		rng := rand.New(rand.NewPCG(7, 7))
		benchItemsV = clustered(rng, benchItems, benchDim, 200)
		benchQueries = clustered(rng, benchBatch, benchDim, 200)
	})
	return benchItemsV, benchQueries
}

// BenchmarkExactSearch measures batched exact top-100 retrieval over 100k
// items x 64 dimensions; an op is a batch of 256 queries.
func BenchmarkExactSearch(b *testing.B) {
	items, queries := benchData()
	x := NewExactIndex(benchItems, benchDim, items)
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		x.SearchBatch(queries, benchBatch, benchK)
	}
	cpu.report(b, benchBatch)
	qps := float64(b.N*benchBatch) / b.Elapsed().Seconds()
	b.ReportMetric(qps, "queries/s")
	b.ReportMetric(qps*2*benchItems*benchDim/1e9, "GFLOP/s")
}

// BenchmarkExactSearchSingle measures one query at a time (matrix-vector
// products), as an embedding CG searches during a replay.
func BenchmarkExactSearchSingle(b *testing.B) {
	items, queries := benchData()
	x := NewExactIndex(benchItems, benchDim, items)
	var dst []Candidate
	b.ResetTimer()
	cpu := startCPU()
	for i := range b.N {
		j := i % benchBatch
		dst = x.Search(queries[j*benchDim:(j+1)*benchDim], benchK, dst[:0])
	}
	cpu.report(b, 1)
	qps := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(qps, "queries/s")
	b.ReportMetric(qps*2*benchItems*benchDim/1e9, "GFLOP/s")
}

// BenchmarkIVF measures IVF top-100 search over 100k x 64 items (nlist
// 256) at several nprobe, reporting queries/s and recall@100 against exact.
func BenchmarkIVF(b *testing.B) {
	items, queries := benchData()
	exact := NewExactIndex(benchItems, benchDim, items).SearchBatch(queries, benchBatch, benchK)
	ivf := NewIVFIndex(benchItems, benchDim, items, 256, 1, rand.New(rand.NewPCG(1, 2)))
	for _, nprobe := range []int{4, 16, 64} {
		idx := ivf.WithNProbe(nprobe)
		b.Run("nprobe="+itoa(nprobe), func(b *testing.B) {
			got := make([][]Candidate, benchBatch)
			for i := range got {
				got[i] = idx.Search(queries[i*benchDim:(i+1)*benchDim], benchK, nil)
			}
			recall := Recall(got, exact)
			var dst []Candidate
			b.ResetTimer()
			for i := range b.N {
				j := i % benchBatch
				dst = idx.Search(queries[j*benchDim:(j+1)*benchDim], benchK, dst[:0])
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
			b.ReportMetric(recall, "recall@100")
		})
	}
}

// cpuTimer reports the process CPU time per unit of work, a figure less
// sensitive than wall time to other processes sharing the cores.
type cpuTimer struct{ t0 float64 }

func startCPU() cpuTimer { return cpuTimer{t0: cpuNow()} }

// report records the CPU microseconds per unit, units per op being per.
func (c cpuTimer) report(b *testing.B, per int) {
	b.Helper()
	if d := cpuNow() - c.t0; c.t0 > 0 && d > 0 && b.N > 0 {
		b.ReportMetric(d*1e6/float64(b.N*per), "cpu-us/unit")
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// BenchmarkCG measures each heuristic CG's Retrieve alone.
func BenchmarkCG(b *testing.B) {
	fx := benchFixture(b)
	for _, g := range heuristicMix(b, fx.w) {
		b.Run(g.Name(), func(b *testing.B) {
			var dst []Candidate
			var err error
			for i := range b.N {
				r := &fx.w.Requests[i%len(fx.w.Requests)]
				q := Query{Request: r, User: &fx.w.Users[r.UserID], Cutoff: r.Timestamp}
				if dst, err = g.Retrieve(&q, dst[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
