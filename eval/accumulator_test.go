package eval

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// accFixture is a replay with 2 arms x 2 CGs over 120 users in which arm
// "ctx" has no candidate rows for every 7th request (so the no-candidate path
// runs), written as a results folder, with its rows grouped by request.
type accFixture struct {
	dir    string
	arms   []string
	groups []accGroup
	opts   Options
}

type accGroup struct {
	user  int32
	reqs  []datasets.RequestResult
	cands []datasets.CandidateResult
}

func newAccFixture(t *testing.T) *accFixture {
	t.Helper()
	s := synth{seed: 3, users: 120, requests: 700, arms: []string{"base", "ctx"}, cgs: []string{"c1", "c2"}, listLen: 12,
		quality: map[string]float64{"base": 0.3, "ctx": 0.6}}
	reqs, cands := s.generate()
	cands = slices.DeleteFunc(cands, func(c datasets.CandidateResult) bool { return c.Arm == "ctx" && c.RequestID%7 == 0 })
	fx := &accFixture{dir: t.TempDir(), arms: s.arms,
		opts: Options{Ks: []int{1, 5, 10}, BootstrapReps: 60, Seed: 5, Now: fixedNow,
			Segments: []string{SegmentHistoryLength, SegmentContextStrength, SegmentFreshActivity, SegmentCountryTier}}}
	writeResults(t, fx.dir, reqs, cands, map[string]any{"data_hash": "h", "seed": 1, "arms": []string{"base", "ctx"}})
	ci := 0
	for i := 0; i < len(reqs); i += len(s.arms) {
		g := accGroup{user: reqs[i].UserID, reqs: reqs[i : i+len(s.arms)]}
		lo := ci
		for ci < len(cands) && cands[ci].RequestID == reqs[i].RequestID {
			ci++
		}
		g.cands = cands[lo:ci]
		fx.groups = append(fx.groups, g)
	}
	if ci != len(cands) {
		t.Fatalf("fixture: %d of %d candidate rows grouped", ci, len(cands))
	}
	return fx
}

func (fx *accFixture) compute(t *testing.T) []byte {
	t.Helper()
	f, err := Compute(context.Background(), []string{fx.dir}, fx.opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// accumulate returns the request stats of the whole fixture and an
// accumulator holding its first n request groups.
func (fx *accFixture) accumulate(t *testing.T, n int) (*RequestStats, *Accumulator) {
	t.Helper()
	stats := NewRequestStats(fx.arms)
	for _, g := range fx.groups {
		if err := stats.Add(g.reqs); err != nil {
			t.Fatal(err)
		}
	}
	a, err := NewAccumulator(stats, fx.opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range fx.groups[:n] {
		if err := a.Add(g.reqs, slices.Clone(g.cands)); err != nil {
			t.Fatal(err)
		}
	}
	return stats, a
}

// roundTrip returns a copy of a made by MarshalBinary and UnmarshalBinary.
func roundTrip(t *testing.T, a *Accumulator) *Accumulator {
	t.Helper()
	b, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var o Accumulator
	if err := o.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary of MarshalBinary: %v", err)
	}
	return &o
}

// TestAccumulatorMatchesCompute splits the users (or the requests, in a
// shuffled order, so that a user's sums come from several parts) over parts,
// aggregates each part into its own accumulator with request stats merged
// from per-part stats, merges the parts in a random order (some after a
// binary round trip) and checks that the metrics JSON is byte-identical to
// Compute's on the same rows.
func TestAccumulatorMatchesCompute(t *testing.T) {
	fx := newAccFixture(t)
	want := fx.compute(t)
	for _, tc := range []struct {
		name      string
		parts     int
		seed      uint64
		trip      bool
		byRequest bool
	}{
		{"one part", 1, 1, false, false},
		{"one part, round trip", 1, 2, true, false},
		{"3 parts", 3, 3, false, false},
		{"7 parts, round trips", 7, 4, true, false},
		{"20 parts, round trips", 20, 5, true, false},
		{"requests shuffled over 5 parts", 5, 6, false, true},
		{"requests shuffled over 9 parts, round trips", 9, 7, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(tc.seed, 11))
			byUser := map[int32]int{}
			part := make([]int, len(fx.groups))
			for i, g := range fx.groups {
				if _, ok := byUser[g.user]; !ok {
					byUser[g.user] = r.IntN(tc.parts)
				}
				part[i] = byUser[g.user]
				if tc.byRequest {
					part[i] = r.IntN(tc.parts)
				}
			}
			order := make([]int, len(fx.groups))
			for i := range order {
				order[i] = i
			}
			if tc.byRequest {
				order = r.Perm(len(fx.groups))
			}
			// Stats per part, merged in a random order.
			parts := make([]*RequestStats, tc.parts)
			for p := range parts {
				parts[p] = NewRequestStats(fx.arms)
			}
			for _, i := range order {
				if err := parts[part[i]].Add(fx.groups[i].reqs); err != nil {
					t.Fatal(err)
				}
			}
			stats := NewRequestStats(fx.arms)
			for _, p := range r.Perm(tc.parts) {
				st := parts[p]
				if tc.trip {
					b, err := st.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					st = new(RequestStats)
					if err := st.UnmarshalBinary(b); err != nil {
						t.Fatal(err)
					}
				}
				if err := stats.Merge(st); err != nil {
					t.Fatal(err)
				}
			}
			accs := make([]*Accumulator, tc.parts)
			for p := range accs {
				var err error
				if accs[p], err = NewAccumulator(stats, fx.opts); err != nil {
					t.Fatal(err)
				}
			}
			for _, i := range order {
				if err := accs[part[i]].Add(fx.groups[i].reqs, slices.Clone(fx.groups[i].cands)); err != nil {
					t.Fatal(err)
				}
			}
			merge := r.Perm(tc.parts)
			total := accs[merge[0]]
			for _, p := range merge[1:] {
				o := accs[p]
				if tc.trip {
					o = roundTrip(t, o)
				}
				if err := total.Merge(o); err != nil {
					t.Fatal(err)
				}
			}
			if tc.trip {
				total = roundTrip(t, total)
			}
			f, err := total.File(context.Background(), fx.opts, []string{fx.dir})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Accumulator over %d parts: metrics JSON differs from Compute's (%d vs %d bytes)", tc.parts, len(got), len(want))
			}
		})
	}
}

