package eval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/cgbench/cgbench/datasets"
)

// Options configure Compute.
type Options struct {
	// Ks are the cut-offs of recall@K, NDCG@K and hit@K; nil means
	// DefaultKs. They are sorted and deduplicated; each must be > 0.
	Ks []int
	// Segments to split every figure by, any of SegmentHistoryLength,
	// SegmentContextStrength, SegmentFreshActivity, SegmentCountryTier; nil
	// means the whole population only. Each segment adds roughly one more
	// pass of the bootstrap over the users.
	Segments []string
	// BootstrapReps is the number of bootstrap replicates; 0 means
	// DefaultBootstrapReps.
	BootstrapReps int
	// Confidence is the level of every interval, in (0, 1); 0 means 0.95.
	Confidence float64
	// Seed seeds the bootstrap weights.
	Seed uint64
	// Compare lists the paired comparisons to make; nil means: arm-level
	// metrics of every arm against the first arm, and every CG present in
	// both the first arm and another arm, that arm against the first.
	Compare []Pair
	// Version is the cgbench version, recorded in the provenance.
	Version string
	// Now gives CreatedAt; nil means time.Now.
	Now func() time.Time
	// Progress, when not nil, is called with a stage name and the work done
	// out of total (rows read, or row sets bootstrapped).
	Progress func(stage string, done, total int64)
}

// Pair names a paired comparison: B - A on the same requests and users.
// Both subjects are arm-level (CG "") or both are CGs.
type Pair struct{ A, B Subject }

// Defaults of Options.
const (
	// DefaultBootstrapReps keeps 1M ranked lists of 100 candidates with
	// intervals well inside 10 s on 2 cores (see BenchmarkCompute1M) while
	// making the Monte Carlo error of a 95% percentile bound small (about
	// 2% of the interval's half width).
	DefaultBootstrapReps = 1000
	DefaultConfidence    = 0.95
)

// DefaultKs are the default cut-offs of the ranking metrics.
var DefaultKs = []int{10, 50, 100, 500}

// normalize fills defaults and validates.
func (o *Options) normalize() ([]int, error) {
	if o.Ks == nil {
		o.Ks = DefaultKs
	}
	ks := slices.Clone(o.Ks)
	slices.Sort(ks)
	ks = slices.Compact(ks)
	if len(ks) == 0 || ks[0] <= 0 {
		return nil, fmt.Errorf("check options: Ks %v: want at least one K, all > 0", o.Ks)
	}
	o.Ks = ks
	if o.BootstrapReps == 0 {
		o.BootstrapReps = DefaultBootstrapReps
	}
	if o.BootstrapReps < 20 || o.BootstrapReps > 100000 {
		return nil, fmt.Errorf("check options: bootstrap replicates %d: want 20..100000", o.BootstrapReps)
	}
	if o.Confidence == 0 {
		o.Confidence = DefaultConfidence
	}
	if !(o.Confidence > 0 && o.Confidence < 1) {
		return nil, fmt.Errorf("check options: confidence %v: want a level in (0, 1)", o.Confidence)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return parseSegments(o.Segments)
}

// Compute reads replay results folders (each with candidates.parquet,
// requests.parquet and, optionally, replay.json), computes every metric per
// arm, CG and segment value with bootstrap intervals, the paired comparisons
// and the relevance distributions, and returns the metrics file. Arms of
// several folders are merged; an arm name may appear in one folder only, and
// the folders must agree on the data hash.
//
// The pipeline:
//  1. read replay.json (provenance) and requests.parquet of every folder;
//     assign segments and each arm's top countries by spend;
//  2. scan candidates.parquet in batches, one (arm, request) group at a time
//     (rows of a group must be contiguous), into per-user sums (see
//     aggregate.go);
//  3. per row set (whole population, each segment value), bootstrap the
//     per-user sums and derive every figure and comparison;
//  4. Holm-adjust the p-values over all comparisons.
func Compute(ctx context.Context, results []string, opts Options) (*File, error) {
	segs, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	if len(results) == 0 {
		return nil, errors.New("compute metrics: no results folder given")
	}
	t := &requestTable{index: map[armReq]int32{}}
	owner := map[string]string{}
	metas := make([]replayMeta, len(results))
	for i, dir := range results {
		if metas[i], err = readReplayMeta(dir); err != nil {
			return nil, err
		}
		if err := t.readRequests(dir, metas[i].arms, owner); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read requests: %w", err)
		}
	}
	dataHash, err := checkDataHash(results, metas)
	if err != nil {
		return nil, err
	}
	if len(t.reqs) == 0 {
		return nil, fmt.Errorf("compute metrics: %v hold no requests", results)
	}
	disagree := t.finish()

	fd := newFeeder(t, opts.Ks, segs)
	var readErr error
	for _, dir := range results {
		if readErr = fd.readCandidates(ctx, dir, owner, opts.Progress); readErr != nil {
			break
		}
	}
	g, err := fd.close(readErr)
	if err != nil {
		return nil, err
	}

	f, err := g.file(ctx, opts)
	if err != nil {
		return nil, err
	}
	f.finish(opts, results, metas, dataHash, disagree)
	return f, nil
}

