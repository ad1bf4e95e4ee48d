package eval

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/cgbench/cgbench/datasets"
)

// Per-user sums. A unit is one user within one row set (the whole population
// or one segment value); every unit holds, per arm, an arm block of columns
// and, per (arm, CG), a CG block of columns, all sums over the unit's
// requests. Every figure is a ratio of two such sums (or a median read off
// the unit's coarse histogram), so the bootstrap needs nothing else.

// Arm block columns; the top countries follow, armCountryCols each.
const (
	acRequests = iota
	acImpressions
	acClicks
	acConversions
	acSpend
	acValue
	acReqPosLogged // requests with at least one logged positive
	acReqPosCF     // requests with at least one counterfactual positive
	acPosLogged    // distinct logged positives
	acPosCF        // distinct counterfactual positives (= impressions in candidates)
	acRelDelivered
	acOracleDelivered
	armBaseCols
)

// Columns of each top country, after armBaseCols.
const (
	ccRequests = iota
	ccSpend
	ccValue
	armCountryCols
)

// Flavours of positives.
const (
	flavourLogged = iota
	flavourCF
	numFlavours
)

// FlavourLogged and FlavourCounterfactual name the two flavours of positives
// in metric names and in ExportTREC.
const (
	FlavourLogged         = "logged"
	FlavourCounterfactual = "counterfactual"
)

var flavourNames = [numFlavours]string{FlavourLogged, FlavourCounterfactual}

// cgLayout is the layout of a CG block: per flavour, 3 columns per K
// (recall, NDCG and hit sums over requests) and the reciprocal-rank sum; then
// the stage counts and delivered relevance sums.
type cgLayout struct{ nk int }

func (l cgLayout) flavourCols() int     { return 3*l.nk + 1 }
func (l cgLayout) recall(f, i int) int  { return f*l.flavourCols() + 3*i }
func (l cgLayout) ndcg(f, i int) int    { return f*l.flavourCols() + 3*i + 1 }
func (l cgLayout) hit(f, i int) int     { return f*l.flavourCols() + 3*i + 2 }
func (l cgLayout) rr(f int) int         { return f*l.flavourCols() + 3*l.nk }
func (l cgLayout) stage(s int) int      { return numFlavours*l.flavourCols() + s } // s = Stage*, 0 = retrieved
func (l cgLayout) relDelivered() int    { return numFlavours*l.flavourCols() + datasets.NumStages }
func (l cgLayout) oracleDelivered() int { return l.relDelivered() + 1 }
func (l cgLayout) cols() int            { return l.oracleDelivered() + 1 }

func histIndex(unit, kind, coarse int) int {
	return unit*numMedianKinds*coarseBins + kind*coarseBins + coarse
}
func armCols(countries int) int { return armBaseCols + armCountryCols*countries }
func countryCol(c, col int) int { return armBaseCols + armCountryCols*c + col }

// growTo extends s with zeros to length n.
func growTo[T any](s []T, n int) []T { return append(s, make([]T, max(n-len(s), 0))...) }

// cgBlock holds one (arm, CG): per-unit sums and histograms, and per row set
// the fine histograms of the medians and (whole population) distributions.
type cgBlock struct {
	arm  int32
	cg   string
	vals []fixed                     // units x layout.cols()
	hist []uint32                    // units x numMedianKinds x coarseBins
	acc  [][numMedianKinds]*fineAcc  // per row set, while aggregating
	fine [][numMedianKinds]*fineHist // per row set, after merging (see merge)
	dist [2][distributionBin]int64   // relevance of retrieved, delivered
}

// aggregator accumulates per-unit sums from request groups.
type aggregator struct {
	src      string // candidates file, for errors
	arms     []string
	topCtry  [][]string // each arm's top countries by spend
	ks       []int
	layout   cgLayout
	segs     []int     // enabled segment indices
	setOf    [][]int32 // setOf[segment][value] = row set index
	nsets    int
	armN     []int     // arm block width per arm
	armVals  [][]fixed // per arm, units x armN
	blocks   []*cgBlock
	blockOf  map[armCG]int
	unitOf   map[uint64]int32
	unitUser []int32
	unitSet  []int32

	// Scratch, reused across requests.
	gen, listGen      uint32
	logStamp, cfStamp []uint32
	seenStamp         []uint32
	posBuf            [numFlavours][]int
	cvec              []float64
	avec              []float64
	units             []int32
	usets             []int32
	impressionDiffs   int
}

