package sim

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cgbench/cgbench/datasets"
)

// TestReplayerMatchesReplay replays the log request by request with two
// handles taking requests in reverse order and with rows read by
// ReadRequestRange over uneven ranges, and checks the rows, the merged
// summary and the manifest against Replay's.
func TestReplayerMatchesReplay(t *testing.T) {
	fx := newFixture(t, 31, 200, 50, 150)
	arms := []Arm{{Name: "p", CGs: heuristicMix(t, fx.w)}, {Name: "q", CGs: heuristicMix(t, fx.w)[:2]}}
	cfg := ReplayConfig{Funnel: DefaultFunnelConfig(), Seed: 5}
	dir := t.TempDir()
	sum, err := Replay(context.Background(), fx.w, fx.truth, arms, cfg, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCands, err := datasets.ReadTable[datasets.CandidateResult](filepath.Join(dir, datasets.ReplayCandidatesFile))
	if err != nil {
		t.Fatal(err)
	}
	wantReqs, err := datasets.ReadTable[datasets.RequestResult](filepath.Join(dir, datasets.ReplayRequestsFile))
	if err != nil {
		t.Fatal(err)
	}

	// The log on disk, for ReadRequestRange.
	logDir := t.TempDir()
	reqPath, truthPath := filepath.Join(logDir, "requests.parquet"), filepath.Join(logDir, "truth.parquet")
	if err := datasets.WriteTable(reqPath, fx.w.Requests); err != nil {
		t.Fatal(err)
	}
	if err := datasets.WriteTable(truthPath, fx.truth.Requests); err != nil {
		t.Fatal(err)
	}
	n, err := RequestLogRows(reqPath)
	if err != nil || n != int64(len(fx.w.Requests)) {
		t.Fatalf("RequestLogRows = %d, %v; want %d", n, err, len(fx.w.Requests))
	}
	var reqs []datasets.Request
	var truths []datasets.TruthRequest
	for _, r := range [][2]int64{{0, 7}, {7, 100}, {100, n}} {
		err := ReadRequestRange(reqPath, truthPath, r[0], r[1], 16, func(first int64, rq []datasets.Request, tr []datasets.TruthRequest) error {
			if first != int64(len(reqs)) {
				t.Errorf("range %v: batch at row %d, want %d", r, first, len(reqs))
			}
			reqs = append(reqs, rq...)
			truths = append(truths, tr...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := datasets.ReadTable[datasets.Request](reqPath)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reqs, all) {
		t.Fatalf("ReadRequestRange over 3 ranges read %d requests, not the file's %d rows", len(reqs), len(all))
	}
	if err := ReadRequestRange(reqPath, truthPath, 5, n+1, 16, func(int64, []datasets.Request, []datasets.TruthRequest) error { return nil }); err == nil {
		t.Error("ReadRequestRange past the end = nil error, want one")
	}

	rp, err := NewReplayer(fx.w, fx.truth, arms, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := []*ReplayHandle{rp.NewHandle(), rp.NewHandle()}
	gotCands := make([][]datasets.CandidateResult, len(reqs))
	gotReqs := make([][]datasets.RequestResult, len(reqs))
	for i := len(reqs) - 1; i >= 0; i-- {
		if !rp.Keep(&reqs[i]) {
			t.Fatalf("Keep(request %d) = false with no filter", reqs[i].RequestID)
		}
		if gotCands[i], gotReqs[i], err = hs[i%2].Replay(&reqs[i], &truths[i], int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	var cands []datasets.CandidateResult
	var rrs []datasets.RequestResult
	for i := range reqs {
		cands = append(cands, gotCands[i]...)
		rrs = append(rrs, gotReqs[i]...)
	}
	// Through Parquet, as Replay's rows went (an empty list reads back
	// empty, not nil).
	tmp := filepath.Join(t.TempDir(), "r.parquet")
	if err := datasets.WriteTable(tmp, rrs); err != nil {
		t.Fatal(err)
	}
	if rrs, err = datasets.ReadTable[datasets.RequestResult](tmp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cands, wantCands) || !reflect.DeepEqual(rrs, wantReqs) {
		t.Errorf("Replayer rows (%d candidates, %d requests) differ from Replay's (%d, %d)", len(cands), len(rrs), len(wantCands), len(wantReqs))
		for i := range min(len(rrs), len(wantReqs)) {
			if !reflect.DeepEqual(rrs[i], wantReqs[i]) {
				t.Fatalf("request row %d: %#v, want %#v", i, rrs[i], wantReqs[i])
			}
		}
		for i := range min(len(cands), len(wantCands)) {
			if cands[i] != wantCands[i] {
				t.Fatalf("candidate row %d: %+v, want %+v", i, cands[i], wantCands[i])
			}
		}
	}
	merged := NewReplaySummary(arms)
	for _, h := range hs {
		if err := merged.Merge(h.TakeSummary()); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(merged, sum) {
		t.Errorf("merged handle summaries %+v, Replay's %+v", merged, sum)
	}
	if s := hs[0].TakeSummary(); s.Requests != 0 {
		t.Errorf("TakeSummary after TakeSummary: %d requests, want 0", s.Requests)
	}
	want, err := ReadReplayManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := NewReplayManifest(want.CreatedBy, fx.w, arms, cfg, rp.Response(), int64(len(cands)), int64(len(rrs)), merged)
	other := t.TempDir()
	if err := WriteReplayManifest(other, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadReplayManifest(other)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NewReplayManifest + WriteReplayManifest = %+v, Replay wrote %+v", got, want)
	}
	bad := reqs[0]
	bad.RequestID++
	if _, _, err := hs[0].Replay(&bad, &truths[0], 0); err == nil {
		t.Error("Replay with a truth row of another request = nil error, want one")
	}
}

func TestParseArms(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cgs, arms []string
		wantPool  int
		wantArms  []ArmSpec
		wantError bool
	}{
		{"default", nil, nil, 4, []ArmSpec{{"production", []string{"content", "popularity", "retargeting", "history_interest"}}}, false},
		{"cgs only", []string{"content", "popularity"}, nil, 2, []ArmSpec{{"replay", []string{"content", "popularity"}}}, false},
		{"production plus", []string{"x=content:k=5"}, []string{"a=production", "b=content+x"}, 5,
			[]ArmSpec{{"a", []string{"content", "popularity", "retargeting", "history_interest"}}, {"b", []string{"content", "x"}}}, false},
		{"cg twice", []string{"content", "content"}, nil, 0, nil, true},
		{"arm twice", nil, []string{"a=production", "a=production"}, 0, nil, true},
		{"unknown cg", nil, []string{"a=nope"}, 0, nil, true},
		{"no equals", nil, []string{"a"}, 0, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, arms, err := ParseArms(tc.cgs, tc.arms)
			if tc.wantError {
				if err == nil {
					t.Errorf("ParseArms(%v, %v) = nil error, want one", tc.cgs, tc.arms)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(pool) != tc.wantPool || !reflect.DeepEqual(arms, tc.wantArms) {
				t.Errorf("ParseArms(%v, %v) = pool of %d, arms %v; want %d, %v", tc.cgs, tc.arms, len(pool), arms, tc.wantPool, tc.wantArms)
			}
		})
	}
}