func TestAccumulatorMarshalRoundTrip(t *testing.T) {
	fx := newAccFixture(t)
	stats, a := fx.accumulate(t, 200)
	b1, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b2, err := roundTrip(t, a).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Errorf("MarshalBinary after a round trip: %d bytes differ from the original's %d", len(b2), len(b1))
	}
	if got, want := roundTrip(t, a).Users(), a.Users(); got != want || want == 0 {
		t.Errorf("Users after a round trip = %d, want %d (> 0)", got, want)
	}
	s1, err := stats.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var st RequestStats
	if err := st.UnmarshalBinary(s1); err != nil {
		t.Fatal(err)
	}
	s2, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s1, s2) {
		t.Errorf("RequestStats.MarshalBinary after a round trip differs")
	}
}

// TestAccumulatorUnmarshalCorrupt checks that damaged blobs give errors,
// not panics or silently wrong sums.
func TestAccumulatorUnmarshalCorrupt(t *testing.T) {
	fx := newAccFixture(t)
	stats, a := fx.accumulate(t, 50)
	good, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	statsBlob, err := stats.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := slices.Clone(good)
		b[i] ^= 0x40
		return b
	}
	cases := []struct {
		name string
		blob []byte
	}{
		{"empty", nil},
		{"3 bytes", good[:3]},
		{"truncated by one", good[:len(good)-1]},
		{"half", good[:len(good)/2]},
		{"flipped magic", flip(2)},
		{"flipped middle", flip(len(good) / 2)},
		{"flipped checksum", flip(len(good) - 1)},
		{"request stats blob", statsBlob},
		{"appended byte", append(slices.Clone(good), 0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var o Accumulator
			if err := o.UnmarshalBinary(tc.blob); err == nil {
				t.Errorf("Accumulator.UnmarshalBinary(%s) = nil error, want one", tc.name)
			}
		})
	}
	var st RequestStats
	if err := st.UnmarshalBinary(good); err == nil {
		t.Error("RequestStats.UnmarshalBinary(accumulator blob) = nil error, want one")
	}
	if err := st.UnmarshalBinary(statsBlob[:len(statsBlob)-2]); err == nil {
		t.Error("RequestStats.UnmarshalBinary(truncated) = nil error, want one")
	}
}