// checkDataHash returns the data hash the results' replay manifests agree
// on ("" when none has one).
func checkDataHash(results []string, metas []replayMeta) (string, error) {
	var dataHash, hashFrom string
	for i, m := range metas {
		if m.dataHash == "" {
			continue
		}
		if dataHash != "" && m.dataHash != dataHash {
			return "", fmt.Errorf("compute metrics: %s and %s replay different data (data_hash %s vs %s)", hashFrom, results[i], dataHash, m.dataHash)
		}
		dataHash, hashFrom = m.dataHash, results[i]
	}
	return dataHash, nil
}

// finish adds the run-level warnings and the provenance of results (read
// into metas) to a file built by aggregator.file.
func (f *File) finish(opts Options, results []string, metas []replayMeta, dataHash string, disagree int) {
	if disagree > 0 {
		f.Warnings = append(f.Warnings, fmt.Sprintf("%d request rows differ from the request's first row in a segment field; segments use the first row so that arms stay paired", disagree))
	}
	if dataHash == "" {
		f.Warnings = append(f.Warnings, "the results carry no data_hash: the gate cannot check that two files describe the same data")
	}

	p := &f.Provenance
	p.Version = opts.Version
	p.CreatedAt = opts.Now().UTC().Format(time.RFC3339)
	p.DataHash = dataHash
	p.Results = slices.Clone(results)
	p.ConfigHashes = map[string]string{}
	p.Configs = map[string]any{}
	p.Seeds = map[string]uint64{"bootstrap": opts.Seed}
	for i, m := range metas {
		key := "replay"
		if i > 0 {
			key = fmt.Sprintf("replay.%d", i)
		}
		if m.raw != nil {
			p.Configs[key] = m.raw
			p.ConfigHashes[key] = m.hash
		}
		if m.seed != nil {
			p.Seeds[key] = *m.seed
		}
	}
}

// readCandidates scans dir's candidates (candidates.parquet or its shards,
// see datasets.ResultFiles), grouping contiguous rows by
// (arm, request).
func (fd *feeder) readCandidates(ctx context.Context, dir string, owner map[string]string, progress func(string, int64, int64)) error {
	t := fd.t
	armIdx := map[string]int32{}
	for i, a := range t.arms {
		armIdx[a] = int32(i)
	}
	var (
		cur    *shardBatch // the open group's batch, nil when none
		curArm string
		curID  int64
	)
	err := datasets.ScanResultTable(dir, datasets.ReplayCandidatesFile, 8192, func(path string, first int64, rows []datasets.CandidateResult) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		for i := range rows {
			r := &rows[i]
			if cur != nil && r.RequestID == curID && r.Arm == curArm {
				cur.rows = append(cur.rows, *r)
				continue
			}
			if cur != nil {
				fd.end(cur)
				cur = nil
			}
			row := first + int64(i)
			a, ok := armIdx[r.Arm]
			if !ok || owner[r.Arm] != dir {
				return fmt.Errorf("read %s: row %d: column arm: arm %q has no rows in %s", path, row, r.Arm, filepath.Join(dir, datasets.ReplayRequestsFile))
			}
			ri, ok := t.index[armReq{a, r.RequestID}]
			if !ok {
				return fmt.Errorf("read %s: row %d: column request_id: request %d of arm %q is not in %s", path, row, r.RequestID, r.Arm, filepath.Join(dir, datasets.ReplayRequestsFile))
			}
			b, err := fd.begin(ri, row, path)
			if err != nil {
				return err
			}
			cur, curArm, curID = b, r.Arm, r.RequestID
			cur.rows = append(cur.rows, *r)
		}
		if progress != nil {
			progress("read candidates", first+int64(len(rows)), -1)
		}
		return nil
	})
	if cur != nil {
		fd.end(cur)
	}
	return err
}

