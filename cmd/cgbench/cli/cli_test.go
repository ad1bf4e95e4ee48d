package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cgbench/cgbench/datasets"
	"github.com/cgbench/cgbench/eval"
	"github.com/cgbench/cgbench/model"
)

// run runs cgbench with args and returns its exit code and streams.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"--help"}, ExitOK},
		{"version", []string{"--version"}, ExitOK},
		{"unknown command", []string{"frobnicate"}, ExitUsage},
		{"unknown flag", []string{"data", "generate", "--nope"}, ExitUsage},
		{"missing required flag", []string{"data", "generate"}, ExitUsage},
		{"extra argument", []string{"data", "validate", "a", "b"}, ExitUsage},
		{"bad format", []string{"data", "describe", "x", "--format", "xml"}, ExitUsage},
		{"bad preset", []string{"data", "generate", "--out", "x", "--preset", "huge"}, ExitError},
		{"missing dataset", []string{"data", "validate", filepath.Join(t.TempDir(), "none")}, ExitError},
		{"bad staleness", []string{"replay", "--data", "x", "--out", "y", "--staleness", "hourly"}, ExitUsage},
		{"bad cg spec", []string{"replay", "--data", "x", "--out", "y", "--cg", "a=nosuchkind"}, ExitUsage},
		{"arm names unknown cg", []string{"replay", "--data", "x", "--out", "y", "--cg", "content", "--arm", "a=content+ghost"}, ExitUsage},
		{"gate missing files", []string{"gate", "--baseline", "a.json", "--current", "b.json"}, ExitError},
		{"train bad kind", []string{"train", "--data", "x", "--out", "y", "--model", "giant"}, ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, tc.args...)
			if code != tc.want {
				t.Fatalf("cgbench %s: exit %d, want %d (stderr %q)", strings.Join(tc.args, " "), code, tc.want, stderr)
			}
			if tc.want != ExitOK && !strings.HasPrefix(stderr, "cgbench: ") {
				t.Errorf("stderr %q does not start with the program name", stderr)
			}
		})
	}
}

