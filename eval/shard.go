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
	t      *requestTable
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
	fd := &feeder{t: t, free: make(chan *shardBatch, 4*numShards)}
	for s := range numShards {
		g := newAggregator(t.arms, t.topCountries, ks, segs)
		fd.shards[s] = g
		in := make(chan *shardBatch, 2)
		fd.in[s] = in
		fd.wg.Go(func() {
			for b := range in {
				if fd.errs[s] == nil {
					for _, gr := range b.groups {
						g.src = gr.src
						if err := g.add(&t.reqs[gr.ri], b.rows[gr.lo:gr.hi], gr.first); err != nil {
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
	s := shardOf(fd.t.reqs[ri].user)
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
	if err := g.finish(fd.t); err != nil {
		return nil, err
	}
	g.buildFine()
	return g, nil
}

// merge adds o's units and histograms into g; a unit (user, row set) in both
// gets o's sums added to g's. Every sum is an integer (counts, fixed-point
// sums), so merging gives the same bits in any order and grouping, whether
// or not the two hold the same users; the figures read units sorted by
// user, never in merge order.
func (g *aggregator) merge(o *aggregator) {
	idx := make([]int32, len(o.unitUser))
	for u := range o.unitUser {
		idx[u] = g.unit(o.unitUser[u], o.unitSet[u])
	}
	n := len(g.unitUser)
	// mergeRows adds o's row u of width w into g's row idx[u].
	mergeRows := func(dst []fixed, src []fixed, w int) []fixed {
		dst = growTo(dst, n*w)
		for u := range o.unitUser {
			if (u+1)*w > len(src) {
				break
			}
			d, s := dst[int(idx[u])*w:(int(idx[u])+1)*w], src[u*w:(u+1)*w]
			for i := range d {
				d[i].addFixed(s[i])
			}
		}
		return dst
	}
	for a := range g.armVals {
		g.armVals[a] = mergeRows(g.armVals[a], o.armVals[a], g.armN[a])
	}
	cols := g.layout.cols()
	hw := histIndex(1, 0, 0)
	for _, ob := range o.blocks {
		b := g.block(ob.arm, ob.cg)
		b.vals = mergeRows(b.vals, ob.vals, cols)
		b.hist = growTo(b.hist, n*hw)
		for u := range o.unitUser {
			if (u+1)*hw > len(ob.hist) {
				break
			}
			d, s := b.hist[int(idx[u])*hw:(int(idx[u])+1)*hw], ob.hist[u*hw:(u+1)*hw]
			for i := range d {
				d[i] += s[i]
			}
		}
		for s, acc := range ob.acc {
			for k, a := range acc {
				if a == nil {
					continue
				}
				if b.acc[s][k] == nil {
					b.acc[s][k] = new(fineAcc)
				}
				b.acc[s][k].merge(a)
			}
		}
		for d := range b.dist {
			for i := range b.dist[d] {
				b.dist[d][i] += ob.dist[d][i]
			}
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
	}
}
