package datasets

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadTable feeds arbitrary bytes, and mutations of valid tables, to the
// reading path. Whatever the input, reading returns (an error or rows) and
// never panics.
func FuzzReadTable(f *testing.F) {
	dir := f.TempDir()
	seed := func(name string, write func(path string) error) {
		p := filepath.Join(dir, name)
		if err := write(p); err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(data[len(data)/3:])
	}
	seed("ads.parquet", func(p string) error {
		return WriteTable(p, []AdPin{
			{ID: 0, Advertiser: 1, Categories: []CategoryScore{{1, 0.6}, {2, 0.3}}, Bid: 1, Quality: 0.5},
			{ID: 1, Categories: []CategoryScore{{0, 1}}, Bid: 2, Quality: 1, ConversionValue: 3},
		})
	})
	seed("requests.parquet", func(p string) error {
		return WriteTable(p, []Request{{RequestID: 9, UserID: 1, Timestamp: 100, Surface: SurfaceRelatedPins, SubjectPinID: 2, SubjectCategories: []CategoryScore{{3, 0.9}}}})
	})
	seed("events.parquet", func(p string) error {
		return WriteTable(p, []Event{{UserID: 0, AdPinID: 1, Type: 2, Timestamp: 5}, {UserID: 1, AdPinID: 0, Timestamp: 6}})
	})
	f.Add([]byte{})
	f.Add([]byte("PAR1"))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Add([]byte("user_id,country\n0,US\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "x.parquet")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		readChecked[AdPin](p)
		readChecked[Request](p)
		readChecked[Event](p)
		readChecked[TruthRequest](p)
		ReadTable[User](p)
		tableRows(p)
	})
}
