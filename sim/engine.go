package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/cgbench/cgbench/datasets"
)

// Stages of the per-(seed, request, ad Pin) random streams.
const (
	streamNoise    = 1 // pre-rank, pCTR and pCVR noise
	streamResponse = 2 // click and conversion uniforms
)

// mix64 is the splitmix64 finaliser: a bijective scrambling of 64 bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// seedStream reseeds p with the stream of (seed, stage, request, ad Pin).
func seedStream(p *rand.PCG, seed uint64, stage uint64, req int64, ad int32) {
	hi := mix64(seed ^ mix64(stage*0x9e3779b97f4a7c15))
	lo := mix64(uint64(req) ^ mix64(uint64(uint32(ad))+0x632be59bd9b4e019))
	p.Seed(hi, lo)
}

// engine runs arms of CGs through the funnel over a request log.
type engine struct {
	w       *datasets.World
	truth   *datasets.Truth
	arms    []Arm
	funnel  FunnelConfig
	stale   Staleness
	seed    uint64
	resp    datasets.ResponseConfig
	dim     int
	outCand bool // emit candidate rows
	outReq  bool // emit request rows
	outImp  bool // emit impressions of arm 0
}

func newEngine(w *datasets.World, truth *datasets.Truth, arms []Arm, funnel FunnelConfig, stale Staleness, seed uint64, resp *datasets.ResponseConfig) (*engine, error) {
	if w == nil {
		return nil, fmt.Errorf("nil world")
	}
	if truth == nil {
		return nil, fmt.Errorf("the funnel draws responses from the world's truth, and none was given")
	}
	if len(arms) == 0 {
		return nil, fmt.Errorf("no arms")
	}
	armNames := map[string]bool{}
	for _, a := range arms {
		if err := checkName(a.Name); err != nil {
			return nil, fmt.Errorf("arm %q: %w", a.Name, err)
		}
		if armNames[a.Name] {
			return nil, fmt.Errorf("arm %q given twice", a.Name)
		}
		armNames[a.Name] = true
		if len(a.CGs) == 0 || len(a.CGs) > 64 {
			return nil, fmt.Errorf("arm %q: %d CGs, want 1..64", a.Name, len(a.CGs))
		}
		cgNames := map[string]bool{}
		for _, g := range a.CGs {
			if g == nil {
				return nil, fmt.Errorf("arm %q: nil CG", a.Name)
			}
			if cgNames[g.Name()] {
				return nil, fmt.Errorf("arm %q: CG %q given twice", a.Name, g.Name())
			}
			cgNames[g.Name()] = true
		}
	}
	if err := funnel.Validate(); err != nil {
		return nil, err
	}
	if stale < StalenessRealtime || stale > StalenessWeekly {
		return nil, fmt.Errorf("unknown staleness %d", int(stale))
	}
	e := &engine{w: w, truth: truth, arms: arms, funnel: funnel, stale: stale, seed: seed}
	switch {
	case resp != nil:
		e.resp = *resp
	case w.Manifest.Response != nil:
		e.resp = *w.Manifest.Response
	default:
		return nil, fmt.Errorf("world has no response model (manifest response): the funnel needs a synthetic world's truth")
	}
	if len(truth.AdPins) != len(w.AdPins) {
		return nil, fmt.Errorf("truth has %d ad pins, world %d", len(truth.AdPins), len(w.AdPins))
	}
	if len(truth.Users) != len(w.Users) {
		return nil, fmt.Errorf("truth has %d users, world %d", len(truth.Users), len(w.Users))
	}
	if len(w.UserEvents) != len(w.Users)+1 {
		return nil, fmt.Errorf("world has %d user event offsets, want users+1 = %d", len(w.UserEvents), len(w.Users)+1)
	}
	e.dim = -1
	for i := range truth.AdPins {
		if e.dim < 0 {
			e.dim = len(truth.AdPins[i].Latent)
		}
		if len(truth.AdPins[i].Latent) != e.dim || e.dim == 0 {
			return nil, fmt.Errorf("truth ad pin %d: latent has %d dimensions, want %d", i, len(truth.AdPins[i].Latent), e.dim)
		}
	}
	for i := range truth.Users {
		if len(truth.Users[i].Interest) != e.dim && e.dim >= 0 {
			return nil, fmt.Errorf("truth user %d: interest has %d dimensions, want %d", i, len(truth.Users[i].Interest), e.dim)
		}
	}
	return e, nil
}

