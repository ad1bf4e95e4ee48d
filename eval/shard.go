package eval

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/cgbench/cgbench/datasets"
)

// The aggregation runs on two goroutines, each owning the users that hash to
// it: a user's requests are aggregated by one shard in file order, so every
// per-user sum is the same whatever the scheduling, and merging the shards
// (shard 0, then shard 1) is a fixed sequence of additions.

const numShards = 2

// shardBatchRows is the number of candidate rows handed to a shard at once.
const shardBatchRows = 16 * 1024

// groupRef is one (arm, request) group inside a shard batch.
type groupRef struct {
	ri     int32
	lo, hi int
	first  int64
	src    string
}

type shardBatch struct {
	shard  int
	rows   []datasets.CandidateResult
	groups []groupRef
}

// errShardStopped tells the reader that a shard failed; feeder.close returns
// the shard's error.
var errShardStopped = errors.New("eval: aggregation stopped")

// feeder distributes request groups to the shards.
type feeder struct {
	shards [numShards]*aggregator
	in     [numShards]chan *shardBatch
	free   chan *shardBatch
	cur    [numShards]*shardBatch
	errs   [numShards]error
	errRow [numShards]int64
	failed atomic.Bool
	wg     sync.WaitGroup
}

func newFeeder(t *requestTable, ks []int, segs []int) *feeder {
	fd := &feeder{free: make(chan *shardBatch, 4*numShards)}
	for s := range numShards {
		g := newAggregator(t, ks, segs)
		fd.shards[s] = g
		in := make(chan *shardBatch, 2)
		fd.in[s] = in
		fd.wg.Go(func() {
			for b := range in {
				if fd.errs[s] == nil {
					for _, gr := range b.groups {
						g.src = gr.src
						if err := g.add(gr.ri, b.rows[gr.lo:gr.hi], gr.first); err != nil {
							fd.errs[s], fd.errRow[s] = err, gr.first
							fd.failed.Store(true)
							break
						}
					}
				}
				b.rows, b.groups = b.rows[:0], b.groups[:0]
				select {
				case fd.free <- b:
				default:
				}
			}
		})
	}
	return fd
}

func shardOf(user int32) int { return int(mix64(uint64(uint32(user))) % numShards) }

// feed queues the candidate rows of request ri (copied; rows may be reused
// by the caller). first is the file row of rows[0] and src the file, for
// errors.
func (fd *feeder) feed(ri int32, rows []datasets.CandidateResult, first int64, src string) error {
	b, err := fd.begin(ri, first, src)
	if err != nil {
		return err
	}
	b.rows = append(b.rows, rows...)
	fd.end(b)
	return nil
}

// begin starts the group of request ri in its shard's batch; the caller
// appends the group's rows to the returned batch's rows, then calls end.
func (fd *feeder) begin(ri int32, first int64, src string) (*shardBatch, error) {
	if fd.failed.Load() {
		return nil, errShardStopped
	}
	s := shardOf(fd.shards[0].t.reqs[ri].user)
	b := fd.cur[s]
	if b == nil {
		select {
		case b = <-fd.free:
		default:
			b = &shardBatch{rows: make([]datasets.CandidateResult, 0, shardBatchRows+256)}
		}
		b.shard = s
		fd.cur[s] = b
	}
	b.groups = append(b.groups, groupRef{ri: ri, lo: len(b.rows), first: first, src: src})
	return b, nil
}

// end closes the group begun last in b, handing b to its shard when full.
func (fd *feeder) end(b *shardBatch) {
	b.groups[len(b.groups)-1].hi = len(b.rows)
	if len(b.rows) >= shardBatchRows {
		fd.in[b.shard] <- b
		fd.cur[b.shard] = nil
	}
}

// close waits for the shards, merges them and aggregates the requests that
// had no candidate rows. A shard's error wins over
// readErr: every group before the reader's failing row was handed to a shard
// and aggregated, so the error with the smallest row comes first.
func (fd *feeder) close(readErr error) (*aggregator, error) {
	for s := range numShards {
		if b := fd.cur[s]; b != nil && readErr == nil {
			fd.in[s] <- b
		}
		fd.cur[s] = nil
		close(fd.in[s])
	}
	fd.wg.Wait()
	var first error
	var firstRow int64 = -1
	for s := range numShards {
		if err := fd.errs[s]; err != nil {
			row := fd.errRow[s]
			if first == nil || row < firstRow {
				first, firstRow = err, row
			}
		}
	}
	if first != nil {
		return nil, first
	}
	if readErr != nil {
		return nil, readErr
	}
	g := fd.shards[0]
	for _, o := range fd.shards[1:] {
		g.merge(o)
	}
	g.src = ""
	if err := g.finish(); err != nil {
		return nil, err
	}
	g.buildFine()
	return g, nil
}

// merge appends o's units (after g's) and adds o's histograms into g.
func (g *aggregator) merge(o *aggregator) {
	n0, n1 := len(g.unitUser), len(o.unitUser)
	for k, u := range o.unitOf {
		g.unitOf[k] = int32(n0) + u
	}
	g.unitUser = append(g.unitUser, o.unitUser...)
	g.unitSet = append(g.unitSet, o.unitSet...)
	for a := range g.armVals {
		n := g.armN[a]
		g.armVals[a] = append(growTo(g.armVals[a], n0*n), growTo(o.armVals[a], n1*n)...)
	}
	cols := g.layout.cols()
	for _, ob := range o.blocks {
		b := g.block(ob.arm, ob.cg)
		b.vals = append(growTo(b.vals, n0*cols), growTo(ob.vals, n1*cols)...)
		b.hist = append(growTo(b.hist, histIndex(n0, 0, 0)), growTo(ob.hist, histIndex(n1, 0, 0))...)
		for s, acc := range ob.acc {
			for k, a := range acc {
				if a == nil {
					continue
				}
				if b.acc[s][k] == nil {
					b.acc[s][k] = new(fineAcc)
				}
				dst := b.acc[s][k]
				for i := range a {
					dst[i][0] += a[i][0]
					dst[i][1] += a[i][1]
				}
			}
		}
		for d := range b.dist {
			for i := range b.dist[d] {
				b.dist[d][i] += ob.dist[d][i]
			}
		}
		for s := range ob.sets {
			b.sets[s] = true
		}
	}
	g.impressionDiffs += o.impressionDiffs
}

// buildFine turns the accumulators into the fine histograms the figures
// read.
func (g *aggregator) buildFine() {
	for _, b := range g.blocks {
		b.fine = make([][numMedianKinds]*fineHist, len(b.acc))
		for s, acc := range b.acc {
			for k, a := range acc {
				if a != nil {
					h := new(fineHist)
					a.addTo(h)
					b.fine[s][k] = h
				}
			}
		}
		b.acc = nil
	}
}
