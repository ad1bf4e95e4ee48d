package datasets

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rewrite reads table name of dir, applies f and writes the result back.
func rewrite[T any](t *testing.T, dir, name string, f func(rows []T) []T) {
	t.Helper()
	p := filepath.Join(dir, name)
	rows, err := ReadTable[T](p)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(p, f(rows)); err != nil {
		t.Fatal(err)
	}
}

func updateManifest(t *testing.T, dir string) {
	t.Helper()
	if _, err := UpdateManifest(dir); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Tables with a column missing or of the wrong type.
type eventNoTimestamp struct {
	UserID  int32 `parquet:"user_id"`
	AdPinID int32 `parquet:"ad_pin_id"`
	Type    int32 `parquet:"event_type"`
}

type eventInt32Timestamp struct {
	UserID    int32 `parquet:"user_id"`
	AdPinID   int32 `parquet:"ad_pin_id"`
	Type      int32 `parquet:"event_type"`
	Timestamp int32 `parquet:"timestamp"`
}

type organicNoCategories struct {
	ID int32 `parquet:"pin_id"`
}

func TestValidateFindsPlantedProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, dir string)
		want  Problem  // Message is a substring
		also  []string // files that may report follow-on problems besides want.File
	}{
		{
			name: "NaN bid",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, AdPinsFile, func(r []AdPin) []AdPin { r[5].Bid = float32(math.NaN()); return r })
				updateManifest(t, dir)
			},
			want: Problem{AdPinsFile, 5, "bid", "NaN"},
		},
		{
			name: "Inf conversion value",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, AdPinsFile, func(r []AdPin) []AdPin { r[9].ConversionValue = float32(math.Inf(1)); return r })
				updateManifest(t, dir)
			},
			want: Problem{AdPinsFile, 9, "conversion_value", "+Inf"},
		},
		{
			name: "unknown user in events",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, EventsFile, func(r []Event) []Event { r[len(r)-1].UserID = 99999; return r })
				updateManifest(t, dir)
			},
			want: Problem{EventsFile, -2, "user_id", "99999 not in users.parquet"},
		},
		{
			name: "unknown category",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, AdPinsFile, func(r []AdPin) []AdPin { r[3].Categories[0].Category = 9999; return r })
				updateManifest(t, dir)
			},
			want: Problem{AdPinsFile, 3, "categories.category", "9999 not in categories.parquet"},
		},
		{
			name: "duplicate user id",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, UsersFile, func(r []User) []User { r[7].ID = 6; return r })
				updateManifest(t, dir)
			},
			want: Problem{UsersFile, 7, "user_id", "duplicate id 6 (also at row 6)"},
		},
		{
			name: "duplicate request id",
			plant: func(t *testing.T, dir string) {
				var id int64
				rewrite(t, dir, RequestsFile, func(r []Request) []Request { id = r[10].RequestID; r[20].RequestID = id; return r })
				rewrite(t, dir, TruthRequestsFile, func(r []TruthRequest) []TruthRequest { r[20].RequestID = id; return r })
				updateManifest(t, dir)
			},
			want: Problem{RequestsFile, 20, "request_id", "duplicate id"},
		},
		{
			name: "events not sorted",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, EventsFile, func(r []Event) []Event {
					i := slices.IndexFunc(r[1:], func(e Event) bool { return e.UserID == r[0].UserID && e.Timestamp > r[0].Timestamp }) + 1
					r[0].Timestamp, r[i].Timestamp = r[i].Timestamp, r[0].Timestamp
					return r
				})
				updateManifest(t, dir)
			},
			want: Problem{EventsFile, 1, "", "not sorted by user_id, timestamp, ad_pin_id"},
		},
		{
			name: "request before the eval window",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, RequestsFile, func(r []Request) []Request { r[0].Timestamp = SyntheticStartTime; return r })
				updateManifest(t, dir)
			},
			want: Problem{RequestsFile, 0, "timestamp", "outside the manifest's eval days"},
		},
		{
			name: "confidences sum above 1",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, OrganicPinsFile, func(r []OrganicPin) []OrganicPin {
					r[2].Categories = []CategoryScore{{1, 0.8}, {2, 0.7}}
					return r
				})
				updateManifest(t, dir)
			},
			want: Problem{OrganicPinsFile, 2, "categories.confidence", "sum to 1.5"},
		},
		{
			name: "four categories",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, OrganicPinsFile, func(r []OrganicPin) []OrganicPin {
					r[4].Categories = []CategoryScore{{1, 0.2}, {2, 0.2}, {3, 0.2}, {4, 0.2}}
					return r
				})
				updateManifest(t, dir)
			},
			want: Problem{OrganicPinsFile, 4, "categories", "4 entries, want 1..3"},
		},
		{
			name: "bad country",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, UsersFile, func(r []User) []User { r[11].Country = "usa"; return r })
				updateManifest(t, dir)
			},
			want: Problem{UsersFile, 11, "country", `"usa"`},
		},
		{
			name: "truncated file",
			plant: func(t *testing.T, dir string) {
				data, err := os.ReadFile(filepath.Join(dir, EventsFile))
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, dir, EventsFile, data[:len(data)/2])
			},
			want: Problem{EventsFile, -1, "", "not a valid parquet file"},
		},
		{
			name: "not a parquet file",
			plant: func(t *testing.T, dir string) {
				writeFile(t, dir, RequestsFile, []byte("request_id,user_id\n1,2\n"))
			},
			want: Problem{RequestsFile, -1, "", "not a valid parquet file"},
			also: []string{TruthRequestsFile, ImpressionsFile},
		},
		{
			name: "empty file",
			plant: func(t *testing.T, dir string) {
				writeFile(t, dir, UsersFile, nil)
			},
			want: Problem{UsersFile, -1, "", "not a valid parquet file"},
		},
		{
			name: "missing column",
			plant: func(t *testing.T, dir string) {
				var rows []eventNoTimestamp
				for i := range 10 {
					rows = append(rows, eventNoTimestamp{UserID: int32(i)})
				}
				if err := WriteTable(filepath.Join(dir, EventsFile), rows); err != nil {
					t.Fatal(err)
				}
				updateManifest(t, dir)
			},
			want: Problem{EventsFile, -1, "timestamp", "missing column timestamp"},
		},
		{
			name: "missing list column",
			plant: func(t *testing.T, dir string) {
				if err := WriteTable(filepath.Join(dir, OrganicPinsFile), []organicNoCategories{{0}, {1}}); err != nil {
					t.Fatal(err)
				}
				updateManifest(t, dir)
			},
			want: Problem{OrganicPinsFile, -1, "categories", "missing column categories"},
			also: []string{RequestsFile},
		},
		{
			name: "column of the wrong type",
			plant: func(t *testing.T, dir string) {
				if err := WriteTable(filepath.Join(dir, EventsFile), []eventInt32Timestamp{{Timestamp: 5}}); err != nil {
					t.Fatal(err)
				}
				updateManifest(t, dir)
			},
			want: Problem{EventsFile, -1, "timestamp", "type INT32, want INT64"},
		},
		{
			name: "hash mismatch",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, UsersFile, func(r []User) []User { r[0].Country = "FR"; return r })
			},
			want: Problem{UsersFile, -1, "", "sha256"},
		},
		{
			name: "missing manifest",
			plant: func(t *testing.T, dir string) {
				os.Remove(filepath.Join(dir, ManifestFile))
			},
			want: Problem{ManifestFile, -1, "", "missing"},
		},
		{
			name: "manifest not JSON",
			plant: func(t *testing.T, dir string) {
				writeFile(t, dir, ManifestFile, []byte("{\"schema_version\": "))
			},
			want: Problem{ManifestFile, -1, "", "not valid JSON"},
		},
		{
			name: "missing table",
			plant: func(t *testing.T, dir string) {
				os.Remove(filepath.Join(dir, UsersFile))
				updateManifest(t, dir)
			},
			want: Problem{UsersFile, -1, "", "missing table"},
		},
		{
			name: "truth misaligned",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, TruthRequestsFile, func(r []TruthRequest) []TruthRequest { r[0], r[1] = r[1], r[0]; return r })
				updateManifest(t, dir)
			},
			want: Problem{TruthRequestsFile, 0, "request_id", "rows are aligned"},
		},
		{
			name: "latent not unit",
			plant: func(t *testing.T, dir string) {
				rewrite(t, dir, TruthAdPinsFile, func(r []TruthAdPin) []TruthAdPin { r[8].Latent[0] += 0.5; return r })
				updateManifest(t, dir)
			},
			want: Problem{TruthAdPinsFile, 8, "latent", "want 1"},
		},
		{
			name: "impression of an unknown request",
			plant: func(t *testing.T, dir string) {
				if err := WriteImpressions(dir, []Impression{{RequestID: -5, AdPinID: 1, SourceCGs: []string{"a"}}}); err != nil {
					t.Fatal(err)
				}
				updateManifest(t, dir)
			},
			want: Problem{ImpressionsFile, 0, "request_id", "-5 not in requests.parquet"},
		},
		{
			name: "conversion without click",
			plant: func(t *testing.T, dir string) {
				w, err := Open(dir, OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				im := []Impression{{RequestID: w.Requests[0].RequestID, AdPinID: 1, SourceCGs: []string{"a", "b"}, Conversion: true, Value: 3}}
				if err := WriteImpressions(dir, im); err != nil {
					t.Fatal(err)
				}
				updateManifest(t, dir)
			},
			want: Problem{ImpressionsFile, 0, "conversion", "without a click"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyWorld(t)
			tc.plant(t, dir)
			problems, err := Validate(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want.Row == -2 { // the last row of the table
				m, err := ReadManifest(dir)
				if err != nil {
					t.Fatal(err)
				}
				want.Row = m.Files[want.File].Rows - 1
			}
			found := false
			for _, p := range problems {
				if p.File == want.File && p.Row == want.Row && p.Column == want.Column && strings.Contains(p.Message, want.Message) {
					found = true
				}
				if p.File != want.File && !slices.Contains(tc.also, p.File) {
					t.Errorf("unexpected problem %q", p)
				}
			}
			if !found {
				t.Errorf("Validate problems = %q, want one like %q", problems, want)
			}
		})
	}
}

