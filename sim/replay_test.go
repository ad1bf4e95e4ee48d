package sim

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

func testArms(t *testing.T, w *datasets.World) []Arm {
	mix := heuristicMix(t, w)
	return []Arm{
		{Name: "production", CGs: mix},
		{Name: "no_content", CGs: append([]Generator{&fixedCG{name: "fixed", list: cands(5, 6, 7, 8, 9)}}, mix[1:]...)},
	}
}

func readFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range []string{datasets.ReplayCandidatesFile, datasets.ReplayRequestsFile, datasets.ReplayManifestFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("read replay output: %v", err)
		}
		out[f] = b
	}
	return out
}

func TestReplayDeterministic(t *testing.T) {
	fx := newFixture(t, 21, 400, 100, 300)
	arms := testArms(t, fx.w)
	cfg := ReplayConfig{Funnel: DefaultFunnelConfig(), Staleness: StalenessDaily, Seed: 9, ChunkSize: 7}
	run := func(workers int, w *datasets.World, truth *datasets.Truth) (map[string][]byte, *ReplaySummary) {
		cfg.Workers = workers
		dir := t.TempDir()
		var last int64
		sum, err := Replay(context.Background(), w, truth, arms, cfg, dir, func(done, total int64) {
			if done < last || done > total {
				t.Errorf("progress(%d, %d) after %d", done, total, last)
			}
			last = done
		})
		if err != nil {
			t.Fatalf("Replay(workers=%d) error: %v", workers, err)
		}
		if last != 300 {
			t.Errorf("progress ended at %d, want 300", last)
		}
		return readFiles(t, dir), sum
	}
	one, sum := run(1, fx.w, fx.truth)
	two, _ := run(2, fx.w, fx.truth)
	for f := range one {
		if !bytes.Equal(one[f], two[f]) {
			t.Errorf("%s differs between 1 and 2 workers", f)
		}
	}
	t.Run("streamed from files", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, datasets.TruthDir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := datasets.WriteTable(filepath.Join(dir, datasets.RequestsFile), fx.w.Requests); err != nil {
			t.Fatal(err)
		}
		if err := datasets.WriteTable(filepath.Join(dir, datasets.TruthRequestsFile), fx.truth.Requests); err != nil {
			t.Fatal(err)
		}
		w := *fx.w
		w.Dir, w.Requests = dir, nil
		truth := *fx.truth
		truth.Requests = nil
		streamed, _ := run(2, &w, &truth)
		for f := range one {
			if !bytes.Equal(one[f], streamed[f]) {
				t.Errorf("%s differs between in-memory and streamed requests", f)
			}
		}
	})

	dir := t.TempDir()
	if _, err := Replay(context.Background(), fx.w, fx.truth, arms, cfg, dir, nil); err != nil {
		t.Fatal(err)
	}
	cands, err := datasets.ReadTable[datasets.CandidateResult](filepath.Join(dir, datasets.ReplayCandidatesFile))
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := datasets.ReadTable[datasets.RequestResult](filepath.Join(dir, datasets.ReplayRequestsFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadReplayManifest(dir)
	if err != nil {
		t.Fatalf("ReadReplayManifest error: %v", err)
	}
	t.Run("files agree with the summary", func(t *testing.T) {
		if len(reqs) != 2*300 || m.RequestRows != int64(len(reqs)) || m.CandidateRows != int64(len(cands)) {
			t.Fatalf("%d request rows, %d candidate rows; manifest says %d, %d; want 600 request rows", len(reqs), len(cands), m.RequestRows, m.CandidateRows)
		}
		if m.DataHash != "fixture-hash" || m.Staleness != "daily" || m.Seed != 9 || len(m.Arms) != 2 || m.Arms[0].CGs[0].Spec != "content=content:k=200" {
			t.Errorf("manifest provenance = %+v", m)
		}
		for _, arm := range sum.Arms {
			var imps int64
			for _, r := range reqs {
				if r.Arm == arm.Name {
					imps += int64(r.Impressions)
				}
			}
			if imps != arm.Impressions || imps == 0 {
				t.Errorf("arm %s: %d impressions in requests.parquet, summary %d", arm.Name, imps, arm.Impressions)
			}
			for _, cg := range arm.CGs {
				var stages [datasets.NumStages]int64
				for _, r := range cands {
					if r.Arm == arm.Name && r.CG == cg.Name {
						for s := int32(0); s <= r.Stage; s++ {
							stages[s]++
						}
					}
				}
				if stages != cg.Stages {
					t.Errorf("arm %s cg %s: stages in candidates.parquet %v, summary %v", arm.Name, cg.Name, stages, cg.Stages)
				}
				if cg.Impressions > 0 && (cg.ImpressionShare <= 0 || cg.ImpressionShare > 1) {
					t.Errorf("arm %s cg %s: impression share %g", arm.Name, cg.Name, cg.ImpressionShare)
				}
			}
		}
	})
	t.Run("request rows", func(t *testing.T) {
		// Rows come per request, arms in order; check the segment fields.
		for i := range 300 {
			req := fx.w.Requests[i]
			for a := range 2 {
				r := reqs[2*i+a]
				cut := StalenessDaily.Cutoff(fx.w, &req)
				hist := int32(len(fx.w.HistoryBefore(req.UserID, cut)))
				fresh := len(fx.w.HistoryBefore(req.UserID, req.Timestamp)) > int(hist)
				var ctxStrength float32
				if len(req.SubjectCategories) > 0 {
					ctxStrength = req.SubjectCategories[0].Confidence
				}
				if r.RequestID != req.RequestID || r.Arm != arms[a].Name || r.HistoryLength != hist || r.FreshActivity != fresh ||
					r.ContextStrength != ctxStrength || r.Country != fx.w.Users[req.UserID].Country || int(r.Day) != fx.w.Day(req.Timestamp) {
					t.Fatalf("request row %d = %+v; want request %d arm %s history %d fresh %v context %g", 2*i+a, r, req.RequestID, arms[a].Name, hist, fresh, ctxStrength)
				}
			}
		}
	})
	t.Run("log production matches the replayed production arm", func(t *testing.T) {
		imps, psum, err := LogProduction(context.Background(), fx.w, fx.truth, arms[0].CGs, cfg.Funnel, cfg.Staleness, cfg.Seed, nil)
		if err != nil {
			t.Fatalf("LogProduction error: %v", err)
		}
		if psum.Arms[0].Impressions != int64(len(imps)) || int64(len(imps)) != sum.Arms[0].Impressions {
			t.Fatalf("LogProduction gave %d impressions (summary %d), replay %d", len(imps), psum.Arms[0].Impressions, sum.Arms[0].Impressions)
		}
		var fromReplay []datasets.Impression
		src := map[[2]int64][]string{}
		for _, c := range cands {
			if c.Arm == "production" && c.Stage == datasets.StageImpressed {
				k := [2]int64{c.RequestID, int64(c.AdPinID)}
				if src[k] == nil {
					fromReplay = append(fromReplay, datasets.Impression{RequestID: c.RequestID, AdPinID: c.AdPinID, Slot: c.Slot,
						Price: c.Price, Click: c.Click, Conversion: c.Conversion, Value: c.Value})
				}
				src[k] = append(src[k], c.CG)
			}
		}
		slices.SortFunc(fromReplay, func(a, b datasets.Impression) int {
			if a.RequestID != b.RequestID {
				return int(a.RequestID - b.RequestID)
			}
			return int(a.Slot - b.Slot)
		})
		if len(fromReplay) != len(imps) {
			t.Fatalf("%d impressed ads in the replay, %d logged", len(fromReplay), len(imps))
		}
		for i, imp := range imps {
			want := fromReplay[i]
			want.SourceCGs = slices.Sorted(slices.Values(src[[2]int64{want.RequestID, int64(want.AdPinID)}]))
			if imp.RequestID != want.RequestID || imp.AdPinID != want.AdPinID || imp.Slot != want.Slot || imp.Price != want.Price ||
				imp.Click != want.Click || imp.Conversion != want.Conversion || imp.Value != want.Value || !slices.Equal(imp.SourceCGs, want.SourceCGs) {
				t.Fatalf("impression %d = %+v, replay %+v", i, imp, want)
			}
		}
	})
}

func TestReplayFilters(t *testing.T) {
	fx := newFixture(t, 22, 100, 30, 200)
	arms := []Arm{{Name: "p", CGs: heuristicMix(t, fx.w)}}
	day := fxEvalStart + 2
	var onDay int64
	for _, r := range fx.w.Requests {
		if fx.w.Day(r.Timestamp) == day {
			onDay++
		}
	}
	cases := []struct {
		name string
		cfg  ReplayConfig
		want int64
	}{
		{"max requests", ReplayConfig{Funnel: DefaultFunnelConfig(), MaxRequests: 33, ChunkSize: 10}, 33},
		{"days", ReplayConfig{Funnel: DefaultFunnelConfig(), Days: []int{day}, ChunkSize: 10}, onDay},
		{"days and max", ReplayConfig{Funnel: DefaultFunnelConfig(), Days: []int{day}, MaxRequests: 3}, min(3, onDay)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sum, err := Replay(context.Background(), fx.w, fx.truth, arms, tc.cfg, t.TempDir(), nil)
			if err != nil {
				t.Fatalf("Replay error: %v", err)
			}
			if sum.Requests != tc.want || sum.Arms[0].Requests != tc.want {
				t.Errorf("Replay replayed %d requests, want %d", sum.Requests, tc.want)
			}
		})
	}
}

