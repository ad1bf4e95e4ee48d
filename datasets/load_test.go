package datasets

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := smallWorld(t)
	w, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := SmallWorldConfig()
	if len(w.Users) != cfg.Sizes.Users || len(w.AdPins) != cfg.Sizes.AdPins || len(w.Requests) != cfg.Sizes.Requests {
		t.Fatalf("Open: %d users, %d ad Pins, %d requests; want %d, %d, %d",
			len(w.Users), len(w.AdPins), len(w.Requests), cfg.Sizes.Users, cfg.Sizes.AdPins, cfg.Sizes.Requests)
	}
	if got := w.UserEvents[len(w.Users)]; got != len(w.Events) {
		t.Fatalf("UserEvents ends at %d, want %d events", got, len(w.Events))
	}
	for u := range w.Users {
		for _, e := range w.History(int32(u)) {
			if e.UserID != int32(u) {
				t.Fatalf("History(%d) holds an event of user %d", u, e.UserID)
			}
		}
	}
	tr, err := OpenTruth(dir, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Requests) != len(w.Requests) || len(tr.Users) != len(w.Users) || len(tr.AdPins) != len(w.AdPins) || len(tr.Categories) != len(w.Categories) {
		t.Fatalf("OpenTruth sizes %d/%d/%d/%d do not match the world", len(tr.Requests), len(tr.Users), len(tr.AdPins), len(tr.Categories))
	}

	w2, err := Open(dir, OpenOptions{SkipRequests: true})
	if err != nil {
		t.Fatal(err)
	}
	if w2.Requests != nil {
		t.Errorf("Open(SkipRequests) loaded %d requests", len(w2.Requests))
	}
	tr2, err := OpenTruth(dir, w2)
	if err != nil {
		t.Fatal(err)
	}
	if tr2.Requests != nil {
		t.Errorf("OpenTruth without requests loaded %d truth requests", len(tr2.Requests))
	}
	var n int64
	var prev Request
	err = ScanRequests(dir, 333, func(first int64, rows []Request) error {
		if first != n {
			t.Fatalf("ScanRequests batch starts at %d, want %d", first, n)
		}
		for i, r := range rows {
			if r.RequestID != w.Requests[first+int64(i)].RequestID {
				t.Fatalf("ScanRequests row %d = request %d, want %d", first+int64(i), r.RequestID, w.Requests[first+int64(i)].RequestID)
			}
			if n > 0 && requestLess(r, prev) {
				t.Fatalf("ScanRequests row %d out of order", first+int64(i))
			}
			prev = r
		}
		n += int64(len(rows))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(w.Requests)) {
		t.Errorf("ScanRequests read %d rows, want %d", n, len(w.Requests))
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, dir string)
		want  []string // substrings of the error
	}{
		{"missing events", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, EventsFile)) }, []string{"events.parquet"}},
		{"missing manifest", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, ManifestFile)) }, []string{"manifest"}},
		{"missing column", func(t *testing.T, dir string) {
			if err := WriteTable(filepath.Join(dir, EventsFile), []eventNoTimestamp{{}}); err != nil {
				t.Fatal(err)
			}
		}, []string{"events.parquet", "missing column timestamp"}},
		{"not parquet", func(t *testing.T, dir string) { writeFile(t, dir, UsersFile, []byte("PAR1 nope")) }, []string{"users.parquet", "not a valid parquet file"}},
		{"unknown ad in events", func(t *testing.T, dir string) {
			rewrite(t, dir, EventsFile, func(r []Event) []Event { r[4].AdPinID = 77777; return r })
		}, []string{"events.parquet: row 4: column ad_pin_id: 77777 not in ad_pins.parquet"}},
		{"ids not dense", func(t *testing.T, dir string) {
			rewrite(t, dir, AdPinsFile, func(r []AdPin) []AdPin { r[3].ID = 30; return r })
		}, []string{"ad_pins.parquet: row 3: column ad_pin_id: id 30, want 3"}},
		{"requests not sorted", func(t *testing.T, dir string) {
			rewrite(t, dir, RequestsFile, func(r []Request) []Request { r[5].Timestamp = r[0].Timestamp - 1; return r })
		}, []string{"requests.parquet: row 5", "not sorted"}},
		{"unknown subject pin", func(t *testing.T, dir string) {
			rewrite(t, dir, RequestsFile, func(r []Request) []Request { r[2].SubjectPinID = -1; return r })
		}, []string{"requests.parquet: row 2: column subject_pin_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyWorld(t)
			tc.plant(t, dir)
			_, err := Open(dir, OpenOptions{})
			if err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Open error = %q, want it to contain %q", err, s)
				}
			}
		})
	}
}

