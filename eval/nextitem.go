package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cgbench/cgbench/datasets"
)

// Next-item evaluation, the protocols of the sequential-recommendation
// literature (SASRec, BERT4Rec and their successors), so that a model
// trained on imported public data can be checked against published figures.
//
//  1. LeaveLastOut splits every user's events (in the events table's order:
//     timestamp, then item id, so equal timestamps are ordered by item id —
//     the importers' documented tie rule) into a training prefix, the
//     second-last item (validation) and the last item (test). Users with
//     fewer than 3 events keep everything for training and are not
//     evaluated, as in the SASRec code.
//  2. A Protocol picks the candidates of each target: the full catalog
//     ("full"), the full catalog without the items of the user's history
//     ("full-masked"), or the target and N negatives drawn uniformly from the
//     items the user has not interacted with ("sampled-N"; "sampled-N-unmasked"
//     draws from every item but the held-out ones). Negatives are drawn per
//     user from a stream seeded by (Protocol.Seed, user), saved with
//     WriteNegatives and read back with ReadNegatives, so every model is
//     ranked against the same negatives.
//  3. EvaluateNextItem asks a Scorer for the candidates' scores, ranks the
//     target pessimistically (TieRule) and averages HR@K, NDCG@K, Recall@K
//     and MRR over the evaluated users, with optional bootstrap intervals
//     (users resampled as in Compute).
//  4. PopularityScores and PopularityScorer give the floor every model must
//     beat: items scored by their count in the training histories.
//
// A contextual model must not see the target: under leave-last-out its
// subject Pin is the last item of the history (Split.LastViewed), which an
// imported dataset also holds as the organic Pin with the same id, never the
// held-out item's own categories.

// NoItem marks a missing held-out item of a Split.
const NoItem int32 = -1

// TieRule is how EvaluateNextItem ranks a target whose score equals other
// candidates' scores: pessimistically, below all of them. A model that gives
// every item the same score gets the worst rank, never a lucky one.
const TieRule = "pessimistic: rank = candidates scoring strictly higher + other candidates scoring equal"

// Split is one user's leave-last-out split: the items of the user's events
// in time order are Train, then Valid, then Test. Valid and Test are NoItem
// when the user has fewer than 3 events (Train then holds them all).
type Split struct {
	User  int32
	Train []int32 // history before the validation item, in time order
	Valid int32
	Test  int32
}

// Holdout selects the held-out item a next-item evaluation targets.
type Holdout int

// Holdouts.
const (
	HoldoutTest  Holdout = iota // target Split.Test, history Split.Train + Split.Valid (the zero value)
	HoldoutValid                // target Split.Valid, history Split.Train
)

func (h Holdout) String() string {
	switch h {
	case HoldoutValid:
		return "valid"
	case HoldoutTest:
		return "test"
	}
	return "Holdout(" + strconv.Itoa(int(h)) + ")"
}

// ParseHoldout parses "valid" or "test".
func ParseHoldout(s string) (Holdout, error) {
	switch s {
	case "valid", "validation":
		return HoldoutValid, nil
	case "test":
		return HoldoutTest, nil
	}
	return 0, fmt.Errorf("parse holdout %q: want valid or test", s)
}

// Target returns the held-out item of h (NoItem when the user has none).
func (s Split) Target(h Holdout) int32 {
	if h == HoldoutTest {
		return s.Test
	}
	return s.Valid
}

// History returns the items a model may see when predicting the target of
// h, in time order: Train for HoldoutValid, Train followed by Valid for
// HoldoutTest. For HoldoutValid the slice aliases s.Train.
func (s Split) History(h Holdout) []int32 {
	if h == HoldoutTest && s.Valid != NoItem {
		out := make([]int32, len(s.Train)+1)
		copy(out, s.Train)
		out[len(s.Train)] = s.Valid
		return out
	}
	return s.Train
}

// LastViewed returns the last item of the history of h (the item the user
// was viewing before the target: the leakage-free context of a contextual
// model), NoItem when the history is empty.
func (s Split) LastViewed(h Holdout) int32 {
	if h == HoldoutTest && s.Valid != NoItem {
		return s.Valid
	}
	if len(s.Train) == 0 {
		return NoItem
	}
	return s.Train[len(s.Train)-1]
}

