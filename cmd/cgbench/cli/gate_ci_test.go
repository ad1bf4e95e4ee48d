package cli

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/cgbench/cgbench/eval"
)

var update = flag.Bool("update", false, "rewrite the committed CI baseline metrics")

// ciBaseline is the metrics file this repository's CI gates against: the
// same small world, replay and metrics, deterministic by seed. A change that
// lowers recall@100 beyond the gate's rule fails the build; a deliberate
// change refreshes the file with `go test ./cmd/cgbench/cli -run CIGate -update`.
const ciBaseline = "../../../.ci/metrics-baseline.json"

func TestCIGate(t *testing.T) {
	w := smallWorld(t)
	dir := t.TempDir()
	res := filepath.Join(dir, "res")
	code, _, stderr := run(t, "replay", "--data", w, "--out", res, "--quiet", "--seed", "7",
		"--cg", "content", "--cg", "popularity", "--cg", "retargeting", "--cg", "history_interest",
		"--arm", "production=content+popularity+retargeting+history_interest",
		"--arm", "no_history=content+popularity+retargeting")
	if code != ExitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	current := filepath.Join(dir, "metrics.json")
	code, _, stderr = run(t, "eval", res, "--out", current, "--k", "10,100", "--reps", "200", "--seed", "7", "--quiet", "--format", "json")
	if code != ExitOK {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	if *update {
		data, err := os.ReadFile(current)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ciBaseline, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, stderr := run(t, "gate", "--baseline", ciBaseline, "--current", current, "--max-drop", "0.01")
	if code != ExitOK {
		t.Fatalf("gate against %s: exit %d\n%s%s", ciBaseline, code, out, stderr)
	}
	// Identical inputs give byte-identical metrics, but for the results
	// folder's path.
	if marshalWithoutPaths(t, ciBaseline) != marshalWithoutPaths(t, current) {
		t.Errorf("metrics differ from the committed baseline although world, replay and bootstrap seeds are the same")
	}
}

func marshalWithoutPaths(t *testing.T, path string) string {
	t.Helper()
	f, err := eval.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Provenance.Results = nil
	data, err := eval.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