type armCG struct {
	arm int32
	cg  string
}

func newAggregator(arms []string, topCountries [][]string, ks []int, segs []int) *aggregator {
	g := &aggregator{
		arms:    arms,
		topCtry: topCountries,
		ks:      ks,
		layout:  cgLayout{nk: len(ks)},
		segs:    segs,
		blockOf: map[armCG]int{},
		unitOf:  map[uint64]int32{},
	}
	g.nsets = 1
	g.setOf = make([][]int32, numSegments)
	for _, s := range segs {
		g.setOf[s] = make([]int32, len(segmentValues[s]))
		for v := range segmentValues[s] {
			g.setOf[s][v] = int32(g.nsets)
			g.nsets++
		}
	}
	g.armN = make([]int, len(arms))
	g.armVals = make([][]fixed, len(arms))
	for a := range arms {
		g.armN[a] = armCols(len(topCountries[a]))
	}
	g.cvec = make([]float64, g.layout.cols())
	return g
}

// setInfo names row set s: "" "" for the whole population.
func (g *aggregator) setInfo(s int) (segment, value string) {
	for _, seg := range g.segs {
		for v, id := range g.setOf[seg] {
			if int(id) == s {
				return segmentNames[seg], segmentValues[seg][v]
			}
		}
	}
	return "", ""
}

func unitKey(user, set int32) uint64 { return uint64(uint32(user))<<8 | uint64(set) }

func (g *aggregator) unit(user, set int32) int32 {
	k := unitKey(user, set)
	if u, ok := g.unitOf[k]; ok {
		return u
	}
	u := int32(len(g.unitUser))
	g.unitOf[k] = u
	g.unitUser = append(g.unitUser, user)
	g.unitSet = append(g.unitSet, set)
	return u
}

func (g *aggregator) block(arm int32, cg string) *cgBlock {
	k := armCG{arm, cg}
	if b, ok := g.blockOf[k]; ok {
		return g.blocks[b]
	}
	b := &cgBlock{arm: arm, cg: cg, acc: make([][numMedianKinds]*fineAcc, g.nsets)}
	g.blockOf[k] = len(g.blocks)
	g.blocks = append(g.blocks, b)
	return b
}

// mark stamps ad in stamps for generation gen and reports whether it was not
// stamped yet.
func mark(stamps *[]uint32, ad int32, gen uint32) bool {
	s := *stamps
	if int(ad) >= len(s) {
		s = growTo(s, max(int(ad)+1, 2*len(s)))
		*stamps = s
	}
	if s[ad] == gen {
		return false
	}
	s[ad] = gen
	return true
}

func stamped(stamps []uint32, ad int32, gen uint32) bool {
	return int(ad) < len(stamps) && stamps[ad] == gen
}

// candidateLess orders a request group's rows: CG, then rank, then ad Pin
// id (ties in rank are broken by id).
func candidateLess(a, b *datasets.CandidateResult) int {
	if c := cmp.Compare(a.CG, b.CG); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Rank, b.Rank); c != 0 {
		return c
	}
	return cmp.Compare(a.AdPinID, b.AdPinID)
}