// LeaveLastOut returns one Split per user of w, in user id order
// (len(w.Users) splits), from the users' events in the order of
// events.parquet (timestamp, then ad Pin id: equal timestamps are ordered by
// item id). The Train slices share one backing array.
func LeaveLastOut(w *datasets.World) []Split {
	all := make([]int32, len(w.Events))
	for i, e := range w.Events {
		all[i] = e.AdPinID
	}
	splits := make([]Split, len(w.Users))
	for u := range w.Users {
		seq := all[w.UserEvents[u]:w.UserEvents[u+1]]
		s := Split{User: int32(u), Valid: NoItem, Test: NoItem}
		if n := len(seq); n >= 3 {
			s.Train = seq[: n-2 : n-2]
			s.Valid, s.Test = seq[n-2], seq[n-1]
		} else {
			s.Train = seq[:n:n]
		}
		splits[u] = s
	}
	return splits
}

// Protocol is a next-item evaluation protocol, recorded in the metrics'
// provenance.
type Protocol struct {
	Name      string `json:"name"`      // "full", "full-masked", "sampled-N" or "sampled-N-unmasked"
	Masked    bool   `json:"masked"`    // history items are not candidates (the target always is)
	Negatives int    `json:"negatives"` // sampled negatives per target; 0 ranks the full catalog
	Seed      uint64 `json:"seed"`      // seed of the sampled negatives
}

// ParseProtocol parses a protocol name: "full", "full-masked", "sampled-N"
// (N >= 1 negatives from the items outside the user's history, the SASRec
// protocol) or "sampled-N-unmasked" (from every item but the held-out ones).
// Seed is left 0: the caller sets it.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "full":
		return Protocol{Name: s}, nil
	case "full-masked":
		return Protocol{Name: s, Masked: true}, nil
	}
	rest, ok := strings.CutPrefix(s, "sampled-")
	if ok {
		num, unmasked := strings.CutSuffix(rest, "-unmasked")
		n, err := strconv.Atoi(num)
		if err == nil && n >= 1 && strconv.Itoa(n) == num {
			return Protocol{Name: s, Masked: !unmasked, Negatives: n}, nil
		}
	}
	return Protocol{}, fmt.Errorf("parse protocol %q: want full, full-masked, sampled-N or sampled-N-unmasked (N >= 1)", s)
}

// negativeStream separates the negatives' random streams from others
// derived from the same seed.
const negativeStream = 0x6e6567617469766b // "negativk"

// SampleNegatives draws n distinct negatives for each split (nil for a
// split without held-out items), uniformly without replacement from the
// items 0..nItems-1 other than the split's Valid and Test items and, when
// masked, other than its Train items; so the same negatives serve both
// holdouts. A split with fewer than n such items gets all of them. Each
// user's draw comes from rand.New(rand.NewPCG(seed, mix(user))), so it
// depends only on the seed and the user's split, not on the other splits.
// Negatives are sorted ascending.
func SampleNegatives(splits []Split, nItems, n int, seed uint64, masked bool) ([][]int32, error) {
	if nItems <= 0 || n < 1 {
		return nil, fmt.Errorf("sample negatives: %d items, %d negatives; want both >= 1", nItems, n)
	}
	out := make([][]int32, len(splits))
	stamp := make([]uint32, nItems) // stamp[i] == gen: item i is excluded
	var gen uint32
	var pool []int32
	for i, s := range splits {
		if s.Valid == NoItem && s.Test == NoItem {
			continue
		}
		gen++
		excluded := 0
		exclude := func(it int32) error {
			if it < 0 || int(it) >= nItems {
				return fmt.Errorf("sample negatives: split %d (user %d): item %d not in 0..%d", i, s.User, it, nItems-1)
			}
			if stamp[it] != gen {
				stamp[it] = gen
				excluded++
			}
			return nil
		}
		for _, it := range []int32{s.Valid, s.Test} {
			if it != NoItem {
				if err := exclude(it); err != nil {
					return nil, err
				}
			}
		}
		if masked {
			for _, it := range s.Train {
				if err := exclude(it); err != nil {
					return nil, err
				}
			}
		}
		avail := nItems - excluded
		r := rand.New(rand.NewPCG(seed, mix64(uint64(uint32(s.User))^negativeStream)))
		negs := make([]int32, 0, min(n, avail))
		switch {
		case 2*n <= avail:
			// Rejection: at least half of the draws are accepted.
			for len(negs) < n {
				it := int32(r.IntN(nItems))
				if stamp[it] != gen {
					stamp[it] = gen
					negs = append(negs, it)
				}
			}
		default:
			// Partial Fisher-Yates over the available items.
			pool = pool[:0]
			for it := range int32(nItems) {
				if stamp[it] != gen {
					pool = append(pool, it)
				}
			}
			k := min(n, len(pool))
			for j := range k {
				l := j + r.IntN(len(pool)-j)
				pool[j], pool[l] = pool[l], pool[j]
			}
			negs = append(negs, pool[:k]...)
		}
		slices.Sort(negs)
		out[i] = negs
	}
	return out, nil
}

