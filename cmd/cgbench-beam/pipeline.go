package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/eval"
	"github.com/cgbench/cgbench/sim"
)

// The pipeline (see README "Running replay and eval on Apache Beam"):
//
//	ranges ─► replay ──► shards candidates/part-*.parquet, requests/part-*.parquet
//	            ├──────► request stats ─► merge ────────────┐ (side input)
//	            └──────► range summaries ─────────┐          │
//	ranges ─► aggregate (reads its range's shards) ◄──────────┘
//	            └──► (user shard, accumulator) ─► merge per key ─┐
//	                           replay.json, metrics.json ◄─ finish ◄┘
//
// Each range is replayed by one worker, which writes that range's result
// shards. Aggregation needs the request stats of the whole log (country
// tiers, top countries), so it is a second pass: each range's shards are
// read back (no row crosses the shuffle) into one eval.Accumulator per user
// shard; accumulators are exact, so they merge in any order and grouping,
// and keying them by user shard keeps every element far below the runners'
// message limits. The finish step merges the shards' accumulators, runs the
// bootstrap and writes the metrics.

// userShards is the number of user shards the accumulators are keyed by.
const userShards = 16

func userShard(user int32) int { return int(uint32(user) * 2654435761 % userShards) }

func init() {
	register.DoFn4x1[context.Context, Range, func([]byte), func([]byte), error](&replayFn{})
	register.DoFn4x1[context.Context, Range, []byte, func(int, []byte), error](&aggregateFn{})
	register.DoFn4x1[context.Context, []byte, func(*[]byte) bool, func(*[]byte) bool, error](&finishFn{})
	register.Combiner1[[]byte](&mergeStatsFn{})
	register.Combiner3[accBox, []byte, []byte](&mergeAccFn{})
	register.Emitter1[[]byte]()
	register.Emitter2[int, []byte]()
	register.Iter1[[]byte]()
	beam.RegisterType(reflect.TypeOf(Range{}))
	beam.RegisterCoder(reflect.TypeOf(accBox{}), encodeAccBox, decodeAccBox)
}

// build adds the pipeline over ranges to s.
func build(s beam.Scope, c Config, ranges []Range) {
	rs := beam.CreateList(s.Scope("ranges"), ranges)
	stats, sums := beam.ParDo2(s.Scope("replay"), &replayFn{Cfg: c}, rs)
	merged := beam.Combine(s.Scope("merge request stats"), &mergeStatsFn{}, stats)
	accs := beam.ParDo(s.Scope("aggregate ranges"), &aggregateFn{Cfg: c}, rs, beam.SideInput{Input: merged})
	perShard := beam.DropKey(s.Scope("drop shard"), beam.CombinePerKey(s.Scope("merge accumulators"), &mergeAccFn{}, accs))
	beam.ParDo0(s.Scope("write manifest and metrics"), &finishFn{Cfg: c}, beam.Impulse(s),
		beam.SideInput{Input: sums}, beam.SideInput{Input: perShard})
}

// rangeSummary is one range's funnel counts and row counts.
type rangeSummary struct {
	Part          int                `json:"part"`
	CandidateRows int64              `json:"candidate_rows"`
	RequestRows   int64              `json:"request_rows"`
	Summary       *sim.ReplaySummary `json:"summary"`
}

// replayFn replays a range: it writes the range's result shards and emits
// the range's request stats and summary once they are written.
type replayFn struct {
	Cfg Config
	env *env
	h   *sim.ReplayHandle
}

func (f *replayFn) Setup(ctx context.Context) error {
	e, err := loadEnv(ctx, &f.Cfg)
	if err != nil {
		return err
	}
	f.env, f.h = e, e.rp.NewHandle()
	return nil
}

