package model

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/model/nn"
)

// Methods of NextItemResult.Recall.
const (
	// MethodModel is the model; a contextual model gets the target's
	// categories projected as a subject Pin's (the pseudo-context of
	// training), which leaks the label's categories and so is optimistic.
	MethodModel = "model"
	// MethodModelNoContext is a contextual model with an empty subject
	// (demographics kept).
	MethodModelNoContext = "model_no_context"
	// MethodPopularity ranks ad Pins by their count among the training labels.
	MethodPopularity = "popularity"
	// MethodHistoryInterest ranks ad Pins by the overlap of their categories
	// with the categories of the user's history (confidence-weighted counts)
	// times log(2 + training popularity).
	MethodHistoryInterest = "history_interest"
)

// context modes of the model's evaluation.
const (
	ctxNone  = iota // empty subject
	ctxLabel        // the target's categories, top-k (the serving projection)
)

// NextItemResult is the held-out next-item Recall@K over the full catalogue
// (every ad Pin scored exactly).
type NextItemResult struct {
	Cutoff int64 `json:"cutoff"`
	// Users is the number of held-out targets (one per user).
	Users  int                        `json:"users"`
	Recall map[string]map[int]float64 `json:"recall"` // method -> K -> Recall@K
}

// EvaluateNextItem measures, for every user with an event at or after
// cutoff, whether the user's first such event is in the top K of the model
// (history: the events before cutoff) and of the popularity and
// history-interest baselines (popularity: the events before cutoff). A
// target ranks after every item with a higher score and after ties with a
// smaller id. Users without any event before cutoff count too (empty
// history).
func EvaluateNextItem(ctx context.Context, m *Model, w *datasets.World, cutoff int64, ks []int) (*NextItemResult, error) {
	if err := m.f.checkWorld(w); err != nil {
		return nil, fmt.Errorf("evaluate next item: %w", err)
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("evaluate next item: no K")
	}
	var exs []example
	counts := make([]int64, len(w.AdPins))
	for u := range w.Users {
		start := w.UserEvents[u]
		n := len(w.HistoryBefore(int32(u), cutoff))
		for _, e := range w.Events[start : start+n] {
			if e.AdPinID >= 0 && int(e.AdPinID) < len(counts) {
				counts[e.AdPinID]++
			}
		}
		if start+n < w.UserEvents[u+1] {
			if a := w.Events[start+n].AdPinID; a < 0 || int(a) >= len(w.AdPins) {
				return nil, fmt.Errorf("evaluate next item: event %d: ad_pin_id %d not in catalog", start+n, a)
			}
			exs = append(exs, example{User: int32(u), End: int32(start + n), Target: int32(start + n)})
		}
	}
	res := &NextItemResult{Cutoff: cutoff, Users: len(exs), Recall: map[string]map[int]float64{}}
	ranks, err := m.exampleRanks(ctx, w, exs, ctxLabel)
	if err != nil {
		return nil, fmt.Errorf("evaluate next item: %w", err)
	}
	res.Recall[MethodModel] = recallAt(ranks, ks)
	if m.cfg.Contextual() {
		if ranks, err = m.exampleRanks(ctx, w, exs, ctxNone); err != nil {
			return nil, fmt.Errorf("evaluate next item: %w", err)
		}
		res.Recall[MethodModelNoContext] = recallAt(ranks, ks)
	}
	res.Recall[MethodPopularity] = recallAt(popularityRanks(w, exs, counts), ks)
	res.Recall[MethodHistoryInterest] = recallAt(historyRanks(w, m.f, exs, counts), ks)
	return res, nil
}

// recallAt returns the share of ranks below each K.
func recallAt(ranks []int, ks []int) map[int]float64 {
	out := make(map[int]float64, len(ks))
	for _, k := range ks {
		hit := 0
		for _, r := range ranks {
			if r < k {
				hit++
			}
		}
		if len(ranks) > 0 {
			out[k] = float64(hit) / float64(len(ranks))
		} else {
			out[k] = 0
		}
	}
	return out
}

// exampleRanks returns the 0-based rank of each example's target among all
// ad Pins under the model (inference mode).
func (m *Model) exampleRanks(ctx context.Context, w *datasets.World, exs []example, mode int) ([]int, error) {
	_, d, items := m.ItemEmbeddings()
	m.mu.Lock()
	defer m.mu.Unlock()
	return netRanks(ctx, m.net, w, exs, mode, items, d)
}

