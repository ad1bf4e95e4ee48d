package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/eval"
	"github.com/cgbench/cgbench/sim"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	os.Exit(m.Run())
}

// smallWorld generates the small preset with 3000 requests into a temporary
// folder.
func smallWorld(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "world")
	cfg := datasets.SmallWorldConfig()
	cfg.Sizes.Requests = 3000
	if _, err := datasets.Generate(context.Background(), cfg, 7, dir, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// readShards concatenates the result shards of dir/sub in part order.
func readShards[T any](t *testing.T, dir, sub string) []T {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, sub, "part-*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shards in %s: %v", filepath.Join(dir, sub), err)
	}
	slices.Sort(files)
	var out []T
	for _, f := range files {
		rows, err := datasets.ReadTable[T](f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
	}
	return out
}

// TestPipelineMatchesReplay runs `cgbench replay` (sim.Replay) and `cgbench
// eval` (eval.Compute) on a small world and the Beam pipeline on Prism on
// the same world, arms and options, with ranges that do not align with the
// replay's chunks, and checks that the per-candidate and per-request rows
// are equal row for row, that replay.json agrees (but for created_by) and
// that metrics.json is byte-identical but for the provenance's paths and
// replay manifest.
func TestPipelineMatchesReplay(t *testing.T) {
	ctx := context.Background()
	world := smallWorld(t)
	dirA, dirB := filepath.Join(t.TempDir(), "replay"), filepath.Join(t.TempDir(), "beam")
	c := Config{
		Data: world, Out: dirB,
		Arms:      []string{"production=production", "no_retarget=content+popularity+history_interest"},
		Staleness: "daily", Seed: 3, MaxRequests: 2500, RangeRows: 700,
		Ks: []int{10, 100}, Segments: []string{eval.SegmentHistoryLength, eval.SegmentCountryTier},
		Reps: 50, EvalSeed: 2, Version: "test",
	}
	e, err := loadEnv(ctx, &c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Replay(ctx, e.w, e.truth, e.arms, e.cfg, dirA, nil); err != nil {
		t.Fatal(err)
	}
	opts, err := c.evalOptions()
	if err != nil {
		t.Fatal(err)
	}
	fa, err := eval.Compute(ctx, []string{dirA}, opts)
	if err != nil {
		t.Fatal(err)
	}
	n, err := run(ctx, c, "prism")
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("run planned %d ranges, want 4 (2500 requests by 700)", n)
	}

	candsA, err := datasets.ReadTable[datasets.CandidateResult](filepath.Join(dirA, datasets.ReplayCandidatesFile))
	if err != nil {
		t.Fatal(err)
	}
	candsB := readShards[datasets.CandidateResult](t, dirB, candidatesDir)
	if len(candsA) == 0 || !reflect.DeepEqual(candsA, candsB) {
		t.Errorf("candidate rows: Beam wrote %d rows, replay %d, or they differ", len(candsB), len(candsA))
	}
	reqsA, err := datasets.ReadTable[datasets.RequestResult](filepath.Join(dirA, datasets.ReplayRequestsFile))
	if err != nil {
		t.Fatal(err)
	}
	reqsB := readShards[datasets.RequestResult](t, dirB, requestsDir)
	if len(reqsA) != 2*2500 || !reflect.DeepEqual(reqsA, reqsB) {
		t.Errorf("request rows: Beam wrote %d rows, replay %d (want %d), or they differ", len(reqsB), len(reqsA), 2*2500)
	}

	ma, err := sim.ReadReplayManifest(dirA)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := sim.ReadReplayManifest(dirB)
	if err != nil {
		t.Fatal(err)
	}
	if mb.CreatedBy != "cgbench-beam" {
		t.Errorf("Beam manifest created_by = %q, want cgbench-beam", mb.CreatedBy)
	}
	mb.CreatedBy = ma.CreatedBy
	if !reflect.DeepEqual(ma, mb) {
		t.Errorf("replay.json differs:\nreplay %+v\nbeam   %+v", ma, mb)
	}

	fb, err := eval.ReadFile(filepath.Join(dirB, eval.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := fb.Provenance.Results; !slices.Equal(got, []string{dirB}) {
		t.Errorf("Beam metrics provenance results = %v, want [%s]", got, dirB)
	}
	// The legitimate differences: the folder and the manifest's created_by.
	for _, f := range []*eval.File{fa, fb} {
		f.Provenance.Results, f.Provenance.Configs, f.Provenance.ConfigHashes = nil, nil, nil
	}
	ja, err := eval.Marshal(fa)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := eval.Marshal(fb)
	if err != nil {
		t.Fatal(err)
	}
	if len(fa.Comparisons) == 0 || !bytes.Equal(ja, jb) {
		t.Errorf("metrics.json differs from eval.Compute's (%d vs %d bytes, %d comparisons)", len(jb), len(ja), len(fa.Comparisons))
	}
}

func TestMainUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"no flags", nil, 2},
		{"no out", []string{"--data", "x"}, 2},
		{"bad k", []string{"--data", "x", "--out", "y", "--k", "ten"}, 2},
		{"bad compare", []string{"--data", "x", "--out", "y", "--compare", "a"}, 2},
		{"unknown flag", []string{"--nope"}, 2},
		{"missing data", []string{"--data", filepath.Join(t.TempDir(), "none"), "--out", t.TempDir()}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("cgbench-beam", flag.ContinueOnError)
			if got := Main(context.Background(), fs, tc.args, io.Discard, io.Discard); got != tc.want {
				t.Errorf("Main(%v) = %d, want %d", tc.args, got, tc.want)
			}
		})
	}
}