// metricKind says how a figure is computed from the per-user sums.
type metricKind int

const (
	ratioMetric  metricKind = iota // sum(num) / sum(den)
	medianMetric                   // weighted median off the histograms
)

// metricSpec is one figure of one (arm, CG) in one row set, as columns of
// the row set's matrix.
type metricSpec struct {
	name     string
	order    int // position in the metric order, for sorting
	kind     metricKind
	num, den int // columns
	nCol     int // its sum is Estimate.N
	reqCol   int // requests behind the figure, for the small-n warning
	usersCol int // users with a positive value here count as the figure's users
	posCol   int // -1, or positives behind the figure
	posLabel string
	spend    bool // den is spend: zero gives "zero spend"
	// median
	hist         *fineHist
	winOff, winN int
	winLo        int
}

// setMatrix is one row set's per-user sums and the replicate sums.
type setMatrix struct {
	users []int32
	s     []float64 // len(users) x ncol
	ncol  int
	point []float64 // column sums
	reps  []float64 // reps x ncol
	nrep  int
}

func (m *setMatrix) rep(r, c int) float64 { return m.reps[r*m.ncol+c] }

// countPositive counts rows with a positive value in column c.
func (m *setMatrix) countPositive(c int) int {
	n := 0
	for i := range m.users {
		if m.s[i*m.ncol+c] > 0 {
			n++
		}
	}
	return n
}

// evaluated is a figure with its replicate values (NaN where undefined).
type evaluated struct {
	est  Estimate
	reps []float64
	ok   bool // the point value is defined
}

func (m *setMatrix) evaluate(sp *metricSpec, conf float64) evaluated {
	var e evaluated
	e.est.N = int(math.Round(m.point[sp.nCol]))
	e.est.Users = m.countPositive(sp.usersCol)
	e.reps = make([]float64, m.nrep)
	var dropped, clamped int
	switch sp.kind {
	case ratioMetric:
		den := m.point[sp.den]
		if den > 0 {
			e.est.Value, e.ok = m.point[sp.num]/den, true
		}
		for r := range m.nrep {
			if d := m.rep(r, sp.den); d > 0 {
				e.reps[r] = m.rep(r, sp.num) / d
			} else {
				e.reps[r] = math.NaN()
				dropped++
			}
		}
	case medianMetric:
		if sp.hist != nil {
			e.est.Value, _, e.ok = sp.hist.median()
		}
		cells := make([]float64, sp.winN)
		for r := range m.nrep {
			if sp.hist == nil {
				e.reps[r] = math.NaN()
				dropped++
				continue
			}
			for j := range cells {
				cells[j] = m.rep(r, sp.winOff+1+j)
			}
			v, cl, ok := replicateMedian(sp.hist, sp.winLo, m.rep(r, sp.winOff), cells, m.rep(r, sp.den))
			if !ok {
				e.reps[r] = math.NaN()
				dropped++
				continue
			}
			if cl {
				clamped++
			}
			e.reps[r] = v
		}
	}
	var w []string
	if !e.ok {
		e.est.Value = 0
		if sp.spend {
			w = append(w, "undefined: zero spend")
		} else {
			w = append(w, "undefined: zero denominator")
		}
	} else {
		xs := make([]float64, 0, m.nrep)
		for _, v := range e.reps {
			if !math.IsNaN(v) {
				xs = append(xs, v)
			}
		}
		if len(xs) > 0 {
			e.est.Lo, e.est.Hi = percentileInterval(xs, conf)
		} else {
			e.est.Lo, e.est.Hi = e.est.Value, e.est.Value
		}
	}
	if n := int(math.Round(m.point[sp.reqCol])); n < minRequests {
		w = append(w, fmt.Sprintf("n < %d requests (%d)", minRequests, n))
	}
	if e.est.Users < minUsers {
		w = append(w, fmt.Sprintf("< %d users (%d)", minUsers, e.est.Users))
	}
	if sp.posCol >= 0 {
		if n := int(math.Round(m.point[sp.posCol])); n < minPositives {
			w = append(w, fmt.Sprintf("< %d %s (%d)", minPositives, sp.posLabel, n))
		}
	}
	if e.ok && dropped > 0 {
		w = append(w, fmt.Sprintf("bootstrap: %d of %d replicates undefined, interval from the rest", dropped, m.nrep))
	}
	if clamped > 0 {
		w = append(w, fmt.Sprintf("bootstrap: %d of %d replicate medians clamped to the window", clamped, m.nrep))
	}
	e.est.Warnings = w
	return e
}