// armStats accumulates one arm's funnel counts.
type armStats struct {
	requests, impressions, clicks, conversions int64
	spend, value                               float64
	unique                                     [datasets.NumStages]int64
	cgs                                        []cgStats
}

type cgStats struct {
	stages [datasets.NumStages]int64
	sole   int64
}

// chunkOut is what a worker produces for a chunk.
type chunkOut struct {
	idx   int
	n     int
	cands []datasets.CandidateResult
	reqs  []datasets.RequestResult
	imps  []datasets.Impression
	stats []armStats
}

// adInfo is what the funnel knows of an ad Pin on one request; identical in
// every arm. The facts only some candidates need are computed on first use
// (see have): the ranking estimates for pre-ranked candidates, relevance and
// oracle relevance for the filter and the candidate rows.
type adInfo struct {
	ad            int32
	have          uint8   // haveRank | haveRel | haveOracle
	pClick, pConv float64 // true probabilities
	oracle, rel   float32
	pre           float64  // pre-ranking score
	pctr, pcvr    float64  // ranking estimates
	rank          float64  // ranking score
	noise         rand.PCG // the noise stream after the pre-ranking draw
}

// Lazily computed facts of an adInfo.
const (
	haveRank   = 1 << iota // pctr, pcvr, rank
	haveRel                // rel
	haveOracle             // oracle
)

// mcand is a merged candidate of one arm.
type mcand struct {
	info  int32
	mask  uint64 // CGs of the arm that retrieved it
	stage int32
	slot  int32
	price float32
	click bool
	conv  bool
	value float32
}

type worker struct {
	e        *engine
	pcg      *rand.PCG
	rng      *rand.Rand
	infoGen  []uint32
	infoIdx  []int32
	gen      uint32
	infos    []adInfo
	mergeGen []uint32
	mergeIdx []int32
	mgen     uint32
	merged   []mcand
	lists    [][]Candidate
	order    []int32
	keys     []rankKey
	bids     []Bid
	elig     []int
	wins     []Win
	names    map[uint64][]string
}

func (e *engine) newWorker() *worker {
	n := len(e.w.AdPins)
	p := rand.NewPCG(0, 0)
	maxCGs := 0
	for _, a := range e.arms {
		maxCGs = max(maxCGs, len(a.CGs))
	}
	return &worker{e: e, pcg: p, rng: rand.New(p),
		infoGen: make([]uint32, n), infoIdx: make([]int32, n),
		mergeGen: make([]uint32, n), mergeIdx: make([]int32, n),
		lists: make([][]Candidate, maxCGs), names: map[uint64][]string{}}
}

func nextGen(gen *uint32, stamps []uint32) {
	*gen++
	if *gen == 0 {
		clear(stamps)
		*gen = 1
	}
}

