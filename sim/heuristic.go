package sim

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/cgbench/cgbench/datasets"
)

// Defaults of the heuristic CGs' parameters.
const (
	// DefaultPopularityWindowDays is the trailing window over which the
	// popularity CG counts conversions.
	DefaultPopularityWindowDays = 28
	// DefaultHalfLifeDays is the half-life of an offsite event's weight in
	// the retargeting and history-interest CGs.
	DefaultHalfLifeDays = 30.0
	// DefaultTopCategories is how many of the user's history categories
	// the history-interest CG retrieves from.
	DefaultTopCategories = 5
)

// posting is one ad Pin in a category's inverted list, with what scoring
// the ad needs (its prior and categories) inline, so that a list scan reads
// memory in order rather than chasing per-ad tables.
type posting struct {
	ad    int32
	conf  float32
	prior float32
	ncat  uint8
	cats  [datasets.MaxCategoriesPerPin]catConf
}

// catConf is one category of an ad Pin with its confidence.
type catConf struct {
	cat  int32
	conf float32
}

// catalog holds the observable indexes the heuristic CGs share: a popularity
// prior per ad Pin, category -> ad Pins and advertiser -> ad Pins. It reads
// the observable tables only, never the truth.
type catalog struct {
	w *datasets.World
	// prior is the number of offsite conversions of each ad Pin before the
	// evaluation window: what a production system knows of an ad's
	// popularity without peeking at the replayed days.
	prior []float32
	// byCat lists the ad Pins of each category by confidence, prior, id.
	byCat [][]posting
	// byAdv lists the ad Pins of each advertiser by prior, then id.
	byAdv   [][]int32
	scratch sync.Pool // *catScratch
}

// catScratch is per-call scratch of the category and advertiser CGs.
type catScratch struct {
	stamp   []uint32 // per ad Pin: == gen when seen in this call
	gen     uint32
	acc     []float64 // per category or advertiser accumulator
	touched []int32
	catW    []float64 // per category: its profile weight during a call, else 0
	heap    topK
	prof    []catWeight
	lists   [][]posting
}

type catWeight struct {
	cat int32
	w   float64
}

func newCatalog(w *datasets.World) *catalog {
	c := &catalog{w: w, prior: make([]float32, len(w.AdPins))}
	trainEnd := w.DayStart(w.Manifest.EvalStartDay)
	for i := range w.Events {
		e := &w.Events[i]
		if e.Timestamp < trainEnd && e.AdPinID >= 0 && int(e.AdPinID) < len(c.prior) {
			c.prior[e.AdPinID]++
		}
	}
	nCat, nAdv := len(w.Categories), 0
	for i := range w.AdPins {
		a := &w.AdPins[i]
		for _, cs := range a.Categories {
			nCat = max(nCat, int(cs.Category)+1)
		}
		nAdv = max(nAdv, int(a.Advertiser)+1)
	}
	adCats := make([][datasets.MaxCategoriesPerPin]catConf, len(w.AdPins))
	adNCat := make([]uint8, len(w.AdPins))
	for i := range w.AdPins {
		for _, cs := range w.AdPins[i].Categories {
			if n := adNCat[i]; int(n) < datasets.MaxCategoriesPerPin && cs.Category >= 0 {
				adCats[i][n] = catConf{cat: cs.Category, conf: cs.Confidence}
				adNCat[i]++
			}
		}
	}
	c.byCat = make([][]posting, nCat)
	c.byAdv = make([][]int32, nAdv)
	for i := range w.AdPins {
		a := &w.AdPins[i]
		// Out-of-range ids cannot match any request; skipping them keeps a
		// malformed row from crashing an index that validation should have
		// rejected earlier.
		for _, cs := range a.Categories {
			if cs.Category >= 0 {
				c.byCat[cs.Category] = append(c.byCat[cs.Category], posting{ad: int32(i), conf: cs.Confidence,
					prior: c.prior[i], ncat: adNCat[i], cats: adCats[i]})
			}
		}
		if a.Advertiser >= 0 {
			c.byAdv[a.Advertiser] = append(c.byAdv[a.Advertiser], int32(i))
		}
	}
	for _, l := range c.byCat {
		slices.SortFunc(l, func(x, y posting) int {
			if x.conf != y.conf {
				return cmp.Compare(y.conf, x.conf)
			}
			if c.prior[x.ad] != c.prior[y.ad] {
				return cmp.Compare(c.prior[y.ad], c.prior[x.ad])
			}
			return cmp.Compare(x.ad, y.ad)
		})
	}
	for _, l := range c.byAdv {
		slices.SortFunc(l, c.byPrior)
	}
	size := max(nCat, nAdv)
	c.scratch.New = func() any {
		return &catScratch{stamp: make([]uint32, len(w.AdPins)), acc: make([]float64, size), catW: make([]float64, nCat)}
	}
	return c
}