// Thresholds below which a figure carries a warning.
const (
	minRequests  = 30
	minUsers     = 20
	minPositives = 10
)

// figureKey identifies a figure within a row set.
type figureKey struct {
	arm    int32
	cg     string
	metric string
}

// file runs the bootstrap per row set and assembles the metrics file.
func (g *aggregator) file(ctx context.Context, opts Options) (*File, error) {
	// Blocks ordered by arm, then CG name.
	order := make([]int, len(g.blocks))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		bx, by := g.blocks[x], g.blocks[y]
		if bx.arm != by.arm {
			return int(bx.arm - by.arm)
		}
		if bx.cg < by.cg {
			return -1
		}
		if bx.cg > by.cg {
			return 1
		}
		return 0
	})
	armOff := make([]int, len(g.arms))
	ncol := 0
	for a := range g.arms {
		armOff[a] = ncol
		ncol += g.armN[a]
	}
	cgOff := make([]int, len(g.blocks))
	for _, b := range order {
		cgOff[b] = ncol
		ncol += g.layout.cols()
	}
	baseCols := ncol

	pairs, err := g.pairs(opts.Compare)
	if err != nil {
		return nil, err
	}

	// Units of each row set, by user id.
	setUnits := make([][]int32, g.nsets)
	for u, s := range g.unitSet {
		setUnits[s] = append(setUnits[s], int32(u))
	}
	for _, us := range setUnits {
		slices.SortFunc(us, func(x, y int32) int { return int(g.unitUser[x]) - int(g.unitUser[y]) })
	}

	f := &File{SchemaVersion: FileSchemaVersion}
	type sortedFigure struct {
		fig  Figure
		key  [4]int
		cgNm string
	}
	var figs []sortedFigure
	type sortedComparison struct {
		c   Comparison
		key [3]int
	}
	var comps []sortedComparison
	cgRank := map[armCG]int{}
	for i, b := range order {
		cgRank[armCG{g.blocks[b].arm, g.blocks[b].cg}] = i + 1
	}

	for s := range g.nsets {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
		units := setUnits[s]
		if len(units) == 0 {
			continue
		}
		segment, value := g.setInfo(s)
		m := &setMatrix{ncol: baseCols, nrep: opts.BootstrapReps}
		// Median windows.
		type window struct{ off, lo, n int }
		wins := make([][numMedianKinds]window, len(g.blocks))
		for _, b := range order {
			blk := g.blocks[b]
			for k := range numMedianKinds {
				h := blk.fine[s][k]
				if h == nil {
					continue
				}
				_, bin, ok := h.median()
				if !ok {
					continue
				}
				lo, hi := medianWindowCells(bin/finePerCoarse, len(units))
				wins[b][k] = window{off: m.ncol, lo: lo, n: hi - lo + 1}
				m.ncol += 1 + hi - lo + 1
			}
		}
		m.users = make([]int32, len(units))
		m.s = make([]float64, len(units)*m.ncol)
		for i, u := range units {
			m.users[i] = g.unitUser[u]
			row := m.s[i*m.ncol : (i+1)*m.ncol]
			for a := range g.arms {
				n := g.armN[a]
				if v := g.armVals[a]; len(v) >= (int(u)+1)*n {
					floatsTo(row[armOff[a]:], v[int(u)*n:(int(u)+1)*n])
				}
			}
			n := g.layout.cols()
			for _, b := range order {
				blk := g.blocks[b]
				if len(blk.vals) >= (int(u)+1)*n {
					floatsTo(row[cgOff[b]:], blk.vals[int(u)*n:(int(u)+1)*n])
				}
				for k := range numMedianKinds {
					w := wins[b][k]
					if w.n == 0 || len(blk.hist) < histIndex(int(u)+1, 0, 0) {
						continue
					}
					for c := range coarseBins {
						cnt := float64(blk.hist[histIndex(int(u), k, c)])
						switch {
						case c < w.lo:
							row[w.off] += cnt
						case c < w.lo+w.n:
							row[w.off+1+c-w.lo] += cnt
						}
					}
				}
			}
		}
		m.point = make([]float64, m.ncol)
		for i := range units {
			addTo(m.point, m.s[i*m.ncol:(i+1)*m.ncol])
		}
		m.reps, err = replicateSums(ctx, opts.Seed, m.users, m.s, m.ncol, m.nrep)
		if err != nil {
			return nil, err
		}
		if opts.Progress != nil {
			opts.Progress("bootstrap", int64(s+1), int64(g.nsets))
		}

		// Figures.
		results := map[figureKey]evaluated{}
		for a := range g.arms {
			ao := armOff[a]
			if m.point[ao+acRequests] == 0 {
				continue
			}
			for i, sp := range g.armSpecs(int32(a), ao) {
				e := m.evaluate(&sp, opts.Confidence)
				results[figureKey{int32(a), "", sp.name}] = e
				figs = append(figs, sortedFigure{
					fig: Figure{Arm: g.arms[a], Metric: sp.name, Segment: segment, SegmentValue: value, Estimate: e.est},
					key: [4]int{a, 0, i, s},
				})
			}
			for _, b := range order {
				blk := g.blocks[b]
				if blk.arm != int32(a) {
					continue
				}
				var medWins [numMedianKinds][3]int
				for k := range numMedianKinds {
					w := wins[b][k]
					medWins[k] = [3]int{w.off, w.lo, w.n}
				}
				for i, sp := range g.cgSpecs(blk, s, ao, cgOff[b], medWins) {
					e := m.evaluate(&sp, opts.Confidence)
					results[figureKey{int32(a), blk.cg, sp.name}] = e
					figs = append(figs, sortedFigure{
						fig: Figure{Arm: g.arms[a], CG: blk.cg, Metric: sp.name, Segment: segment, SegmentValue: value, Estimate: e.est},
						key: [4]int{a, cgRank[armCG{blk.arm, blk.cg}], i, s},
					})
				}
			}
		}

		// Paired comparisons on the same replicates.
		for pi, p := range pairs {
			names := g.comparedMetrics(p)
			for mi, name := range names {
				ea, okA := results[figureKey{p.a, p.A.CG, name}]
				eb, okB := results[figureKey{p.b, p.B.CG, name}]
				if !okA || !okB {
					continue
				}
				c := compare(ea, eb, opts.Confidence)
				c.Metric, c.Segment, c.SegmentValue = name, segment, value
				c.A, c.B = p.A, p.B
				comps = append(comps, sortedComparison{c: c, key: [3]int{pi, mi, s}})
			}
		}
	}

	slices.SortStableFunc(figs, func(x, y sortedFigure) int { return slices.Compare(x.key[:], y.key[:]) })
	slices.SortStableFunc(comps, func(x, y sortedComparison) int { return slices.Compare(x.key[:], y.key[:]) })
	f.Figures = make([]Figure, len(figs))
	for i := range figs {
		f.Figures[i] = figs[i].fig
	}
	f.Comparisons = make([]Comparison, len(comps))
	ps := make([]float64, len(comps))
	for i := range comps {
		f.Comparisons[i] = comps[i].c
		ps[i] = comps[i].c.PValue
	}
	for i, adj := range HolmAdjust(ps) {
		c := &f.Comparisons[i]
		c.PAdjusted = adj
		c.Significant = adj < 1-opts.Confidence
	}

	// Distributions, whole population.
	edges := make([]float64, distributionBin+1)
	for i := range edges {
		edges[i] = float64(i) / distributionBin
	}
	for _, b := range order {
		blk := g.blocks[b]
		for d, name := range []string{"relevance/retrieved", "relevance/delivered"} {
			f.Distributions = append(f.Distributions, Distribution{
				Arm: g.arms[blk.arm], CG: blk.cg, Name: name,
				Edges: slices.Clone(edges), Counts: slices.Clone(blk.dist[d][:]),
			})
		}
	}

	if g.impressionDiffs > 0 {
		f.Warnings = append(f.Warnings, fmt.Sprintf("%d requests: RequestResult.impressions differs from the impressed candidates; impression figures count the impressed candidates", g.impressionDiffs))
	}
	if opts.BootstrapReps < 200 {
		f.Warnings = append(f.Warnings, fmt.Sprintf("only %d bootstrap replicates: interval bounds are noisy", opts.BootstrapReps))
	}

	f.Definitions = Definitions()
	cgs := map[string]bool{}
	for _, b := range g.blocks {
		cgs[b.cg] = true
	}
	pv := &f.Provenance
	pv.Arms = slices.Clone(g.arms)
	for c := range cgs {
		pv.CGs = append(pv.CGs, c)
	}
	slices.Sort(pv.CGs)
	pv.Ks = slices.Clone(g.ks)
	pv.BootstrapReps = opts.BootstrapReps
	pv.ConfidenceLvl = opts.Confidence
	pv.DefinitionHash = DefinitionHash(f.Definitions)
	pv.Protocol = protocol
	return f, nil
}

