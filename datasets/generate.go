package datasets

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"
)

// SyntheticStartTime is day 0 of every synthetic world: Monday 2026-01-05
// 00:00 UTC. A fixed start keeps generated files byte-identical across runs.
var SyntheticStartTime = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).Unix()

// GeneratorName is Manifest.CreatedBy of a synthetic world.
const GeneratorName = "cgbench datasets.Generate"

// usersPerChunk is the unit of parallel user generation: small enough to
// keep a chunk's events in memory at any size, large enough to amortise the
// hand-off between goroutines.
const usersPerChunk = 2048

// Generate writes a synthetic world into outDir: the observable tables
// (categories, ad and organic Pins, users, offsite events, requests), the
// truth tables in outDir/truth, and manifest.json, which is written last. It
// does not write impressions.parquet: the production funnel adds it later
// (WriteImpressions, UpdateManifest). The same cfg and seed give
// byte-identical files. Users and requests are generated in parallel chunks
// and streamed to disk in order, so memory is bounded by the number of users
// and Pins, not by the number of events or requests. progress, when not nil,
// is called with a stage name and the units done out of total. On error the
// files written so far are removed.
func Generate(ctx context.Context, cfg WorldConfig, seed uint64, outDir string, progress func(stage string, done, total int64)) (m *Manifest, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("generate %s: %w", outDir, err)
	}
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	if _, err := os.Stat(filepath.Join(outDir, ManifestFile)); err == nil {
		return nil, fmt.Errorf("generate %s: folder already holds a dataset (%s)", outDir, ManifestFile)
	}
	if err := os.MkdirAll(filepath.Join(outDir, TruthDir), 0o755); err != nil {
		return nil, fmt.Errorf("generate %s: %w", outDir, err)
	}
	var written []string
	defer func() {
		if err != nil {
			for _, p := range written {
				os.Remove(filepath.Join(outDir, p))
			}
			os.Remove(filepath.Join(outDir, TruthDir)) // only when empty
		}
	}()
	g := newGenerator(cfg, seed)
	rows := map[string]int64{}
	write := func(name string, n int64, f func(path string) error) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("generate %s: %w", name, err)
		}
		written = append(written, name)
		if err := f(filepath.Join(outDir, name)); err != nil {
			return fmt.Errorf("generate %s: %w", name, err)
		}
		rows[name] = n
		return nil
	}

	progress("taxonomy", 0, 1)
	g.taxonomy()
	if err := write(CategoriesFile, int64(len(g.categories)), func(p string) error { return WriteTable(p, g.categories) }); err != nil {
		return nil, err
	}
	if err := write(TruthCategoriesFile, int64(len(g.truthCats)), func(p string) error { return WriteTable(p, g.truthCats) }); err != nil {
		return nil, err
	}
	progress("taxonomy", 1, 1)

	progress("pins", 0, int64(cfg.Sizes.AdPins+cfg.Sizes.OrganicPins))
	ads, truthAds := g.adPins()
	if err := write(AdPinsFile, int64(len(ads)), func(p string) error { return WriteTable(p, ads) }); err != nil {
		return nil, err
	}
	if err := write(TruthAdPinsFile, int64(len(truthAds)), func(p string) error { return WriteTable(p, truthAds) }); err != nil {
		return nil, err
	}
	truthAds = nil
	progress("pins", int64(cfg.Sizes.AdPins), int64(cfg.Sizes.AdPins+cfg.Sizes.OrganicPins))
	organic := g.organicPins()
	if err := write(OrganicPinsFile, int64(len(organic)), func(p string) error { return WriteTable(p, organic) }); err != nil {
		return nil, err
	}
	progress("pins", int64(cfg.Sizes.AdPins+cfg.Sizes.OrganicPins), int64(cfg.Sizes.AdPins+cfg.Sizes.OrganicPins))

	written = append(written, UsersFile, EventsFile, TruthUsersFile)
	nu, ne, err := g.writeUsers(ctx, outDir, progress)
	if err != nil {
		return nil, err
	}
	rows[UsersFile], rows[EventsFile], rows[TruthUsersFile] = nu, ne, nu

	written = append(written, RequestsFile, TruthRequestsFile)
	nr, err := g.writeRequests(ctx, outDir, progress)
	if err != nil {
		return nil, err
	}
	rows[RequestsFile], rows[TruthRequestsFile] = nr, nr

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("generate manifest: %w", err)
	}
	m = &Manifest{
		SchemaVersion: SchemaVersion,
		Kind:          "synthetic",
		CreatedBy:     GeneratorName,
		Seed:          seed,
		Config:        cfg,
		Response:      &cfg.Response,
		StartTime:     SyntheticStartTime,
		EvalStartDay:  cfg.History.Days,
		EvalDays:      cfg.Requests.EvalDays,
		LatentDim:     cfg.Taxonomy.LatentDim,
		Files:         map[string]FileInfo{},
	}
	for _, name := range slices.Sorted(maps.Keys(rows)) {
		sum, size, err := HashFile(filepath.Join(outDir, name))
		if err != nil {
			return nil, fmt.Errorf("generate manifest: %w", err)
		}
		m.Files[name] = FileInfo{Rows: rows[name], Bytes: size, SHA256: sum}
	}
	m.Hash = dataHash(m.Files)
	written = append(written, ManifestFile)
	if err := writeManifest(outDir, m); err != nil {
		return nil, fmt.Errorf("generate manifest: %w", err)
	}
	progress("manifest", 1, 1)
	return m, nil
}

