package model

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/model/nn"
)

// Snapshot is the feature store of one day: the offline encoder's output for
// every user from the offsite events strictly before Cutoff. The last
// position's state (Last) feeds the concat fusion and the baseline; with
// cross-attention fusion (Seq) the valid rows of the whole encoder output
// sequence are kept too, most recent last.
type Snapshot struct {
	Cutoff    int64  // unix seconds; events strictly before it are encoded
	Day       int    // day index of Cutoff in its world
	Dim       int    // d
	MaxLen    int    // L
	Seq       bool   // SeqLen and SeqData are present
	ModelHash string // Model.Hash of the encoder that produced it
	Users     int
	// Recomputed is the number of users encoded by the Infer call that made
	// this snapshot (the others were carried over from the previous one).
	Recomputed int

	Last    []float32 // Users x Dim
	HistLen []int32   // per user: events before Cutoff (all, not only the last L)
	SeqLen  []int32   // per user: encoder rows kept, min(HistLen, L); Seq only
	SeqOff  []int64   // Users+1 row offsets into SeqData; Seq only
	SeqData []float32 // (sum SeqLen) x Dim; Seq only
}

// BytesPerUser is the feature store's size per user: the cached floats plus
// the per-user lengths.
func (s *Snapshot) BytesPerUser() float64 {
	if s.Users == 0 {
		return 0
	}
	b := 4 * (len(s.Last) + len(s.HistLen) + len(s.SeqLen) + len(s.SeqData))
	return float64(b) / float64(s.Users)
}

// lastOf returns user u's cached last state.
func (s *Snapshot) lastOf(u int) []float32 { return s.Last[u*s.Dim : (u+1)*s.Dim] }

// seqOf returns user u's cached encoder rows, SeqLen[u] x Dim.
func (s *Snapshot) seqOf(u int) []float32 {
	return s.SeqData[s.SeqOff[u]*int64(s.Dim) : s.SeqOff[u+1]*int64(s.Dim)]
}

// Infer computes the snapshot of every user of w from the events strictly
// before cutoff. When prev is given (a snapshot of this model with an
// earlier or equal cut-off) only the users with events in [prev.Cutoff,
// cutoff) are encoded again and the others are carried over; the encoder's
// output depends only on the events, so the result is the same.
func (m *Model) Infer(ctx context.Context, w *datasets.World, cutoff int64, prev *Snapshot) (*Snapshot, error) {
	if err := m.f.checkWorld(w); err != nil {
		return nil, fmt.Errorf("infer: %w", err)
	}
	d, L := m.cfg.Dim, m.cfg.MaxLen
	s := &Snapshot{
		Cutoff: cutoff, Day: w.Day(cutoff), Dim: d, MaxLen: L, Seq: m.net.usesCross(),
		ModelHash: m.Hash(), Users: len(w.Users),
	}
	if prev != nil {
		if err := m.checkSnapshot(prev); err != nil {
			return nil, fmt.Errorf("infer: previous snapshot: %w", err)
		}
		if prev.Users != s.Users {
			return nil, fmt.Errorf("infer: previous snapshot has %d users, world has %d", prev.Users, s.Users)
		}
		if prev.Cutoff > cutoff {
			return nil, fmt.Errorf("infer: previous snapshot's cut-off %d is after %d", prev.Cutoff, cutoff)
		}
	}
	s.Last = make([]float32, s.Users*d)
	s.HistLen = make([]int32, s.Users)
	var stale []int32
	for u := range s.Users {
		n := len(w.HistoryBefore(int32(u), cutoff))
		s.HistLen[u] = int32(n)
		if prev == nil || n != len(w.HistoryBefore(int32(u), prev.Cutoff)) {
			stale = append(stale, int32(u))
		}
	}
	s.Recomputed = len(stale)
	if s.Seq {
		s.SeqLen = make([]int32, s.Users)
		s.SeqOff = make([]int64, s.Users+1)
		for u := range s.Users {
			s.SeqLen[u] = min(s.HistLen[u], int32(L))
			s.SeqOff[u+1] = s.SeqOff[u] + int64(s.SeqLen[u])
		}
		s.SeqData = make([]float32, s.SeqOff[s.Users]*int64(d))
	}
	if prev != nil {
		fresh := make([]bool, s.Users)
		for _, u := range stale {
			fresh[u] = true
		}
		for u := range s.Users {
			if !fresh[u] {
				copy(s.lastOf(u), prev.lastOf(u))
				if s.Seq {
					copy(s.seqOf(u), prev.seqOf(u))
				}
			}
		}
	}
	const chunk = 256
	m.mu.Lock()
	defer m.mu.Unlock()
	var b batch
	for lo := 0; lo < len(stale); lo += chunk {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("infer: %w", err)
		}
		users := stale[lo:min(lo+chunk, len(stale))]
		b.reset(len(users), L)
		for _, u := range users {
			b.addSeq(w.HistoryBefore(u, cutoff), -1, &m.cfg, m.f)
		}
		seq := m.net.encode(&b, false, nil)
		for i, u := range users {
			m.net.summarize(s.lastOf(int(u)), seq, b.pad, i)
			if s.Seq {
				n := int(s.SeqLen[u])
				copy(s.seqOf(int(u)), seq.D[(i*L+L-n)*d:(i*L+L)*d])
			}
		}
	}
	return s, nil
}