// protocol summarises how the figures were computed, for the report.
const protocol = "bootstrap: Poisson(1) weights per user, percentile intervals; ranking metrics: mean over requests with positives, duplicates count at first occurrence; medians: weighted lower median on a 1024-bin grid (the median bin reports the mean of its values); segments: first row of each request"

// compare returns the paired comparison B - A of two figures evaluated on the
// same replicates.
func compare(a, b evaluated, conf float64) Comparison {
	var c Comparison
	c.Diff.N = min(a.est.N, b.est.N)
	c.Diff.Users = min(a.est.Users, b.est.Users)
	var w []string
	for _, x := range append(slices.Clone(a.est.Warnings), b.est.Warnings...) {
		if !slices.Contains(w, x) {
			w = append(w, x)
		}
	}
	c.Relative.N, c.Relative.Users = c.Diff.N, c.Diff.Users
	c.PValue = 1
	if !a.ok || !b.ok {
		c.Diff.Warnings = w
		c.Relative.Warnings = w
		return c
	}
	c.Diff.Value = b.est.Value - a.est.Value
	var diffs, rels []float64
	for r := range a.reps {
		x, y := a.reps[r], b.reps[r]
		if math.IsNaN(x) || math.IsNaN(y) {
			continue
		}
		diffs = append(diffs, y-x)
		if x != 0 {
			rels = append(rels, (y-x)/x)
		}
	}
	c.PValue = bootstrapPValue(c.Diff.Value, diffs)
	if len(diffs) > 0 {
		c.Diff.Lo, c.Diff.Hi = percentileInterval(diffs, conf)
	} else {
		c.Diff.Lo, c.Diff.Hi = c.Diff.Value, c.Diff.Value
	}
	c.Diff.Warnings = w
	rw := slices.Clone(w)
	if a.est.Value != 0 {
		c.Relative.Value = c.Diff.Value / a.est.Value
		if len(rels) > 0 {
			c.Relative.Lo, c.Relative.Hi = percentileInterval(rels, conf)
		} else {
			c.Relative.Lo, c.Relative.Hi = c.Relative.Value, c.Relative.Value
		}
	} else {
		rw = append(rw, "undefined: relative change from zero")
	}
	c.Relative.Warnings = rw
	return c
}