func (c *catalog) byPrior(x, y int32) int {
	if c.prior[x] != c.prior[y] {
		return cmp.Compare(c.prior[y], c.prior[x])
	}
	return cmp.Compare(x, y)
}

func (c *catalog) get() *catScratch {
	s := c.scratch.Get().(*catScratch)
	s.gen++
	if s.gen == 0 { // wrapped: old stamps could collide
		clear(s.stamp)
		s.gen = 1
	}
	return s
}

// topByCategories returns the k ad Pins with the largest score
// sum_c w_c * conf_ad(c) over the profile's categories, ties broken by the
// prior then the id, appended to dst best first. It runs the threshold
// algorithm over the categories' inverted lists, which are sorted by
// confidence, so it reads about k entries per list rather than whole lists.
// Unseen ads whose score exactly equals the k-th best are not visited, so an
// exact score tie across lists is broken among the ads already seen.
func (c *catalog) topByCategories(s *catScratch, prof []catWeight, k int, dst []Candidate) []Candidate {
	s.heap.reset(k)
	var pos [16]int
	if len(prof) > len(pos) {
		prof = prof[:len(pos)]
	}
	s.lists = s.lists[:0]
	for _, p := range prof {
		var l []posting
		if p.cat >= 0 && int(p.cat) < len(c.byCat) && p.w > 0 {
			l = c.byCat[p.cat]
		}
		s.lists = append(s.lists, l)
	}
	lists := s.lists
	// With distinct profile categories an ad's score is the sum, in the
	// order of its categories, of its confidence times the weight of the
	// profile's matching category, read from a dense table; a repeated
	// category keeps the general loop, which adds each repeat separately.
	dense := true
	for i, p := range prof {
		if p.cat < 0 || int(p.cat) >= len(s.catW) {
			continue // matches no ad category
		}
		if s.catW[p.cat] != 0 || p.w == 0 {
			dense = false
			break
		}
		s.catW[p.cat] = prof[i].w
	}
	if !dense {
		for _, p := range prof {
			if p.cat >= 0 && int(p.cat) < len(s.catW) {
				s.catW[p.cat] = 0
			}
		}
	}
	for {
		var threshold float64
		live := false
		for i, l := range lists {
			if pos[i] < len(l) {
				threshold += prof[i].w * float64(l[pos[i]].conf)
				live = true
			}
		}
		if !live || (s.heap.full() && float64(s.heap.worst().score) >= float32Round(threshold)) {
			break
		}
		for i, l := range lists {
			if pos[i] >= len(l) {
				continue
			}
			pt := &l[pos[i]]
			ad := pt.ad
			pos[i]++
			if s.stamp[ad] == s.gen {
				continue
			}
			s.stamp[ad] = s.gen
			var score float64
			if dense {
				for _, cs := range pt.cats[:pt.ncat] {
					if w := s.catW[cs.cat]; w != 0 {
						score += w * float64(cs.conf)
					}
				}
			} else {
				for _, cs := range pt.cats[:pt.ncat] {
					for _, p := range prof {
						if p.cat == cs.cat {
							score += p.w * float64(cs.conf)
						}
					}
				}
			}
			x := entry(scored{score: float32(score), tie: pt.prior, id: ad})
			if s.heap.full() && !x.before(s.heap.worst()) {
				continue
			}
			s.heap.pushEntry(x)
		}
	}
	if dense {
		for _, p := range prof {
			if p.cat >= 0 && int(p.cat) < len(s.catW) {
				s.catW[p.cat] = 0
			}
		}
	}
	return s.heap.appendSorted(dst)
}