// process runs every request of c through every arm.
func (wk *worker) process(c *chunk) (*chunkOut, error) {
	e := wk.e
	out := &chunkOut{idx: c.idx, n: len(c.reqs), stats: make([]armStats, len(e.arms))}
	for a := range e.arms {
		out.stats[a].cgs = make([]cgStats, len(e.arms[a].CGs))
	}
	for i := range c.reqs {
		if err := wk.request(&c.reqs[i], &c.truths[i], c.rows[i], out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (wk *worker) request(req *datasets.Request, tr *datasets.TruthRequest, row int64, out *chunkOut) error {
	e := wk.e
	w := e.w
	u := req.UserID
	if u < 0 || int(u) >= len(w.Users) {
		return fmt.Errorf("request log row %d (request %d): user %d not in users table", row, req.RequestID, u)
	}
	if len(tr.Intent) != e.dim {
		return fmt.Errorf("request truth row %d (request %d): intent has %d dimensions, want %d", row, req.RequestID, len(tr.Intent), e.dim)
	}
	q := Query{Request: req, User: &w.Users[u], Day: w.Day(req.Timestamp), Cutoff: e.stale.Cutoff(w, req)}
	interest := e.truth.Users[u].Interest
	nextGen(&wk.gen, wk.infoGen)
	wk.infos = wk.infos[:0]

	var reqRow datasets.RequestResult
	if e.outReq {
		visible := len(w.HistoryBefore(u, q.Cutoff))
		reqRow = datasets.RequestResult{
			RequestID:     req.RequestID,
			UserID:        u,
			Day:           int32(q.Day),
			Country:       w.Users[u].Country,
			HistoryLength: int32(visible),
			FreshActivity: len(w.HistoryBefore(u, req.Timestamp)) > visible,
			LoggedAds:     loggedAds(w.Impressions, req.RequestID),
		}
		for _, cs := range req.SubjectCategories {
			reqRow.ContextStrength = max(reqRow.ContextStrength, cs.Confidence)
		}
	}
	filter := len(req.SubjectCategories) > 0
	f := &e.funnel

	for a := range e.arms {
		arm := &e.arms[a]
		st := &out.stats[a]
		st.requests++
		// Retrieve and merge with attribution.
		nextGen(&wk.mgen, wk.mergeGen)
		wk.merged = wk.merged[:0]
		for ci, g := range arm.CGs {
			var err error
			wk.lists[ci], err = g.Retrieve(&q, wk.lists[ci][:0])
			if err != nil {
				return fmt.Errorf("arm %s: cg %s: request %d: %w", arm.Name, g.Name(), req.RequestID, err)
			}
			for _, cand := range wk.lists[ci] {
				ad := cand.AdPin
				if ad < 0 || int(ad) >= len(w.AdPins) {
					return fmt.Errorf("arm %s: cg %s: request %d: ad pin %d not in catalog", arm.Name, g.Name(), req.RequestID, ad)
				}
				if wk.mergeGen[ad] != wk.mgen {
					wk.mergeGen[ad] = wk.mgen
					wk.mergeIdx[ad] = int32(len(wk.merged))
					wk.merged = append(wk.merged, mcand{info: wk.info(ad, req, tr, interest), slot: -1})
				}
				wk.merged[wk.mergeIdx[ad]].mask |= 1 << uint(ci)
			}
		}
		// Pre-ranking truncation.
		order := wk.order[:0]
		for i := range wk.merged {
			order = append(order, int32(i))
		}
		wk.truncate(order, f.PreRankSize, true)
		for _, m := range order[:min(len(order), f.PreRankSize)] {
			wk.merged[m].stage = datasets.StagePreRanked
		}
		// Relevance filter and ranking truncation.
		ranked := order[:0]
		for _, m := range order[:min(len(order), f.PreRankSize)] {
			x := &wk.infos[wk.merged[m].info]
			if !filter || float64(wk.relevance(x, req)) >= f.RelevanceThreshold {
				wk.ranking(x)
				ranked = append(ranked, m)
			}
		}
		wk.truncate(ranked, f.RankSize, false)
		ranked = ranked[:min(len(ranked), f.RankSize)]
		// Auction.
		wk.bids = wk.bids[:0]
		wk.elig = wk.elig[:0]
		for _, m := range ranked {
			wk.merged[m].stage = datasets.StageRanked
			x := &wk.infos[wk.merged[m].info]
			ad := &w.AdPins[x.ad]
			b := Bid{AdPin: x.ad, Bid: float64(ad.Bid), PCTR: x.pctr, Quality: float64(ad.Quality)}
			if ec := b.ECPM(); ec > 0 && !math.IsInf(ec, 0) && ec >= f.ReservePrice {
				wk.elig = append(wk.elig, len(wk.bids))
			}
			wk.bids = append(wk.bids, b)
		}
		wk.wins = runAuction(wk.bids, wk.elig, f.Slots, f.ReservePrice, wk.wins[:0])
		// Responses with common random numbers per (request, ad Pin).
		for _, win := range wk.wins {
			m := &wk.merged[ranked[win.Index]]
			x := &wk.infos[m.info]
			m.stage = datasets.StageImpressed
			m.slot = int32(win.Slot)
			m.price = float32(win.Price)
			seedStream(wk.pcg, e.seed, streamResponse, req.RequestID, x.ad)
			u1, u2 := wk.rng.Float64(), wk.rng.Float64()
			m.click = u1 < x.pClick*f.PositionEffect[win.Slot]
			m.conv = m.click && u2 < x.pConv
			if m.conv {
				m.value = w.AdPins[x.ad].ConversionValue
			}
			st.impressions++
			if m.click {
				st.clicks++
				st.spend += float64(m.price)
				if e.outReq {
					reqRow.Clicks++
					reqRow.Spend += m.price
				}
			}
			if m.conv {
				st.conversions++
				st.value += float64(m.value)
				if e.outReq {
					reqRow.Conversions++
					reqRow.Value += m.value
				}
			}
			if e.outImp && a == 0 {
				out.imps = append(out.imps, datasets.Impression{
					RequestID:  req.RequestID,
					AdPinID:    x.ad,
					Slot:       int32(win.Slot),
					SourceCGs:  wk.sourceNames(arm, m.mask),
					Price:      m.price,
					Click:      m.click,
					Conversion: m.conv,
					Value:      m.value,
				})
			}
		}
		// Counts and rows.
		for i := range wk.merged {
			m := &wk.merged[i]
			for s := int32(0); s <= m.stage; s++ {
				st.unique[s]++
			}
			if m.stage == datasets.StageImpressed && m.mask&(m.mask-1) == 0 {
				st.cgs[bitIndex(m.mask)].sole++
			}
		}
		for ci, g := range arm.CGs {
			cs := &st.cgs[ci]
			for r, cand := range wk.lists[ci] {
				m := &wk.merged[wk.mergeIdx[cand.AdPin]]
				for s := int32(0); s <= m.stage; s++ {
					cs.stages[s]++
				}
				if !e.outCand {
					continue
				}
				x := &wk.infos[m.info]
				out.cands = append(out.cands, datasets.CandidateResult{
					Arm:             arm.Name,
					RequestID:       req.RequestID,
					UserID:          u,
					CG:              g.Name(),
					AdPinID:         cand.AdPin,
					Rank:            int32(r),
					Score:           cand.Score,
					Stage:           m.stage,
					Slot:            m.slot,
					Price:           m.price,
					Click:           m.click,
					Conversion:      m.conv,
					Value:           m.value,
					Relevance:       wk.relevance(x, req),
					OracleRelevance: wk.oracleRelevance(x, tr),
				})
			}
		}
		if e.outReq {
			r := reqRow
			r.Arm = arm.Name
			r.Impressions = int32(len(wk.wins))
			out.reqs = append(out.reqs, r)
			reqRow.Clicks, reqRow.Conversions, reqRow.Spend, reqRow.Value = 0, 0, 0, 0
		}
	}
	return nil
}

// info returns the index in wk.infos of ad Pin ad's funnel facts on the
// current request, computing the pre-ranking ones on first use.
func (wk *worker) info(ad int32, req *datasets.Request, tr *datasets.TruthRequest, interest []float32) int32 {
	if wk.infoGen[ad] == wk.gen {
		return wk.infoIdx[ad]
	}
	e := wk.e
	a := &e.w.AdPins[ad]
	pc, pv := e.resp.Probabilities(tr.Intent, interest, e.truth.AdPins[ad].Latent, a.Quality)
	x := adInfo{ad: ad, pClick: pc, pConv: pv}
	// The noise stream draws the pre-ranking, pCTR and pCVR noise in this
	// order; its state after the first draw is kept so that the other two
	// are drawn only for candidates that reach ranking.
	seedStream(wk.pcg, e.seed, streamNoise, req.RequestID, ad)
	z0 := wk.rng.NormFloat64()
	x.noise = *wk.pcg
	x.pre = float64(a.Bid) * float64(a.Quality) * pc * math.Exp(e.funnel.PreRankNoise*z0)
	wk.infoGen[ad] = wk.gen
	wk.infoIdx[ad] = int32(len(wk.infos))
	wk.infos = append(wk.infos, x)
	return wk.infoIdx[ad]
}

// ranking sets x's ranking estimates if not yet set.
func (wk *worker) ranking(x *adInfo) {
	if x.have&haveRank != 0 {
		return
	}
	f := &wk.e.funnel
	a := &wk.e.w.AdPins[x.ad]
	*wk.pcg = x.noise
	z1, z2 := wk.rng.NormFloat64(), wk.rng.NormFloat64()
	bid, q := float64(a.Bid), float64(a.Quality)
	x.pctr = min(1, f.CTRCalibration*x.pClick*math.Exp(f.CTRNoise*z1))
	x.pcvr = min(1, f.CVRCalibration*x.pConv*math.Exp(f.CVRNoise*z2))
	x.rank = bid*x.pctr*q + f.ValueWeight*x.pctr*x.pcvr*float64(a.ConversionValue)
	x.have |= haveRank
}

// relevance returns x's category relevance to the subject Pin (0 when the
// request has no subject categories).
func (wk *worker) relevance(x *adInfo, req *datasets.Request) float32 {
	if x.have&haveRel == 0 {
		if len(req.SubjectCategories) > 0 {
			x.rel = float32(datasets.CategoryRelevance(req.SubjectCategories, wk.e.w.AdPins[x.ad].Categories))
		}
		x.have |= haveRel
	}
	return x.rel
}

// oracleRelevance returns x's true intent relevance, latent · intent.
func (wk *worker) oracleRelevance(x *adInfo, tr *datasets.TruthRequest) float32 {
	if x.have&haveOracle == 0 {
		x.oracle = float32(datasets.Dot(wk.e.truth.AdPins[x.ad].Latent, tr.Intent))
		x.have |= haveOracle
	}
	return x.oracle
}

// truncate moves the n best of order (indexes into wk.merged) to its front,
// in no particular order, when order is longer than n: by descending score
// (the pre-ranking score when pre, else the ranking score), ties by
// ascending ad Pin id. Only membership of the first n matters to the caller:
// the order is a strict total order for finite scores, so the set is the one
// a full sort would keep.
func (wk *worker) truncate(order []int32, n int, pre bool) {
	if len(order) <= n {
		return
	}
	keys := wk.keys[:0]
	for _, m := range order {
		x := &wk.infos[wk.merged[m].info]
		sc := x.rank
		if pre {
			sc = x.pre
		}
		keys = append(keys, rankKey{score: sc, ad: x.ad, m: m})
	}
	selectTop(keys, n)
	for i, k := range keys {
		order[i] = k.m
	}
	wk.keys = keys
}

// rankKey is a merged candidate's score at a truncation.
type rankKey struct {
	score float64
	ad    int32
	m     int32
}

func (wk *worker) sourceNames(arm *Arm, mask uint64) []string {
	if s, ok := wk.names[mask]; ok {
		return s
	}
	var s []string
	for ci, g := range arm.CGs {
		if mask&(1<<uint(ci)) != 0 {
			s = append(s, g.Name())
		}
	}
	sort.Strings(s)
	wk.names[mask] = s
	return s
}

func bitIndex(mask uint64) int {
	for i := range 64 {
		if mask&(1<<uint(i)) != 0 {
			return i
		}
	}
	return -1
}

// loggedAds returns the ad Pins of request id's logged impressions by slot;
// imps is sorted by request id, then slot.
func loggedAds(imps []datasets.Impression, id int64) []int32 {
	i := sort.Search(len(imps), func(i int) bool { return imps[i].RequestID >= id })
	var ads []int32
	for ; i < len(imps) && imps[i].RequestID == id; i++ {
		ads = append(ads, imps[i].AdPinID)
	}
	return ads
}

// run streams the request log through the engine's arms with the given
// number of workers and hands chunk results to sink in request order.
func (e *engine) run(ctx context.Context, src *requestSource, workers, chunkSize int, keep func(*datasets.Request) bool, maxReq int, sink func(*chunkOut) error, progress func(done, total int64)) error {
	total := src.rows
	if maxReq > 0 {
		total = min(total, int64(maxReq))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan *chunk)
	results := make(chan *chunkOut)
	tokens := make(chan struct{}, 2*workers+1)
	var readers sync.WaitGroup
	readers.Go(func() {
		defer close(jobs)
		err := src.run(ctx, chunkSize, keep, maxReq, func(c *chunk) bool {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- c:
				return true
			case <-ctx.Done():
				return false
			}
		})
		if err != nil {
			cancel(err)
		}
	})
	var ws sync.WaitGroup
	for range workers {
		ws.Go(func() {
			wk := e.newWorker()
			for c := range jobs {
				if ctx.Err() != nil {
					continue
				}
				out, err := wk.process(c)
				if err != nil {
					cancel(err)
					continue
				}
				select {
				case results <- out:
				case <-ctx.Done():
				}
			}
		})
	}
	go func() {
		ws.Wait()
		close(results)
	}()
	pending := map[int]*chunkOut{}
	next := 0
	var done int64
	for out := range results {
		if ctx.Err() != nil {
			continue
		}
		pending[out.idx] = out
		for {
			o, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if err := sink(o); err != nil {
				cancel(err)
				break
			}
			<-tokens
			next++
			done += int64(o.n)
			if progress != nil {
				progress(done, total)
			}
		}
	}
	readers.Wait()
	return context.Cause(ctx)
}
