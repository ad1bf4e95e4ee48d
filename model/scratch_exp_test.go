package model

import (
	"context"
	"os"
	"testing"
)

func TestScratchQuality(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	w := genWorld(worldSpec{seed: 5, users: 3000, ads: 2000, cats: 48, meanEvents: 12, evalStartDay: 40, evalDays: 10})
	for _, hc := range []bool{true, false} {
		c := DefaultConfig(KindBaseline)
		c.MaxLen = 16
		c.Dim = 32
		c.FFN = 128
		c.UserHead = []int{64}
		c.ItemTower = []int{64}
		c.HistoryCategories = hc
		c.Train.Epochs = 8
		c.Train.LR = 2e-3
		c.Train.Patience = 3
		m, rep, err := Train(context.Background(), w, c, t.TempDir(), TrainOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range rep.Epochs {
			t.Logf("hc=%v epoch %d loss %.3f val %v", hc, e.Epoch, e.TrainLoss, e.ValRecall)
		}
		res, _ := EvaluateNextItem(context.Background(), m, w, w.DayStart(40), []int{10, 100})
		t.Logf("hc=%v baselines %v held-out %v n=%d %.0f seq/s", hc, rep.Baselines, res.Recall, res.Users, rep.SeqPerSec)
	}
}