// resolvedPair is a Pair with arm indices.
type resolvedPair struct {
	Pair
	a, b int32
}

// pairs resolves the requested comparisons, or builds the default ones.
func (g *aggregator) pairs(req []Pair) ([]resolvedPair, error) {
	armIdx := func(s string) int32 { return int32(slices.Index(g.arms, s)) }
	if req == nil {
		var out []resolvedPair
		for i := 1; i < len(g.arms); i++ {
			out = append(out, resolvedPair{Pair{Subject{g.arms[0], ""}, Subject{g.arms[i], ""}}, 0, int32(i)})
			var cgs []string
			for _, b := range g.blocks {
				if b.arm == int32(i) {
					if _, ok := g.blockOf[armCG{0, b.cg}]; ok {
						cgs = append(cgs, b.cg)
					}
				}
			}
			slices.Sort(cgs)
			for _, cg := range cgs {
				out = append(out, resolvedPair{Pair{Subject{g.arms[0], cg}, Subject{g.arms[i], cg}}, 0, int32(i)})
			}
		}
		return out, nil
	}
	out := make([]resolvedPair, len(req))
	for i, p := range req {
		a, b := armIdx(p.A.Arm), armIdx(p.B.Arm)
		for _, x := range []struct {
			s Subject
			i int32
		}{{p.A, a}, {p.B, b}} {
			if x.i < 0 {
				return nil, fmt.Errorf("check comparison %d: arm %q not in the results (arms %v)", i, x.s.Arm, g.arms)
			}
			if x.s.CG != "" {
				if _, ok := g.blockOf[armCG{x.i, x.s.CG}]; !ok {
					return nil, fmt.Errorf("check comparison %d: CG %q has no candidates in arm %q", i, x.s.CG, x.s.Arm)
				}
			}
		}
		if (p.A.CG == "") != (p.B.CG == "") {
			return nil, fmt.Errorf("check comparison %d: %v vs %v: compare arm-level figures with arm-level ones and CGs with CGs", i, p.A, p.B)
		}
		out[i] = resolvedPair{p, a, b}
	}
	return out, nil
}