// NegativesRow is a row of a negatives file: one split's user and held-out
// items (to check that the file belongs to the splits) and its negatives.
type NegativesRow struct {
	User      int32   `parquet:"user_id"`
	Valid     int32   `parquet:"valid_item"` // NoItem when none
	Test      int32   `parquet:"test_item"`  // NoItem when none
	Negatives []int32 `parquet:"negatives,list"`
}

// WriteNegatives writes the negatives of splits (negs[i] for splits[i]) as a
// Parquet table of NegativesRow, atomically.
func WriteNegatives(path string, splits []Split, negs [][]int32) error {
	if len(negs) != len(splits) {
		return fmt.Errorf("write negatives %s: %d lists for %d splits", path, len(negs), len(splits))
	}
	rows := make([]NegativesRow, len(splits))
	for i, s := range splits {
		rows[i] = NegativesRow{User: s.User, Valid: s.Valid, Test: s.Test, Negatives: negs[i]}
	}
	if err := datasets.WriteTable(path, rows); err != nil {
		return fmt.Errorf("write negatives: %w", err)
	}
	return nil
}

// ReadNegatives reads a file written by WriteNegatives and checks that it
// belongs to splits: one row per split with the same user and held-out
// items. The error names the file and the first row that differs.
func ReadNegatives(path string, splits []Split) ([][]int32, error) {
	rows, err := datasets.ReadTable[NegativesRow](path)
	if err != nil {
		return nil, fmt.Errorf("read negatives: %w", err)
	}
	if len(rows) != len(splits) {
		return nil, fmt.Errorf("read negatives %s: %d rows, want one per split (%d)", path, len(rows), len(splits))
	}
	out := make([][]int32, len(rows))
	for i, r := range rows {
		s := splits[i]
		if r.User != s.User || r.Valid != s.Valid || r.Test != s.Test {
			return nil, fmt.Errorf("read negatives %s: row %d: user %d with items %d, %d; the split has user %d with items %d, %d (negatives of another dataset?)",
				path, i, r.User, r.Valid, r.Test, s.User, s.Valid, s.Test)
		}
		if len(r.Negatives) > 0 {
			out[i] = r.Negatives
		}
	}
	return out, nil
}

// Scorer scores items for the user of splits[split], given the history the
// holdout allows (Split.History). With items nil it fills dst (len nItems)
// with every item's score; otherwise dst[j] is the score of items[j]
// (len(dst) == len(items)). Higher is better; -Inf is allowed, NaN is an
// error. With NextItemConfig.Workers > 1 it is called from several
// goroutines at once and must be safe for that.
type Scorer func(split int, history []int32, items []int32, dst []float32) error

