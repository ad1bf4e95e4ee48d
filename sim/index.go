package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Index finds the items with the largest inner product with a query. Item i
// of an index over the ad Pin embeddings is ad Pin i.
type Index interface {
	// Search appends the k items with the largest q·item to dst, best
	// first, ties broken by ascending id. len(q) is the index's dimension.
	Search(q []float32, k int, dst []Candidate) []Candidate
}

// Block sizes of the exact scan: an item block of exactItemBlock x d floats
// stays in L2 while a query block is scored against it.
const (
	exactItemBlock  = 2048
	exactQueryBlock = 64
)

// ExactIndex is exhaustive maximum-inner-product search over n items of
// dimension d: the reference every approximate index is measured against.
type ExactIndex struct {
	n, d    int
	items   []float32 // n x d, row-major
	scratch sync.Pool // *[]float32 of exactItemBlock scores
}

// NewExactIndex returns an exact index over items (n x d, row-major; kept,
// not copied). It panics when len(items) != n*d.
func NewExactIndex(n, d int, items []float32) *ExactIndex {
	if n < 0 || d < 1 || len(items) != n*d {
		panic(fmt.Sprintf("sim: NewExactIndex: len(items) = %d, want n*d = %d*%d", len(items), n, d))
	}
	x := &ExactIndex{n: n, d: d, items: items}
	x.scratch.New = func() any {
		b := make([]float32, exactItemBlock)
		return &b
	}
	return x
}

// Len returns the number of items.
func (x *ExactIndex) Len() int { return x.n }

// Dim returns the items' dimension.
func (x *ExactIndex) Dim() int { return x.d }

// Search implements Index by scoring every item (matrix-vector products over
// blocks of items) into a bounded heap. It panics when len(q) != Dim().
func (x *ExactIndex) Search(q []float32, k int, dst []Candidate) []Candidate {
	if len(q) != x.d {
		panic(fmt.Sprintf("sim: ExactIndex.Search: len(q) = %d, want %d", len(q), x.d))
	}
	var h topK
	h.reset(min(k, x.n))
	bp := x.scratch.Get().(*[]float32)
	scanRows(x.items, x.d, 0, x.n, q, nil, *bp, &h)
	x.scratch.Put(bp)
	return h.appendSorted(dst)
}

// scanRows scores rows [lo, hi) of items (stride d) against q and pushes
// them into h; the id of row r is ids[r] when ids is non-nil, else r.
func scanRows(items []float32, d, lo, hi int, q []float32, ids []int32, buf []float32, h *topK) {
	for b := lo; b < hi; b += len(buf) {
		e := min(b+len(buf), hi)
		s := buf[:e-b]
		blas32.Gemv(blas.NoTrans, 1,
			blas32.General{Rows: e - b, Cols: d, Data: items[b*d : e*d], Stride: d},
			blas32.Vector{N: d, Data: q, Inc: 1}, 0,
			blas32.Vector{N: e - b, Data: s, Inc: 1})
		for i, v := range s {
			// Most items of a long scan score below the worst kept one.
			if h.full() && v < h.h[0].score {
				continue
			}
			id := int32(b + i)
			if ids != nil {
				id = ids[b+i]
			}
			x := entry(scored{score: v, id: id})
			if h.full() && !x.before(h.worst()) {
				continue
			}
			h.pushEntry(x)
		}
	}
}

// SearchBatch returns the top k items of each of the m queries in Q (m x d,
// row-major), best first, computed by blocked matrix products (query block x
// item block) and one bounded heap per query. It panics when len(Q) != m*d.
func (x *ExactIndex) SearchBatch(Q []float32, m, k int) [][]Candidate {
	if m < 0 || len(Q) != m*x.d {
		panic(fmt.Sprintf("sim: ExactIndex.SearchBatch: len(Q) = %d, want m*d = %d*%d", len(Q), m, x.d))
	}
	out := make([][]Candidate, m)
	heaps := make([]topK, exactQueryBlock)
	c := make([]float32, exactQueryBlock*exactItemBlock)
	for qb := 0; qb < m; qb += exactQueryBlock {
		qe := min(qb+exactQueryBlock, m)
		mq := qe - qb
		for i := range mq {
			heaps[i].reset(min(k, x.n))
		}
		for ib := 0; ib < x.n; ib += exactItemBlock {
			ie := min(ib+exactItemBlock, x.n)
			ni := ie - ib
			blas32.Gemm(blas.NoTrans, blas.Trans, 1,
				blas32.General{Rows: mq, Cols: x.d, Data: Q[qb*x.d : qe*x.d], Stride: x.d},
				blas32.General{Rows: ni, Cols: x.d, Data: x.items[ib*x.d : ie*x.d], Stride: x.d},
				0, blas32.General{Rows: mq, Cols: ni, Data: c[:mq*ni], Stride: ni})
			for i := range mq {
				h := &heaps[i]
				for j, v := range c[i*ni : (i+1)*ni] {
					if h.full() && v < h.h[0].score {
						continue
					}
					x := entry(scored{score: v, id: int32(ib + j)})
					if h.full() && !x.before(h.worst()) {
						continue
					}
					h.pushEntry(x)
				}
			}
		}
		for i := range mq {
			out[qb+i] = heaps[i].appendSorted(make([]Candidate, 0, len(heaps[i].h)))
		}
	}
	return out
}

