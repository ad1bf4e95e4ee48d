package datasets

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// tinyConfig is smaller than the small preset, for tests that generate
// several worlds.
func tinyConfig() WorldConfig {
	c := SmallWorldConfig()
	c.Sizes = SizesConfig{Users: 500, AdPins: 300, OrganicPins: 1000, Requests: 2000, Advertisers: 50}
	return c
}

func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range append(slices.Clone(TableFiles), ManifestFile) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := tinyConfig()
	gen := func(seed uint64, procs int) (string, *Manifest) {
		t.Helper()
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		dir := t.TempDir()
		m, err := Generate(context.Background(), cfg, seed, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		return dir, m
	}
	dirA, mA := gen(1, 2)
	dirB, mB := gen(1, 1) // one worker: a different schedule, the same bytes
	dirC, mC := gen(2, 2)
	if mA.Hash != mB.Hash {
		t.Errorf("same seed: manifest hashes %s and %s differ", mA.Hash, mB.Hash)
	}
	filesA, filesB := readAll(t, dirA), readAll(t, dirB)
	if len(filesA) != len(TableFiles)-1+1 { // every table but impressions, and the manifest
		t.Errorf("generated %d files, want %d", len(filesA), len(TableFiles))
	}
	for name, a := range filesA {
		if !bytes.Equal(a, filesB[name]) {
			t.Errorf("same seed: %s differs between 2 workers and 1", name)
		}
	}
	if mA.Hash == mC.Hash {
		t.Errorf("seeds 1 and 2 give the same data hash %s", mA.Hash)
	}
	filesC := readAll(t, dirC)
	for _, name := range []string{AdPinsFile, UsersFile, EventsFile, RequestsFile, TruthUsersFile} {
		if bytes.Equal(filesA[name], filesC[name]) {
			t.Errorf("seeds 1 and 2 give the same %s", name)
		}
	}
}

func TestGenerateManifest(t *testing.T) {
	dir := smallWorld(t)
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := SmallWorldConfig()
	if m.Kind != "synthetic" || m.Seed != smallSeed || m.StartTime != SyntheticStartTime ||
		m.EvalStartDay != cfg.History.Days || m.EvalDays != cfg.Requests.EvalDays || m.LatentDim != cfg.Taxonomy.LatentDim {
		t.Errorf("manifest = %+v, want kind synthetic, seed %d, start %d, eval %d+%d, dim %d",
			m, smallSeed, SyntheticStartTime, cfg.History.Days, cfg.Requests.EvalDays, cfg.Taxonomy.LatentDim)
	}
	if m.Response == nil || *m.Response != cfg.Response {
		t.Errorf("manifest response = %+v, want %+v", m.Response, cfg.Response)
	}
	got, err := ManifestWorldConfig(m)
	if err != nil {
		t.Fatal(err)
	}
	if got.Sizes != cfg.Sizes || got.History.LengthMedian != cfg.History.LengthMedian {
		t.Errorf("ManifestWorldConfig sizes = %+v, want %+v", got.Sizes, cfg.Sizes)
	}
	for name, want := range map[string]int64{
		UsersFile: int64(cfg.Sizes.Users), AdPinsFile: int64(cfg.Sizes.AdPins), OrganicPinsFile: int64(cfg.Sizes.OrganicPins),
		RequestsFile: int64(cfg.Sizes.Requests), TruthRequestsFile: int64(cfg.Sizes.Requests),
		CategoriesFile: int64(cfg.NumCategories()),
	} {
		if m.Files[name].Rows != want {
			t.Errorf("manifest %s rows = %d, want %d", name, m.Files[name].Rows, want)
		}
	}
	if DataHash(m) != m.Hash {
		t.Errorf("manifest hash %s, recomputed %s", m.Hash, DataHash(m))
	}
}