// float32Round rounds x to float32 precision, as scores are kept.
func float32Round(x float64) float64 { return float64(float32(x)) }

// recency is the weight of an event age seconds old under a half-life.
func recency(age int64, halfLifeDays float64) float64 {
	if age < 0 {
		age = 0
	}
	return math.Exp2(-float64(age) / (halfLifeDays * datasets.SecondsPerDay))
}

// ContentCG retrieves the ad Pins that share the subject Pin's categories.
type ContentCG struct {
	c *catalog
	k int
}

// NewContentCG returns the content CG: ad Pins sharing the subject Pin's
// categories, scored sum over shared categories of conf_subject * conf_ad,
// ties broken by the popularity prior (conversions before the evaluation
// window) then the id. It panics when k < 1.
func NewContentCG(w *datasets.World, k int) Generator {
	return newContentCG(newCatalog(w), k)
}

func newContentCG(c *catalog, k int) *ContentCG {
	mustPositiveK("NewContentCG", k)
	return &ContentCG{c: c, k: k}
}

// Name returns "content".
func (g *ContentCG) Name() string { return "content" }

// Spec returns the CG's kind and parameters.
func (g *ContentCG) Spec() string { return fmt.Sprintf("content:k=%d", g.k) }

// Retrieve implements Generator.
func (g *ContentCG) Retrieve(q *Query, dst []Candidate) ([]Candidate, error) {
	s := g.c.get()
	defer g.c.scratch.Put(s)
	s.prof = s.prof[:0]
	for _, cs := range q.Request.SubjectCategories {
		s.prof = append(s.prof, catWeight{cat: cs.Category, w: float64(cs.Confidence)})
	}
	return g.c.topByCategories(s, s.prof, g.k, dst), nil
}

// PopularityCG retrieves the most converted ad Pins.
type PopularityCG struct {
	w      *datasets.World
	k      int
	window int
	// top[d] lists the k most converted ad Pins over the window of days
	// before day d, best first.
	top [][]Candidate
}

// NewPopularityCG returns the popularity CG: the ad Pins with the most
// offsite conversions over the DefaultPopularityWindowDays days before the
// day of the query's cutoff (a daily batch job, so at most a day stale),
// ties broken by the prior then the id. Tables are precomputed per day. It
// panics when k < 1.
func NewPopularityCG(w *datasets.World, k int) Generator {
	return newPopularityCG(newCatalog(w), k, DefaultPopularityWindowDays)
}

func newPopularityCG(c *catalog, k, window int) *PopularityCG {
	mustPositiveK("NewPopularityCG", k)
	if window < 1 {
		panic(fmt.Sprintf("sim: NewPopularityCG: window %d days must be positive", window))
	}
	w := c.w
	days := w.Manifest.EvalStartDay + w.Manifest.EvalDays
	for i := range w.Events {
		days = max(days, w.Day(w.Events[i].Timestamp)+1)
	}
	// byDay[d] holds the ad Pins of the events of day d.
	byDay := make([][]int32, days)
	for i := range w.Events {
		e := &w.Events[i]
		d := w.Day(e.Timestamp)
		if d >= 0 && e.AdPinID >= 0 && int(e.AdPinID) < len(w.AdPins) {
			byDay[d] = append(byDay[d], e.AdPinID)
		}
	}
	g := &PopularityCG{w: w, k: k, window: window, top: make([][]Candidate, days+1)}
	counts := make([]int32, len(w.AdPins))
	var h topK
	for d := 0; d <= days; d++ {
		h.reset(k)
		for a, n := range counts {
			if n > 0 {
				h.push(scored{score: float32(n), tie: c.prior[a], id: int32(a)})
			}
		}
		g.top[d] = h.appendSorted(nil)
		if d == days {
			break
		}
		for _, a := range byDay[d] {
			counts[a]++
		}
		if old := d - window; old >= 0 {
			for _, a := range byDay[old] {
				counts[a]--
			}
		}
	}
	return g
}

