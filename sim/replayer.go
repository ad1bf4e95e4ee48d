package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cgbench/cgbench/datasets"
)

// Replayer replays single requests through the arms: the per-request form
// of Replay, for a distributed runner that reads its own ranges of the
// request log (cmd/cgbench-beam). It runs the same engine code as Replay,
// and every draw depends on (seed, request id, ad Pin) only, so a request
// gives the same rows whichever worker replays it. A Replayer is safe for
// concurrent use; its handles are not.
type Replayer struct {
	e    *engine
	keep func(*datasets.Request) bool
}

// NewReplayer checks the arms and cfg as Replay does. cfg.Workers,
// cfg.ChunkSize and cfg.MaxRequests are the caller's business (a
// distributed runner selects its own rows); cfg.Days and cfg.Shard/Shards
// are applied by Keep.
func NewReplayer(w *datasets.World, truth *datasets.Truth, arms []Arm, cfg ReplayConfig) (*Replayer, error) {
	e, err := newEngine(w, truth, arms, cfg.Funnel, cfg.Staleness, cfg.Seed, cfg.Response)
	if err != nil {
		return nil, fmt.Errorf("new replayer: %w", err)
	}
	e.outCand, e.outReq = true, true
	_, _, keep, err := runParams(w, cfg)
	if err != nil {
		return nil, fmt.Errorf("new replayer: %w", err)
	}
	return &Replayer{e: e, keep: keep}, nil
}

// Response returns the response model the funnel draws from.
func (r *Replayer) Response() datasets.ResponseConfig { return r.e.resp }

// Keep reports whether req is selected by the config's days and shard.
func (r *Replayer) Keep(req *datasets.Request) bool { return r.keep == nil || r.keep(req) }

// ReplayHandle is one worker's scratch state and funnel counts. Not safe for
// concurrent use: make one per goroutine (or per DoFn instance).
type ReplayHandle struct {
	wk  *worker
	out chunkOut
}

// NewHandle returns a worker handle; it holds scratch arrays the size of
// the ad catalog.
func (r *Replayer) NewHandle() *ReplayHandle {
	h := &ReplayHandle{wk: r.e.newWorker()}
	h.reset()
	return h
}

func (h *ReplayHandle) reset() {
	e := h.wk.e
	h.out = chunkOut{stats: make([]armStats, len(e.arms))}
	for a := range e.arms {
		h.out.stats[a].cgs = make([]cgStats, len(e.arms[a].CGs))
	}
}

// Replay runs request req (with its truth tr, at row of the request log,
// for errors) through every arm and returns its rows exactly as Replay
// writes them: the candidate rows (arm, then CG, then rank) and one request
// row per arm, in arm order. The slices are the caller's. The request's
// funnel counts are added to the handle's summary.
func (h *ReplayHandle) Replay(req *datasets.Request, tr *datasets.TruthRequest, row int64) ([]datasets.CandidateResult, []datasets.RequestResult, error) {
	if req.RequestID != tr.RequestID {
		return nil, nil, fmt.Errorf("replay request log row %d: request id %d, truth row has request id %d", row, req.RequestID, tr.RequestID)
	}
	h.out.cands, h.out.reqs = nil, nil
	if err := h.wk.request(req, tr, row, &h.out); err != nil {
		return nil, nil, err
	}
	h.out.n++
	cands, reqs := h.out.cands, h.out.reqs
	h.out.cands, h.out.reqs = nil, nil
	return cands, reqs, nil
}

// TakeSummary returns the funnel counts of the requests replayed since the
// last call (shares computed) and resets them. Summaries of disjoint
// requests combine with ReplaySummary.Merge.
func (h *ReplayHandle) TakeSummary() *ReplaySummary {
	s := newSummary(h.wk.e.arms)
	s.add(&h.out)
	s.finish()
	h.reset()
	return s
}

// NewReplaySummary returns an empty summary of the arms, to Merge into.
func NewReplaySummary(arms []Arm) *ReplaySummary { return newSummary(arms) }

