package sim

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// TestZZGolden writes outputs to $ZZ_OUT for a before/after byte comparison.
func TestZZGolden(t *testing.T) {
	out := os.Getenv("ZZ_OUT")
	if out == "" {
		t.Skip()
	}
	fx := newFixture(t, 5, 3000, 2000, 4000)
	mix := heuristicMix(t, fx.w)
	rng := rand.New(rand.NewPCG(3, 4))
	users := make([]float32, len(fx.w.Users)*fxDim)
	for i := range users {
		users[i] = float32(rng.NormFloat64())
	}
	items := make([]float32, len(fx.w.AdPins)*fxDim)
	for i := range items {
		items[i] = float32(rng.NormFloat64())
	}
	enc := &tableEncoder{d: fxDim, rows: users}
	ex := NewEmbeddingCG("emb_exact", 150, enc, NewExactIndex(len(fx.w.AdPins), fxDim, items))
	ivf := NewEmbeddingCG("emb_ivf", 150, enc, NewIVFIndex(len(fx.w.AdPins), fxDim, items, 30, 4, rand.New(rand.NewPCG(9, 9))))
	arms := []Arm{
		{Name: "production", CGs: mix},
		{Name: "with_emb", CGs: append([]Generator{ex}, mix[1:]...)},
		{Name: "ivf", CGs: []Generator{ivf, mix[0]}},
	}
	f2 := DefaultFunnelConfig()
	f2.PreRankSize, f2.RankSize, f2.RelevanceThreshold = 60, 10, 0.3
	for i, cfg := range []ReplayConfig{
		{Funnel: DefaultFunnelConfig(), Seed: 1},
		{Funnel: f2, Seed: 2, Staleness: StalenessDaily},
	} {
		dir := filepath.Join(out, "r"+itoa(i+1))
		if _, err := Replay(context.Background(), fx.w, fx.truth, arms, cfg, dir, nil); err != nil {
			t.Fatal(err)
		}
		imps, _, err := LogProduction(context.Background(), fx.w, fx.truth, mix, cfg.Funnel, cfg.Staleness, cfg.Seed, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b []byte
		for _, im := range imps {
			b = binary.LittleEndian.AppendUint64(b, uint64(im.RequestID))
			b = binary.LittleEndian.AppendUint32(b, uint32(im.AdPinID))
			b = binary.LittleEndian.AppendUint32(b, uint32(im.Slot))
			b = append(b, []byte(im.SourceCGs[0])...)
		}
		if err := datasets.WriteFileAtomic(filepath.Join(dir, "imps.bin"), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			t.Fatal(err)
		}
	}
	// Index results directly, including batch search.
	var b []byte
	for _, d := range []int{8, 13, 64} {
		n := 5003
		items := make([]float32, n*d)
		for i := range items {
			items[i] = float32(rng.NormFloat64())
			if i%7 == 0 {
				items[i] = float32(rng.IntN(3)) // exact ties
			}
		}
		qs := make([]float32, 300*d)
		for i := range qs {
			qs[i] = float32(rng.IntN(5) - 2)
		}
		exi := NewExactIndex(n, d, items)
		for _, res := range exi.SearchBatch(qs, 300, 77) {
			for _, c := range res {
				b = binary.LittleEndian.AppendUint32(b, uint32(c.AdPin))
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(c.Score))
			}
		}
		for i := range 300 {
			for _, c := range exi.Search(qs[i*d:(i+1)*d], 33, nil) {
				b = binary.LittleEndian.AppendUint32(b, uint32(c.AdPin))
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(c.Score))
			}
		}
		ivf := NewIVFIndex(n, d, items, 40, 7, rand.New(rand.NewPCG(1, 1)))
		for i := range 300 {
			for _, c := range ivf.Search(qs[i*d:(i+1)*d], 50, nil) {
				b = binary.LittleEndian.AppendUint32(b, uint32(c.AdPin))
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(c.Score))
			}
		}
	}
	if err := datasets.WriteFileAtomic(filepath.Join(out, "index.bin"), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		t.Fatal(err)
	}
}