type failingCG struct{}

func (failingCG) Name() string { return "failing" }
func (failingCG) Retrieve(q *Query, dst []Candidate) ([]Candidate, error) {
	if q.Request.RequestID%7 == 0 {
		return dst, errors.New("index offline")
	}
	return dst, nil
}

func TestReplayErrors(t *testing.T) {
	fx := newFixture(t, 23, 100, 30, 100)
	good := []Arm{{Name: "p", CGs: heuristicMix(t, fx.w)}}
	cfg := ReplayConfig{Funnel: DefaultFunnelConfig()}
	noResp := *fx.w
	noResp.Manifest.Response = nil
	streamed := *fx.w
	streamed.Requests, streamed.Dir = nil, t.TempDir()
	badTruth := *fx.truth
	badTruth.Requests = slices.Clone(fx.truth.Requests)
	badTruth.Requests[5].RequestID = -1
	badUser := *fx.w
	badUser.Requests = slices.Clone(fx.w.Requests)
	badUser.Requests[3].UserID = 999
	badFunnel := cfg
	badFunnel.Funnel.Slots = 0
	badDays := cfg
	badDays.Days = []int{fxEvalStart + fxEvalDays}
	cases := []struct {
		name    string
		w       *datasets.World
		truth   *datasets.Truth
		arms    []Arm
		cfg     ReplayConfig
		wantErr string
	}{
		{"nil truth", fx.w, nil, good, cfg, "truth"},
		{"no response model", &noResp, fx.truth, good, cfg, "response model"},
		{"missing request table", &streamed, fx.truth, good, cfg, "requests.parquet"},
		{"misaligned truth", fx.w, &badTruth, good, cfg, "row 5"},
		{"unknown user", &badUser, fx.truth, good, cfg, "user 999"},
		{"bad funnel", fx.w, fx.truth, good, badFunnel, "slots"},
		{"day outside the data", fx.w, fx.truth, good, badDays, "outside the data"},
		{"no arms", fx.w, fx.truth, nil, cfg, "no arms"},
		{"duplicate arm", fx.w, fx.truth, []Arm{good[0], good[0]}, cfg, "twice"},
		{"duplicate cg", fx.w, fx.truth, []Arm{{Name: "x", CGs: []Generator{good[0].CGs[0], good[0].CGs[0]}}}, cfg, "twice"},
		{"cg error", fx.w, fx.truth, []Arm{{Name: "x", CGs: []Generator{failingCG{}}}}, cfg, "index offline"},
		{"ad out of catalog", fx.w, fx.truth, []Arm{{Name: "x", CGs: []Generator{&fixedCG{name: "f", list: cands(100)}}}}, cfg, "not in catalog"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Replay(context.Background(), tc.w, tc.truth, tc.arms, tc.cfg, dir, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Replay() error = %v, want one containing %q", err, tc.wantErr)
			}
			left, _ := os.ReadDir(dir)
			for _, f := range left {
				t.Errorf("failed replay left %s behind", f.Name())
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Replay(ctx, fx.w, fx.truth, good, cfg, t.TempDir(), nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Replay(cancelled) error = %v, want context.Canceled", err)
		}
		if _, _, err := LogProduction(ctx, fx.w, fx.truth, good[0].CGs, cfg.Funnel, StalenessRealtime, 1, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("LogProduction(cancelled) error = %v, want context.Canceled", err)
		}
	})
}

func TestReplayShards(t *testing.T) {
	fx := newFixture(t, 24, 200, 50, 150)
	arms := []Arm{{Name: "p", CGs: heuristicMix(t, fx.w)}}
	run := func(shard, shards int) ([]datasets.CandidateResult, *ReplaySummary) {
		dir := t.TempDir()
		sum, err := Replay(context.Background(), fx.w, fx.truth, arms, ReplayConfig{Funnel: DefaultFunnelConfig(), Seed: 3, Shard: shard, Shards: shards}, dir, nil)
		if err != nil {
			t.Fatalf("Replay(shard %d/%d) error: %v", shard, shards, err)
		}
		rows, err := datasets.ReadTable[datasets.CandidateResult](filepath.Join(dir, datasets.ReplayCandidatesFile))
		if err != nil {
			t.Fatal(err)
		}
		return rows, sum
	}
	full, fullSum := run(0, 0)
	s0, sum := run(0, 2)
	s1, sum1 := run(1, 2)
	if len(s0) == 0 || len(s1) == 0 {
		t.Fatalf("shards have %d and %d rows, want both non-empty", len(s0), len(s1))
	}
	if err := sum.Merge(sum1); err != nil {
		t.Fatalf("Merge error: %v", err)
	}
	key := func(c datasets.CandidateResult) string {
		return c.CG + "/" + itoa(int(c.RequestID)) + "/" + itoa(int(c.AdPinID))
	}
	byKey := map[string]datasets.CandidateResult{}
	for _, c := range append(s0, s1...) {
		byKey[key(c)] = c
	}
	if len(byKey) != len(full) {
		t.Fatalf("shards hold %d rows, the full replay %d", len(byKey), len(full))
	}
	for _, c := range full {
		if byKey[key(c)] != c {
			t.Fatalf("row %+v differs in its shard: %+v", c, byKey[key(c)])
		}
	}
	a, b := sum.Arms[0], fullSum.Arms[0]
	if sum.Requests != fullSum.Requests || a.Impressions != b.Impressions || a.Unique != b.Unique || a.CGs[0].Stages != b.CGs[0].Stages ||
		math.Abs(a.Spend-b.Spend) > 1e-9*b.Spend || a.CGs[1].ImpressionShare != b.CGs[1].ImpressionShare {
		t.Errorf("merged shard summary %+v, full %+v", a, b)
	}
	if _, err := Replay(context.Background(), fx.w, fx.truth, arms, ReplayConfig{Funnel: DefaultFunnelConfig(), Shard: 2, Shards: 2}, t.TempDir(), nil); err == nil {
		t.Error("Replay(shard 2 of 2) = nil error, want one")
	}
}
