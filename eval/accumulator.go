package eval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/cgbench/cgbench/datasets"
)

// Distributed evaluation. Compute reads results folders on one machine; a
// distributed pipeline (cmd/cgbench-beam) computes the same File in two
// passes over replayed rows, with the same code:
//
//  1. RequestStats: every request's RequestResult rows (one per arm) give
//     the facts that need all requests: the country tiers (distinct
//     requests per country) and each arm's top countries by spend. Stats of
//     disjoint requests Merge exactly (integer counts, fixed-point spend).
//  2. Accumulator: with the merged stats, requests are added (Add), in any
//     order and on any machine, into per-user sums; every sum is an exact
//     fixed-point integer, so accumulators Merge exactly in any order and
//     grouping (a user may be in several), and File runs the bootstrap.
//     Compute itself aggregates through the same code, so Compute and a
//     pipeline over the same rows give byte-identical files (up to the
//     provenance's paths and replay manifest).

// RequestStats holds what the aggregation needs from all request rows before
// any user is aggregated. The zero value is not usable: use NewRequestStats.
type RequestStats struct {
	arms      []string
	armIdx    map[string]int32
	countries map[string]int64 // distinct requests per country (of the request's first row)
	spend     []map[string]fixed
	disagree  int64 // requests whose rows disagree in a segment field
	// Resolved by resolve.
	tier map[string]uint8
	top  [][]string
}

// NewRequestStats returns empty stats for the arms (in results order: the
// order of the File's arms and of the default comparisons).
func NewRequestStats(arms []string) *RequestStats {
	s := &RequestStats{arms: slices.Clone(arms), armIdx: map[string]int32{}, countries: map[string]int64{}, spend: make([]map[string]fixed, len(arms))}
	for i, a := range arms {
		s.armIdx[a] = int32(i)
		s.spend[i] = map[string]fixed{}
	}
	return s
}

// Arms returns the arms, in order.
func (s *RequestStats) Arms() []string { return slices.Clone(s.arms) }

// count adds a request row; first marks the request's first row, whose
// country counts once for the tiers.
func (s *RequestStats) count(r *request, first bool) {
	if first {
		s.countries[r.country]++
	}
	f := s.spend[r.arm][r.country]
	f.add(r.spend)
	s.spend[r.arm][r.country] = f
	s.tier, s.top = nil, nil
}

// replayedRows names the rows given to RequestStats.Add and Accumulator.Add
// in errors.
const replayedRows = "replayed rows"

// requests validates one request's rows (one per arm, the first row giving
// the segments, as in a replay's requests.parquet) and converts them.
func (s *RequestStats) requests(rows []datasets.RequestResult) ([]request, error) {
	if len(rows) == 0 {
		return nil, errors.New("add request: no rows")
	}
	out := make([]request, len(rows))
	for i := range rows {
		r := &rows[i]
		a, ok := s.armIdx[r.Arm]
		if !ok {
			return nil, fmt.Errorf("add request %d: arm %q not in %v", r.RequestID, r.Arm, s.arms)
		}
		req, err := newRequest(r, a, replayedRows, int64(i))
		if err != nil {
			return nil, fmt.Errorf("add request %d: %w", r.RequestID, err)
		}
		if r.RequestID != rows[0].RequestID || r.UserID != rows[0].UserID {
			return nil, fmt.Errorf("add request %d: row %d is request %d of user %d, want user %d", rows[0].RequestID, i, r.RequestID, r.UserID, rows[0].UserID)
		}
		for j := range i {
			if out[j].arm == a {
				return nil, fmt.Errorf("add request %d: arm %q has two rows", r.RequestID, r.Arm)
			}
		}
		out[i] = req
	}
	return out, nil
}

// Add adds one request: its RequestResult rows, one per arm, in the order of
// a replay's requests.parquet (the first row's segment fields count for every
// arm).
func (s *RequestStats) Add(rows []datasets.RequestResult) error {
	reqs, err := s.requests(rows)
	if err != nil {
		return err
	}
	for i := range reqs {
		r := &reqs[i]
		if i > 0 {
			if r.seg != reqs[0].seg || r.country != reqs[0].country {
				s.disagree++
			}
			r.country = reqs[0].country
		}
		s.count(r, i == 0)
	}
	return nil
}

// Merge adds o, stats of the same arms over other requests, to s.
func (s *RequestStats) Merge(o *RequestStats) error {
	if !slices.Equal(s.arms, o.arms) {
		return fmt.Errorf("merge request stats: arms %v and %v", s.arms, o.arms)
	}
	for c, n := range o.countries {
		s.countries[c] += n
	}
	for a := range o.spend {
		for c, f := range o.spend[a] {
			x := s.spend[a][c]
			x.addFixed(f)
			s.spend[a][c] = x
		}
	}
	s.disagree += o.disagree
	s.tier, s.top = nil, nil
	return nil
}