func TestOpenTruthErrors(t *testing.T) {
	t.Run("no truth", func(t *testing.T) {
		dir := copyWorld(t)
		if err := os.RemoveAll(filepath.Join(dir, TruthDir)); err != nil {
			t.Fatal(err)
		}
		_, err := OpenTruth(dir, nil)
		if err == nil || !strings.Contains(err.Error(), "no truth") {
			t.Fatalf("OpenTruth without truth/: error = %v, want one saying there is no truth", err)
		}
	})
	t.Run("misaligned", func(t *testing.T) {
		dir := copyWorld(t)
		rewrite(t, dir, TruthRequestsFile, func(r []TruthRequest) []TruthRequest { return r[1:] })
		w, err := Open(dir, OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = OpenTruth(dir, w)
		if err == nil || !strings.Contains(err.Error(), "truth/requests.parquet: row 0: column request_id") {
			t.Fatalf("OpenTruth misaligned: error = %v, want one naming truth/requests.parquet row 0 request_id", err)
		}
	})
}

func TestImpressionsAndUpdateManifest(t *testing.T) {
	dir := copyWorld(t)
	w, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r0, r1 := w.Requests[0].RequestID, w.Requests[1].RequestID
	if r0 > r1 {
		r0, r1 = r1, r0
	}
	rows := []Impression{ // out of order: WriteImpressions sorts a copy
		{RequestID: r1, AdPinID: 3, Slot: 0, SourceCGs: []string{"baseline"}, Price: 0.5, Click: true, Conversion: true, Value: 12},
		{RequestID: r0, AdPinID: 2, Slot: 1, SourceCGs: []string{"a", "b"}, Price: 0.3},
		{RequestID: r0, AdPinID: 1, Slot: 0, SourceCGs: []string{"a"}, Price: 0.4, Click: true},
	}
	if err := WriteImpressions(dir, rows); err != nil {
		t.Fatal(err)
	}
	if rows[0].RequestID != r1 {
		t.Errorf("WriteImpressions reordered the caller's rows")
	}
	before, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := UpdateManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Files[ImpressionsFile].Rows != 3 {
		t.Errorf("manifest impressions rows = %d, want 3", m.Files[ImpressionsFile].Rows)
	}
	if m.Hash == before.Hash {
		t.Errorf("UpdateManifest kept hash %s after adding impressions", m.Hash)
	}
	if m.Files[UsersFile] != before.Files[UsersFile] || m.Seed != before.Seed || m.EvalDays != before.EvalDays {
		t.Errorf("UpdateManifest changed the untouched fields")
	}
	if _, err := ManifestWorldConfig(m); err != nil {
		t.Errorf("config after UpdateManifest: %v", err)
	}
	problems, err := Validate(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("problem after adding impressions: %s", p)
	}
	w, err = Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Impressions) != 3 || w.Impressions[0].RequestID != r0 || w.Impressions[0].Slot != 0 {
		t.Errorf("Open impressions = %+v, want 3 sorted by request and slot", w.Impressions)
	}
	err = WriteImpressions(dir, []Impression{{RequestID: 1, Slot: 2}, {RequestID: 1, Slot: 2}})
	if err == nil || !strings.Contains(err.Error(), "two impressions in slot 2") {
		t.Errorf("WriteImpressions(duplicate slot) error = %v, want one naming the slot", err)
	}
}

func BenchmarkOpenSmall(b *testing.B) {
	dir := smallWorld(b)
	for b.Loop() {
		if _, err := Open(dir, OpenOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
