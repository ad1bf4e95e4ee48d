package datasets

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The small world is generated once and shared by the tests that only read
// it; tests that change files work on a copy (copyWorld).
var (
	smallOnce sync.Once
	smallDir  string
	smallErr  error
	fixtures  string
)

const smallSeed = 7

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtures != "" {
		os.RemoveAll(fixtures)
	}
	os.Exit(code)
}

// smallWorld returns the folder of the small preset generated with smallSeed.
func smallWorld(t testing.TB) string {
	t.Helper()
	smallOnce.Do(func() {
		fixtures, smallErr = os.MkdirTemp("", "cgbench-datasets-")
		if smallErr != nil {
			return
		}
		smallDir = filepath.Join(fixtures, "small")
		_, smallErr = Generate(context.Background(), SmallWorldConfig(), smallSeed, smallDir, nil)
	})
	if smallErr != nil {
		t.Fatalf("generate small world: %v", smallErr)
	}
	return smallDir
}

// copyWorld copies the small world into a fresh folder.
func copyWorld(t *testing.T) string {
	t.Helper()
	src := smallWorld(t)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatalf("copy world: %v", err)
	}
	return dst
}