func TestValidateCapsProblems(t *testing.T) {
	dir := copyWorld(t)
	rewrite(t, dir, EventsFile, func(r []Event) []Event {
		for i := range r {
			r[i].AdPinID = -1
		}
		return r
	})
	updateManifest(t, dir)
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Validate(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != MaxProblemsPerFile+1 {
		t.Fatalf("Validate gave %d problems, want %d and a summary", len(problems), MaxProblemsPerFile)
	}
	last := problems[len(problems)-1]
	want := fmt.Sprintf("... and %d more problems", m.Files[EventsFile].Rows-MaxProblemsPerFile)
	if last.File != EventsFile || last.Message != want {
		t.Errorf("last problem = %q, want %s: %s", last, EventsFile, want)
	}
}

func TestValidateNoFolder(t *testing.T) {
	if _, err := Validate(context.Background(), filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("Validate(missing folder) succeeded, want an error")
	}
}

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{EventsFile, 1812, "ad_pin_id", "99120 not in ad_pins.parquet"}, "events.parquet: row 1812: column ad_pin_id: 99120 not in ad_pins.parquet"},
		{Problem{UsersFile, -1, "", "missing table"}, "users.parquet: missing table"},
		{Problem{EventsFile, -1, "timestamp", "missing column timestamp"}, "events.parquet: column timestamp: missing column timestamp"},
		{Problem{EventsFile, 0, "", "not sorted"}, "events.parquet: row 0: not sorted"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("Problem.String() = %q, want %q", got, tc.want)
		}
	}
}

func TestValidateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Validate(ctx, smallWorld(t))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Validate(cancelled) error = %v, want context.Canceled", err)
	}
}

func BenchmarkValidateSmall(b *testing.B) {
	dir := smallWorld(b)
	for b.Loop() {
		if _, err := Validate(context.Background(), dir); err != nil {
			b.Fatal(err)
		}
	}
}