// IVFIndex is an inverted-file index: items are partitioned by k-means into
// nlist lists; a query scans the nprobe lists whose centroids have the
// largest inner product with it. With nprobe = nlist it is exact.
type IVFIndex struct {
	n, d, nlist, nprobe int
	centroids           []float32 // nlist x d
	offsets             []int     // nlist+1: list l holds rows offsets[l]:offsets[l+1]
	ids                 []int32   // item id of each row
	vecs                []float32 // items reordered by list, n x d
	scratch             *sync.Pool
}

type ivfScratch struct {
	cscore []float32
	buf    []float32
	probe  topK
	h      topK
}

// IVF training parameters: k-means runs kmeansIters Lloyd iterations on at
// most kmeansSamplePerList*nlist sampled items, as is usual for IVF indexes.
const (
	kmeansIters         = 10
	kmeansSamplePerList = 64
)

// NewIVFIndex builds an IVF index over items (n x d, row-major; copied)
// with nlist lists trained by k-means (squared Euclidean distance, seeded
// from rng) and nprobe lists scanned per query. nlist is capped at n. It
// panics when len(items) != n*d, nlist < 1 or nprobe < 1.
func NewIVFIndex(n, d int, items []float32, nlist, nprobe int, rng *rand.Rand) *IVFIndex {
	if n < 1 || d < 1 || len(items) != n*d {
		panic(fmt.Sprintf("sim: NewIVFIndex: len(items) = %d, want n*d = %d*%d with n, d >= 1", len(items), n, d))
	}
	if nlist < 1 || nprobe < 1 {
		panic(fmt.Sprintf("sim: NewIVFIndex: nlist = %d and nprobe = %d must be positive", nlist, nprobe))
	}
	nlist = min(nlist, n)
	cent := kmeans(n, d, items, nlist, rng)
	assign := make([]int32, n)
	assignRows(items, n, d, cent, nlist, assign)
	x := &IVFIndex{n: n, d: d, nlist: nlist, nprobe: min(nprobe, nlist), centroids: cent,
		offsets: make([]int, nlist+1), ids: make([]int32, n), vecs: make([]float32, n*d)}
	for _, a := range assign {
		x.offsets[a+1]++
	}
	for l := range nlist {
		x.offsets[l+1] += x.offsets[l]
	}
	next := append([]int(nil), x.offsets[:nlist]...)
	for i, a := range assign {
		r := next[a]
		next[a]++
		x.ids[r] = int32(i)
		copy(x.vecs[r*d:(r+1)*d], items[i*d:(i+1)*d])
	}
	x.scratch = &sync.Pool{New: func() any {
		return &ivfScratch{cscore: make([]float32, nlist), buf: make([]float32, exactItemBlock)}
	}}
	return x
}

// WithNProbe returns a view of the index that scans nprobe lists (capped at
// nlist), sharing its data. It panics when nprobe < 1.
func (x *IVFIndex) WithNProbe(nprobe int) *IVFIndex {
	if nprobe < 1 {
		panic(fmt.Sprintf("sim: IVFIndex.WithNProbe: nprobe = %d must be positive", nprobe))
	}
	y := *x
	y.nprobe = min(nprobe, x.nlist)
	return &y
}

// NList returns the number of lists; NProbe the lists scanned per query.
func (x *IVFIndex) NList() int { return x.nlist }

// NProbe returns the number of lists scanned per query.
func (x *IVFIndex) NProbe() int { return x.nprobe }

// Dim returns the items' dimension.
func (x *IVFIndex) Dim() int { return x.d }

// Len returns the number of items.
func (x *IVFIndex) Len() int { return x.n }