func TestAccumulatorAddErrors(t *testing.T) {
	fx := newAccFixture(t)
	stats := NewRequestStats(fx.arms)
	a, err := NewAccumulator(stats, fx.opts)
	if err != nil {
		t.Fatal(err)
	}
	g := fx.groups[1]
	other := fx.groups[2]
	badArm := slices.Clone(g.reqs)
	badArm[0].Arm = "nope"
	twice := []datasets.RequestResult{g.reqs[0], g.reqs[0]}
	for _, tc := range []struct {
		name  string
		reqs  []datasets.RequestResult
		cands []datasets.CandidateResult
	}{
		{"no request rows", nil, nil},
		{"unknown arm", badArm, nil},
		{"arm twice", twice, nil},
		{"candidates of another request", g.reqs, slices.Clone(other.cands)},
		{"rows of two requests", append(slices.Clone(g.reqs[:1]), other.reqs[1]), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := a.Add(tc.reqs, tc.cands); err == nil {
				t.Errorf("Add(%s) = nil error, want one", tc.name)
			}
		})
	}
	if _, err := a.File(context.Background(), fx.opts, nil); err == nil {
		t.Error("File of an empty accumulator = nil error, want one")
	}
	b, err := NewAccumulator(NewRequestStats([]string{"other"}), fx.opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(b); err == nil {
		t.Error("Merge of accumulators over different arms = nil error, want one")
	}
}

func TestFixedSumExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals []float64
		want float64
	}{
		{"empty", nil, 0},
		{"quarters", []float64{0.25, 0.5, -0.25}, 0.5},
		{"small negative", []float64{-0.75, 0.25}, -0.5},
		{"cancelling large", []float64{1e15, 3, -1e15}, 3},
		{"saturating", []float64{1e30, -1e30, 0.5}, 0.5},
		{"many tenths", slices.Repeat([]float64{0.1}, 1000), 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f, g fixed
			for _, v := range tc.vals {
				f.add(v)
			}
			for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(len(tc.vals)) {
				g.add(tc.vals[i])
			}
			if f != g {
				t.Errorf("fixed sum of %v depends on the order: %+v vs %+v", tc.vals, f, g)
			}
			if got := f.float(); got < tc.want-1e-6 || got > tc.want+1e-6 {
				t.Errorf("fixed sum of %s = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

// TestComputeReadsShards checks that Compute reads a results folder written
// as shards (candidates/part-*.parquet, requests/part-*.parquet, as
// cgbench-beam writes it) exactly as the single files, and that a folder
// with neither gets an error naming both.
func TestComputeReadsShards(t *testing.T) {
	fx := newAccFixture(t)
	want := fx.compute(t)
	sharded := t.TempDir()
	var reqs []datasets.RequestResult
	var cands []datasets.CandidateResult
	for _, g := range fx.groups {
		reqs = append(reqs, g.reqs...)
		cands = append(cands, g.cands...)
	}
	// Split at group boundaries, as the pipeline's ranges do, into shards
	// of uneven size; an empty shard is legal too.
	cuts := []int{0, 5, 5, 130, 411, len(fx.groups)}
	for p := range len(cuts) - 1 {
		var r []datasets.RequestResult
		var c []datasets.CandidateResult
		for _, g := range fx.groups[cuts[p]:cuts[p+1]] {
			r = append(r, g.reqs...)
			c = append(c, g.cands...)
		}
		name := fmt.Sprintf("part-%05d-of-%05d.parquet", p, len(cuts)-1)
		for _, tbl := range []struct {
			dir  string
			rows func(path string) error
		}{
			{"requests", func(path string) error { return datasets.WriteTable(path, r) }},
			{"candidates", func(path string) error { return datasets.WriteTable(path, c) }},
		} {
			if err := os.MkdirAll(filepath.Join(sharded, tbl.dir), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := tbl.rows(filepath.Join(sharded, tbl.dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	manifest, err := os.ReadFile(filepath.Join(fx.dir, datasets.ReplayManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sharded, datasets.ReplayManifestFile), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Compute(context.Background(), []string{sharded}, fx.opts)
	if err != nil {
		t.Fatal(err)
	}
	f.Provenance.Results = []string{fx.dir}
	got, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("metrics of the sharded folder differ from the single files'")
	}

	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, datasets.ReplayManifestFile), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Compute(context.Background(), []string{empty}, fx.opts)
	if err == nil || !strings.Contains(err.Error(), "part-*.parquet") {
		t.Errorf("Compute(folder without results) = %v, want an error naming the shards looked for", err)
	}
}
