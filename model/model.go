// Package model is the two-tower candidate generator under study: a
// history-only baseline and a contextual model whose user tower is split
// into an offline Transformer encoder (cached per day in a feature store)
// and an online head over the subject Pin's context.
//
// The pipeline, in the order a run meets it:
//
//  1. Config (DefaultConfig, LoadConfig) fixes the architecture and training.
//  2. Train builds examples from the offsite conversions before a cut-off
//     (a prefix of up to L events predicts a later event; the contextual
//     model's context is a pseudo-context projected from the label), trains
//     with an in-batch sampled softmax with logQ correction, stops early on
//     validation Recall@100 and writes checkpoints into a run folder.
//  3. Load reads a run folder back.
//  4. Infer computes the feature-store Snapshot (the encoder's state per user
//     from the events before a cut-off); NewServer serves user embeddings
//     from snapshots plus the online head; ItemEmbeddings gives the item
//     tower's output for the ANN index.
//  5. EvaluateNextItem measures held-out Recall@K against the popularity and
//     history-interest heuristics.
//
// Models never read the world's truth tables.
package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/model/nn"
)

// Model is a trained (or freshly initialised) two-tower model. Its methods
// are safe for concurrent use, except that training mutates it.
type Model struct {
	cfg Config
	f   *features
	net *net

	mu    sync.Mutex // guards items and the master net in ItemEmbeddings
	items []float32
	hash  string

	// spare holds idle replicas. A plain free list rather than a sync.Pool:
	// a replica is costly to build and a pool drops its items at every GC.
	spareMu sync.Mutex
	spare   []*replica
}

// newModel builds a model with fresh weights for the catalogue of w.
func newModel(cfg Config, w *datasets.World) (*Model, error) {
	f, err := newFeatures(w)
	if err != nil {
		return nil, err
	}
	return newModelFeatures(cfg, f), nil
}

func newModelFeatures(cfg Config, f *features) *Model {
	m := &Model{cfg: cfg.clone(), f: f}
	m.net = newNet(&m.cfg, f, rand.New(rand.NewPCG(cfg.Train.Seed, stageInit)))
	return m
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg.clone() }

// Dim returns the width of user and item embeddings (Config.EmbeddingDim).
func (m *Model) Dim() int { return m.cfg.EmbeddingDim() }

// NumItems returns the number of ad Pins the model embeds.
func (m *Model) NumItems() int { return m.f.nItems }

// NumWeights returns the number of trainable weights.
func (m *Model) NumWeights() int { return nn.NumWeights(m.net.params) }

// Hash identifies the weights (hex SHA-256 prefix over every parameter in
// order); snapshots record it so that a server refuses a foreign snapshot.
func (m *Model) Hash() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hash == "" {
		h := sha256.New()
		var b [4]byte
		for _, p := range m.net.params {
			h.Write([]byte(p.Name))
			for _, v := range p.W {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
				h.Write(b[:])
			}
		}
		m.hash = hex.EncodeToString(h.Sum(nil))[:16]
	}
	return m.hash
}

// weightsChanged drops the caches that depend on the weights. Weights are
// always updated in place, so replicas stay valid.
func (m *Model) weightsChanged() {
	m.mu.Lock()
	m.items = nil
	m.hash = ""
	m.mu.Unlock()
}

// ItemEmbeddings returns the item tower's output for every ad Pin: n x d,
// row-major, row i = ad Pin i, L2-normalised. Scores are dot products with
// user embeddings (divide by the temperature for the trained logits; the
// ranking is the same). The slice is shared: do not modify it.
func (m *Model) ItemEmbeddings() (n, d int, data []float32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items == nil {
		m.items = m.computeItems(m.net)
	}
	return m.f.nItems, m.cfg.EmbeddingDim(), m.items
}

// computeItems runs the item tower in inference mode over the catalogue.
func (m *Model) computeItems(n *net) []float32 {
	const chunk = 1024
	d := m.cfg.EmbeddingDim()
	out := make([]float32, m.f.nItems*d)
	ids := make([]int32, 0, chunk)
	for lo := 0; lo < m.f.nItems; lo += chunk {
		ids = ids[:0]
		for i := lo; i < min(lo+chunk, m.f.nItems); i++ {
			ids = append(ids, int32(i))
		}
		v := n.itemsForward(ids, false, nil)
		copy(out[lo*d:], v.D)
	}
	return out
}

// replica is a network sharing the model's weights with its own buffers, so
// that concurrent requests do not share mutable state.
type replica struct {
	net  *net
	b    batch
	last *nn.Mat
	seq  *nn.Mat
	cats []datasets.CategoryScore
}

func (m *Model) getReplica() *replica {
	m.spareMu.Lock()
	if k := len(m.spare); k > 0 {
		r := m.spare[k-1]
		m.spare = m.spare[:k-1]
		m.spareMu.Unlock()
		return r
	}
	m.spareMu.Unlock()
	n := newNet(&m.cfg, m.f, rand.New(rand.NewPCG(0, 0)))
	n.shareWeights(m.net)
	return &replica{net: n, last: &nn.Mat{}, seq: &nn.Mat{}}
}

func (m *Model) putReplica(r *replica) {
	m.spareMu.Lock()
	m.spare = append(m.spare, r)
	m.spareMu.Unlock()
}
