package sim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/cgbench/cgbench/datasets"
)

// Arm is one CG mix replayed over the request log, e.g. the production mix
// or the production mix with one CG swapped.
type Arm struct {
	Name string
	CGs  []Generator // distinct names, 1..64
}

// Defaults of ReplayConfig.
const (
	DefaultWorkers   = 2
	DefaultChunkSize = 256
)

// ReplayConfig configures a replay.
type ReplayConfig struct {
	Funnel    FunnelConfig
	Staleness Staleness // the cutoff of every CG's queries (WithStaleness overrides it per CG)
	Seed      uint64    // seeds the funnel noise and the responses, per (request, ad Pin)
	Workers   int       // goroutines; 0 means DefaultWorkers
	// Days keeps only the requests of these day indexes; nil keeps all.
	Days []int
	// MaxRequests stops after this many selected requests; 0 means all.
	MaxRequests int
	// Shards > 1 splits the log by a hash of the request id and replays
	// only shard Shard (0 <= Shard < Shards). Every draw depends on (seed,
	// request id, ad Pin) only, so the shards' rows together are exactly
	// the unsharded rows, and their summaries Merge into its summary.
	Shard, Shards int
	// ChunkSize is the requests per unit of work; 0 means
	// DefaultChunkSize. Memory grows with ChunkSize x Workers x arms x
	// candidates per request.
	ChunkSize int
	// Response overrides the world's true response model
	// (Manifest.Response) when non-nil.
	Response *datasets.ResponseConfig
}

// ReplaySummary holds the funnel counts of a replay, per arm and CG.
type ReplaySummary struct {
	Requests int64        `json:"requests"`
	Arms     []ArmSummary `json:"arms"`
}

// ArmSummary holds one arm's funnel counts.
type ArmSummary struct {
	Name        string  `json:"name"`
	Requests    int64   `json:"requests"`
	Impressions int64   `json:"impressions"`
	Clicks      int64   `json:"clicks"`
	Conversions int64   `json:"conversions"`
	Spend       float64 `json:"spend"` // USD
	Value       float64 `json:"value"` // conversion value, USD
	// Unique counts the merged (deduplicated) candidates that reached each
	// stage, indexed by datasets.Stage*.
	Unique [datasets.NumStages]int64 `json:"unique"`
	CGs    []CGSummary               `json:"cgs"`
}

// CGSummary holds one CG's funnel counts in an arm. A candidate retrieved by
// several CGs counts for each of them.
type CGSummary struct {
	Name string `json:"name"`
	Spec string `json:"spec"`
	// Stages counts the CG's candidates that reached each stage, indexed by
	// datasets.Stage*: Stages[0] is every retrieved candidate.
	Stages      [datasets.NumStages]int64 `json:"stages"`
	Retrieved   int64                     `json:"retrieved"`
	Impressions int64                     `json:"impressions"`
	// SoleImpressions are impressions no other CG of the arm retrieved.
	SoleImpressions int64 `json:"sole_impressions"`
	// ImpressionShare is Impressions / the arm's impressions; shares add
	// up to more than 1 when CGs overlap.
	ImpressionShare float64 `json:"impression_share"`
	// SurvivalRate is Impressions / Retrieved.
	SurvivalRate float64 `json:"survival_rate"`
}

// ReplaySchemaVersion is the version of replay.json's layout.
const ReplaySchemaVersion = 1

// ReplayManifest is replay.json: what was replayed, how, and the counts. It
// holds no timestamps, so a replay is byte-identical given its inputs.
type ReplayManifest struct {
	SchemaVersion int                     `json:"schema_version"`
	CreatedBy     string                  `json:"created_by"`
	DataHash      string                  `json:"data_hash"` // the dataset's Manifest.Hash
	Seed          uint64                  `json:"seed"`
	Staleness     string                  `json:"staleness"`
	Funnel        FunnelConfig            `json:"funnel"`
	Response      datasets.ResponseConfig `json:"response"`
	Arms          []ArmManifest           `json:"arms"`
	Days          []int                   `json:"days,omitempty"`
	MaxRequests   int                     `json:"max_requests,omitempty"`
	Shard         int                     `json:"shard,omitempty"`
	Shards        int                     `json:"shards,omitempty"`
	CandidateRows int64                   `json:"candidate_rows"`
	RequestRows   int64                   `json:"request_rows"`
	Summary       ReplaySummary           `json:"summary"`
}

// ArmManifest names an arm's CGs and their specs.
type ArmManifest struct {
	Name string       `json:"name"`
	CGs  []CGManifest `json:"cgs"`
}

// CGManifest is a CG's name and spec (its Spec() string when it has one).
type CGManifest struct {
	Name string `json:"name"`
	Spec string `json:"spec"`
}

// ReadReplayManifest reads dir/replay.json.
func ReadReplayManifest(dir string) (*ReplayManifest, error) {
	path := filepath.Join(dir, datasets.ReplayManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read replay manifest: %w", err)
	}
	var m ReplayManifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("read replay manifest %s: %w", path, err)
	}
	if m.SchemaVersion != ReplaySchemaVersion {
		return nil, fmt.Errorf("read replay manifest %s: schema version %d, want %d", path, m.SchemaVersion, ReplaySchemaVersion)
	}
	return &m, nil
}