// NewReplayManifest returns the replay.json that Replay writes for these
// inputs, with createdBy, the row counts and the summary (finished) as given.
func NewReplayManifest(createdBy string, w *datasets.World, arms []Arm, cfg ReplayConfig, resp datasets.ResponseConfig, candidateRows, requestRows int64, sum *ReplaySummary) *ReplayManifest {
	m := &ReplayManifest{
		SchemaVersion: ReplaySchemaVersion,
		CreatedBy:     createdBy,
		DataHash:      w.Manifest.Hash,
		Seed:          cfg.Seed,
		Staleness:     cfg.Staleness.String(),
		Funnel:        cfg.Funnel,
		Response:      resp,
		Days:          cfg.Days,
		MaxRequests:   cfg.MaxRequests,
		Shard:         cfg.Shard,
		Shards:        cfg.Shards,
		CandidateRows: candidateRows,
		RequestRows:   requestRows,
		Summary:       *sum,
	}
	for _, a := range arms {
		am := ArmManifest{Name: a.Name}
		for _, g := range a.CGs {
			am.CGs = append(am.CGs, CGManifest{Name: g.Name(), Spec: generatorSpec(g)})
		}
		m.Arms = append(m.Arms, am)
	}
	return m
}

// WriteReplayManifest writes m as dir/replay.json, atomically, in the layout
// Replay writes.
func WriteReplayManifest(dir string, m *ReplayManifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write replay manifest: %w", err)
	}
	b = append(b, '\n')
	if err := datasets.WriteFileAtomic(filepath.Join(dir, datasets.ReplayManifestFile), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return fmt.Errorf("write replay manifest: %w", err)
	}
	return nil
}

// RequestLogRows returns the rows of a request log file (Parquet footer
// only).
func RequestLogRows(path string) (int64, error) {
	t, err := openTable[datasets.Request](path)
	if err != nil {
		return 0, err
	}
	defer t.close()
	return t.rows, nil
}

// ReadRequestRange reads rows [lo, hi) of the request log reqPath and of its
// truth truthPath (aligned by row, checked by request id) in batches of up
// to batch rows, calling fn with each batch and the file row of its first
// row. A distributed runner splits a log into such ranges; reading one
// starts at its row group, not at the file's start.
func ReadRequestRange(reqPath, truthPath string, lo, hi int64, batch int, fn func(first int64, reqs []datasets.Request, truths []datasets.TruthRequest) error) error {
	if batch <= 0 {
		batch = DefaultChunkSize
	}
	rf, err := openTable[datasets.Request](reqPath)
	if err != nil {
		return fmt.Errorf("read request log: %w", err)
	}
	defer rf.close()
	tf, err := openTable[datasets.TruthRequest](truthPath)
	if err != nil {
		return fmt.Errorf("read request truth: %w", err)
	}
	defer tf.close()
	if rf.rows != tf.rows {
		return fmt.Errorf("read request log %s: %d requests but %d truth requests in %s", reqPath, rf.rows, tf.rows, truthPath)
	}
	if lo < 0 || hi > rf.rows || lo > hi {
		return fmt.Errorf("read request log %s: rows [%d, %d) outside [0, %d)", reqPath, lo, hi, rf.rows)
	}
	for _, t := range []interface{ seek(int64) error }{rf, tf} {
		if err := t.seek(lo); err != nil {
			return err
		}
	}
	for row := lo; row < hi; {
		n := int(min(int64(batch), hi-row))
		// Fresh buffers per batch: fn may keep the rows.
		reqs := make([]datasets.Request, n)
		truths := make([]datasets.TruthRequest, n)
		m, err := rf.read(reqs)
		if err == nil && m < n {
			err = fmt.Errorf("read %s: %d rows, header says %d", reqPath, row+int64(m), rf.rows)
		}
		if err != nil {
			return err
		}
		if m, err = tf.read(truths); err == nil && m < n {
			err = fmt.Errorf("read %s: %d rows, header says %d", truthPath, row+int64(m), tf.rows)
		}
		if err != nil {
			return err
		}
		for i := range reqs {
			if reqs[i].RequestID != truths[i].RequestID {
				return fmt.Errorf("read request log %s: row %d: request id %d, truth row has request id %d", reqPath, row+int64(i), reqs[i].RequestID, truths[i].RequestID)
			}
		}
		if err := fn(row, reqs, truths); err != nil {
			return err
		}
		row += int64(n)
	}
	return nil
}
