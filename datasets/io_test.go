package datasets

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestTableRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ads.parquet")
	want := []AdPin{
		{ID: 0, Advertiser: 3, Categories: []CategoryScore{{1, 0.7}, {2, 0.3}}, Bid: 1.5, Quality: 0.8, ConversionValue: 40},
		{ID: 1, Advertiser: 4, Categories: []CategoryScore{{5, 1}}, Bid: 0.5, Quality: 0.2},
	}
	if err := WriteTable(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTable[AdPin](path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadTable = %+v, want %+v", got, want)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
	json := filepath.Join(dir, "x.json")
	if err := WriteFileAtomic(json, func(w io.Writer) error { _, err := w.Write([]byte("{}")); return err }); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, json} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want -rw-r--r-- like any written file", filepath.Base(p), st.Mode().Perm())
		}
	}
}

func TestScanTableCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.parquet")
	if err := WriteTable(path, []User{{ID: 0, Country: "US"}, {ID: 1, Country: "FR"}}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"not parquet", []byte("user_id,country\n0,US\n")},
		{"truncated", data[:len(data)/2]},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(dir, "bad.parquet")
			if err := os.WriteFile(bad, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadTable[User](bad)
			if err == nil || !strings.Contains(err.Error(), "bad.parquet") {
				t.Fatalf("ReadTable(%s) error = %v, want one naming the file", tc.name, err)
			}
		})
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.parquet")
	w, err := CreateTable[User](path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]User{{ID: 0}}); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("Abort left %d files", len(entries))
	}
}