func TestFlagsBindConfig(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("cgbench-beam", flag.ContinueOnError)
	bindFlags(fs, &c)
	args := []string{"--data", "d", "--out", "o", "--cg", "ctx=learned:run=r", "--arm", "a=production", "--arm", "b=production+ctx",
		"--k", "5,20", "--by", "country_tier", "--reps", "100", "--compare", "a:b", "--compare", "a/ctx:b/ctx", "--max-requests", "9"}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	want := Config{Data: "d", Out: "o", CGs: []string{"ctx=learned:run=r"}, Arms: []string{"a=production", "b=production+ctx"},
		Staleness: "daily", Seed: 1, MaxRequests: 9, RangeRows: DefaultRangeRows, Ks: []int{5, 20}, Segments: []string{"country_tier"},
		Reps: 100, EvalSeed: 1, Compare: []string{"a:b", "a/ctx:b/ctx"}, Version: "cgbench-beam"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("flags -> Config = %+v, want %+v", c, want)
	}
	opts, err := c.evalOptions()
	if err != nil {
		t.Fatal(err)
	}
	wantPairs := []eval.Pair{{A: eval.Subject{Arm: "a"}, B: eval.Subject{Arm: "b"}}, {A: eval.Subject{Arm: "a", CG: "ctx"}, B: eval.Subject{Arm: "b", CG: "ctx"}}}
	if !reflect.DeepEqual(opts.Compare, wantPairs) {
		t.Errorf("--compare -> %+v, want %+v", opts.Compare, wantPairs)
	}
}

// TestReadResults checks that a shard pair is handed over request by
// request, with requests that have no candidate rows (first, middle, last)
// in their place.
func TestReadResults(t *testing.T) {
	dir := t.TempDir()
	var reqs []datasets.RequestResult
	for _, id := range []int64{1, 2, 3, 4, 5} {
		for _, arm := range []string{"a", "b"} {
			reqs = append(reqs, datasets.RequestResult{Arm: arm, RequestID: id, UserID: int32(id)})
		}
	}
	var cands []datasets.CandidateResult
	for _, id := range []int64{2, 4} {
		for _, arm := range []string{"a", "b"} {
			for rank := range int32(3) {
				cands = append(cands, datasets.CandidateResult{Arm: arm, RequestID: id, UserID: int32(id), CG: "c", Rank: rank})
			}
		}
	}
	reqPath, candPath := filepath.Join(dir, "r.parquet"), filepath.Join(dir, "c.parquet")
	if err := datasets.WriteTable(reqPath, reqs); err != nil {
		t.Fatal(err)
	}
	if err := datasets.WriteTable(candPath, cands); err != nil {
		t.Fatal(err)
	}
	type call struct {
		id          int64
		arms, cands int
	}
	var got []call
	err := readResults(context.Background(), reqPath, candPath, func(r []datasets.RequestResult, c []datasets.CandidateResult) error {
		for _, x := range c {
			if x.RequestID != r[0].RequestID {
				t.Errorf("request %d got a candidate row of request %d", r[0].RequestID, x.RequestID)
			}
		}
		got = append(got, call{r[0].RequestID, len(r), len(c)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []call{{1, 2, 0}, {2, 2, 6}, {3, 2, 0}, {4, 2, 6}, {5, 2, 0}}
	if !slices.Equal(got, want) {
		t.Errorf("readResults calls = %v, want %v", got, want)
	}
	// Candidate rows of a request with no request row are an error.
	if err := datasets.WriteTable(candPath, append(cands, datasets.CandidateResult{Arm: "a", RequestID: 9, CG: "c"})); err != nil {
		t.Fatal(err)
	}
	if err := readResults(context.Background(), reqPath, candPath, func([]datasets.RequestResult, []datasets.CandidateResult) error { return nil }); err == nil {
		t.Error("readResults with candidate rows of an unknown request = nil error, want one")
	}
}

func TestPlan(t *testing.T) {
	data := t.TempDir()
	for name, n := range map[string]int{"log-0.parquet": 5, "log-1.parquet": 4} {
		reqs := make([]datasets.Request, n)
		for i := range reqs {
			reqs[i].RequestID = int64(i)
		}
		if err := datasets.WriteTable(filepath.Join(data, name), reqs); err != nil {
			t.Fatal(err)
		}
	}
	f0, f1 := filepath.Join(data, "log-0.parquet"), filepath.Join(data, "log-1.parquet")
	rng := func(f string, lo, hi, base int64, part, parts int) Range {
		return Range{Requests: f, Truth: filepath.Join(data, "truth", filepath.Base(f)), Lo: lo, Hi: hi, Base: base, Part: part, Parts: parts}
	}
	for _, tc := range []struct {
		name string
		c    Config
		want []Range
	}{
		{"glob, ranges of 3", Config{Data: data, Requests: []string{filepath.Join(data, "log-*.parquet")}, RangeRows: 3},
			[]Range{rng(f0, 0, 3, 0, 0, 4), rng(f0, 3, 5, 0, 1, 4), rng(f1, 0, 3, 5, 2, 4), rng(f1, 3, 4, 5, 3, 4)}},
		{"max requests inside the second file", Config{Data: data, Requests: []string{f1, f0}, RangeRows: 4, MaxRequests: 7},
			[]Range{rng(f0, 0, 4, 0, 0, 3), rng(f0, 4, 5, 0, 1, 3), rng(f1, 0, 2, 5, 2, 3)}},
		{"max requests inside the first file", Config{Data: data, Requests: []string{f0, f1}, MaxRequests: 2},
			[]Range{rng(f0, 0, 2, 0, 0, 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := plan(&tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan = %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := plan(&Config{Data: data, Requests: []string{filepath.Join(data, "none-*.parquet")}}); err == nil {
		t.Error("plan of a glob matching nothing = nil error, want one")
	}
}