// Name returns "popularity".
func (g *PopularityCG) Name() string { return "popularity" }

// Spec returns the CG's kind and parameters.
func (g *PopularityCG) Spec() string {
	return fmt.Sprintf("popularity:k=%d,window_days=%d", g.k, g.window)
}

// Retrieve implements Generator. A cutoff on a day outside the data is an
// error.
func (g *PopularityCG) Retrieve(q *Query, dst []Candidate) ([]Candidate, error) {
	d := g.w.Day(q.Cutoff)
	if d < 0 || d >= len(g.top) {
		return dst, fmt.Errorf("retrieve popularity: cutoff day %d outside the data's days [0, %d)", d, len(g.top))
	}
	return append(dst, g.top[d]...), nil
}

// RetargetingCG retrieves the ad Pins of advertisers the user converted on.
type RetargetingCG struct {
	c        *catalog
	k        int
	halfLife float64
}

// NewRetargetingCG returns the advertiser-retargeting CG: the ad Pins of the
// advertisers in the user's offsite history before the cutoff, advertisers
// scored by the sum of their events' recency weights (half-life
// DefaultHalfLifeDays), an advertiser's ad Pins by prior then id. It panics
// when k < 1.
func NewRetargetingCG(w *datasets.World, k int) Generator {
	return newRetargetingCG(newCatalog(w), k, DefaultHalfLifeDays)
}

func newRetargetingCG(c *catalog, k int, halfLife float64) *RetargetingCG {
	mustPositiveK("NewRetargetingCG", k)
	mustPositiveHalfLife("NewRetargetingCG", halfLife)
	return &RetargetingCG{c: c, k: k, halfLife: halfLife}
}

// Name returns "retargeting".
func (g *RetargetingCG) Name() string { return "retargeting" }

// Spec returns the CG's kind and parameters.
func (g *RetargetingCG) Spec() string {
	return fmt.Sprintf("retargeting:k=%d,half_life_days=%g", g.k, g.halfLife)
}

// Retrieve implements Generator.
func (g *RetargetingCG) Retrieve(q *Query, dst []Candidate) ([]Candidate, error) {
	w := g.c.w
	hist, err := historyBefore(w, q)
	if err != nil {
		return dst, fmt.Errorf("retrieve retargeting: %w", err)
	}
	s := g.c.get()
	defer g.c.scratch.Put(s)
	s.touched = s.touched[:0]
	for i := range hist {
		e := &hist[i]
		if e.AdPinID < 0 || int(e.AdPinID) >= len(w.AdPins) {
			return dst, fmt.Errorf("retrieve retargeting: user %d: event ad pin %d not in catalog", q.Request.UserID, e.AdPinID)
		}
		adv := w.AdPins[e.AdPinID].Advertiser
		if adv < 0 || int(adv) >= len(g.c.byAdv) {
			continue
		}
		if s.acc[adv] == 0 {
			s.touched = append(s.touched, adv)
		}
		s.acc[adv] += recency(q.Cutoff-e.Timestamp, g.halfLife)
	}
	advs := s.touched
	slices.SortFunc(advs, func(a, b int32) int {
		if s.acc[a] != s.acc[b] {
			return cmp.Compare(s.acc[b], s.acc[a])
		}
		return cmp.Compare(a, b)
	})
	n := 0
	for _, adv := range advs {
		for _, ad := range g.c.byAdv[adv] {
			if n == g.k {
				break
			}
			dst = append(dst, Candidate{AdPin: ad, Score: float32(s.acc[adv])})
			n++
		}
	}
	for _, adv := range advs {
		s.acc[adv] = 0
	}
	return dst, nil
}

// HistoryInterestCG retrieves ad Pins in the categories of the user's
// offsite history.
type HistoryInterestCG struct {
	c        *catalog
	k        int
	halfLife float64
	topCats  int
}