// Every command explains itself with an example.
func TestHelpHasExamples(t *testing.T) {
	root := NewRootCmd(&IO{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && !c.Hidden && c.Name() != "help" && !strings.HasPrefix(c.CommandPath(), "cgbench completion") {
			if c.Example == "" {
				t.Errorf("%s has no example", c.CommandPath())
			}
			if c.Short == "" {
				t.Errorf("%s has no short help", c.CommandPath())
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

func TestCompletion(t *testing.T) {
	code, out, _ := run(t, "completion", "bash")
	if code != ExitOK || !strings.Contains(out, "cgbench") {
		t.Fatalf("completion bash: exit %d, %d bytes", code, len(out))
	}
}

func TestParseArms(t *testing.T) {
	pool, arms, err := parseArms([]string{"ctx=learned:run=r"}, []string{"a=production", "b=production+ctx"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pool) != 5 || len(arms) != 2 || len(arms[1].cgs) != 5 || arms[1].cgs[4] != "ctx" {
		t.Fatalf("parseArms: pool %v, arms %v", names(pool), arms)
	}
	if _, _, err := parseArms([]string{"content", "content"}, nil); err == nil {
		t.Error("parseArms accepted a CG named twice")
	}
	if _, _, err := parseArms(nil, []string{"noequals"}); err == nil {
		t.Error("parseArms accepted an arm without CGs")
	}
}

var (
	worldOnce sync.Once
	worldDir  string
)

// smallWorld generates one tiny world with logged impressions per test run.
func smallWorld(t *testing.T) string {
	t.Helper()
	worldOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cgbench-cli-test-")
		if err != nil {
			t.Fatal(err)
		}
		worldDir = filepath.Join(dir, "world")
		code, _, stderr := run(t, "data", "generate", "--out", worldDir, "--preset", "small", "--requests", "1500", "--quiet")
		if code != ExitOK {
			t.Fatalf("data generate: exit %d: %s", code, stderr)
		}
	})
	if worldDir == "" {
		t.Fatal("no world")
	}
	return worldDir
}

func TestDataValidateDescribe(t *testing.T) {
	w := smallWorld(t)
	code, out, stderr := run(t, "data", "validate", w)
	if code != ExitOK || !strings.Contains(out, ": ok") {
		t.Fatalf("validate: exit %d, out %q, err %q", code, out, stderr)
	}
	code, out, _ = run(t, "data", "describe", w, "--format", "json")
	if code != ExitOK {
		t.Fatalf("describe: exit %d", code)
	}
	var d struct {
		Tables []struct {
			File string `json:"file"`
			Rows int64  `json:"rows"`
		} `json:"tables"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("describe json: %v", err)
	}
	rows := map[string]int64{}
	for _, tb := range d.Tables {
		rows[tb.File] = tb.Rows
	}
	if rows["requests.parquet"] != 1500 || rows["impressions.parquet"] == 0 {
		t.Errorf("describe rows = %v, want 1500 requests and some impressions", rows)
	}
}

// The replay -> eval -> gate -> report path on heuristic CGs, including a
// gate that must fail: the current file drops a CG's whole funnel share.
func TestReplayEvalGateReport(t *testing.T) {
	w := smallWorld(t)
	dir := t.TempDir()
	res := filepath.Join(dir, "res")
	code, out, stderr := run(t, "replay", "--data", w, "--out", res, "--quiet",
		"--cg", "content", "--cg", "popularity", "--cg", "hist=history_interest:k=50",
		"--arm", "base=content+popularity", "--arm", "more=content+popularity+hist")
	if code != ExitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "hist") || !strings.Contains(out, "share") {
		t.Errorf("replay printed no share table:\n%s", out)
	}
	code, out, stderr = run(t, "eval", res, "--k", "10,100", "--reps", "50", "--quiet")
	if code != ExitOK {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "recall@100/counterfactual") {
		t.Errorf("eval table lacks recall@100:\n%s", out)
	}
	metrics := filepath.Join(res, "metrics.json")
	f, err := eval.ReadFile(metrics)
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, "gate", "--baseline", metrics, "--current", metrics)
	if code != ExitOK {
		t.Fatalf("gate on identical files: exit %d: %s", code, stderr)
	}
	// A regression: every recall figure of the current file falls far below.
	for i := range f.Figures {
		if strings.HasPrefix(f.Figures[i].Metric, "recall@") {
			fg := &f.Figures[i]
			fg.Value, fg.Lo, fg.Hi = fg.Value/10, fg.Lo/10, fg.Hi/10
		}
	}
	worse := filepath.Join(dir, "worse.json")
	if err := eval.WriteFile(worse, f); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, "gate", "--baseline", metrics, "--current", worse)
	if code != ExitRegression || !strings.Contains(out, "REGRESSED") {
		t.Fatalf("gate on a regression: exit %d, want %d:\n%s", code, ExitRegression, out)
	}
	report := filepath.Join(dir, "report.html")
	if code, _, stderr = run(t, "report", res, "--out", report); code != ExitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	html, err := os.ReadFile(report)
	if err != nil || !bytes.Contains(html, []byte("<svg")) {
		t.Fatalf("report: %v, %d bytes without charts", err, len(html))
	}
	trec := filepath.Join(dir, "trec")
	if code, _, stderr = run(t, "export", "trec", res, "--arm", "more", "--cg", "hist", "--out", trec); code != ExitOK {
		t.Fatalf("export trec: exit %d: %s", code, stderr)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if worldDir != "" {
		os.RemoveAll(filepath.Dir(worldDir))
	}
	os.Exit(code)
}

// TestTrainHeldOut trains a tiny baseline and checks the held-out table
// against model.EvaluateNextItem on the saved weights.
func TestTrainHeldOut(t *testing.T) {
	w := smallWorld(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(cfg, []byte("dim: 16\nffn: 32\nlayers: 1\nout_dim: 32\nuser_head: [32]\nitem_tower: [32]\n"+
		"train: {epochs: 1, examples_per_epoch: 1024, random_negatives: 64}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	code, out, stderr := run(t, "train", "--data", w, "--out", runDir, "--config", cfg, "--quiet")
	if code != ExitOK {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(filepath.Join(runDir, HeldOutFile))
	if err != nil {
		t.Fatal(err)
	}
	var got model.NextItemResult
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%s: %v", HeldOutFile, err)
	}
	world, err := datasets.Open(w, datasets.OpenOptions{SkipRequests: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(runDir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := model.EvaluateNextItem(context.Background(), m, world, world.DayStart(world.Manifest.EvalStartDay), []int{10, 100})
	if err != nil {
		t.Fatal(err)
	}
	if want.Users == 0 || got.Users != want.Users || !reflect.DeepEqual(got.Recall, want.Recall) {
		t.Errorf("%s = %+v, the saved model's held-out evaluation %+v", HeldOutFile, got, *want)
	}
	line := fmt.Sprintf("history_interest   Recall@10 %.4f  Recall@100 %.4f", want.Recall[model.MethodHistoryInterest][10], want.Recall[model.MethodHistoryInterest][100])
	if !strings.Contains(out, fmt.Sprintf("held-out (each user's first conversion at or after the cut-off, %d users)", want.Users)) || !strings.Contains(out, line) {
		t.Errorf("train output lacks the held-out table:\n%s", out)
	}
}