// comparedMetrics lists the metric names a pair compares.
func (g *aggregator) comparedMetrics(p resolvedPair) []string {
	if p.A.CG == "" {
		var out []string
		for _, sp := range g.armSpecs(p.a, 0) {
			out = append(out, sp.name)
		}
		for _, sp := range g.armSpecs(p.b, 0) {
			if !slices.Contains(out, sp.name) {
				out = append(out, sp.name)
			}
		}
		return out
	}
	var out []string
	for _, sp := range g.cgSpecs(nil, 0, 0, 0, [numMedianKinds][3]int{}) {
		out = append(out, sp.name)
	}
	return out
}

// armSpecs lists the arm-level figures of arm a, whose block starts at
// column ao.
func (g *aggregator) armSpecs(a int32, ao int) []metricSpec {
	req := ao + acRequests
	ratio := func(name string, num, den, n, users int) metricSpec {
		return metricSpec{name: name, num: ao + num, den: ao + den, nCol: ao + n, reqCol: req, usersCol: ao + users, posCol: -1}
	}
	roas := ratio("roas", acValue, acSpend, acRequests, acRequests)
	roas.spend = true
	out := []metricSpec{roas}
	for c, country := range g.topCtry[a] {
		sp := ratio("roas/country="+country, countryCol(c, ccValue), countryCol(c, ccSpend), countryCol(c, ccRequests), countryCol(c, ccRequests))
		sp.reqCol = ao + countryCol(c, ccRequests)
		sp.spend = true
		out = append(out, sp)
	}
	out = append(out,
		ratio("clicks_per_request", acClicks, acRequests, acRequests, acRequests),
		ratio("conversions_per_request", acConversions, acRequests, acRequests, acRequests),
	)
	for i, name := range []string{"mean_relevance/delivered", "oracle_mean_relevance/delivered"} {
		sp := ratio(name, acRelDelivered+i, acImpressions, acImpressions, acImpressions)
		sp.posCol, sp.posLabel = ao+acImpressions, "impressions"
		out = append(out, sp)
	}
	return out
}