// add aggregates request req with its candidate rows (all rows of that arm
// and request, in any order; rows may be reordered in place). first is the
// file row of rows[0], for errors.
func (g *aggregator) add(req *request, rows []datasets.CandidateResult, first int64) error {
	if req.done {
		return fmt.Errorf("read %s: row %d: rows of request %d in arm %q are not contiguous (the replay writes rows grouped by request, then arm)", g.src, first, req.id, g.arms[req.arm])
	}
	req.done = true
	for i := range rows {
		r := &rows[i]
		if err := g.validate(r, req, first+int64(i)); err != nil {
			return err
		}
	}
	for i := 1; i < len(rows); i++ {
		p, r := &rows[i-1], &rows[i]
		sorted := p.Rank < r.Rank || p.Rank == r.Rank && p.AdPinID <= r.AdPinID
		if p.CG != r.CG {
			sorted = p.CG < r.CG
		}
		if !sorted {
			slices.SortStableFunc(rows, func(a, b datasets.CandidateResult) int { return candidateLess(&a, &b) })
			break
		}
	}

	g.units = append(g.units[:0], g.unit(req.user, 0))
	g.usets = append(g.usets[:0], 0)
	for _, s := range g.segs {
		set := g.setOf[s][req.seg[s]]
		g.units = append(g.units, g.unit(req.user, set))
		g.usets = append(g.usets, set)
	}

	// Positives of both flavours.
	g.gen++
	if g.gen == 0 {
		clear(g.logStamp)
		clear(g.cfStamp)
		g.gen = 1
	}
	var npos [numFlavours]int
	for _, ad := range req.logged {
		if mark(&g.logStamp, ad, g.gen) {
			npos[flavourLogged]++
		}
	}
	var relDel, oracleDel float64
	for i := range rows {
		r := &rows[i]
		if r.Stage == datasets.StageImpressed && mark(&g.cfStamp, r.AdPinID, g.gen) {
			npos[flavourCF]++
			relDel += float64(r.Relevance)
			oracleDel += float64(r.OracleRelevance)
		}
	}
	if int(req.impressions) != npos[flavourCF] {
		g.impressionDiffs++
	}

	// Arm block.
	a := req.arm
	g.avec = growTo(g.avec[:0], g.armN[a])
	av := g.avec
	av[acRequests] = 1
	av[acImpressions] = float64(npos[flavourCF])
	av[acClicks] = req.clicks
	av[acConversions] = req.conversions
	av[acSpend] = req.spend
	av[acValue] = req.value
	for f := range numFlavours {
		if npos[f] > 0 {
			av[acReqPosLogged+f] = 1
		}
		av[acPosLogged+f] = float64(npos[f])
	}
	av[acRelDelivered] = relDel
	av[acOracleDelivered] = oracleDel
	if c := int(req.topCountry); c >= 0 {
		av[countryCol(c, ccRequests)] = 1
		av[countryCol(c, ccSpend)] = req.spend
		av[countryCol(c, ccValue)] = req.value
	}
	n := g.armN[a]
	for _, u := range g.units {
		g.armVals[a] = growTo(g.armVals[a], (int(u)+1)*n)
		addFixedTo(g.armVals[a][int(u)*n:(int(u)+1)*n], av)
	}

	// CG blocks, one run of rows per CG.
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].CG == rows[i].CG {
			j++
		}
		g.addList(g.block(a, rows[i].CG), rows[i:j], npos)
		i = j
	}
	return nil
}

func addTo(dst, src []float64) {
	for i, v := range src {
		dst[i] += v
	}
}

// addFixedTo adds src into the exact sums dst, skipping zeros (most columns
// of a request are).
func addFixedTo(dst []fixed, src []float64) {
	for i, v := range src {
		if v != 0 {
			dst[i].add(v)
		}
	}
}

func (g *aggregator) validate(r *datasets.CandidateResult, req *request, row int64) error {
	switch {
	case r.UserID != req.user:
		return fmt.Errorf("read %s: row %d: column user_id: %d, but request %d in arm %q has user %d", g.src, row, r.UserID, req.id, g.arms[req.arm], req.user)
	case r.CG == "":
		return fmt.Errorf("read %s: row %d: column cg: empty CG name", g.src, row)
	case r.AdPinID < 0 || r.AdPinID >= maxAdID:
		return fmt.Errorf("read %s: row %d: column ad_pin_id: %d out of range [0, %d)", g.src, row, r.AdPinID, maxAdID)
	case r.Stage < 0 || r.Stage >= datasets.NumStages:
		return fmt.Errorf("read %s: row %d: column stage: %d not in [0, %d)", g.src, row, r.Stage, datasets.NumStages)
	case r.Rank < 0:
		return fmt.Errorf("read %s: row %d: column rank: negative rank %d", g.src, row, r.Rank)
	case !inRange(r.Relevance, 0, 1):
		return fmt.Errorf("read %s: row %d: column relevance: %v not in [0, 1]", g.src, row, r.Relevance)
	case !inRange(r.OracleRelevance, -1, 1):
		return fmt.Errorf("read %s: row %d: column oracle_relevance: %v not in [-1, 1]", g.src, row, r.OracleRelevance)
	case r.Stage == datasets.StageImpressed && (!finiteNonNeg(r.Price) || !finiteNonNeg(r.Value)):
		return fmt.Errorf("read %s: row %d: columns price/value: want finite values >= 0", g.src, row)
	}
	return nil
}