// checkSnapshot reports whether s was made by m's encoder.
func (m *Model) checkSnapshot(s *Snapshot) error {
	if s.Dim != m.cfg.Dim || s.MaxLen != m.cfg.MaxLen || s.Seq != m.net.usesCross() {
		return fmt.Errorf("snapshot (dim %d, L %d, seq %v) does not fit the model (dim %d, L %d, seq %v)",
			s.Dim, s.MaxLen, s.Seq, m.cfg.Dim, m.cfg.MaxLen, m.net.usesCross())
	}
	if s.ModelHash != m.Hash() {
		return fmt.Errorf("snapshot of model %s, not of this model %s", s.ModelHash, m.Hash())
	}
	return nil
}

const snapshotFormat = "cgbench-snapshot-v1"

// WriteSnapshot writes s to path (safetensors, atomically).
func WriteSnapshot(path string, s *Snapshot) error {
	ts := []stTensor{
		{Name: "last", DType: dtypeF32, Shape: []int{s.Users, s.Dim}, F32: s.Last},
		{Name: "history_len", DType: dtypeI32, Shape: []int{s.Users}, I32: s.HistLen},
	}
	if s.Seq {
		ts = append(ts,
			stTensor{Name: "seq_len", DType: dtypeI32, Shape: []int{s.Users}, I32: s.SeqLen},
			stTensor{Name: "seq", DType: dtypeF32, Shape: []int{len(s.SeqData) / max(s.Dim, 1), s.Dim}, F32: s.SeqData})
	}
	meta := map[string]string{
		"format":     snapshotFormat,
		"cutoff":     strconv.FormatInt(s.Cutoff, 10),
		"day":        strconv.Itoa(s.Day),
		"dim":        strconv.Itoa(s.Dim),
		"max_len":    strconv.Itoa(s.MaxLen),
		"seq":        strconv.FormatBool(s.Seq),
		"model_hash": s.ModelHash,
		"users":      strconv.Itoa(s.Users),
		"recomputed": strconv.Itoa(s.Recomputed),
	}
	if err := writeSafetensors(path, ts, meta); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

// ReadSnapshot reads a snapshot written by WriteSnapshot, validating every
// length.
func ReadSnapshot(path string) (*Snapshot, error) {
	st, err := readSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	s, err := snapshotFrom(st)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	return s, nil
}

func snapshotFrom(st *stFile) (*Snapshot, error) {
	if st.Meta["format"] != snapshotFormat {
		return nil, fmt.Errorf("read %s: format %q, want %q", st.Path, st.Meta["format"], snapshotFormat)
	}
	s := &Snapshot{ModelHash: st.Meta["model_hash"], Seq: st.Meta["seq"] == "true"}
	ints := []struct {
		key string
		dst *int
	}{{"day", &s.Day}, {"dim", &s.Dim}, {"max_len", &s.MaxLen}, {"users", &s.Users}, {"recomputed", &s.Recomputed}}
	for _, f := range ints {
		v, err := st.metaInt(f.key)
		if err != nil {
			return nil, err
		}
		if v < -1<<31 || v > 1<<31 {
			return nil, fmt.Errorf("read %s: metadata %s = %d out of range", st.Path, f.key, v)
		}
		*f.dst = int(v)
	}
	var err error
	if s.Cutoff, err = st.metaInt("cutoff"); err != nil {
		return nil, err
	}
	if s.Dim < 1 || s.MaxLen < 1 || s.Users < 0 {
		return nil, fmt.Errorf("read %s: bad dim %d, max_len %d or users %d", st.Path, s.Dim, s.MaxLen, s.Users)
	}
	if s.Last, err = st.tensorF32("last", s.Users, s.Dim); err != nil {
		return nil, err
	}
	if s.HistLen, err = st.tensorI32("history_len", s.Users); err != nil {
		return nil, err
	}
	if !s.Seq {
		return s, nil
	}
	if s.SeqLen, err = st.tensorI32("seq_len", s.Users); err != nil {
		return nil, err
	}
	s.SeqOff = make([]int64, s.Users+1)
	for u, n := range s.SeqLen {
		if n < 0 || int(n) > s.MaxLen || n > max(s.HistLen[u], 0) {
			return nil, fmt.Errorf("read %s: tensor seq_len: user %d has %d rows, want in [0, min(%d, history %d)]", st.Path, u, n, s.MaxLen, s.HistLen[u])
		}
		s.SeqOff[u+1] = s.SeqOff[u] + int64(n)
	}
	rows := int(s.SeqOff[s.Users])
	if s.SeqData, err = st.tensorF32("seq", rows, s.Dim); err != nil {
		return nil, err
	}
	return s, nil
}

// SnapshotPath is the conventional file of the snapshot of a day inside a
// feature-store folder.
func SnapshotPath(dir string, day int) string {
	return filepath.Join(dir, fmt.Sprintf("day-%03d.safetensors", day))
}

// Server computes user embeddings at request time: the online head over a
// cached snapshot, or the whole user tower when no snapshot has the
// request's cut-off. It is safe for concurrent use.
type Server struct {
	m        *Model
	w        *datasets.World
	snaps    map[int64]*Snapshot
	warnings []string
}

// NewServer serves users of w from snapshots (keyed by their Cutoff).
// Snapshots that do not belong to this model or world are not used (and
// listed in Warnings); requests at their cut-off run the whole tower.
func (m *Model) NewServer(w *datasets.World, snapshots []*Snapshot) *Server {
	s := &Server{m: m, w: w, snaps: map[int64]*Snapshot{}}
	if err := m.f.checkWorld(w); err != nil {
		s.warnings = append(s.warnings, err.Error())
	}
	for _, sn := range snapshots {
		if err := m.checkSnapshot(sn); err != nil {
			s.warnings = append(s.warnings, fmt.Sprintf("snapshot of day %d not used: %v", sn.Day, err))
			continue
		}
		if sn.Users != len(w.Users) {
			s.warnings = append(s.warnings, fmt.Sprintf("snapshot of day %d not used: %d users, world has %d", sn.Day, sn.Users, len(w.Users)))
			continue
		}
		s.snaps[sn.Cutoff] = sn
	}
	return s
}

// Dim returns the width of the user embeddings.
func (s *Server) Dim() int { return s.m.cfg.EmbeddingDim() }

// Warnings lists the snapshots NewServer refused, and why.
func (s *Server) Warnings() []string { return s.warnings }

// HasSnapshot reports whether requests at cutoff are served from a snapshot.
func (s *Server) HasSnapshot(cutoff int64) bool { _, ok := s.snaps[cutoff]; return ok }

// EncodeUser writes into dst (len Dim()) the L2-normalised embedding of user
// for a request whose subject Pin has the categories subject (projected to
// the top k by confidence; ignored by the baseline) and whose history is the
// events strictly before cutoff. With a snapshot of that cut-off only the
// online head runs; otherwise the whole user tower does.
func (s *Server) EncodeUser(user int32, subject []datasets.CategoryScore, cutoff int64, dst []float32) error {
	m := s.m
	d, L := m.cfg.Dim, m.cfg.MaxLen
	if user < 0 || int(user) >= len(s.w.Users) {
		return fmt.Errorf("encode user %d: not among the world's %d users", user, len(s.w.Users))
	}
	if out := m.cfg.EmbeddingDim(); len(dst) != out {
		return fmt.Errorf("encode user %d: dst has length %d, want %d", user, len(dst), out)
	}
	if int(user)+1 >= len(s.w.UserEvents) {
		return fmt.Errorf("encode user %d: world has no event offsets for the user", user)
	}
	hist := s.w.HistoryBefore(user, cutoff)
	for _, e := range hist {
		if e.AdPinID < 0 || int(e.AdPinID) >= m.f.nItems {
			return fmt.Errorf("encode user %d: ad_pin_id %d not in the model's catalogue of %d", user, e.AdPinID, m.f.nItems)
		}
	}
	r := m.getReplica()
	defer m.putReplica(r)
	n := r.net
	b := &r.b
	b.reset(1, L)
	var U *nn.Mat
	if sn, ok := s.snaps[cutoff]; ok {
		b.addHistoryBags(hist, &m.cfg, m.f)
		last := r.last.Reshape(1, d)
		copy(last.D, sn.lastOf(int(user)))
		var seq *nn.Mat
		if sn.Seq {
			rows := sn.seqOf(int(user))
			k := len(rows) / d
			seq = r.seq.Reshape(L, d)
			clear(seq.D[:(L-k)*d])
			copy(seq.D[(L-k)*d:], rows)
			for t := range L {
				b.pad = append(b.pad, t < L-k)
			}
		}
		s.addContext(r, user, subject)
		U = n.userHead(b, last, seq, false, nil)
	} else {
		b.addSeq(hist, -1, &m.cfg, m.f)
		s.addContext(r, user, subject)
		U = n.userForward(b, false, nil)
	}
	copy(dst, U.D[:len(dst)])
	return nil
}

func (s *Server) addContext(r *replica, user int32, subject []datasets.CategoryScore) {
	if !s.m.cfg.Contextual() {
		return
	}
	r.cats = projectTopK(r.cats, subject, s.m.cfg.Context.TopK)
	r.b.addContext(r.cats, &s.w.Users[user], s.m.f)
}