func newSummary(arms []Arm) *ReplaySummary {
	s := &ReplaySummary{Arms: make([]ArmSummary, len(arms))}
	for a, arm := range arms {
		s.Arms[a].Name = arm.Name
		s.Arms[a].CGs = make([]CGSummary, len(arm.CGs))
		for c, g := range arm.CGs {
			s.Arms[a].CGs[c] = CGSummary{Name: g.Name(), Spec: generatorSpec(g)}
		}
	}
	return s
}

// add accumulates a chunk's counts; chunks are added in request order so
// that the float sums are deterministic.
func (s *ReplaySummary) add(o *chunkOut) {
	s.Requests += int64(o.n)
	for a := range s.Arms {
		as, st := &s.Arms[a], &o.stats[a]
		as.Requests += st.requests
		as.Impressions += st.impressions
		as.Clicks += st.clicks
		as.Conversions += st.conversions
		as.Spend += st.spend
		as.Value += st.value
		for i := range as.Unique {
			as.Unique[i] += st.unique[i]
		}
		for c := range as.CGs {
			for i := range as.CGs[c].Stages {
				as.CGs[c].Stages[i] += st.cgs[c].stages[i]
			}
			as.CGs[c].SoleImpressions += st.cgs[c].sole
		}
	}
}

func (s *ReplaySummary) finish() {
	for a := range s.Arms {
		as := &s.Arms[a]
		for c := range as.CGs {
			cs := &as.CGs[c]
			cs.Retrieved = cs.Stages[datasets.StageRetrieved]
			cs.Impressions = cs.Stages[datasets.StageImpressed]
			if as.Impressions > 0 {
				cs.ImpressionShare = float64(cs.Impressions) / float64(as.Impressions)
			}
			if cs.Retrieved > 0 {
				cs.SurvivalRate = float64(cs.Impressions) / float64(cs.Retrieved)
			}
		}
	}
}

// dayFilter returns the request filter of days, checking they lie in the
// data's days [0, EvalStartDay+EvalDays); nil days keep every request.
func dayFilter(w *datasets.World, days []int) (func(*datasets.Request) bool, error) {
	if days == nil {
		return nil, nil
	}
	end := w.Manifest.EvalStartDay + w.Manifest.EvalDays
	keep := map[int]bool{}
	for _, d := range days {
		if d < 0 || d >= end {
			return nil, fmt.Errorf("day %d outside the data's days [0, %d)", d, end)
		}
		keep[d] = true
	}
	return func(r *datasets.Request) bool { return keep[w.Day(r.Timestamp)] }, nil
}

// Replay runs every arm over the request log (w.Requests, or streamed from
// w.Dir when nil, aligned with truth.Requests likewise) and writes
// outDir/candidates.parquet (one datasets.CandidateResult per arm, CG and
// retrieved candidate), outDir/requests.parquet (one datasets.RequestResult
// per arm and request) and outDir/replay.json (ReplayManifest), each
// atomically, in request order whatever the scheduling: the same inputs give
// byte-identical files. A stale replay.json in outDir is removed first, so a
// failed replay never leaves a manifest beside other tables. progress, when
// non-nil, is called from one goroutine after each chunk.
func Replay(ctx context.Context, w *datasets.World, truth *datasets.Truth, arms []Arm, cfg ReplayConfig, outDir string, progress func(done, total int64)) (*ReplaySummary, error) {
	e, err := newEngine(w, truth, arms, cfg.Funnel, cfg.Staleness, cfg.Seed, cfg.Response)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	e.outCand, e.outReq = true, true
	workers, chunkSize, keep, err := runParams(w, cfg)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("replay: create %s: %w", outDir, err)
	}
	manifest := filepath.Join(outDir, datasets.ReplayManifestFile)
	if err := os.Remove(manifest); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("replay: remove stale %s: %w", manifest, err)
	}
	src, err := openRequests(w, truth)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer src.close()
	cands, err := datasets.CreateTable[datasets.CandidateResult](filepath.Join(outDir, datasets.ReplayCandidatesFile))
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	reqs, err := datasets.CreateTable[datasets.RequestResult](filepath.Join(outDir, datasets.ReplayRequestsFile))
	if err != nil {
		cands.Abort()
		return nil, fmt.Errorf("replay: %w", err)
	}
	sum := newSummary(arms)
	err = e.run(ctx, src, workers, chunkSize, keep, cfg.MaxRequests, func(o *chunkOut) error {
		sum.add(o)
		if err := cands.Write(o.cands); err != nil {
			return err
		}
		return reqs.Write(o.reqs)
	}, progress)
	if err == nil {
		err = cands.Close()
	}
	if err == nil {
		err = reqs.Close()
	}
	if err != nil {
		cands.Abort()
		reqs.Abort()
		return nil, fmt.Errorf("replay: %w", err)
	}
	sum.finish()
	m := NewReplayManifest("cgbench sim.Replay", w, arms, cfg, e.resp, cands.Rows(), reqs.Rows(), sum)
	if err := WriteReplayManifest(outDir, m); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	return sum, nil
}

