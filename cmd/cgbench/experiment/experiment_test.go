package experiment

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// tinyStudyYAML is a study that runs in seconds: a small world with few
// requests and small, briefly trained models.
const tinyStudyYAML = `
preset: small
world:
  sizes: {users: 600, ad_pins: 400, organic_pins: 1000, requests: 600}
baseline:
  max_len: 8
  dim: 16
  ffn: 32
  layers: 1
  user_head: [32]
  item_tower: [32]
  train: {epochs: 1, batch_size: 64}
contextual:
  max_len: 8
  dim: 16
  ffn: 32
  layers: 1
  user_head: [32]
  item_tower: [32]
  train: {epochs: 1, batch_size: 64}
replay: {learned_k: 50}
eval: {ks: [10, 50], bootstrap_reps: 50}
`

func TestParseAblation(t *testing.T) {
	spec := "name: t\nseeds: [3]\nbase:\n" + indent(tinyStudyYAML) + `
variants:
  - {name: a, set: {contextual.context.dropout: 0.1}}
  - {name: b, set: {replay.staleness: weekly, world.requests.intent_mix: {long_term: 0.9, exploration: 0.05, trend: 0.05}}}
`
	sp, studies, err := parseAblation([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if len(studies) != 2 || sp.Seeds[0] != 3 {
		t.Fatalf("parseAblation: %d studies, seeds %v", len(studies), sp.Seeds)
	}
	if got := studies[0].Contextual.Context.Dropout; got != 0.1 {
		t.Errorf("variant a: contextual.context.dropout = %v, want 0.1", got)
	}
	if got := studies[1].Replay.Staleness; got != "weekly" {
		t.Errorf("variant b: replay.staleness = %q, want weekly", got)
	}
	if got := studies[1].World.Requests.IntentMix.LongTerm; got != 0.9 {
		t.Errorf("variant b: intent mix long_term = %v, want 0.9", got)
	}
	if got := studies[0].World.Sizes.Users; got != 600 {
		t.Errorf("base sizes not applied: users = %d, want 600", got)
	}
	for _, tc := range []struct{ name, set string }{
		{"unknown setting", "{contextual.context.nope: 1}"},
		{"unknown section", "{nosuch.key: 1}"},
		{"bad value", "{contextual.context.dropout: 2.5}"},
		{"bad type", "{replay.learned_k: many}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := "name: t\nvariants:\n  - {name: x, set: " + tc.set + "}\n"
			if _, _, err := parseAblation([]byte(bad)); err == nil {
				t.Errorf("parseAblation accepted set %s", tc.set)
			}
		})
	}
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.Trim(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// An ablation killed after its first cell resumes without redoing the
// finished cell, and a stage folder without its done marker is rebuilt.
func TestAblationResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	spec := "name: resume\nseeds: [1]\nbase:\n" + indent(tinyStudyYAML) + `
variants:
  - {name: daily, set: {replay.staleness: daily}}
  - {name: weekly, set: {replay.staleness: weekly}}
`
	sp, studies, err := parseAblation([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()

	var mu sync.Mutex
	var lines []string
	ctx, cancel := context.WithCancel(context.Background())
	h := Hooks{Logf: func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		mu.Lock()
		lines = append(lines, msg)
		mu.Unlock()
		// Kill the run as the second cell starts its replay.
		if strings.HasPrefix(msg, "replaying") && count(lines, "replaying") == 2 {
			cancel()
		}
	}}
	_, err = RunAblation(ctx, sp, studies, out, h)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: err = %v, want context.Canceled", err)
	}
	if n := count(lines, "training the"); n != 2 {
		t.Fatalf("first run trained %d models, want 2 (shared by both variants)", n)
	}
	if _, err := os.Stat(filepath.Join(out, AblationFile)); err == nil {
		t.Fatal("a killed ablation wrote its result file")
	}

	lines = nil
	res, err := RunAblation(context.Background(), sp, studies, out, Hooks{Logf: h.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(lines, "training the"); n != 0 {
		t.Errorf("resumed run trained %d models, want 0", n)
	}
	if n := count(lines, "replaying"); n != 1 {
		t.Errorf("resumed run replayed %d cells, want 1 (the unfinished one)", n)
	}
	if len(res.Variants) != 2 || res.Variants[1].Metrics[0] == "" {
		t.Fatalf("ablation result %+v lacks a cell", res)
	}
	if _, files, err := ReadAblation(out); err != nil || len(files["weekly"]) != 1 {
		t.Fatalf("ReadAblation: %v", err)
	}
	if err := RenderReport([]string{out}, filepath.Join(out, "report.html"), ""); err != nil {
		t.Fatal(err)
	}
}

func count(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func TestCachedRebuildsUnfinished(t *testing.T) {
	root := t.TempDir()
	key := strings.Repeat("ab", 32)
	// A folder left by a crash: content but no done marker.
	stale := filepath.Join(root, "stage-"+key[:16])
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "half"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	builds := 0
	build := func(dir string) error {
		builds++
		return os.WriteFile(filepath.Join(dir, "whole"), []byte("y"), 0o644)
	}
	dir, hit, err := cached(root, "stage", key, nil, build)
	if err != nil || hit || builds != 1 {
		t.Fatalf("cached over an unfinished folder: hit %v, builds %d, err %v", hit, builds, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "half")); err == nil {
		t.Error("the unfinished folder's file survived")
	}
	if _, hit, _ = cached(root, "stage", key, nil, build); !hit || builds != 1 {
		t.Errorf("second call: hit %v, builds %d, want a hit without building", hit, builds)
	}
	// A failed build leaves nothing behind.
	_, _, err = cached(root, "other", key, nil, func(string) error { return errors.New("boom") })
	if err == nil {
		t.Fatal("cached swallowed the build error")
	}
	left, _ := filepath.Glob(filepath.Join(root, "*other*"))
	if len(left) != 0 {
		t.Errorf("failed build left %v", left)
	}
}

// The example specs shipped in the repository parse and resolve.
func TestExampleSpecs(t *testing.T) {
	paths, err := filepath.Glob("../../../examples/ablations/*.yaml")
	if err != nil || len(paths) < 7 {
		t.Fatalf("example specs: %v, %d found, want 7", err, len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			sp, studies, err := LoadAblation(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(studies) < 2 || len(studies) != len(sp.Variants) {
				t.Errorf("%d variants resolved", len(studies))
			}
		})
	}
}