func TestGeneratedWorldValidates(t *testing.T) {
	problems, err := Validate(context.Background(), smallWorld(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("problem: %s", p)
	}
}

// normalCDF is the standard normal distribution function.
func normalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// historyPMF is the exact distribution of HistoryLength for a standard
// normal z, computed independently of the generator from the closed form
// P(L <= k) = Phi((ln(k+0.5) - ln median) / sigma).
func historyPMF(h HistoryConfig) []float64 {
	cdf := func(k int) float64 {
		if k < h.LengthMin {
			return 0
		}
		if k >= h.LengthMax {
			return 1
		}
		return normalCDF((math.Log(float64(k)+0.5) - math.Log(h.LengthMedian)) / h.LengthSigma)
	}
	p := make([]float64, h.LengthMax+1)
	for k := h.LengthMin; k <= h.LengthMax; k++ {
		p[k] = cdf(k) - cdf(k-1)
	}
	return p
}

func TestHistoryLengthDistribution(t *testing.T) {
	w, err := Open(smallWorld(t), OpenOptions{SkipRequests: true})
	if err != nil {
		t.Fatal(err)
	}
	h := SmallWorldConfig().History
	evalStart := w.DayStart(w.Manifest.EvalStartDay)
	lengths := make([]int, len(w.Users))
	for u := range w.Users {
		lengths[u] = len(w.HistoryBefore(int32(u), evalStart))
	}
	n := float64(len(lengths))
	pmf := historyPMF(h)
	var mean, sq float64
	for k, p := range pmf {
		mean += float64(k) * p
		sq += float64(k) * float64(k) * p
	}
	sd := math.Sqrt(sq - mean*mean)
	var got float64
	for _, l := range lengths {
		if l < h.LengthMin || l > h.LengthMax {
			t.Fatalf("history length %d outside [%d, %d]", l, h.LengthMin, h.LengthMax)
		}
		got += float64(l)
	}
	got /= n
	if tol := 4 * sd / math.Sqrt(n); math.Abs(got-mean) > tol {
		t.Errorf("mean history length = %.3f, want %.3f +- %.3f", got, mean, tol)
	}
	for _, k := range []int{1, 2, 4, 8, 16, 32, 64, 128} {
		var want float64
		for j := 0; j <= k; j++ {
			want += pmf[j]
		}
		var c float64
		for _, l := range lengths {
			if l <= k {
				c++
			}
		}
		tol := 4*math.Sqrt(want*(1-want)/n) + 1/n
		if math.Abs(c/n-want) > tol {
			t.Errorf("P(history length <= %d) = %.4f, want %.4f +- %.4f", k, c/n, want, tol)
		}
	}
}

// checkMix compares observed counts with a normalised weight vector, each
// share within 4 sigma of a multinomial with the given design effect (the
// variance inflation of clustered draws).
func checkMix(t *testing.T, name string, keys []string, counts []float64, weights []float64, deff float64) {
	t.Helper()
	want := normalizeMix(weights)
	var n float64
	for _, c := range counts {
		n += c
	}
	for i, k := range keys {
		got := counts[i] / n
		tol := 4*math.Sqrt(deff*want[i]*(1-want[i])/n) + 1/n
		if math.Abs(got-want[i]) > tol {
			t.Errorf("%s share of %s = %.4f, want %.4f +- %.4f (n=%v)", name, k, got, want[i], tol, n)
		}
	}
}

func TestMixesFollowConfig(t *testing.T) {
	dir := smallWorld(t)
	cfg := SmallWorldConfig()
	w, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := OpenTruth(dir, w)
	if err != nil {
		t.Fatal(err)
	}
	catsPerPin := make([]float64, 3)
	for _, a := range w.AdPins {
		catsPerPin[len(a.Categories)-1]++
	}
	for _, p := range w.OrganicPins {
		catsPerPin[len(p.Categories)-1]++
	}
	intents := make([]float64, 3)
	for _, r := range tr.Requests {
		intents[slices.Index(intentKinds[:], r.IntentKind)]++
	}
	types := make([]float64, NumEventTypes)
	for _, e := range w.Events {
		types[e.Type]++
	}
	ages := make([]float64, NumAgeBuckets)
	for _, u := range w.Users {
		ages[u.AgeBucket]++
	}
	// Requests of one session share the intent: with Geometric(m) session
	// lengths the variance of a share grows by E[S^2]/E[S] = 2m - 1.
	sessionDeff := 2*cfg.Requests.SessionLengthMean - 1
	im := cfg.Requests.IntentMix
	for _, tc := range []struct {
		name    string
		keys    []string
		counts  []float64
		weights []float64
		deff    float64
	}{
		{"categories per Pin", []string{"1", "2", "3"}, catsPerPin, cfg.Pins.CategoriesPerPin, 1},
		{"session intent", intentKinds[:], intents, []float64{im.LongTerm, im.Exploration, im.Trend}, sessionDeff},
		{"event type", EventTypeNames[:], types, cfg.History.EventTypes, 1},
		{"age bucket", AgeBucketNames[:], ages, cfg.Users.AgeMix, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkMix(t, tc.name, tc.keys, tc.counts, tc.weights, tc.deff)
		})
	}
}

