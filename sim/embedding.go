package sim

import (
	"fmt"
	"math"
	"sync"
)

// EmbeddingCG is a learned CG: it encodes the user with a UserEncoder at the
// query's cutoff and subject Pin, and searches an Index over the ad Pin
// embeddings (item i is ad Pin i) by inner product.
type EmbeddingCG struct {
	name string
	k    int
	enc  UserEncoder
	idx  Index
	bufs sync.Pool // *[]float32 of enc.Dim()
}

// NewEmbeddingCG returns an embedding CG named name that retrieves k ad Pins
// per query. It panics when k < 1 or enc or idx is nil.
func NewEmbeddingCG(name string, k int, enc UserEncoder, idx Index) Generator {
	mustPositiveK("NewEmbeddingCG", k)
	if enc == nil || idx == nil {
		panic("sim: NewEmbeddingCG: nil encoder or index")
	}
	g := &EmbeddingCG{name: name, k: k, enc: enc, idx: idx}
	g.bufs.New = func() any {
		b := make([]float32, enc.Dim())
		return &b
	}
	return g
}

// Name returns the CG's name.
func (g *EmbeddingCG) Name() string { return g.name }

// Spec returns the CG's kind and parameters.
func (g *EmbeddingCG) Spec() string {
	s := fmt.Sprintf("embedding:k=%d,dim=%d", g.k, g.enc.Dim())
	if ivf, ok := g.idx.(*IVFIndex); ok {
		s += fmt.Sprintf(",index=ivf,nlist=%d,nprobe=%d", ivf.NList(), ivf.NProbe())
	} else if _, ok := g.idx.(*ExactIndex); ok {
		s += ",index=exact"
	}
	return s
}

// Retrieve implements Generator. An encoder whose dimension differs from the
// index's, an encoder error or a non-finite user embedding is an error.
func (g *EmbeddingCG) Retrieve(q *Query, dst []Candidate) ([]Candidate, error) {
	d := g.enc.Dim()
	if id, ok := g.idx.(interface{ Dim() int }); ok && id.Dim() != d {
		return dst, fmt.Errorf("retrieve %s: encoder dimension %d, index dimension %d", g.name, d, id.Dim())
	}
	bp := g.bufs.Get().(*[]float32)
	defer g.bufs.Put(bp)
	if len(*bp) != d {
		*bp = make([]float32, d)
	}
	u := *bp
	if err := g.enc.EncodeUser(q.Request.UserID, q.Request.SubjectCategories, q.Cutoff, u); err != nil {
		return dst, fmt.Errorf("retrieve %s: request %d: encode user %d: %w", g.name, q.Request.RequestID, q.Request.UserID, err)
	}
	for _, v := range u {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return dst, fmt.Errorf("retrieve %s: request %d: user %d embedding is not finite", g.name, q.Request.RequestID, q.Request.UserID)
		}
	}
	return g.idx.Search(u, g.k, dst), nil
}