// generator holds the world's fixed parts while users and requests are
// drawn against them.
type generator struct {
	cfg  WorldConfig
	seed uint64
	dim  int
	nCat int

	categories []Category
	truthCats  []TruthCategory
	catLatent  []float64 // nCat x dim, unit rows
	catPrior   []float64 // prior weight of each category
	prior      cumulative
	groupPrior []cumulative // per group, over its categories (local index)

	catsPerPin []float64
	adPop      []float64
	adsByCat   categoryIndex
	adsAll     cumulative
	orgByCat   categoryIndex
	orgAll     cumulative
	orgCats    [][]CategoryScore // listed categories of each organic Pin

	ageMix, genderMix, countryMix []float64
	countries                     []string
	demo                          [][]float64 // effect vectors: ages, then genders, then countries; each of length groups
	eventTypes                    []float64

	// Per-user state at the start of the evaluation window, filled by
	// writeUsers and read by writeRequests.
	anchors  []int32   // users x MaxAnchors
	weights  []float32 // users x MaxAnchors, softmax of log-weights
	nAnchors []uint8
	activity cumulative

	trends     [][]int32 // per eval day
	trendMix   []float64 // Zipf weights over a day's trends
	intentMix  []float64
	sliceCount []int // requests per hour slice
}

// categoryIndex lists, per category, the Pins whose true categories include
// it, with cumulative weights popularity x confidence.
type categoryIndex struct {
	off  []int
	pins []int32
	cum  []float64 // cumulative within each category's segment
}

func buildCategoryIndex(nCat int, cats [][]CategoryScore, pop []float64) categoryIndex {
	idx := categoryIndex{off: make([]int, nCat+1)}
	for _, cs := range cats {
		for _, c := range cs {
			idx.off[c.Category+1]++
		}
	}
	for c := 0; c < nCat; c++ {
		idx.off[c+1] += idx.off[c]
	}
	idx.pins = make([]int32, idx.off[nCat])
	w := make([]float64, idx.off[nCat])
	fill := slices.Clone(idx.off[:nCat])
	for p, cs := range cats {
		for _, c := range cs {
			i := fill[c.Category]
			idx.pins[i] = int32(p)
			w[i] = pop[p] * float64(c.Confidence)
			fill[c.Category]++
		}
	}
	idx.cum = w
	for c := 0; c < nCat; c++ {
		var s float64
		for i := idx.off[c]; i < idx.off[c+1]; i++ {
			s += idx.cum[i]
			idx.cum[i] = s
		}
	}
	return idx
}

// draw returns a Pin of category c, or -1 when the category has none.
func (idx categoryIndex) draw(r *rand.Rand, c int32) int32 {
	seg := cumulative{cum: idx.cum[idx.off[c]:idx.off[c+1]]}
	i := seg.draw(r)
	if i < 0 {
		return -1
	}
	return idx.pins[idx.off[c]+i]
}

func newGenerator(cfg WorldConfig, seed uint64) *generator {
	g := &generator{cfg: cfg, seed: seed, dim: cfg.Taxonomy.LatentDim, nCat: cfg.NumCategories()}
	g.catsPerPin = normalizeMix(cfg.Pins.CategoriesPerPin)
	g.ageMix = normalizeMix(cfg.Users.AgeMix)
	g.genderMix = normalizeMix(cfg.Users.GenderMix)
	w := make([]float64, len(cfg.Users.Countries))
	for i, c := range cfg.Users.Countries {
		w[i] = c.Weight
		g.countries = append(g.countries, c.Code)
	}
	g.countryMix = normalizeMix(w)
	g.eventTypes = normalizeMix(cfg.History.EventTypes)
	im := cfg.Requests.IntentMix
	g.intentMix = normalizeMix([]float64{im.LongTerm, im.Exploration, im.Trend})
	return g
}