// resolve ranks countries into tiers by distinct requests and each arm's
// countries by spend.
func (s *RequestStats) resolve() {
	if s.tier != nil {
		return
	}
	countries := slices.Collect(maps.Keys(s.countries))
	slices.SortFunc(countries, func(a, b string) int {
		if c := cmp.Compare(s.countries[b], s.countries[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	s.tier = make(map[string]uint8, len(countries))
	for i, c := range countries {
		s.tier[c] = tierOfRank(i)
	}
	s.top = make([][]string, len(s.arms))
	for a, m := range s.spend {
		var cs []string
		for c, f := range m {
			if f.positive() {
				cs = append(cs, c)
			}
		}
		slices.SortFunc(cs, func(x, y string) int {
			if c := m[y].compare(m[x]); c != 0 {
				return c
			}
			return cmp.Compare(x, y)
		})
		s.top[a] = cs[:min(len(cs), topCountries)]
	}
}

// clone returns a deep copy of s, so that an accumulator's stats cannot
// change under it.
func (s *RequestStats) clone() *RequestStats {
	o := NewRequestStats(s.arms)
	maps.Copy(o.countries, s.countries)
	for a := range s.spend {
		maps.Copy(o.spend[a], s.spend[a])
	}
	o.disagree = s.disagree
	return o
}

// apply sets r's country tier and top-country index (after resolve).
func (s *RequestStats) apply(r *request) {
	r.seg[3] = s.tier[r.country]
	r.topCountry = int8(slices.Index(s.top[r.arm], r.country))
}

// Accumulator holds per-user sums of replayed rows, mergeable across
// machines; see the package's distributed evaluation note above. Not safe
// for concurrent use.
type Accumulator struct {
	stats *RequestStats
	g     *aggregator
}

// NewAccumulator returns an empty accumulator over the requests that stats
// describe (stats must be complete: merged over every request; the
// accumulator keeps a copy). Only
// opts.Ks and opts.Segments matter here; the rest is File's.
func NewAccumulator(stats *RequestStats, opts Options) (*Accumulator, error) {
	segs, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	if len(stats.arms) == 0 {
		return nil, errors.New("new accumulator: no arms")
	}
	st := stats.clone()
	st.resolve()
	return &Accumulator{stats: st, g: newAggregator(st.arms, st.top, opts.Ks, segs)}, nil
}

// Add aggregates one request: its RequestResult rows (as for
// RequestStats.Add) and its CandidateResult rows, grouped by arm as a replay
// writes them (cands may be reordered in place). Requests may come in any
// order: the sums are exact.
func (a *Accumulator) Add(reqRows []datasets.RequestResult, cands []datasets.CandidateResult) error {
	reqs, err := a.stats.requests(reqRows)
	if err != nil {
		return err
	}
	for i := range reqs {
		r := &reqs[i]
		if i > 0 {
			r.seg, r.country = reqs[0].seg, reqs[0].country
		}
		a.stats.apply(r)
	}
	g := a.g
	g.src = replayedRows
	for i := 0; i < len(cands); {
		j := i + 1
		for j < len(cands) && cands[j].Arm == cands[i].Arm {
			j++
		}
		arm, ok := a.stats.armIdx[cands[i].Arm]
		var req *request
		for k := range reqs {
			if ok && reqs[k].arm == arm {
				req = &reqs[k]
			}
		}
		if req == nil {
			return fmt.Errorf("add request %d: candidate row %d: arm %q has no request row", reqRows[0].RequestID, i, cands[i].Arm)
		}
		for k := i; k < j; k++ {
			if cands[k].RequestID != req.id {
				return fmt.Errorf("add request %d: candidate row %d: column request_id: %d", req.id, k, cands[k].RequestID)
			}
		}
		if err := g.add(req, cands[i:j], int64(i)); err != nil {
			return err
		}
		i = j
	}
	for i := range reqs {
		if !reqs[i].done {
			if err := g.add(&reqs[i], nil, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// Merge adds o, an accumulator over the same stats and options, into a; o
// must not be used afterwards. The sums are exact, so the result is
// bit-identical whatever the order and grouping of merges.
func (a *Accumulator) Merge(o *Accumulator) error {
	if !slices.Equal(a.g.ks, o.g.ks) || !slices.Equal(a.g.segs, o.g.segs) || !slices.Equal(a.g.arms, o.g.arms) ||
		!slices.EqualFunc(a.g.topCtry, o.g.topCtry, slices.Equal[[]string]) {
		return errors.New("merge accumulators: different arms, top countries, Ks or segments")
	}
	a.g.merge(o.g)
	return nil
}

// Users returns the number of distinct users added.
func (a *Accumulator) Users() int {
	n := 0
	for _, s := range a.g.unitSet {
		if s == 0 {
			n++
		}
	}
	return n
}

// File runs the bootstrap and returns the metrics file, as Compute does;
// results are the folders whose replay.json (when present) are recorded in
// the provenance. opts.Ks and opts.Segments must be the accumulator's.
func (a *Accumulator) File(ctx context.Context, opts Options, results []string) (*File, error) {
	segs, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	if !slices.Equal(opts.Ks, a.g.ks) || !slices.Equal(segs, a.g.segs) {
		return nil, fmt.Errorf("compute metrics: Ks %v and segments %v differ from the accumulator's", opts.Ks, opts.Segments)
	}
	if len(a.g.unitUser) == 0 {
		return nil, errors.New("compute metrics: the accumulator holds no requests")
	}
	metas := make([]replayMeta, len(results))
	for i, dir := range results {
		if metas[i], err = readReplayMeta(dir); err != nil {
			return nil, err
		}
	}
	dataHash, err := checkDataHash(results, metas)
	if err != nil {
		return nil, err
	}
	a.g.buildFine()
	f, err := a.g.file(ctx, opts)
	if err != nil {
		return nil, err
	}
	f.finish(opts, results, metas, dataHash, int(a.stats.disagree))
	return f, nil
}