// TestStory checks the parts of the generative story that make the answer
// depend on context: long-term intents follow the user's interest, others do
// not; the subject Pin's logged categories carry the intent only part of the
// time; users keep converting during the eval window.
func TestStory(t *testing.T) {
	dir := smallWorld(t)
	cfg := SmallWorldConfig()
	w, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := OpenTruth(dir, w)
	if err != nil {
		t.Fatal(err)
	}
	cos := map[string]float64{}
	count := map[string]float64{}
	var inLog float64
	for i, r := range w.Requests {
		x := tr.Requests[i]
		cos[x.IntentKind] += Dot(x.Intent, tr.Users[r.UserID].Interest)
		count[x.IntentKind]++
		for _, c := range r.SubjectCategories {
			if c.Category == x.IntentCategory {
				inLog++
				break
			}
		}
	}
	lt := cos[IntentLongTerm] / count[IntentLongTerm]
	ex := cos[IntentExploration] / count[IntentExploration]
	if lt < ex+0.2 {
		t.Errorf("mean cos(intent, interest): long_term %.3f, exploration %.3f; want long_term higher by 0.2", lt, ex)
	}
	// The subject Pin is of the intent category with probability
	// subject_in_category; its listed categories keep that category unless
	// label noise replaced it or the log dropped the context. Other subjects
	// add a little on top.
	rq := cfg.Requests
	n := float64(len(w.Requests))
	share := inLog / n
	lo := rq.SubjectInCategory * (1 - rq.ContextDrop) * (1 - cfg.Pins.LabelNoise)
	tol := 4 * math.Sqrt(3*lo*(1-lo)/n)
	if share < lo-tol || share > lo+(1-rq.SubjectInCategory)*0.5 {
		t.Errorf("share of requests whose logged categories hold the intent = %.3f, want in [%.3f, %.3f]",
			share, lo-tol, lo+(1-rq.SubjectInCategory)*0.5)
	}
	evalStart := w.DayStart(w.Manifest.EvalStartDay)
	var fresh int
	for u := range w.Users {
		if len(w.History(int32(u))) > len(w.HistoryBefore(int32(u), evalStart)) {
			fresh++
		}
	}
	if fresh == 0 || fresh == len(w.Users) {
		t.Errorf("%d of %d users convert during the eval window, want some but not all", fresh, len(w.Users))
	}
}