// netRanks scores examples with n against the item matrix items (nItems x d).
func netRanks(ctx context.Context, n *net, w *datasets.World, exs []example, mode int, items []float32, d int) ([]int, error) {
	const chunk = 256
	nItems := len(items) / d
	ranks := make([]int, 0, len(exs))
	scores := make([]float32, chunk*nItems)
	var b batch
	var pc *pseudoContext
	if mode == ctxLabel {
		pc = &pseudoContext{cfg: PseudoContextConfig{Projection: ProjectionTopK}, topK: n.cfg.Context.TopK, nCats: n.f.nCats, adPins: w.AdPins}
	}
	for lo := 0; lo < len(exs); lo += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		part := exs[lo:min(lo+chunk, len(exs))]
		fillBatch(&b, n, w, part, func(_ int, ex example, dst []datasets.CategoryScore) []datasets.CategoryScore {
			if pc == nil {
				return dst[:0]
			}
			return pc.project(dst, w.Events[ex.Target].AdPinID, nil)
		})
		U := n.userForward(&b, false, nil)
		B := len(part)
		nn.Gemm(false, true, B, nItems, d, 1, U.D, d, items, d, 0, scores, nItems)
		for i, ex := range part {
			ranks = append(ranks, rankOf32(scores[i*nItems:(i+1)*nItems], w.Events[ex.Target].AdPinID))
		}
	}
	return ranks, nil
}

// fillBatch fills b with examples for n: prefixes, context (from ctxFn; nil
// means empty) and labels.
func fillBatch(b *batch, n *net, w *datasets.World, exs []example, ctxFn func(i int, ex example, dst []datasets.CategoryScore) []datasets.CategoryScore) {
	b.reset(len(exs), n.L)
	for i, ex := range exs {
		b.addSeq(history(w, ex), -1, n.cfg, n.f)
		if n.cfg.Contextual() {
			b.scratch = b.scratch[:0]
			if ctxFn != nil {
				b.scratch = ctxFn(i, ex, b.scratch)
			}
			b.addContext(b.scratch, &w.Users[ex.User], n.f)
		}
		b.labels = append(b.labels, w.Events[ex.Target].AdPinID)
	}
}

// rankOf32 is the rank of target under scores: items scoring higher, plus
// ties with a smaller id.
func rankOf32(scores []float32, target int32) int {
	s := scores[target]
	r := 0
	for j, v := range scores {
		if v > s || (v == s && int32(j) < target) {
			r++
		}
	}
	return r
}

func rankOf64(scores []float64, target int32) int {
	s := scores[target]
	r := 0
	for j, v := range scores {
		if v > s || (v == s && int32(j) < target) {
			r++
		}
	}
	return r
}

// popularityRanks ranks targets by label counts.
func popularityRanks(w *datasets.World, exs []example, counts []int64) []int {
	scores := make([]float64, len(counts))
	for i, c := range counts {
		scores[i] = float64(c)
	}
	// One sort serves every example: rank = position in the sorted order.
	order := make([]int32, len(counts))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return int(a) - int(b)
	})
	pos := make([]int, len(counts))
	for r, id := range order {
		pos[id] = r
	}
	ranks := make([]int, len(exs))
	for i, ex := range exs {
		ranks[i] = pos[w.Events[ex.Target].AdPinID]
	}
	return ranks
}

// historyRanks ranks targets by the history-interest heuristic: score(a) =
// (match(a) + 1e-6) * log(2 + count(a)), match(a) = sum over a's categories
// of confidence * the category's confidence-weighted count in the user's
// history before the example's prefix end.
func historyRanks(w *datasets.World, f *features, exs []example, counts []int64) []int {
	const k = datasets.MaxCategoriesPerItem
	pop := make([]float64, f.nItems)
	for i, c := range counts {
		pop[i] = math.Log(2 + float64(c))
	}
	catW := make([]float64, f.nCats)
	scores := make([]float64, f.nItems)
	ranks := make([]int, len(exs))
	for i, ex := range exs {
		clear(catW)
		for _, e := range w.Events[w.UserEvents[ex.User]:ex.End] {
			for j := range k {
				if c := f.itemCats[int(e.AdPinID)*k+j]; c >= 0 {
					catW[c] += float64(f.itemConf[int(e.AdPinID)*k+j])
				}
			}
		}
		for a := range scores {
			var match float64
			for j := range k {
				if c := f.itemCats[a*k+j]; c >= 0 {
					match += float64(f.itemConf[a*k+j]) * catW[c]
				}
			}
			scores[a] = (match + 1e-6) * pop[a]
		}
		ranks[i] = rankOf64(scores, w.Events[ex.Target].AdPinID)
	}
	return ranks
}