// NewHistoryInterestCG returns the history-interest CG: the categories of the
// ad Pins in the user's offsite history before the cutoff, weighted by
// confidence and recency (half-life DefaultHalfLifeDays); the
// DefaultTopCategories heaviest, normalised to sum 1, are retrieved from like
// a subject Pin's categories in the content CG. It panics when k < 1.
func NewHistoryInterestCG(w *datasets.World, k int) Generator {
	return newHistoryInterestCG(newCatalog(w), k, DefaultHalfLifeDays, DefaultTopCategories)
}

func newHistoryInterestCG(c *catalog, k int, halfLife float64, topCats int) *HistoryInterestCG {
	mustPositiveK("NewHistoryInterestCG", k)
	mustPositiveHalfLife("NewHistoryInterestCG", halfLife)
	if topCats < 1 || topCats > 16 {
		panic(fmt.Sprintf("sim: NewHistoryInterestCG: top categories %d outside [1, 16]", topCats))
	}
	return &HistoryInterestCG{c: c, k: k, halfLife: halfLife, topCats: topCats}
}

// Name returns "history_interest".
func (g *HistoryInterestCG) Name() string { return "history_interest" }

// Spec returns the CG's kind and parameters.
func (g *HistoryInterestCG) Spec() string {
	return fmt.Sprintf("history_interest:k=%d,half_life_days=%g,top_categories=%d", g.k, g.halfLife, g.topCats)
}

// Retrieve implements Generator.
func (g *HistoryInterestCG) Retrieve(q *Query, dst []Candidate) ([]Candidate, error) {
	w := g.c.w
	hist, err := historyBefore(w, q)
	if err != nil {
		return dst, fmt.Errorf("retrieve history_interest: %w", err)
	}
	s := g.c.get()
	defer g.c.scratch.Put(s)
	s.touched = s.touched[:0]
	for i := range hist {
		e := &hist[i]
		if e.AdPinID < 0 || int(e.AdPinID) >= len(w.AdPins) {
			return dst, fmt.Errorf("retrieve history_interest: user %d: event ad pin %d not in catalog", q.Request.UserID, e.AdPinID)
		}
		r := recency(q.Cutoff-e.Timestamp, g.halfLife)
		for _, cs := range w.AdPins[e.AdPinID].Categories {
			if cs.Category < 0 || int(cs.Category) >= len(g.c.byCat) {
				continue
			}
			if s.acc[cs.Category] == 0 {
				s.touched = append(s.touched, cs.Category)
			}
			s.acc[cs.Category] += r * float64(cs.Confidence)
		}
	}
	cats := s.touched
	slices.SortFunc(cats, func(a, b int32) int {
		if s.acc[a] != s.acc[b] {
			return cmp.Compare(s.acc[b], s.acc[a])
		}
		return cmp.Compare(a, b)
	})
	s.prof = s.prof[:0]
	var sum float64
	for _, cat := range cats[:min(len(cats), g.topCats)] {
		sum += s.acc[cat]
	}
	for _, cat := range cats[:min(len(cats), g.topCats)] {
		s.prof = append(s.prof, catWeight{cat: cat, w: s.acc[cat] / sum})
	}
	for _, cat := range cats {
		s.acc[cat] = 0
	}
	return g.c.topByCategories(s, s.prof, g.k, dst), nil
}

// historyBefore returns the query user's events before the cutoff.
func historyBefore(w *datasets.World, q *Query) ([]datasets.Event, error) {
	u := q.Request.UserID
	if u < 0 || int(u) >= len(w.Users) || int(u)+1 >= len(w.UserEvents) {
		return nil, fmt.Errorf("user %d not in users table", u)
	}
	return w.HistoryBefore(u, q.Cutoff), nil
}

func mustPositiveK(fn string, k int) {
	if k < 1 {
		panic(fmt.Sprintf("sim: %s: k = %d must be positive", fn, k))
	}
}

func mustPositiveHalfLife(fn string, h float64) {
	if !(h > 0) || math.IsInf(h, 0) {
		panic(fmt.Sprintf("sim: %s: half-life %g days must be positive and finite", fn, h))
	}
}
