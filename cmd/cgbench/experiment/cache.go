package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cgbench/cgbench/datasets"
)

// A stage's output is a folder named by the hash of everything it depends
// on. It is built in a temporary folder and renamed into place, and a done
// marker is written last, so a run killed at any moment either finds the
// finished folder or rebuilds it; a half-written one is never trusted.

const doneMarker = "DONE.json"

// hashOf returns the hex SHA-256 of the JSON encoding of parts.
func hashOf(parts ...any) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range parts {
		if err := enc.Encode(p); err != nil {
			panic(fmt.Sprintf("experiment: hash of unencodable value: %v", err))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cached returns the folder of a stage output named by key under root,
// building it with build when it is missing or unfinished. build writes into
// the folder it is given. The done marker records what was built.
func cached(root, stage, key string, meta any, build func(dir string) error) (dir string, hit bool, err error) {
	dir = filepath.Join(root, stage+"-"+key[:16])
	if _, err := os.Stat(filepath.Join(dir, doneMarker)); err == nil {
		return dir, true, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", false, fmt.Errorf("create %s: %w", root, err)
	}
	tmp, err := os.MkdirTemp(root, "."+stage+"-tmp-*")
	if err != nil {
		return "", false, fmt.Errorf("create %s: %w", root, err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	if err := build(tmp); err != nil {
		return "", false, err
	}
	marker, err := json.MarshalIndent(map[string]any{"stage": stage, "key": key, "meta": meta}, "", "  ")
	if err != nil {
		return "", false, fmt.Errorf("record %s: %w", stage, err)
	}
	if err := datasets.WriteFileAtomic(filepath.Join(tmp, doneMarker), func(w io.Writer) error {
		_, err := w.Write(marker)
		return err
	}); err != nil {
		return "", false, err
	}
	// A cell running in parallel may have finished the same stage first:
	// keep its folder, which a reader may already hold.
	if _, err := os.Stat(filepath.Join(dir, doneMarker)); err == nil {
		return dir, true, nil
	}
	// An unfinished folder from a killed run may sit at dir: replace it.
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("replace %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, doneMarker)); serr == nil {
			return dir, true, nil
		}
		return "", false, fmt.Errorf("finish %s: %w", dir, err)
	}
	return dir, false, nil
}
