package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// initTable fills w with N(0, 1/dim) entries (standard deviation 1/sqrt(dim)).
func initTable(w []float32, dim int, rng *rand.Rand) {
	sd := 1 / math.Sqrt(float64(dim))
	for i := range w {
		w[i] = float32(rng.NormFloat64() * sd)
	}
}

// Embedding looks up rows of a sparse table; a negative id is padding (a zero
// row that receives no gradient).
type Embedding struct {
	Table     *Param
	Rows, Dim int

	ids []int32
	y   *Mat
}

// NewEmbedding returns a rows x dim table initialised N(0, 1/dim), named name.
func NewEmbedding(name string, rows, dim int, rng *rand.Rand) *Embedding {
	e := &Embedding{Table: newSparseParam(name, rows, dim), Rows: rows, Dim: dim}
	initTable(e.Table.W, dim, rng)
	return e
}

// Params returns the table.
func (e *Embedding) Params() []*Param { return []*Param{e.Table} }

// Forward returns the len(ids) x Dim matrix of looked-up rows. ids is kept
// until Backward and must not change in between. It panics on an id >= Rows.
func (e *Embedding) Forward(ids []int32) *Mat {
	e.ids = ids
	y := ensure(&e.y, len(ids), e.Dim)
	d := e.Dim
	for i, id := range ids {
		out := y.D[i*d : (i+1)*d]
		if id < 0 {
			clear(out)
			continue
		}
		if int(id) >= e.Rows {
			panic(fmt.Sprintf("nn: Embedding %s: id %d out of range [0, %d)", e.Table.Name, id, e.Rows))
		}
		copy(out, e.Table.W[int(id)*d:int(id+1)*d])
	}
	return y
}

// Backward adds row i of dy to the gradient row of ids[i] (skipping padding)
// and records the touched rows.
func (e *Embedding) Backward(dy *Mat) {
	if dy.R != len(e.ids) || dy.C != e.Dim {
		panic(fmt.Sprintf("nn: Embedding %s: Backward with %d x %d gradient, Forward had %d ids", e.Table.Name, dy.R, dy.C, len(e.ids)))
	}
	d := e.Dim
	t := e.Table
	for i, id := range e.ids {
		if id < 0 {
			continue
		}
		g := t.G[int(id)*d : int(id+1)*d]
		for j, v := range dy.D[i*d : (i+1)*d] {
			g[j] += v
		}
		t.Touched = append(t.Touched, id)
	}
}

// EmbeddingBag computes per bag the weighted sum of table rows: bag b is
// sum_i weights[i] * E[ids[i]] over i in [offsets[b], offsets[b+1]). Negative
// ids are skipped; an empty bag gives a zero row.
type EmbeddingBag struct {
	Table     *Param
	Rows, Dim int

	ids     []int32
	weights []float32
	offsets []int32
	y       *Mat
}

// NewEmbeddingBag returns a bag over a rows x dim table initialised N(0, 1/dim).
func NewEmbeddingBag(name string, rows, dim int, rng *rand.Rand) *EmbeddingBag {
	e := &EmbeddingBag{Table: newSparseParam(name, rows, dim), Rows: rows, Dim: dim}
	initTable(e.Table.W, dim, rng)
	return e
}

// Params returns the table.
func (e *EmbeddingBag) Params() []*Param { return []*Param{e.Table} }

// Forward returns the bags x Dim matrix of weighted sums, bags =
// len(offsets)-1. weights may be nil (all 1); otherwise len(weights) ==
// len(ids). The slices are kept until Backward and must not change in between.
func (e *EmbeddingBag) Forward(ids []int32, weights []float32, offsets []int32) *Mat {
	if len(offsets) < 1 || (weights != nil && len(weights) != len(ids)) || int(offsets[len(offsets)-1]) > len(ids) {
		panic(fmt.Sprintf("nn: EmbeddingBag %s: %d ids, %d weights, %d offsets are inconsistent", e.Table.Name, len(ids), len(weights), len(offsets)))
	}
	e.ids, e.weights, e.offsets = ids, weights, offsets
	bags := len(offsets) - 1
	y := ensureZero(&e.y, bags, e.Dim)
	d := e.Dim
	for b := range bags {
		out := y.D[b*d : (b+1)*d]
		for i := offsets[b]; i < offsets[b+1]; i++ {
			id := ids[i]
			if id < 0 {
				continue
			}
			if int(id) >= e.Rows {
				panic(fmt.Sprintf("nn: EmbeddingBag %s: id %d out of range [0, %d)", e.Table.Name, id, e.Rows))
			}
			w := float32(1)
			if weights != nil {
				w = weights[i]
			}
			for j, v := range e.Table.W[int(id)*d : int(id+1)*d] {
				out[j] += w * v
			}
		}
	}
	return y
}

// Backward adds weights[i] * dy[bag of i] to the gradient row of ids[i] and
// records the touched rows.
func (e *EmbeddingBag) Backward(dy *Mat) {
	bags := len(e.offsets) - 1
	if dy.R != bags || dy.C != e.Dim {
		panic(fmt.Sprintf("nn: EmbeddingBag %s: Backward with %d x %d gradient, Forward had %d bags", e.Table.Name, dy.R, dy.C, bags))
	}
	d := e.Dim
	t := e.Table
	for b := range bags {
		gy := dy.D[b*d : (b+1)*d]
		for i := e.offsets[b]; i < e.offsets[b+1]; i++ {
			id := e.ids[i]
			if id < 0 {
				continue
			}
			w := float32(1)
			if e.weights != nil {
				w = e.weights[i]
			}
			g := t.G[int(id)*d : int(id+1)*d]
			for j, v := range gy {
				g[j] += w * v
			}
			t.Touched = append(t.Touched, id)
		}
	}
}

// Share returns another lookup module over the same table (same Param, so
// gradients and Touched accumulate into it) with its own buffers. Use one per
// call site, for example the history lookup and the positive-item lookup of the
// item table, since a module's output is only valid until its next Forward.
// List the table once among the optimizer's params.
func (e *Embedding) Share() *Embedding {
	return &Embedding{Table: e.Table, Rows: e.Rows, Dim: e.Dim}
}

// Share returns another bag module over the same table with its own buffers;
// see Embedding.Share.
func (e *EmbeddingBag) Share() *EmbeddingBag {
	return &EmbeddingBag{Table: e.Table, Rows: e.Rows, Dim: e.Dim}
}