// taxonomy draws group centres, category latents and the category prior.
func (g *generator) taxonomy() {
	t := g.cfg.Taxonomy
	d := g.dim
	r := newStream().at(g.seed, stageTaxonomy, 0)
	centre := make([]float64, d)
	v := make([]float64, d)
	g.catLatent = make([]float64, g.nCat*d)
	g.categories = make([]Category, g.nCat)
	g.truthCats = make([]TruthCategory, g.nCat)
	unit := make([]float32, d)
	for gr := 0; gr < t.Groups; gr++ {
		gaussianVec(r, centre, 1)
		normalizeTo(unit, centre)
		for i := range centre {
			centre[i] = float64(unit[i])
		}
		for j := 0; j < t.CategoriesPerGroup; j++ {
			c := gr*t.CategoriesPerGroup + j
			gaussianVec(r, v, t.WithinGroupSpread/math.Sqrt(float64(d)))
			for i := range v {
				v[i] += centre[i]
			}
			lat := make([]float32, d)
			normalizeTo(lat, v)
			for i, x := range lat {
				g.catLatent[c*d+i] = float64(x)
			}
			g.categories[c] = Category{ID: int32(c), Group: int32(gr), Name: fmt.Sprintf("group%02d/category%03d", gr, j)}
			g.truthCats[c] = TruthCategory{CategoryID: int32(c), Latent: lat}
		}
	}
	r = newStream().at(g.seed, stageCategoryPrior, 0)
	g.catPrior = make([]float64, g.nCat)
	for c := range g.catPrior {
		g.catPrior[c] = lognormal(r, 1, t.CategorySkew)
	}
	g.prior = newCumulative(g.catPrior)
	g.groupPrior = make([]cumulative, t.Groups)
	for gr := range g.groupPrior {
		g.groupPrior[gr] = newCumulative(g.catPrior[gr*t.CategoriesPerGroup : (gr+1)*t.CategoriesPerGroup])
	}
	// Demographic effects on the group logits.
	r = newStream().at(g.seed, stageDemographics, 0)
	n := NumAgeBuckets + NumGenders + len(g.countries)
	g.demo = make([][]float64, n)
	for i := range g.demo {
		g.demo[i] = make([]float64, t.Groups)
		gaussianVec(r, g.demo[i], 1)
	}
	// Trending categories of each eval day.
	e := g.cfg.Requests.EvalDays
	k := g.cfg.Requests.TrendsPerDay
	g.trends = make([][]int32, e)
	for day := range e {
		r = newStream().at(g.seed, stageTrend, uint64(day))
		seen := map[int32]bool{}
		for len(g.trends[day]) < k {
			c := int32(g.prior.draw(r))
			if !seen[c] {
				seen[c] = true
				g.trends[day] = append(g.trends[day], c)
			}
		}
	}
	g.trendMix = make([]float64, k)
	for i := range g.trendMix {
		g.trendMix[i] = math.Pow(float64(i+1), -g.cfg.Requests.TrendSkew)
	}
	g.trendMix = normalizeMix(g.trendMix)
}

// group returns the top-level group of category c.
func (g *generator) group(c int32) int { return int(c) / g.cfg.Taxonomy.CategoriesPerGroup }

// sibling draws a category of c's group other than c by the prior; c itself
// when the group has one category.
func (g *generator) sibling(r *rand.Rand, c int32) int32 {
	cpg := g.cfg.Taxonomy.CategoriesPerGroup
	if cpg == 1 {
		return c
	}
	gr := g.group(c)
	for range 16 {
		s := int32(gr*cpg + g.groupPrior[gr].draw(r))
		if s != c {
			return s
		}
	}
	// A category that dominates its group's prior: take the next one.
	return int32(gr*cpg + (int(c)-gr*cpg+1)%cpg)
}