// inRange allows float32 rounding just outside the range.
func inRange(x float32, lo, hi float64) bool {
	v := float64(x)
	return v >= lo-1e-5 && v <= hi+1e-5
}

// addList aggregates one CG's rows of one request (sorted by rank).
func (g *aggregator) addList(b *cgBlock, rows []datasets.CandidateResult, npos [numFlavours]int) {
	g.listGen++
	if g.listGen == 0 {
		clear(g.seenStamp)
		g.listGen = 1
	}
	l := g.layout
	cv := g.cvec
	clear(cv)
	for f := range numFlavours {
		g.posBuf[f] = g.posBuf[f][:0]
	}
	for _, s := range g.usets {
		if b.acc[s][0] == nil {
			b.acc[s] = [numMedianKinds]*fineAcc{new(fineAcc), new(fineAcc)}
		}
	}
	for _, u := range g.units {
		b.hist = growTo(b.hist, histIndex(int(u)+1, 0, 0))
	}
	p := 0
	for i := range rows {
		r := &rows[i]
		ad := r.AdPinID
		if !mark(&g.seenStamp, ad, g.listGen) {
			continue // a duplicate counts once, at its first position
		}
		if stamped(g.logStamp, ad, g.gen) {
			g.posBuf[flavourLogged] = append(g.posBuf[flavourLogged], p)
		}
		if stamped(g.cfStamp, ad, g.gen) {
			g.posBuf[flavourCF] = append(g.posBuf[flavourCF], p)
		}
		p++
		for s := 0; s <= int(r.Stage); s++ {
			cv[l.stage(s)]++
		}
		rel, orel := float64(r.Relevance), float64(r.OracleRelevance)
		rb, ob := fineBin(relevanceKind, rel), fineBin(oracleKind, orel)
		for k, s := range g.usets {
			fh := b.acc[s]
			fh[relevanceKind].add(rb, rel)
			fh[oracleKind].add(ob, orel)
			u := int(g.units[k])
			b.hist[histIndex(u, relevanceKind, rb/finePerCoarse)]++
			b.hist[histIndex(u, oracleKind, ob/finePerCoarse)]++
		}
		db := min(int(rel*distributionBin), distributionBin-1)
		db = max(db, 0)
		b.dist[0][db]++
		if r.Stage == datasets.StageImpressed {
			b.dist[1][db]++
			cv[l.relDelivered()] += rel
			cv[l.oracleDelivered()] += orel
		}
	}
	for f := range numFlavours {
		if npos[f] == 0 {
			continue
		}
		pos := g.posBuf[f]
		tot := float64(npos[f])
		hits := 0
		for i, k := range g.ks {
			for hits < len(pos) && pos[hits] < k {
				hits++
			}
			cv[l.recall(f, i)] += float64(hits) / tot
			if hits > 0 {
				cv[l.hit(f, i)] = 1
				cv[l.ndcg(f, i)] = ndcgFromPositions(pos, npos[f], k)
			}
		}
		if len(pos) > 0 {
			cv[l.rr(f)] = 1 / float64(pos[0]+1)
		}
	}
	n := l.cols()
	for _, u := range g.units {
		b.vals = growTo(b.vals, (int(u)+1)*n)
		addFixedTo(b.vals[int(u)*n:(int(u)+1)*n], cv)
	}
}

// finish aggregates the requests of t that had no candidate rows.
func (g *aggregator) finish(t *requestTable) error {
	for i := range t.reqs {
		if !t.reqs[i].done {
			if err := g.add(&t.reqs[i], nil, 0); err != nil {
				return err
			}
		}
	}
	return nil
}
