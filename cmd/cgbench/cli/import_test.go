package cli

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeMovieLens writes a tiny MovieLens-100k layout: users who mostly
// rate movies of two favourite genres, one Latin-1 title.
func writeMovieLens(t *testing.T, dir string, users, items int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 5))
	var genre, item, user, data strings.Builder
	for g := range 19 {
		fmt.Fprintf(&genre, "g%d|%d\n", g, g)
	}
	for i := 1; i <= items; i++ {
		flags := make([]string, 19)
		for g := range flags {
			flags[g] = "0"
		}
		flags[1+i%18] = "1"
		title := fmt.Sprintf("Movie %d (1995)", i)
		if i == 1 {
			title = "Caf\xe9 (1995)"
		}
		fmt.Fprintf(&item, "%d|%s|01-Jan-1995||http://x|%s\n", i, title, strings.Join(flags, "|"))
	}
	for u := 1; u <= users; u++ {
		fmt.Fprintf(&user, "%d|%d|%s|other|%05d\n", u, 18+u%50, []string{"M", "F"}[u%2], 10000+u)
		fav := 1 + u%18
		ts := 880000000
		for j := range 12 {
			it := 1 + (fav+18*rng.IntN(items/18))%items
			if rng.IntN(4) == 0 {
				it = 1 + rng.IntN(items)
			}
			fmt.Fprintf(&data, "%d\t%d\t%d\t%d\n", u, it, 1+rng.IntN(5), ts+j*3600)
		}
	}
	for name, b := range map[string]string{"u.genre": genre.String(), "u.item": item.String(), "u.user": user.String(), "u.data": data.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestImportAndNextItem(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "ml")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	writeMovieLens(t, src, 120, 90)
	data := filepath.Join(dir, "data")
	code, out, stderr := run(t, "data", "import", "movielens", src, "--out", data)
	if code != ExitOK || !strings.Contains(out, "imported 120 users") {
		t.Fatalf("import: exit %d: %s%s", code, out, stderr)
	}
	if code, _, stderr = run(t, "data", "validate", data); code != ExitOK {
		t.Fatalf("validate imported data: exit %d: %s", code, stderr)
	}
	cfg := filepath.Join(dir, "model.yaml")
	if err := os.WriteFile(cfg, []byte("max_len: 8\ndim: 16\nffn: 32\nlayers: 1\nuser_head: [32]\nitem_tower: [32]\ntrain: {epochs: 2, batch_size: 64}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run1 := filepath.Join(dir, "run")
	code, out, stderr = run(t, "nextitem", "--data", data, "--out", run1, "--config", cfg, "--protocol", "sampled-20", "--quiet")
	if code != ExitOK {
		t.Fatalf("nextitem: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"model", "popularity", "HR@10", "n=120"} {
		if !strings.Contains(out, want) {
			t.Errorf("nextitem output lacks %q:\n%s", want, out)
		}
	}
	negs, _ := filepath.Glob(filepath.Join(run1, "negatives-*.parquet"))
	if len(negs) != 1 {
		t.Errorf("sampled negatives not saved: %v", negs)
	}

	// A malformed line names its file and line.
	f, err := os.OpenFile(filepath.Join(src, "u.data"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "1\tnot-a-number\t3\t880000000")
	f.Close()
	code, _, stderr = run(t, "data", "import", "movielens", src, "--out", filepath.Join(dir, "bad"))
	if code != ExitError || !strings.Contains(stderr, "u.data:1441") {
		t.Errorf("import of a malformed line: exit %d, stderr %q, want the file and line", code, stderr)
	}
}