// NextItemConfig configures EvaluateNextItem.
type NextItemConfig struct {
	Holdout   Holdout
	NItems    int                   // catalog size: items are 0..NItems-1
	Protocol  Protocol              //
	Negatives [][]int32             // per split, for a sampled protocol (SampleNegatives or ReadNegatives)
	Ks        []int                 // cutoffs of HR, NDCG and Recall; each >= 1
	Workers   int                   // concurrent Scorer calls; <= 1 is sequential
	Progress  func(done, total int) // optional, called from one goroutine at a time; nil is silent
	// BootstrapReps > 0 adds percentile intervals (users resampled with
	// Poisson(1) weights seeded by BootstrapSeed) at Confidence (0 = 0.95).
	BootstrapReps int
	BootstrapSeed uint64
	Confidence    float64
}

// NextItemMetrics are the means of a next-item evaluation over the
// evaluated splits (those with a target for the holdout). With one target
// per user HR@K and Recall@K are equal; both are reported because papers
// name either.
type NextItemMetrics struct {
	Protocol  Protocol            `json:"protocol"`
	Holdout   string              `json:"holdout"`
	TieRule   string              `json:"tie_rule"`
	N         int                 `json:"n"`       // evaluated splits (users)
	Skipped   int                 `json:"skipped"` // splits without a target
	Ks        []int               `json:"ks"`
	HR        map[int]float64     `json:"hr"`     // by K: share of targets ranked < K
	NDCG      map[int]float64     `json:"ndcg"`   // by K: mean of 1/log2(rank+2) when rank < K, else 0
	Recall    map[int]float64     `json:"recall"` // by K: equals HR with one target per user
	MRR       float64             `json:"mrr"`    // mean of 1/(rank+1), no cutoff
	Intervals map[string]Estimate `json:"intervals,omitempty"`
	// Users and Ranks are the evaluated splits' users and their targets'
	// 0-based ranks among their candidates, aligned, in split order.
	Users []int32 `json:"-"`
	Ranks []int   `json:"-"`
}

// MetricNames returns the names of the metrics in Intervals, in order:
// hr@K, ndcg@K, recall@K for each K, then mrr.
func (m *NextItemMetrics) MetricNames() []string {
	var names []string
	for _, k := range m.Ks {
		names = append(names, fmt.Sprintf("hr@%d", k), fmt.Sprintf("ndcg@%d", k), fmt.Sprintf("recall@%d", k))
	}
	return append(names, "mrr")
}

// EvaluateNextItem ranks every split's target for cfg.Holdout among the
// candidates of cfg.Protocol and averages the metrics. Full protocols ask
// score for the whole catalog (items nil); masked ones then drop the items
// of the history other than the target. Sampled protocols ask score for the
// target followed by the split's negatives; when the protocol is masked, a
// negative in the history is an error (the negatives were sampled for
// another protocol), and so is a negative equal to the target. The target
// ranks by TieRule. Splits without a target are skipped and counted.
func EvaluateNextItem(ctx context.Context, splits []Split, score Scorer, cfg NextItemConfig) (*NextItemMetrics, error) {
	m, err := evaluateNextItem(ctx, splits, score, cfg)
	if err != nil {
		return nil, fmt.Errorf("evaluate next item (%s, %s): %w", cfg.Protocol.Name, cfg.Holdout, err)
	}
	return m, nil
}