// pinCategories draws a Pin's true categories and the listed ones (true
// categories with label noise), both sorted by descending confidence.
func (g *generator) pinCategories(r *rand.Rand) (truth, listed []CategoryScore) {
	p := g.cfg.Pins
	k := categorical(r, g.catsPerPin, 1) + 1
	k = min(k, g.nCat)
	cats := make([]int32, 0, k)
	has := func(c int32) bool { return slices.Contains(cats, c) }
	cats = append(cats, int32(g.prior.draw(r)))
	for tries := 0; len(cats) < k && tries < 64; tries++ {
		var c int32
		if r.Float64() < p.SameGroup {
			c = g.sibling(r, cats[0])
		} else {
			c = int32(g.prior.draw(r))
		}
		if !has(c) {
			cats = append(cats, c)
		}
	}
	k = len(cats)
	u := make([]float64, k)
	var s float64
	for i := range u {
		u[i] = 0.2 + r.ExpFloat64()
		s += u[i]
	}
	slices.SortFunc(u, func(a, b float64) int { return cmpFloat(b, a) })
	total := p.MinTotalConfidence + (1-p.MinTotalConfidence)*r.Float64()
	truth = make([]CategoryScore, k)
	for i := range truth {
		truth[i] = CategoryScore{Category: cats[i], Confidence: float32(total * u[i] / s)}
	}
	listed = slices.Clone(truth)
	for i := range listed {
		if r.Float64() >= p.LabelNoise {
			continue
		}
		for range 16 {
			c := int32(g.prior.draw(r))
			if !slices.ContainsFunc(listed, func(x CategoryScore) bool { return x.Category == c }) {
				listed[i].Category = c
				break
			}
		}
	}
	return truth, listed
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// adPins draws the ad Pins, their truth and the by-category ad index.
func (g *generator) adPins() ([]AdPin, []TruthAdPin) {
	p := g.cfg.Pins
	n := g.cfg.Sizes.AdPins
	d := g.dim
	ads := make([]AdPin, n)
	truth := make([]TruthAdPin, n)
	trueCats := make([][]CategoryScore, n)
	g.adPop = make([]float64, n)
	s := newStream()
	v := make([]float64, d)
	z := make([]float64, d)
	qLogit := math.Log(p.QualityMean / (1 - p.QualityMean))
	for i := range ads {
		r := s.at(g.seed, stageAdPin, uint64(i))
		tc, listed := g.pinCategories(r)
		trueCats[i] = tc
		var tot float64
		for _, c := range tc {
			tot += float64(c.Confidence)
		}
		clear(v)
		for _, c := range tc {
			w := float64(c.Confidence) / tot
			for j := range v {
				v[j] += w * g.catLatent[int(c.Category)*d+j]
			}
		}
		gaussianVec(r, z, p.LatentNoise/math.Sqrt(float64(d)))
		for j := range v {
			v[j] += z[j]
		}
		lat := make([]float32, d)
		normalizeTo(lat, v)
		pop := lognormal(r, 1, p.PopularitySigma)
		g.adPop[i] = pop
		quality := Sigmoid(qLogit + p.QualitySigma*r.NormFloat64())
		ads[i] = AdPin{
			ID:              int32(i),
			Advertiser:      g.advertiser(r, tc[0].Category),
			Categories:      listed,
			Bid:             float32(max(0.01, lognormal(r, p.BidMedian, p.BidSigma))),
			Quality:         float32(min(1, max(1e-3, quality))),
			ConversionValue: float32(lognormal(r, p.ValueMedian, p.ValueSigma)),
		}
		truth[i] = TruthAdPin{AdPinID: int32(i), Latent: lat, Popularity: float32(max(pop, 1e-6))}
	}
	g.adsByCat = buildCategoryIndex(g.nCat, trueCats, g.adPop)
	g.adsAll = newCumulative(g.adPop)
	return ads, truth
}

// advertiser draws the advertiser of an ad whose primary category is c.
// Advertisers specialise: advertiser a's home category is a mod categories,
// so ads of one advertiser share a category.
func (g *generator) advertiser(r *rand.Rand, c int32) int32 {
	a := g.cfg.Sizes.Advertisers
	if a <= g.nCat {
		return c % int32(a)
	}
	// Advertisers c, c+nCat, c+2nCat, ... below a share home category c.
	n := (a - int(c) + g.nCat - 1) / g.nCat
	return c + int32(g.nCat*r.IntN(n))
}

// organicPins draws the organic Pins and the subject-Pin samplers.
func (g *generator) organicPins() []OrganicPin {
	n := g.cfg.Sizes.OrganicPins
	pins := make([]OrganicPin, n)
	trueCats := make([][]CategoryScore, n)
	pop := make([]float64, n)
	g.orgCats = make([][]CategoryScore, n)
	s := newStream()
	for i := range pins {
		r := s.at(g.seed, stageOrganicPin, uint64(i))
		tc, listed := g.pinCategories(r)
		trueCats[i] = tc
		pop[i] = lognormal(r, 1, g.cfg.Pins.PopularitySigma)
		pins[i] = OrganicPin{ID: int32(i), Categories: listed}
		g.orgCats[i] = listed
	}
	g.orgByCat = buildCategoryIndex(g.nCat, trueCats, pop)
	g.orgAll = newCumulative(pop)
	return pins
}

// userChunk is the output of one chunk of users.
type userChunk struct {
	users  []User
	events []Event
	truth  []TruthUser
}

// writeUsers draws every user with their offsite events and streams
// users.parquet, events.parquet and truth/users.parquet. It keeps each
// user's interest state at the start of the eval window for writeRequests.
func (g *generator) writeUsers(ctx context.Context, outDir string, progress func(string, int64, int64)) (users, events int64, err error) {
	n := g.cfg.Sizes.Users
	maxA := g.cfg.Users.MaxAnchors
	g.anchors = make([]int32, n*maxA)
	g.weights = make([]float32, n*maxA)
	g.nAnchors = make([]uint8, n)
	act := make([]float64, n)

	uw, err := CreateTable[User](filepath.Join(outDir, UsersFile))
	if err != nil {
		return 0, 0, err
	}
	defer uw.Abort()
	ew, err := CreateTable[Event](filepath.Join(outDir, EventsFile))
	if err != nil {
		return 0, 0, err
	}
	defer ew.Abort()
	tw, err := CreateTable[TruthUser](filepath.Join(outDir, TruthUsersFile))
	if err != nil {
		return 0, 0, err
	}
	defer tw.Abort()

	chunks := (n + usersPerChunk - 1) / usersPerChunk
	err = orderedChunks(ctx, chunks, func(ci int) (userChunk, error) {
		lo, hi := ci*usersPerChunk, min(n, (ci+1)*usersPerChunk)
		out := userChunk{users: make([]User, 0, hi-lo), truth: make([]TruthUser, 0, hi-lo)}
		ug := newUserGen(g)
		for u := lo; u < hi; u++ {
			user, tu, a := ug.user(u, &out.events)
			out.users = append(out.users, user)
			out.truth = append(out.truth, tu)
			act[u] = a
		}
		return out, nil
	}, func(ci int, c userChunk) error {
		if err := uw.Write(c.users); err != nil {
			return err
		}
		if err := ew.Write(c.events); err != nil {
			return err
		}
		if err := tw.Write(c.truth); err != nil {
			return err
		}
		progress("users", int64(min(n, (ci+1)*usersPerChunk)), int64(n))
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("generate users: %w", err)
	}
	for _, w := range []interface{ Close() error }{uw, ew, tw} {
		if err := w.Close(); err != nil {
			return 0, 0, fmt.Errorf("generate users: %w", err)
		}
	}
	g.activity = newCumulative(act)
	return uw.Rows(), ew.Rows(), nil
}

// userGen draws users; one per goroutine, reusing its buffers.
type userGen struct {
	g        *generator
	s        *stream
	logits   []float64
	logw     []float64
	anchors  []int32
	times    []int64
	v        []float64
	interest []float64
}

func newUserGen(g *generator) *userGen {
	return &userGen{
		g: g, s: newStream(),
		logits: make([]float64, g.cfg.Taxonomy.Groups),
		v:      make([]float64, g.dim),
	}
}

// drawAnchor draws a category by the user's group mix and the category
// prior, distinct from the current anchors when possible.
func (ug *userGen) drawAnchor(r *rand.Rand, groupW []float64, total float64) int32 {
	cpg := ug.g.cfg.Taxonomy.CategoriesPerGroup
	var c int32
	for range 16 {
		gr := categorical(r, groupW, total)
		c = int32(gr*cpg + ug.g.groupPrior[gr].draw(r))
		if !slices.Contains(ug.anchors, c) {
			return c
		}
	}
	return c
}

// user draws user u, appends their events (history and eval window, sorted
// by timestamp) to events, records their eval-start state in the generator
// and returns the user row, the truth row and the activity.
func (ug *userGen) user(u int, events *[]Event) (User, TruthUser, float64) {
	g := ug.g
	cfg := g.cfg
	r := ug.s.at(g.seed, stageUser, uint64(u))
	age := categorical(r, g.ageMix, 1)
	gender := categorical(r, g.genderMix, 1)
	country := categorical(r, g.countryMix, 1)

	// Long-term group mix: demographic effects plus an idiosyncratic part.
	ds := cfg.Users.DemographicStrength / math.Sqrt(3)
	ea, eg, ec := g.demo[age], g.demo[NumAgeBuckets+gender], g.demo[NumAgeBuckets+NumGenders+country]
	mx := math.Inf(-1)
	for i := range ug.logits {
		ug.logits[i] = ds*(ea[i]+eg[i]+ec[i]) + r.NormFloat64()
		mx = max(mx, ug.logits[i])
	}
	var total float64
	for i := range ug.logits {
		ug.logits[i] = math.Exp(ug.logits[i] - mx)
		total += ug.logits[i]
	}
	k := min(cfg.Users.MaxAnchors, 1+poisson(r, cfg.Users.AnchorsMean-1))
	ug.anchors = ug.anchors[:0]
	ug.logw = ug.logw[:0]
	for range k {
		ug.anchors = append(ug.anchors, ug.drawAnchor(r, ug.logits, total))
		ug.logw = append(ug.logw, r.NormFloat64())
	}

	// Activity and history length, correlated on the log scale.
	h := cfg.History
	za := r.NormFloat64()
	activity := math.Exp(cfg.Users.ActivitySigma * za)
	rho := h.ActivityCorrelation
	zl := rho*za + math.Sqrt(1-rho*rho)*r.NormFloat64()
	length := HistoryLength(h, zl)
	evalDays := cfg.Requests.EvalDays
	fresh := poisson(r, float64(length)/float64(h.Days)*float64(evalDays)*h.EvalRate)
	fresh = min(fresh, evalDays*SecondsPerDay/2)

	// Event times: uniform within each window, strictly increasing.
	ug.times = ug.times[:0]
	histEnd := int64(h.Days) * SecondsPerDay
	ug.times = appendTimes(r, ug.times, 0, histEnd, length)
	ug.times = appendTimes(r, ug.times, histEnd, histEnd+int64(evalDays)*SecondsPerDay, fresh)

	first := len(*events)
	ei := 0
	maxA := cfg.Users.MaxAnchors
	var tu TruthUser
	w := make([]float64, 0, maxA)
	softmax := func() float64 {
		w = w[:0]
		m := math.Inf(-1)
		for _, x := range ug.logw {
			m = max(m, x)
		}
		var s float64
		for _, x := range ug.logw {
			w = append(w, math.Exp(x-m))
			s += w[len(w)-1]
		}
		return s
	}
	wsum := softmax()
	for day := 0; day < h.Days+evalDays; day++ {
		if day > 0 {
			// Slow drift: a random walk of the anchors' log-weights and,
			// rarely, a new anchor in place of the weakest.
			for i := range ug.logw {
				ug.logw[i] += h.DriftSigmaPerDay * r.NormFloat64()
			}
			if r.Float64() < h.AnchorSwapPerDay {
				weak := 0
				for i, x := range ug.logw {
					if x < ug.logw[weak] {
						weak = i
					}
				}
				ug.anchors[weak] = ug.drawAnchor(r, ug.logits, total)
				ug.logw[weak] = r.NormFloat64()
			}
			wsum = softmax()
		}
		if day == h.Days {
			tu = ug.snapshot(u, w, wsum)
		}
		dayEnd := int64(day+1) * SecondsPerDay
		for ; ei < len(ug.times) && ug.times[ei] < dayEnd; ei++ {
			var ad int32
			prev := len(*events) - first
			switch {
			case prev > 0 && r.Float64() < h.RepeatProb:
				// Add to cart, then check out: an ad of a recent event again.
				back := 1 + r.IntN(min(prev, 5))
				ad = (*events)[len(*events)-back].AdPinID
			default:
				var c int32
				if r.Float64() < h.EventNoise {
					c = int32(g.prior.draw(r))
				} else {
					c = ug.anchors[categorical(r, w, wsum)]
				}
				ad = g.adsByCat.draw(r, c)
				if ad < 0 {
					ad = int32(g.adsAll.draw(r))
				}
			}
			*events = append(*events, Event{
				UserID:    int32(u),
				AdPinID:   ad,
				Type:      int32(categorical(r, g.eventTypes, 1)),
				Timestamp: SyntheticStartTime + ug.times[ei],
			})
		}
	}
	user := User{ID: int32(u), AgeBucket: int32(age), Country: g.countries[country], Gender: int32(gender)}
	tu.Activity = float32(max(activity, 1e-6))
	return user, tu, activity
}

// snapshot records user u's anchors at the start of the eval window and
// returns the truth row with the long-term interest: the unit vector of the
// anchors' latents weighted by their softmax weights.
func (ug *userGen) snapshot(u int, w []float64, wsum float64) TruthUser {
	g := ug.g
	maxA := g.cfg.Users.MaxAnchors
	d := g.dim
	clear(ug.v)
	for i, c := range ug.anchors {
		g.anchors[u*maxA+i] = c
		g.weights[u*maxA+i] = float32(w[i] / wsum)
		for j := range ug.v {
			ug.v[j] += w[i] / wsum * g.catLatent[int(c)*d+j]
		}
	}
	g.nAnchors[u] = uint8(len(ug.anchors))
	interest := make([]float32, d)
	normalizeTo(interest, ug.v)
	return TruthUser{UserID: int32(u), Interest: interest}
}

// HistoryLength maps a standard normal draw z to a history length: the
// discretised lognormal round(median * exp(sigma z)) clamped to
// [LengthMin, LengthMax]. So P(L <= k) = Phi((ln(k+0.5) - ln median) / sigma)
// for LengthMin <= k < LengthMax.
func HistoryLength(h HistoryConfig, z float64) int {
	x := math.Round(h.LengthMedian * math.Exp(h.LengthSigma*z))
	if x < float64(h.LengthMin) {
		return h.LengthMin
	}
	if x > float64(h.LengthMax) {
		return h.LengthMax
	}
	return int(x)
}

// appendTimes appends n strictly increasing second offsets drawn uniformly
// in [lo, hi), hi - lo >= 2n.
func appendTimes(r *rand.Rand, dst []int64, lo, hi int64, n int) []int64 {
	start := len(dst)
	span := hi - lo - int64(n)
	for range n {
		dst = append(dst, lo+r.Int64N(span))
	}
	t := dst[start:]
	slices.Sort(t)
	for i := 1; i < len(t); i++ {
		if t[i] <= t[i-1] {
			t[i] = t[i-1] + 1
		}
	}
	return dst
}

// requestChunk is the output of one hour slice of requests.
type requestChunk struct {
	requests []Request
	truth    []TruthRequest
}

// writeRequests draws the sessions of every hour of the eval window and
// streams requests.parquet and truth/requests.parquet in timestamp order.
func (g *generator) writeRequests(ctx context.Context, outDir string, progress func(string, int64, int64)) (int64, error) {
	rq := g.cfg.Requests
	slicesN := rq.EvalDays * 24
	g.sliceCount = apportion(g.cfg.Sizes.Requests, slicesN, rq.DiurnalAmplitude)
	offsets := make([]int, slicesN+1)
	for s, c := range g.sliceCount {
		offsets[s+1] = offsets[s] + c
	}
	rw, err := CreateTable[Request](filepath.Join(outDir, RequestsFile))
	if err != nil {
		return 0, err
	}
	defer rw.Abort()
	tw, err := CreateTable[TruthRequest](filepath.Join(outDir, TruthRequestsFile))
	if err != nil {
		return 0, err
	}
	defer tw.Abort()
	total := int64(g.cfg.Sizes.Requests)
	salt := splitmix64(g.seed ^ 0x5eed)
	err = orderedChunks(ctx, slicesN, func(s int) (requestChunk, error) {
		return g.slice(s, offsets[s], salt), nil
	}, func(s int, c requestChunk) error {
		if err := rw.Write(c.requests); err != nil {
			return err
		}
		if err := tw.Write(c.truth); err != nil {
			return err
		}
		progress("requests", int64(offsets[s+1]), total)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("generate requests: %w", err)
	}
	if err := rw.Close(); err != nil {
		return 0, fmt.Errorf("generate requests: %w", err)
	}
	if err := tw.Close(); err != nil {
		return 0, fmt.Errorf("generate requests: %w", err)
	}
	return rw.Rows(), nil
}

// apportion splits n requests over hour slices in proportion to the diurnal
// rate 1 + a cos(2 pi (h - 20) / 24), by largest remainder.
func apportion(n, slicesN int, a float64) []int {
	w := make([]float64, slicesN)
	var tot float64
	for s := range w {
		w[s] = 1 + a*math.Cos(2*math.Pi*float64(s%24-20)/24)
		tot += w[s]
	}
	counts := make([]int, slicesN)
	type rem struct {
		frac float64
		s    int
	}
	rems := make([]rem, slicesN)
	left := n
	for s := range w {
		x := float64(n) * w[s] / tot
		counts[s] = int(x)
		left -= counts[s]
		rems[s] = rem{x - float64(counts[s]), s}
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return cmpFloat(b.frac, a.frac) })
	for i := 0; i < left; i++ {
		counts[rems[i%slicesN].s]++
	}
	return counts
}

// Intent kind indices of generator.intentMix.
var intentKinds = [3]string{IntentLongTerm, IntentExploration, IntentTrend}

// slice draws the sessions of hour slice s until it holds its share of
// requests, then sorts them by timestamp and request id.
func (g *generator) slice(s, offset int, salt uint64) requestChunk {
	rq := g.cfg.Requests
	n := g.sliceCount[s]
	r := newStream().at(g.seed, stageSlice, uint64(s))
	start := int64(g.cfg.History.Days)*SecondsPerDay + int64(s)*3600
	end := start + 3600
	day := s / 24
	d := g.dim
	maxA := g.cfg.Users.MaxAnchors
	out := requestChunk{requests: make([]Request, 0, n), truth: make([]TruthRequest, 0, n)}
	v := make([]float64, d)
	aw := make([]float64, maxA)
	for len(out.requests) < n {
		u := g.activity.draw(r)
		kind := categorical(r, g.intentMix, 1)
		var c int32
		switch kind {
		case 0: // long-term interest: one of the user's anchors
			na := int(g.nAnchors[u])
			for i := range na {
				aw[i] = float64(g.weights[u*maxA+i])
			}
			c = g.anchors[u*maxA+categorical(r, aw[:na], 1)]
			if r.Float64() < rq.NeighborProb {
				c = g.sibling(r, c)
			}
		case 1: // exploration: anywhere in the taxonomy
			c = int32(g.prior.draw(r))
		default: // today's trends
			c = g.trends[day][categorical(r, g.trendMix, 1)]
		}
		gaussianVec(r, v, rq.IntentSpread/math.Sqrt(float64(d)))
		for j := range v {
			v[j] += g.catLatent[int(c)*d+j]
		}
		intent := make([]float32, d)
		normalizeTo(intent, v)

		length := geometric(r, rq.SessionLengthMean)
		t := start + r.Int64N(3600)
		for k := 0; k < length && t < end && len(out.requests) < n; k++ {
			id := scramble63(uint64(offset+len(out.requests)), salt)
			pin := g.subject(r, c)
			var cats []CategoryScore
			if r.Float64() >= rq.ContextDrop {
				cats = g.orgCats[pin]
				cats = cats[:min(len(cats), rq.LoggedCategories)]
			}
			out.requests = append(out.requests, Request{
				RequestID:         id,
				UserID:            int32(u),
				Timestamp:         SyntheticStartTime + t,
				Surface:           SurfaceRelatedPins,
				SubjectPinID:      pin,
				SubjectCategories: cats,
			})
			out.truth = append(out.truth, TruthRequest{RequestID: id, IntentKind: intentKinds[kind], IntentCategory: c, Intent: intent})
			t += 1 + int64(r.ExpFloat64()*rq.SessionGapSeconds)
		}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		ra, rb := &out.requests[a], &out.requests[b]
		if ra.Timestamp != rb.Timestamp {
			return cmpInt64(ra.Timestamp, rb.Timestamp)
		}
		return cmpInt64(ra.RequestID, rb.RequestID)
	})
	sorted := requestChunk{requests: make([]Request, n), truth: make([]TruthRequest, n)}
	for i, j := range idx {
		sorted.requests[i] = out.requests[j]
		sorted.truth[i] = out.truth[j]
	}
	return sorted
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// subject draws the subject Pin of a request whose session intent is
// category c: of c itself, of a sibling category, or any Pin by popularity.
func (g *generator) subject(r *rand.Rand, c int32) int32 {
	rq := g.cfg.Requests
	u := r.Float64()
	pin := int32(-1)
	switch {
	case u < rq.SubjectInCategory:
		pin = g.orgByCat.draw(r, c)
	case u < rq.SubjectInCategory+rq.SubjectInGroup:
		pin = g.orgByCat.draw(r, g.sibling(r, c))
	}
	if pin < 0 {
		pin = int32(g.orgAll.draw(r))
	}
	return pin
}

// workers is the number of goroutines generating chunks.
func workers() int { return max(1, min(2, runtime.GOMAXPROCS(0))) }

// orderedChunks runs produce for chunks 0..n-1 on a few goroutines and calls
// consume with each result in chunk order, holding at most a few results in
// memory. It stops at the first error or when ctx is done.
func orderedChunks[R any](ctx context.Context, n int, produce func(i int) (R, error), consume func(i int, r R) error) error {
	type result struct {
		r   R
		err error
	}
	type job struct {
		i  int
		ch chan result
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nw := workers()
	queue := make(chan chan result, 2*nw)
	jobs := make(chan job)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(queue)
		defer close(jobs)
		for i := 0; i < n; i++ {
			ch := make(chan result, 1)
			select {
			case queue <- ch:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{i, ch}:
			case <-ctx.Done():
				ch <- result{err: ctx.Err()}
				return
			}
		}
	}()
	for range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := ctx.Err(); err != nil {
					j.ch <- result{err: err}
					continue
				}
				r, err := produce(j.i)
				j.ch <- result{r, err}
			}
		}()
	}
	var err error
	i := 0
	for ch := range queue {
		res := <-ch
		if err == nil {
			err = res.err
			if err == nil {
				err = consume(i, res.r)
			}
			if err != nil {
				cancel()
			}
		}
		i++
	}
	wg.Wait()
	if err == nil && i < n {
		err = ctx.Err()
	}
	return err
}
