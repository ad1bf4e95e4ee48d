package eval

import (
	"context"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// BenchmarkCompute1M measures everything Compute does after decoding
// Parquet: aggregating 1M ranked lists of 100 candidates (2 arms x 2 CGs x
// 250k requests, 25k users; 100M candidate rows) into per-user sums, then
// the bootstrap (DefaultBootstrapReps replicates) of every figure of the
// whole population, the default paired comparisons, Holm and the
// distributions. Candidate rows come from a pool of 512 prepared request
// templates (only request and user ids are rewritten), so data generation is
// not measured; neither is Parquet decoding.
func BenchmarkCompute1M(b *testing.B) {
	const (
		nReq    = 250_000
		nUsers  = 25_000
		listLen = 100
		pool    = 512
	)
	arms := []string{"base", "ctx"}
	cgs := []string{"contextual", "history"}
	r := rand.New(rand.NewPCG(1, 1))
	countries := []string{"US", "GB", "FR", "DE", "BR", "JP", "IN", "CA", "MX", "IT", "ES", "AU"}

	// Request table.
	t := &requestTable{index: map[armReq]int32{}}
	users := make([]int32, nReq)
	for i := range nReq {
		users[i] = int32(r.IntN(nUsers))
		for _, arm := range arms {
			rr := datasets.RequestResult{Arm: arm, RequestID: int64(i), UserID: users[i], Country: countries[users[i]%12],
				HistoryLength: int32(r.IntN(60)), ContextStrength: float32(r.Float64()), FreshActivity: r.IntN(4) == 0,
				LoggedAds: []int32{int32(r.IntN(5000)), int32(r.IntN(5000))}, Impressions: 3, Clicks: int32(r.IntN(2)),
				Spend: float32(r.Float64()), Value: float32(2 * r.Float64())}
			if err := t.addRow(&rr, "bench", int64(i)); err != nil {
				b.Fatal(err)
			}
		}
	}
	t.finish()

	// Templates: per arm, the rows of one request (2 CGs x 100).
	templates := make([][][]datasets.CandidateResult, len(arms))
	for a, arm := range arms {
		templates[a] = make([][]datasets.CandidateResult, pool)
		for p := range pool {
			var rows []datasets.CandidateResult
			imp := []int32{int32(r.IntN(5000)), int32(r.IntN(5000)), int32(r.IntN(5000))}
			for _, cg := range cgs {
				for k := range listLen {
					ad := int32(r.IntN(5000))
					st := int32(r.IntN(3))
					if k < 3 && r.IntN(2) == 0 {
						ad, st = imp[k], datasets.StageImpressed
					}
					rows = append(rows, datasets.CandidateResult{Arm: arm, CG: cg, AdPinID: ad, Rank: int32(k), Stage: st,
						Relevance: float32(r.Float64()), OracleRelevance: float32(2*r.Float64() - 1)})
				}
			}
			templates[a][p] = rows
		}
	}

	opts := Options{Now: fixedNow}
	segs, err := opts.normalize()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for b.Loop() {
		for i := range t.reqs {
			t.reqs[i].done = false
		}
		fd := newFeeder(t, opts.Ks, segs)
		for i := range nReq {
			for a := range arms {
				rows := templates[a][i%pool]
				for j := range rows {
					rows[j].RequestID, rows[j].UserID = int64(i), users[i]
				}
				if err := fd.feed(t.index[armReq{int32(a), int64(i)}], rows, 0, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		}
		g, err := fd.close(nil)
		if err != nil {
			b.Fatal(err)
		}
		f, err := g.file(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(f.Figures) == 0 {
			b.Fatal("no figures")
		}
	}
	// CPU seconds of the whole process per op: under contention from other
	// processes, wall time overstates the cost; CPU time does not (much).
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(nReq*len(arms)*len(cgs))*float64(b.N)/b.Elapsed().Seconds(), "lists/s")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