func runParams(w *datasets.World, cfg ReplayConfig) (int, int, func(*datasets.Request) bool, error) {
	workers, chunkSize := cfg.Workers, cfg.ChunkSize
	if workers < 0 || chunkSize < 0 || cfg.MaxRequests < 0 {
		return 0, 0, nil, fmt.Errorf("workers = %d, chunk size = %d, max requests = %d: want >= 0", workers, chunkSize, cfg.MaxRequests)
	}
	if cfg.Shards < 0 || (cfg.Shards > 1 && (cfg.Shard < 0 || cfg.Shard >= cfg.Shards)) || (cfg.Shards <= 1 && cfg.Shard != 0) {
		return 0, 0, nil, fmt.Errorf("shard %d of %d: want 0 <= shard < shards", cfg.Shard, cfg.Shards)
	}
	if workers == 0 {
		workers = DefaultWorkers
	}
	if chunkSize == 0 {
		chunkSize = DefaultChunkSize
	}
	keepDay, err := dayFilter(w, cfg.Days)
	if err != nil || cfg.Shards <= 1 {
		return workers, chunkSize, keepDay, err
	}
	shard, shards := uint64(cfg.Shard), uint64(cfg.Shards)
	return workers, chunkSize, func(r *datasets.Request) bool {
		return mix64(uint64(r.RequestID))%shards == shard && (keepDay == nil || keepDay(r))
	}, nil
}

// Merge adds the counts of o, a summary of the same arms and CGs over other
// requests (another shard), to s and recomputes the shares.
func (s *ReplaySummary) Merge(o *ReplaySummary) error {
	if len(o.Arms) != len(s.Arms) {
		return fmt.Errorf("merge summaries: %d arms and %d", len(s.Arms), len(o.Arms))
	}
	for a := range s.Arms {
		x, y := &s.Arms[a], &o.Arms[a]
		if x.Name != y.Name || len(x.CGs) != len(y.CGs) {
			return fmt.Errorf("merge summaries: arm %d is %s with %d CGs and %s with %d", a, x.Name, len(x.CGs), y.Name, len(y.CGs))
		}
		for c := range x.CGs {
			if x.CGs[c].Name != y.CGs[c].Name {
				return fmt.Errorf("merge summaries: arm %s CG %d is %s and %s", x.Name, c, x.CGs[c].Name, y.CGs[c].Name)
			}
		}
	}
	s.Requests += o.Requests
	for a := range s.Arms {
		x, y := &s.Arms[a], &o.Arms[a]
		x.Requests += y.Requests
		x.Impressions += y.Impressions
		x.Clicks += y.Clicks
		x.Conversions += y.Conversions
		x.Spend += y.Spend
		x.Value += y.Value
		for i := range x.Unique {
			x.Unique[i] += y.Unique[i]
		}
		for c := range x.CGs {
			for i := range x.CGs[c].Stages {
				x.CGs[c].Stages[i] += y.CGs[c].Stages[i]
			}
			x.CGs[c].SoleImpressions += y.CGs[c].SoleImpressions
		}
	}
	s.finish()
	return nil
}

// LogProduction runs the production CG mix through the funnel over the
// request log and returns the impressions it delivers, sorted by request id
// then slot, with SourceCGs sorted (slices may be shared between rows), and
// the funnel counts of the mix (arm "production"). It draws exactly what
// Replay draws for an arm of the same CGs with the same seed, funnel and
// staleness, so a replay of the production arm reproduces the log.
func LogProduction(ctx context.Context, w *datasets.World, truth *datasets.Truth, cgs []Generator, funnel FunnelConfig, staleness Staleness, seed uint64, progress func(done, total int64)) ([]datasets.Impression, *ReplaySummary, error) {
	arms := []Arm{{Name: "production", CGs: cgs}}
	e, err := newEngine(w, truth, arms, funnel, staleness, seed, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("log production: %w", err)
	}
	e.outImp = true
	src, err := openRequests(w, truth)
	if err != nil {
		return nil, nil, fmt.Errorf("log production: %w", err)
	}
	defer src.close()
	var imps []datasets.Impression
	sum := newSummary(arms)
	err = e.run(ctx, src, DefaultWorkers, DefaultChunkSize, nil, 0, func(o *chunkOut) error {
		sum.add(o)
		imps = append(imps, o.imps...)
		return nil
	}, progress)
	if err != nil {
		return nil, nil, fmt.Errorf("log production: %w", err)
	}
	sum.finish()
	slices.SortFunc(imps, func(a, b datasets.Impression) int {
		if c := cmp.Compare(a.RequestID, b.RequestID); c != 0 {
			return c
		}
		return cmp.Compare(a.Slot, b.Slot)
	})
	return imps, sum, nil
}
