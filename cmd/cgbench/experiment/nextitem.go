package experiment

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/eval"
	"github.com/cgbench/cgbench/model"
)

// NextItemSpec configures a next-item study on imported public data: train
// a model on each user's leave-last-out training part, then rank the held
// out item under a protocol, beside the popularity floor.
type NextItemSpec struct {
	Data     string
	Out      string // run folder: the model, the negatives, one result file per protocol and holdout
	Model    model.Config
	Protocol string // full, full-masked, sampled-N, sampled-N-unmasked
	Holdout  string // test or valid
	Seed     uint64
	Ks       []int
}

// NextItemResult is nextitem-PROTOCOL-HOLDOUT.json.
type NextItemResult struct {
	Data       string                           `json:"data"`
	DataHash   string                           `json:"data_hash"`
	Model      string                           `json:"model"`
	Negatives  string                           `json:"negatives,omitempty"`
	Methods    map[string]*eval.NextItemMetrics `json:"methods"` // "model", "popularity"
	TrainUsers int                              `json:"train_users"`
}

// NextItem runs a next-item study. The model never sees a user's validation
// or test item during training: it trains on a copy of the world holding
// only each user's training part. A contextual model gets, as its subject
// Pin, the last item of the history (the item the user was viewing before
// the target), never the target's own genres.
func NextItem(ctx context.Context, spec NextItemSpec, h Hooks) (*NextItemResult, error) {
	hold, err := eval.ParseHoldout(spec.Holdout)
	if err != nil {
		return nil, err
	}
	proto, err := eval.ParseProtocol(spec.Protocol)
	if err != nil {
		return nil, err
	}
	proto.Seed = spec.Seed
	w, err := datasets.Open(spec.Data, datasets.OpenOptions{})
	if err != nil {
		return nil, err
	}
	splits := eval.LeaveLastOut(w)
	if err := os.MkdirAll(spec.Out, 0o755); err != nil {
		return nil, fmt.Errorf("next item: %w", err)
	}

	train := truncateHistories(w, func(u int) int { return len(splits[u].Train) })
	cfg := spec.Model
	cfg.Train.Seed = spec.Seed
	run := filepath.Join(spec.Out, "model")
	h.logf("training the %s model on %d training events", cfg.Kind, len(train.Events))
	m, _, err := model.Train(ctx, train, cfg, run, model.TrainOptions{Resume: true, Progress: trainProgress(h, cfg.Kind)})
	if err != nil {
		return nil, err
	}

	// The world the model reads at evaluation: each user's history for the
	// holdout, and nothing after it.
	hist := truncateHistories(w, func(u int) int { return len(splits[u].History(hold)) })
	srv := m.NewServer(hist, nil)
	n, d, items := m.ItemEmbeddings()
	after := int64(math.MaxInt64)
	score := func(i int, _ []int32, cand []int32, dst []float32) error {
		s := splits[i]
		var subject []datasets.CategoryScore
		if v := s.LastViewed(hold); v != eval.NoItem && int(v) < len(w.OrganicPins) {
			subject = w.OrganicPins[v].Categories
		}
		u := make([]float32, d)
		if err := srv.EncodeUser(s.User, subject, after, u); err != nil {
			return err
		}
		dot := func(item int32) float32 {
			row := items[int(item)*d : int(item+1)*d]
			var x float32
			for j, v := range u {
				x += v * row[j]
			}
			return x
		}
		if cand == nil {
			for j := range n {
				dst[j] = dot(int32(j))
			}
			return nil
		}
		for j, it := range cand {
			dst[j] = dot(it)
		}
		return nil
	}

	res := &NextItemResult{Data: spec.Data, DataHash: w.Manifest.Hash, Model: cfg.Kind, Methods: map[string]*eval.NextItemMetrics{}, TrainUsers: len(splits)}
	var negs [][]int32
	if proto.Negatives > 0 {
		res.Negatives = filepath.Join(spec.Out, fmt.Sprintf("negatives-%s-seed%d.parquet", proto.Name, spec.Seed))
		if negs, err = eval.ReadNegatives(res.Negatives, splits); err != nil {
			if negs, err = eval.SampleNegatives(splits, n, proto.Negatives, spec.Seed, proto.Masked); err != nil {
				return nil, err
			}
			if err := eval.WriteNegatives(res.Negatives, splits, negs); err != nil {
				return nil, err
			}
		}
	}
	ecfg := eval.NextItemConfig{Holdout: hold, NItems: n, Protocol: proto, Negatives: negs, Ks: spec.Ks, Workers: 2, BootstrapReps: 200, BootstrapSeed: spec.Seed}
	for _, meth := range []struct {
		name  string
		score eval.Scorer
	}{
		{model.MethodModel, score},
		{model.MethodPopularity, eval.PopularityScorer(eval.PopularityScores(splits, n, hold))},
	} {
		h.logf("ranking with %s", meth.name)
		r, err := eval.EvaluateNextItem(ctx, splits, meth.score, ecfg)
		if err != nil {
			return nil, err
		}
		res.Methods[meth.name] = r
	}
	if err := writeJSON(filepath.Join(spec.Out, fmt.Sprintf("nextitem-%s-%s.json", proto.Name, hold)), res); err != nil {
		return nil, err
	}
	return res, nil
}

// truncateHistories returns a copy of w whose user u keeps only the first
// keep(u) of its events.
func truncateHistories(w *datasets.World, keep func(u int) int) *datasets.World {
	c := *w
	c.Events = make([]datasets.Event, 0, len(w.Events))
	c.UserEvents = make([]int, len(w.Users)+1)
	for u := range w.Users {
		h := w.History(int32(u))
		c.Events = append(c.Events, h[:min(keep(u), len(h))]...)
		c.UserEvents[u+1] = len(c.Events)
	}
	return &c
}