// Search implements Index. It panics when len(q) != Dim().
func (x *IVFIndex) Search(q []float32, k int, dst []Candidate) []Candidate {
	if len(q) != x.d {
		panic(fmt.Sprintf("sim: IVFIndex.Search: len(q) = %d, want %d", len(q), x.d))
	}
	s := x.scratch.Get().(*ivfScratch)
	defer x.scratch.Put(s)
	blas32.Gemv(blas.NoTrans, 1,
		blas32.General{Rows: x.nlist, Cols: x.d, Data: x.centroids, Stride: x.d},
		blas32.Vector{N: x.d, Data: q, Inc: 1}, 0,
		blas32.Vector{N: x.nlist, Data: s.cscore, Inc: 1})
	s.probe.reset(x.nprobe)
	for l, v := range s.cscore {
		s.probe.push(scored{score: v, id: int32(l)})
	}
	s.h.reset(min(k, x.n))
	for _, p := range s.probe.h {
		scanRows(x.vecs, x.d, x.offsets[p.id], x.offsets[p.id+1], q, x.ids, s.buf, &s.h)
	}
	return s.h.appendSorted(dst)
}

// kmeans returns nlist centroids (nlist x d) of a sample of the items.
func kmeans(n, d int, items []float32, nlist int, rng *rand.Rand) []float32 {
	ns := min(n, kmeansSamplePerList*nlist)
	perm := rng.Perm(n)[:ns]
	sample := make([]float32, ns*d)
	for i, r := range perm {
		copy(sample[i*d:(i+1)*d], items[r*d:(r+1)*d])
	}
	cent := make([]float32, nlist*d)
	copy(cent, sample[:nlist*d]) // the first nlist sampled items, distinct rows
	assign := make([]int32, ns)
	sum := make([]float64, nlist*d)
	cnt := make([]int, nlist)
	for range kmeansIters {
		assignRows(sample, ns, d, cent, nlist, assign)
		clear(sum)
		clear(cnt)
		for i, a := range assign {
			cnt[a]++
			row := sample[i*d : (i+1)*d]
			for j, v := range row {
				sum[int(a)*d+j] += float64(v)
			}
		}
		for l := range nlist {
			if cnt[l] == 0 {
				// An empty list takes a random sampled item, so every
				// list stays in use.
				r := rng.IntN(ns)
				copy(cent[l*d:(l+1)*d], sample[r*d:(r+1)*d])
				continue
			}
			for j := range d {
				cent[l*d+j] = float32(sum[l*d+j] / float64(cnt[l]))
			}
		}
	}
	return cent
}

// assignRows sets assign[i] to the centroid nearest to row i in squared
// Euclidean distance: argmax of x·c - |c|^2/2, computed by blocked products.
func assignRows(items []float32, n, d int, cent []float32, nlist int, assign []int32) {
	half := make([]float32, nlist)
	for l := range nlist {
		var s float64
		for _, v := range cent[l*d : (l+1)*d] {
			s += float64(v) * float64(v)
		}
		half[l] = float32(s / 2)
	}
	const rows = 256
	c := make([]float32, rows*nlist)
	for b := 0; b < n; b += rows {
		e := min(b+rows, n)
		m := e - b
		blas32.Gemm(blas.NoTrans, blas.Trans, 1,
			blas32.General{Rows: m, Cols: d, Data: items[b*d : e*d], Stride: d},
			blas32.General{Rows: nlist, Cols: d, Data: cent, Stride: d},
			0, blas32.General{Rows: m, Cols: nlist, Data: c[:m*nlist], Stride: nlist})
		for i := range m {
			best, bv := 0, float32(math.Inf(-1))
			for l, v := range c[i*nlist : (i+1)*nlist] {
				if v -= half[l]; v > bv {
					best, bv = l, v
				}
			}
			assign[b+i] = int32(best)
		}
	}
}

// Recall returns the mean over queries of |approx ∩ exact| / |exact|: the
// recall of an approximate index's results against the exact ones, aligned
// by query. Queries with an empty exact list are skipped; it returns 0 when
// every list is empty.
func Recall(approx, exact [][]Candidate) float64 {
	var sum float64
	var n int
	for i, ex := range exact {
		if len(ex) == 0 {
			continue
		}
		want := make(map[int32]bool, len(ex))
		for _, c := range ex {
			want[c.AdPin] = true
		}
		hit := 0
		if i < len(approx) {
			for _, c := range approx[i] {
				if want[c.AdPin] {
					hit++
				}
			}
		}
		sum += float64(hit) / float64(len(ex))
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