// cgSpecs lists the figures of a CG block (blk may be nil to list names
// only) whose arm block starts at ao and CG block at co; wins gives each
// median's window (offset, first coarse bin, bins).
func (g *aggregator) cgSpecs(blk *cgBlock, set int, ao, co int, wins [numMedianKinds][3]int) []metricSpec {
	l := g.layout
	var out []metricSpec
	for fam, name := range []string{"recall", "ndcg", "hit"} {
		for f := range numFlavours {
			for i, k := range g.ks {
				col := [3]int{l.recall(f, i), l.ndcg(f, i), l.hit(f, i)}[fam]
				out = append(out, metricSpec{
					name: fmt.Sprintf("%s@%d/%s", name, k, flavourNames[f]),
					num:  co + col, den: ao + acReqPosLogged + f, nCol: ao + acReqPosLogged + f,
					reqCol: ao + acReqPosLogged + f, usersCol: ao + acReqPosLogged + f,
					posCol: ao + acPosLogged + f, posLabel: "positives",
				})
			}
		}
	}
	for f := range numFlavours {
		out = append(out, metricSpec{
			name: "mrr/" + flavourNames[f],
			num:  co + l.rr(f), den: ao + acReqPosLogged + f, nCol: ao + acReqPosLogged + f,
			reqCol: ao + acReqPosLogged + f, usersCol: ao + acReqPosLogged + f,
			posCol: ao + acPosLogged + f, posLabel: "positives",
		})
	}
	retrieved := co + l.stage(datasets.StageRetrieved)
	for s := datasets.StagePreRanked; s < datasets.NumStages; s++ {
		out = append(out, metricSpec{
			name: "survival/" + datasets.StageNames[s],
			num:  co + l.stage(s), den: retrieved, nCol: retrieved, reqCol: ao + acRequests, usersCol: retrieved, posCol: -1,
		})
	}
	impressed := co + l.stage(datasets.StageImpressed)
	out = append(out,
		metricSpec{name: "impression_share", num: impressed, den: ao + acImpressions, nCol: ao + acImpressions,
			reqCol: ao + acRequests, usersCol: ao + acImpressions, posCol: ao + acImpressions, posLabel: "impressions"},
		metricSpec{name: "candidates_per_request", num: retrieved, den: ao + acRequests, nCol: ao + acRequests,
			reqCol: ao + acRequests, usersCol: ao + acRequests, posCol: -1},
	)
	for k, prefix := range []string{"", "oracle_"} {
		med := metricSpec{name: prefix + "median_relevance/retrieved", kind: medianMetric, den: retrieved, nCol: retrieved,
			reqCol: ao + acRequests, usersCol: retrieved, posCol: -1, winOff: wins[k][0], winLo: wins[k][1], winN: wins[k][2]}
		if blk != nil && wins[k][2] > 0 {
			med.hist = blk.fine[set][k]
		}
		out = append(out, med,
			metricSpec{name: prefix + "mean_relevance/delivered", num: co + l.relDelivered() + k, den: impressed, nCol: impressed,
				reqCol: ao + acRequests, usersCol: impressed, posCol: impressed, posLabel: "impressions"})
	}
	return out
}

// DefinitionHash returns the hex SHA-256 of the JSON of defs sorted by name.
func DefinitionHash(defs []Definition) string {
	d := slices.Clone(defs)
	slices.SortStableFunc(d, func(x, y Definition) int {
		switch {
		case x.Name < y.Name:
			return -1
		case x.Name > y.Name:
			return 1
		}
		return 0
	})
	b, err := json.Marshal(d)
	if err != nil {
		panic("eval: marshal definitions: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
