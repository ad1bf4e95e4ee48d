package datasets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// TableFiles lists every table a dataset folder may hold, relative to the
// folder: the observable tables, then the truth tables.
var TableFiles = []string{
	CategoriesFile, AdPinsFile, OrganicPinsFile, UsersFile, EventsFile, RequestsFile, ImpressionsFile,
	TruthCategoriesFile, TruthAdPinsFile, TruthUsersFile, TruthRequestsFile,
}

// ReadManifest reads DIR/manifest.json. Its Config is decoded as generic JSON
// (map[string]any); ManifestWorldConfig turns it into a WorldConfig.
func ReadManifest(dir string) (*Manifest, error) {
	return readManifest(dir, false)
}

// readManifest reads the manifest; with raw, Config stays a json.RawMessage
// so that rewriting the manifest keeps it byte for byte.
func readManifest(dir string, raw bool) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	m := &Manifest{}
	if raw {
		m.Config = &json.RawMessage{}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", path, err)
	}
	if m.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("read manifest %s: schema_version %d, this build reads %d", path, m.SchemaVersion, SchemaVersion)
	}
	if m.Files == nil {
		m.Files = map[string]FileInfo{}
	}
	return m, nil
}

// ManifestWorldConfig returns the generator config recorded in a synthetic
// world's manifest.
func ManifestWorldConfig(m *Manifest) (WorldConfig, error) {
	if m.Kind != "synthetic" {
		return WorldConfig{}, fmt.Errorf("read world config: manifest kind %q is not synthetic", m.Kind)
	}
	data, err := json.Marshal(m.Config)
	if err != nil {
		return WorldConfig{}, fmt.Errorf("read world config: %w", err)
	}
	var c WorldConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return WorldConfig{}, fmt.Errorf("read world config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return WorldConfig{}, fmt.Errorf("read world config: %w", err)
	}
	return c, nil
}

// writeManifest writes DIR/manifest.json atomically.
func writeManifest(dir string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	data = append(data, '\n')
	return WriteFileAtomic(filepath.Join(dir, ManifestFile), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// dataHash is the hex SHA-256 over "path sha256\n" lines of the files in
// path order: the content hash of the dataset.
func dataHash(files map[string]FileInfo) string {
	h := sha256.New()
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s %s\n", k, files[k].SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DataHash recomputes a manifest's content hash from its Files.
func DataHash(m *Manifest) string { return dataHash(m.Files) }

// tableRows returns the row count recorded in a Parquet file's footer.
func tableRows(path string) (n int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read %s: corrupt parquet file: %v", path, r)
		}
	}()
	if err := checkFrame(f, st.Size()); err != nil {
		return 0, fmt.Errorf("read %s: not a valid parquet file: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, fmt.Errorf("read %s: not a valid parquet file: %w", path, err)
	}
	return pf.NumRows(), nil
}

// UpdateManifest re-hashes the tables present in dir (every name of
// TableFiles and any other file the manifest lists) and rewrites
// manifest.json atomically, keeping its other fields. The funnel calls it
// after adding impressions.parquet.
func UpdateManifest(dir string) (*Manifest, error) {
	m, err := readManifest(dir, true)
	if err != nil {
		return nil, fmt.Errorf("update manifest: %w", err)
	}
	names := slices.Clone(TableFiles)
	for k := range m.Files {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	files := map[string]FileInfo{}
	for _, name := range names {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		rows, err := tableRows(path)
		if err != nil {
			return nil, fmt.Errorf("update manifest: %w", err)
		}
		sum, size, err := HashFile(path)
		if err != nil {
			return nil, fmt.Errorf("update manifest: %w", err)
		}
		files[name] = FileInfo{Rows: rows, Bytes: size, SHA256: sum}
	}
	m.Files = files
	m.Hash = dataHash(files)
	if err := writeManifest(dir, m); err != nil {
		return nil, fmt.Errorf("update manifest: %w", err)
	}
	return readManifest(dir, false)
}

// WriteImpressions writes DIR/impressions.parquet, the logged impressions,
// sorted by request id then slot (a sorted copy is written when rows are in
// another order; rows itself is not changed). Two rows with the same request
// and slot are an error. Call UpdateManifest afterwards to record the file.
// For more rows than fit in memory, stream them in order with
// CreateTable[Impression] on the same path.
func WriteImpressions(dir string, rows []Impression) error {
	cmp := func(a, b Impression) int {
		if c := cmpInt64(a.RequestID, b.RequestID); c != 0 {
			return c
		}
		return cmpInt64(int64(a.Slot), int64(b.Slot))
	}
	if !slices.IsSortedFunc(rows, cmp) {
		rows = slices.Clone(rows)
		slices.SortStableFunc(rows, cmp)
	}
	for i := 1; i < len(rows); i++ {
		if cmp(rows[i-1], rows[i]) == 0 {
			return fmt.Errorf("write impressions: request %d has two impressions in slot %d", rows[i].RequestID, rows[i].Slot)
		}
	}
	return WriteTable(filepath.Join(dir, ImpressionsFile), rows)
}