func evaluateNextItem(ctx context.Context, splits []Split, score Scorer, cfg NextItemConfig) (*NextItemMetrics, error) {
	p := cfg.Protocol
	switch {
	case cfg.NItems <= 0:
		return nil, fmt.Errorf("%d items, want >= 1", cfg.NItems)
	case len(cfg.Ks) == 0:
		return nil, fmt.Errorf("no cutoffs K")
	case cfg.Holdout != HoldoutValid && cfg.Holdout != HoldoutTest:
		return nil, fmt.Errorf("unknown holdout %d", cfg.Holdout)
	case p.Negatives < 0:
		return nil, fmt.Errorf("%d negatives, want >= 0", p.Negatives)
	case p.Negatives > 0 && len(cfg.Negatives) != len(splits):
		return nil, fmt.Errorf("%d negative lists for %d splits", len(cfg.Negatives), len(splits))
	case cfg.BootstrapReps < 0 || cfg.Confidence < 0 || cfg.Confidence >= 1:
		return nil, fmt.Errorf("bootstrap reps %d, confidence %v; want reps >= 0 and confidence in [0, 1)", cfg.BootstrapReps, cfg.Confidence)
	}
	ks := slices.Clone(cfg.Ks)
	slices.Sort(ks)
	ks = slices.Compact(ks)
	if ks[0] < 1 {
		return nil, fmt.Errorf("cutoff K = %d, want >= 1", ks[0])
	}

	var idx []int // splits with a target
	for i, s := range splits {
		if t := s.Target(cfg.Holdout); t != NoItem {
			if t < 0 || int(t) >= cfg.NItems {
				return nil, fmt.Errorf("split %d (user %d): target %d not in 0..%d", i, s.User, t, cfg.NItems-1)
			}
			idx = append(idx, i)
		}
	}
	ranks := make([]int, len(idx))
	workers := max(cfg.Workers, 1)
	var (
		next, done atomic.Int64
		stopped    atomic.Bool
		wg         sync.WaitGroup
		mu         sync.Mutex
		firstErr   error
		errAt      = len(idx)
	)
	fail := func(j int, err error) {
		mu.Lock()
		defer mu.Unlock()
		// Splits are handed out in order and none after a failure, so the
		// first failing split is reported whatever the scheduling.
		if j < errAt {
			errAt, firstErr = j, err
		}
		stopped.Store(true)
	}
	for range workers {
		wg.Go(func() {
			r := newRanker(cfg.NItems)
			for {
				if stopped.Load() {
					return
				}
				j := int(next.Add(1) - 1)
				if j >= len(idx) {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(j, err)
					return
				}
				i := idx[j]
				var negs []int32
				if p.Negatives > 0 {
					negs = cfg.Negatives[i]
				}
				rank, err := r.rank(i, splits[i], cfg.Holdout, p, negs, score)
				if err != nil {
					fail(j, err)
					return
				}
				ranks[j] = rank
				d := done.Add(1)
				if cfg.Progress != nil {
					mu.Lock()
					cfg.Progress(int(d), len(idx))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}

	m := &NextItemMetrics{
		Protocol: p, Holdout: cfg.Holdout.String(), TieRule: TieRule,
		N: len(idx), Skipped: len(splits) - len(idx), Ks: ks,
		HR: map[int]float64{}, NDCG: map[int]float64{}, Recall: map[int]float64{},
		Users: make([]int32, len(idx)), Ranks: ranks,
	}
	ncol := 3*len(ks) + 2 // per K hr, ndcg, recall; mrr; 1 (the denominator)
	rows := make([]float64, len(idx)*ncol)
	for j, i := range idx {
		m.Users[j] = splits[i].User
		row := rows[j*ncol : (j+1)*ncol]
		rank := ranks[j]
		for c, k := range ks {
			if rank < k {
				row[3*c], row[3*c+1], row[3*c+2] = 1, disc(rank), 1
			}
		}
		row[3*len(ks)] = 1 / float64(rank+1)
		row[ncol-1] = 1
	}
	if len(idx) > 0 {
		means := make([]float64, ncol)
		for j := range idx {
			for c := range ncol {
				means[c] += rows[j*ncol+c]
			}
		}
		n := float64(len(idx))
		for c, k := range ks {
			m.HR[k], m.NDCG[k], m.Recall[k] = means[3*c]/n, means[3*c+1]/n, means[3*c+2]/n
		}
		m.MRR = means[3*len(ks)] / n
	}
	if cfg.BootstrapReps > 0 && len(idx) > 0 {
		conf := cfg.Confidence
		if conf == 0 {
			conf = 0.95
		}
		reps, err := replicateSums(ctx, cfg.BootstrapSeed, m.Users, rows, ncol, cfg.BootstrapReps)
		if err != nil {
			return nil, err
		}
		names := m.MetricNames()
		m.Intervals = make(map[string]Estimate, len(names))
		xs := make([]float64, 0, cfg.BootstrapReps)
		for c, name := range names {
			xs = xs[:0]
			for r := range cfg.BootstrapReps {
				if w := reps[r*ncol+ncol-1]; w > 0 {
					xs = append(xs, reps[r*ncol+c]/w)
				}
			}
			var value float64
			for j := range idx {
				value += rows[j*ncol+c]
			}
			value /= float64(len(idx))
			lo, hi := percentileInterval(xs, conf)
			m.Intervals[name] = Estimate{Value: value, Lo: lo, Hi: hi, N: len(idx), Users: len(idx)}
		}
	}
	return m, nil
}

// ranker holds one worker's buffers.
type ranker struct {
	scores []float32
	cands  []int32
	stamp  []uint32 // stamp[i] == gen: item i is in the history (masked)
	gen    uint32
}

func newRanker(nItems int) *ranker {
	return &ranker{scores: make([]float32, nItems), stamp: make([]uint32, nItems)}
}

// rank returns the 0-based rank of split s's target among its candidates.
func (r *ranker) rank(i int, s Split, h Holdout, p Protocol, negs []int32, score Scorer) (int, error) {
	target := s.Target(h)
	hist := s.History(h)
	nItems := len(r.stamp)
	r.gen++
	for _, it := range hist {
		if it < 0 || int(it) >= nItems {
			return 0, fmt.Errorf("split %d (user %d): history item %d not in 0..%d", i, s.User, it, nItems-1)
		}
		if it != target { // the target is always a candidate, even if seen before
			r.stamp[it] = r.gen
		}
	}
	var items []int32
	var dst []float32
	if p.Negatives > 0 {
		r.cands = append(r.cands[:0], target)
		for _, it := range negs {
			switch {
			case it < 0 || int(it) >= nItems:
				return 0, fmt.Errorf("split %d (user %d): negative %d not in 0..%d", i, s.User, it, nItems-1)
			case it == target:
				return 0, fmt.Errorf("split %d (user %d): the target %d is among the negatives", i, s.User, it)
			case p.Masked && r.stamp[it] == r.gen:
				return 0, fmt.Errorf("split %d (user %d): negative %d is in the history, but protocol %s is masked", i, s.User, it, p.Name)
			}
			r.cands = append(r.cands, it)
		}
		items, dst = r.cands, r.scores[:len(r.cands)]
	} else {
		dst = r.scores
	}
	if err := score(i, hist, items, dst); err != nil {
		return 0, fmt.Errorf("score split %d (user %d): %w", i, s.User, err)
	}
	var ts float32
	if items == nil {
		ts = dst[target]
	} else {
		ts = dst[0]
	}
	if math.IsNaN(float64(ts)) {
		return 0, fmt.Errorf("split %d (user %d): score of target %d is NaN", i, s.User, target)
	}
	rank := 0
	if items == nil {
		masked := p.Masked
		for it, x := range dst {
			if int32(it) == target || (masked && r.stamp[it] == r.gen) {
				continue
			}
			if x >= ts {
				rank++
			} else if x != x {
				return 0, fmt.Errorf("split %d (user %d): score of item %d is NaN", i, s.User, it)
			}
		}
		return rank, nil
	}
	for j, x := range dst[1:] {
		if x >= ts {
			rank++
		} else if x != x {
			return 0, fmt.Errorf("split %d (user %d): score of item %d is NaN", i, s.User, items[j+1])
		}
	}
	return rank, nil
}

// PopularityScores returns each item's count in the histories of h
// (Split.History) of all splits, including users too short to evaluate: the
// popularity floor. len = nItems. Items outside 0..nItems-1 panic.
func PopularityScores(splits []Split, nItems int, h Holdout) []float32 {
	counts := make([]float32, nItems)
	for _, s := range splits {
		for _, it := range s.Train {
			counts[it]++
		}
		if h == HoldoutTest && s.Valid != NoItem {
			counts[s.Valid]++
		}
	}
	return counts
}

// PopularityScorer scores every user's candidates by pop (PopularityScores).
func PopularityScorer(pop []float32) Scorer {
	return func(_ int, _ []int32, items []int32, dst []float32) error {
		if items == nil {
			copy(dst, pop)
			return nil
		}
		for j, it := range items {
			dst[j] = pop[it]
		}
		return nil
	}
}