func TestDemographicsShiftInterest(t *testing.T) {
	// With demographic signal, users of one country share interests more
	// than users of different countries; without it, they do not.
	gap := func(strength float64) float64 {
		t.Helper()
		cfg := tinyConfig()
		cfg.Sizes.Users = 1500
		cfg.Sizes.Requests = 10
		cfg.Users.DemographicStrength = strength
		dir := t.TempDir()
		if _, err := Generate(context.Background(), cfg, 3, dir, nil); err != nil {
			t.Fatal(err)
		}
		w, err := Open(dir, OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := OpenTruth(dir, w)
		if err != nil {
			t.Fatal(err)
		}
		var same, diff, ns, nd float64
		for i := 0; i+1 < len(w.Users); i += 2 {
			for j := i + 1; j < min(i+40, len(w.Users)); j++ {
				c := Dot(tr.Users[i].Interest, tr.Users[j].Interest)
				if w.Users[i].Country == w.Users[j].Country && w.Users[i].AgeBucket == w.Users[j].AgeBucket {
					same += c
					ns++
				} else {
					diff += c
					nd++
				}
			}
		}
		return same/ns - diff/nd
	}
	with, without := gap(3), gap(0)
	if with < without+0.05 {
		t.Errorf("interest similarity gap (same minus different demographics) = %.3f with signal, %.3f without; want a larger gap with signal", with, without)
	}
}

func TestGenerateRefusesExistingDataset(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(context.Background(), tinyConfig(), 1, dir, nil)
	if err == nil || !strings.Contains(err.Error(), "already holds a dataset") {
		t.Fatalf("Generate into a dataset folder: error = %v, want one saying it already holds a dataset", err)
	}
}

func TestGenerateCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Generate(ctx, tinyConfig(), 1, dir, func(stage string, done, total int64) {
		calls++
		if stage == "users" {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Generate cancelled: error = %v, want context.Canceled", err)
	}
	var left []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("cancelled Generate left files: %v", left)
	}
}

func TestGenerateBadConfig(t *testing.T) {
	cfg := tinyConfig()
	cfg.Sizes.Users = 0
	_, err := Generate(context.Background(), cfg, 1, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "sizes.users") {
		t.Fatalf("Generate(users=0) error = %v, want one naming sizes.users", err)
	}
}

func TestApportion(t *testing.T) {
	for _, tc := range []struct {
		n, slices int
		a         float64
	}{
		{0, 24, 0.4}, {1, 24, 0.4}, {100000, 168, 0.4}, {7, 168, 0.9}, {1000, 24, 0},
	} {
		c := apportion(tc.n, tc.slices, tc.a)
		var s int
		for _, x := range c {
			s += x
		}
		if s != tc.n || len(c) != tc.slices {
			t.Errorf("apportion(%d, %d, %v) sums to %d over %d slices", tc.n, tc.slices, tc.a, s, len(c))
		}
		if tc.a == 0 && tc.n%tc.slices == 0 && slices.Max(c) != slices.Min(c) {
			t.Errorf("apportion(%d, %d, 0) = %v, want equal counts", tc.n, tc.slices, c)
		}
	}
}

func TestScramble63Distinct(t *testing.T) {
	seen := map[int64]bool{}
	for i := range uint64(100000) {
		id := scramble63(i, 12345)
		if id < 0 || seen[id] {
			t.Fatalf("scramble63(%d) = %d: negative or repeated", i, id)
		}
		seen[id] = true
	}
}

func BenchmarkGenerateSmall(b *testing.B) {
	benchmarkGenerate(b, SmallWorldConfig())
}

func BenchmarkGenerateDefault(b *testing.B) {
	benchmarkGenerate(b, DefaultWorldConfig())
}

// BenchmarkGenerateLarge runs only with CGBENCH_LARGE=1: it writes ~2 GB.
func BenchmarkGenerateLarge(b *testing.B) {
	if os.Getenv("CGBENCH_LARGE") == "" {
		b.Skip("set CGBENCH_LARGE=1 to generate the large preset")
	}
	benchmarkGenerate(b, LargeWorldConfig())
}

func benchmarkGenerate(b *testing.B, cfg WorldConfig) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		dir := b.TempDir()
		if _, err := Generate(context.Background(), cfg, uint64(i), dir, nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(cfg.Sizes.Requests), "requests/op")
}