func (f *replayFn) ProcessElement(ctx context.Context, r Range, emitStats func([]byte), emitSummary func([]byte)) error {
	name := shardName(r.Part, r.Parts)
	cw, err := datasets.CreateTable[datasets.CandidateResult](filepath.Join(f.Cfg.Out, candidatesDir, name))
	if err != nil {
		return err
	}
	rw, err := datasets.CreateTable[datasets.RequestResult](filepath.Join(f.Cfg.Out, requestsDir, name))
	if err != nil {
		cw.Abort()
		return err
	}
	stats := eval.NewRequestStats(f.env.armNames())
	f.h.TakeSummary() // drop counts of a failed earlier attempt
	err = sim.ReadRequestRange(r.Requests, r.Truth, r.Lo, r.Hi, sim.DefaultChunkSize, func(first int64, reqs []datasets.Request, truths []datasets.TruthRequest) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		for i := range reqs {
			if !f.env.rp.Keep(&reqs[i]) {
				continue
			}
			row := r.Base + first + int64(i)
			cands, rows, err := f.h.Replay(&reqs[i], &truths[i], row)
			if err != nil {
				return err
			}
			if err := cw.Write(cands); err != nil {
				return err
			}
			if err := rw.Write(rows); err != nil {
				return err
			}
			if err := stats.Add(rows); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = cw.Close()
	}
	if err == nil {
		err = rw.Close()
	}
	if err != nil {
		cw.Abort()
		rw.Abort()
		return fmt.Errorf("replay %s rows [%d, %d): %w", r.Requests, r.Lo, r.Hi, err)
	}
	sb, err := json.Marshal(rangeSummary{Part: r.Part, CandidateRows: cw.Rows(), RequestRows: rw.Rows(), Summary: f.h.TakeSummary()})
	if err != nil {
		return err
	}
	st, err := stats.MarshalBinary()
	if err != nil {
		return err
	}
	emitStats(st)
	emitSummary(sb)
	return nil
}

// mergeStatsFn merges request stats blobs.
type mergeStatsFn struct{}

func (mergeStatsFn) MergeAccumulators(a, b []byte) ([]byte, error) {
	var x, y eval.RequestStats
	if err := x.UnmarshalBinary(a); err != nil {
		return nil, err
	}
	if err := y.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	if err := x.Merge(&y); err != nil {
		return nil, err
	}
	return x.MarshalBinary()
}

// aggregateFn reads a range's result shards back and adds its requests to
// one accumulator per user shard, emitted keyed by shard.
type aggregateFn struct {
	Cfg Config
}

func (f *aggregateFn) ProcessElement(ctx context.Context, r Range, stats []byte, emit func(int, []byte)) error {
	var st eval.RequestStats
	if err := st.UnmarshalBinary(stats); err != nil {
		return err
	}
	opts, err := f.Cfg.evalOptions()
	if err != nil {
		return err
	}
	var accs [userShards]*eval.Accumulator
	add := func(reqs []datasets.RequestResult, cands []datasets.CandidateResult) error {
		k := userShard(reqs[0].UserID)
		if accs[k] == nil {
			if accs[k], err = eval.NewAccumulator(&st, opts); err != nil {
				return err
			}
		}
		return accs[k].Add(reqs, cands)
	}
	name := shardName(r.Part, r.Parts)
	if err := readResults(ctx, filepath.Join(f.Cfg.Out, requestsDir, name), filepath.Join(f.Cfg.Out, candidatesDir, name), add); err != nil {
		return fmt.Errorf("aggregate %s: %w", name, err)
	}
	for k, a := range accs {
		if a == nil {
			continue
		}
		b, err := a.MarshalBinary()
		if err != nil {
			return err
		}
		emit(k, b)
	}
	return nil
}

// readResults streams a results shard pair and calls add with each
// request's rows (one per arm) and its candidate rows, in file order. The
// replay writes both grouped by request, in the same request order.
func readResults(ctx context.Context, reqPath, candPath string, add func([]datasets.RequestResult, []datasets.CandidateResult) error) error {
	reqs, err := datasets.ReadTable[datasets.RequestResult](reqPath)
	if err != nil {
		return err
	}
	next := 0 // first request row not yet added
	// group holds the candidate rows of request groupID, read so far.
	var group []datasets.CandidateResult
	var groupID int64
	emitRequest := func(cands []datasets.CandidateResult) error {
		lo := next
		for next < len(reqs) && reqs[next].RequestID == reqs[lo].RequestID {
			next++
		}
		return add(reqs[lo:next], cands)
	}
	flush := func() error {
		// Requests without candidates come before the group's request.
		for next < len(reqs) && reqs[next].RequestID != groupID {
			if err := emitRequest(nil); err != nil {
				return err
			}
		}
		if next == len(reqs) {
			return fmt.Errorf("read %s: request %d has candidate rows but no request row in %s", candPath, groupID, reqPath)
		}
		err := emitRequest(group)
		group = nil
		return err
	}
	err = datasets.ScanTable(candPath, 8192, func(first int64, rows []datasets.CandidateResult) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := range rows {
			if len(group) > 0 && rows[i].RequestID != groupID {
				if err := flush(); err != nil {
					return err
				}
			}
			groupID = rows[i].RequestID
			group = append(group, rows[i])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(group) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	for next < len(reqs) {
		if err := emitRequest(nil); err != nil {
			return err
		}
	}
	return nil
}

// accBox carries a decoded accumulator between merges (nil when empty), so
// that a merge tree decodes each input once.
type accBox struct{ acc *eval.Accumulator }

func encodeAccBox(b accBox) ([]byte, error) {
	if b.acc == nil {
		return []byte{}, nil
	}
	return b.acc.MarshalBinary()
}

func decodeAccBox(data []byte) (accBox, error) {
	if len(data) == 0 {
		return accBox{}, nil
	}
	a := new(eval.Accumulator)
	if err := a.UnmarshalBinary(data); err != nil {
		return accBox{}, err
	}
	return accBox{a}, nil
}

func (b accBox) merge(o accBox) (accBox, error) {
	switch {
	case o.acc == nil:
		return b, nil
	case b.acc == nil:
		return o, nil
	}
	if err := b.acc.Merge(o.acc); err != nil {
		return accBox{}, err
	}
	return b, nil
}

// mergeAccFn merges the bundles' accumulators.
type mergeAccFn struct{}

func (mergeAccFn) CreateAccumulator() accBox { return accBox{} }

func (mergeAccFn) AddInput(b accBox, blob []byte) (accBox, error) {
	o, err := decodeAccBox(blob)
	if err != nil {
		return accBox{}, err
	}
	return b.merge(o)
}

func (mergeAccFn) MergeAccumulators(a, b accBox) (accBox, error) { return a.merge(b) }

func (mergeAccFn) ExtractOutput(b accBox) ([]byte, error) { return encodeAccBox(b) }

// finishFn writes replay.json from the range summaries (merged in range
// order) and metrics.json from the user shards' accumulators.
type finishFn struct {
	Cfg Config
}

func (f *finishFn) ProcessElement(ctx context.Context, _ []byte, summaries, shards func(*[]byte) bool) error {
	e, err := loadEnv(ctx, &f.Cfg)
	if err != nil {
		return err
	}
	var parts []rangeSummary
	var b []byte
	for summaries(&b) {
		var r rangeSummary
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("decode range summary: %w", err)
		}
		parts = append(parts, r)
	}
	slices.SortFunc(parts, func(x, y rangeSummary) int { return cmp.Compare(x.Part, y.Part) })
	sum := sim.NewReplaySummary(e.arms)
	var candRows, reqRows int64
	for _, p := range parts {
		if err := sum.Merge(p.Summary); err != nil {
			return err
		}
		candRows += p.CandidateRows
		reqRows += p.RequestRows
	}
	m := sim.NewReplayManifest("cgbench-beam", e.w, e.arms, e.cfg, e.rp.Response(), candRows, reqRows, sum)
	if err := sim.WriteReplayManifest(f.Cfg.Out, m); err != nil {
		return err
	}
	var box accBox
	for shards(&b) {
		o, err := decodeAccBox(b)
		if err != nil {
			return err
		}
		if box, err = box.merge(o); err != nil {
			return err
		}
	}
	if box.acc == nil {
		return fmt.Errorf("compute metrics: no request was replayed")
	}
	opts, err := f.Cfg.evalOptions()
	if err != nil {
		return err
	}
	file, err := box.acc.File(ctx, opts, []string{f.Cfg.Out})
	if err != nil {
		return err
	}
	return eval.WriteFile(filepath.Join(f.Cfg.Out, eval.MetricsFile), file)
}
