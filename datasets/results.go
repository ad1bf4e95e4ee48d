package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ResultFiles returns the files that hold one table of a results folder:
// dir/file when it exists (as cgbench replay writes it), else the shards
// dir/<stem>/part-*.parquet in name order (as cgbench-beam writes them,
// stem being file without ".parquet"). Read in that order the shards hold
// the rows of the single file.
func ResultFiles(dir, file string) ([]string, error) {
	single := filepath.Join(dir, file)
	if _, err := os.Stat(single); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return []string{single}, nil
	}
	shardDir := filepath.Join(dir, strings.TrimSuffix(file, ".parquet"))
	parts, err := filepath.Glob(filepath.Join(shardDir, "part-*.parquet"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", shardDir, err)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("open %s: no such file, and no shards %s", single, filepath.Join(shardDir, "part-*.parquet"))
	}
	slices.Sort(parts)
	return parts, nil
}

// ScanResultTable calls fn with batches of rows of one table of a results
// folder (see ResultFiles), file after file; first is the row's index
// within path, for errors that name the file and row.
func ScanResultTable[T any](dir, file string, batch int, fn func(path string, first int64, rows []T) error) error {
	paths, err := ResultFiles(dir, file)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if err := ScanTable(p, batch, func(first int64, rows []T) error { return fn(p, first, rows) }); err != nil {
			return err
		}
	}
	return nil
}
