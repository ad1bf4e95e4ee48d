package datasets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFiles writes name -> content into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Genres of the tiny MovieLens files: "unknown" first, as in ML-100k.
const tinyGenre = "unknown|0\nAction|1\nComedy|2\nDrama|3\nWestern|4\n\n"

// tinyItem has a Latin-1 title (0xE9 is é), a movie with four genres, one
// with none, and ids 2 < 10 that sort differently as strings.
var tinyItem = "1|Caf\xe9 Noir (1995)|01-Jan-1995||http://x|0|0|1|1|0\n" +
	"10|Big (1988)|01-Jan-1988||http://y|0|1|1|1|1\n" +
	"2|Nothing (1990)|01-Jan-1990||http://z|0|0|0|0|0\n" +
	"7|Unrated (1991)|01-Jan-1991||http://w|0|1|0|0|0\n"

const tinyUser = "5|15|F|student|12345\n" +
	"3|30|M|engineer|T8H1N\n" +
	"9|70|F|retired|abcde\n"

// tinyData: user 3 rates items 10 and 2 at the same second (listed 10
// first); user 9 rates item 1 with a 2; item 7 is never rated.
const tinyData = "3\t10\t4\t1000000\n" +
	"3\t2\t5\t1000000\n" +
	"3\t1\t3\t900000\n" +
	"5\t1\t5\t1000050\n" +
	"9\t1\t2\t1000100\n" +
	"5\t10\t4\t1000010\n"

func tinyMovieLens(t *testing.T) string {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"u.genre": tinyGenre, "u.item": tinyItem, "u.user": tinyUser, "u.data": tinyData})
	return dir
}

func TestImportMovieLens(t *testing.T) {
	ctx := context.Background()
	src := tinyMovieLens(t)
	out := filepath.Join(t.TempDir(), "ml")
	rep, err := ImportMovieLens(ctx, src, out, ImportOptions{})
	if err != nil {
		t.Fatalf("ImportMovieLens: %v", err)
	}
	if rep.Users != 3 || rep.Items != 3 || rep.Interactions != 6 {
		t.Errorf("report users, items, interactions = %d, %d, %d, want 3, 3, 6", rep.Users, rep.Items, rep.Interactions)
	}
	if got := rep.Dropped[DroppedItemsNoInteractions]; got != 1 {
		t.Errorf("Dropped[%s] = %d, want 1 (item 7)", DroppedItemsNoInteractions, got)
	}
	problems, err := Validate(ctx, out)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, p := range problems {
		t.Errorf("Validate: %s", p)
	}
	w, err := Open(out, OpenOptions{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if w.Manifest.Kind != MovieLensKind {
		t.Errorf("Kind = %q, want %q", w.Manifest.Kind, MovieLensKind)
	}
	// Dense ids follow numeric original ids: items 1, 2, 10 -> 0, 1, 2;
	// users 3, 5, 9 -> 0, 1, 2.
	items, err := ReadTable[ImportedItem](filepath.Join(out, ImportItemsFile))
	if err != nil {
		t.Fatal(err)
	}
	wantItems := []ImportedItem{
		{AdPinID: 0, OriginalID: "1", Title: "Café Noir (1995)", Genres: []string{"Comedy", "Drama"}},
		{AdPinID: 1, OriginalID: "2", Title: "Nothing (1990)", Genres: []string{"unknown"}},
		{AdPinID: 2, OriginalID: "10", Title: "Big (1988)", Genres: []string{"Action", "Comedy", "Drama", "Western"}},
	}
	if !reflect.DeepEqual(items, wantItems) {
		t.Errorf("%s = %+v, want %+v", ImportItemsFile, items, wantItems)
	}
	third := float32(1) / 3
	wantCats := [][]CategoryScore{
		{{2, 0.5}, {3, 0.5}},
		{{0, 1}},
		{{1, third}, {2, third}, {3, third}}, // first three of four genres
	}
	for i, a := range w.AdPins {
		if !reflect.DeepEqual(a.Categories, wantCats[i]) {
			t.Errorf("ad Pin %d categories = %v, want %v", i, a.Categories, wantCats[i])
		}
		if !reflect.DeepEqual(w.OrganicPins[i].Categories, wantCats[i]) {
			t.Errorf("organic Pin %d categories = %v, want %v", i, w.OrganicPins[i].Categories, wantCats[i])
		}
	}
	if len(w.Categories) != 5 || w.Categories[4].Name != "Western" {
		t.Errorf("categories = %+v, want the 5 genres of u.genre", w.Categories)
	}
	wantUsers := []User{
		{ID: 0, AgeBucket: 2, Country: "CA", Gender: GenderMale},
		{ID: 1, AgeBucket: 0, Country: "US", Gender: GenderFemale},
		{ID: 2, AgeBucket: 6, Country: UnknownCountry, Gender: GenderFemale},
	}
	if !reflect.DeepEqual(w.Users, wantUsers) {
		t.Errorf("users = %+v, want %+v", w.Users, wantUsers)
	}
	// User 3 (id 0): item 1 at 900000, then the tie at 1000000 in item id
	// order: item 2 (id 1) before item 10 (id 2), although u.data lists 10
	// first.
	wantEvents := []Event{
		{UserID: 0, AdPinID: 0, Timestamp: 900000},
		{UserID: 0, AdPinID: 1, Timestamp: 1000000},
		{UserID: 0, AdPinID: 2, Timestamp: 1000000},
		{UserID: 1, AdPinID: 2, Timestamp: 1000010},
		{UserID: 1, AdPinID: 0, Timestamp: 1000050},
		{UserID: 2, AdPinID: 0, Timestamp: 1000100},
	}
	if !reflect.DeepEqual(w.Events, wantEvents) {
		t.Errorf("events = %+v, want %+v", w.Events, wantEvents)
	}
	if w.Manifest.StartTime != 864000 || w.Manifest.Day(1000100)+1 != w.Manifest.EvalStartDay || w.Manifest.EvalDays != 1 {
		t.Errorf("manifest days: start %d, eval start day %d, eval days %d; want 864000, day(last event)+1, 1",
			w.Manifest.StartTime, w.Manifest.EvalStartDay, w.Manifest.EvalDays)
	}
	cfg, err := ManifestImportConfig(&w.Manifest)
	if err != nil {
		t.Fatalf("ManifestImportConfig: %v", err)
	}
	if cfg.Users != 3 || cfg.Dropped[DroppedItemsNoInteractions] != 1 || len(cfg.Sources) != 4 || cfg.Format != "movielens-100k" {
		t.Errorf("import config = %+v", cfg)
	}
	iu, err := ReadTable[ImportedUser](filepath.Join(out, ImportUsersFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := (ImportedUser{UserID: 1, OriginalID: "5", Age: 15, Gender: "F", Occupation: "student", Zip: "12345"}); iu[1] != want {
		t.Errorf("%s row 1 = %+v, want %+v", ImportUsersFile, iu[1], want)
	}

	// Same input, same bytes; a second import into the folder is refused.
	out2 := filepath.Join(t.TempDir(), "ml")
	rep2, err := ImportMovieLens(ctx, src, out2, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Manifest.Hash != rep.Manifest.Hash {
		t.Errorf("data hash of a second import = %s, want %s", rep2.Manifest.Hash, rep.Manifest.Hash)
	}
	if _, err := ImportMovieLens(ctx, src, out, ImportOptions{}); err == nil {
		t.Errorf("ImportMovieLens into a dataset folder: no error")
	}
}

func TestImportMovieLensFilters(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name               string
		data               string
		opts               ImportOptions
		users, items, nint int
		dropped            map[string]int
	}{
		{
			name: "rating threshold", data: tinyData, opts: ImportOptions{MinRating: 4},
			// Drops 3/1 (3) and 9/1 (2): user 9 is left without ratings.
			users: 2, items: 3, nint: 4,
			dropped: map[string]int{DroppedBelowMinRating: 2, DroppedUsersNoInteractions: 1, DroppedItemsNoInteractions: 1},
		},
		{
			name: "duplicate line", data: tinyData + "5\t10\t4\t1000010\n",
			users: 3, items: 3, nint: 6,
			dropped: map[string]int{DroppedDuplicate: 1, DroppedItemsNoInteractions: 1},
		},
		{
			name: "min user interactions", data: tinyData, opts: ImportOptions{MinUserInteractions: 2},
			// User 9 has one rating.
			users: 2, items: 3, nint: 5,
			dropped: map[string]int{DroppedUserMinInteractions: 1, DroppedUsersBelowMin: 1, DroppedItemsNoInteractions: 1},
		},
		{
			name: "min item interactions", data: tinyData, opts: ImportOptions{MinItemInteractions: 2},
			// Item 2 has one rating.
			users: 3, items: 2, nint: 5,
			dropped: map[string]int{DroppedItemMinInteractions: 1, DroppedItemsBelowMin: 1, DroppedItemsNoInteractions: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			writeFiles(t, src, map[string]string{"u.genre": tinyGenre, "u.item": tinyItem, "u.user": tinyUser, "u.data": tc.data})
			out := filepath.Join(t.TempDir(), "ml")
			rep, err := ImportMovieLens(ctx, src, out, tc.opts)
			if err != nil {
				t.Fatalf("ImportMovieLens: %v", err)
			}
			if rep.Users != tc.users || rep.Items != tc.items || rep.Interactions != tc.nint {
				t.Errorf("users, items, interactions = %d, %d, %d, want %d, %d, %d", rep.Users, rep.Items, rep.Interactions, tc.users, tc.items, tc.nint)
			}
			checkDropped(t, rep.Dropped, tc.dropped)
			cfg, err := ManifestImportConfig(rep.Manifest)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Dropped, rep.Dropped) || cfg.Options != tc.opts {
				t.Errorf("manifest dropped %v, options %+v; want %v, %+v", cfg.Dropped, cfg.Options, rep.Dropped, tc.opts)
			}
			if problems, err := Validate(ctx, out); err != nil || len(problems) > 0 {
				t.Errorf("Validate = %v, %v; want no problems", problems, err)
			}
		})
	}
}

// checkDropped compares every Dropped* key; keys missing from want are 0.
func checkDropped(t *testing.T, got, want map[string]int) {
	t.Helper()
	keys := []string{DroppedBelowMinRating, DroppedDuplicate, DroppedUserMinInteractions, DroppedItemMinInteractions,
		DroppedUsersBelowMin, DroppedItemsBelowMin, DroppedUsersNoInteractions, DroppedItemsNoInteractions}
	if len(got) != len(keys) {
		t.Errorf("Dropped has %d keys, want %d: %v", len(got), len(keys), got)
	}
	for _, k := range keys {
		if g, ok := got[k]; !ok || g != want[k] {
			t.Errorf("Dropped[%s] = %d (present %v), want %d", k, g, ok, want[k])
		}
	}
}

func TestImportMovieLensMalformed(t *testing.T) {
	ctx := context.Background()
	many := strings.Repeat("3\t1\n", 25)
	tests := []struct {
		name  string
		files map[string]string
		total int
		want  []string // substrings of the error, "FILE" replaced by the source folder
	}{
		{
			name:  "bad data lines",
			files: map[string]string{"u.data": "3\t10\t4\t1000000\n3\t10\t4\n\n5\t99\t4\t1\n5\t1\tx\t1\n9\t1\t2\t-5\n1\t1\t2\t3\n"},
			total: 5,
			want: []string{
				"FILE/u.data:2: 3 fields, want 4", "FILE/u.data:4: item 99 not in u.item",
				"FILE/u.data:5: rating \"x\"", "FILE/u.data:6: timestamp \"-5\"", "FILE/u.data:7: user 1 not in u.user",
			},
		},
		{
			name: "bad item and user lines",
			files: map[string]string{
				"u.item": tinyItem + "11|Short|x\n12|Flag|d||u|0|2|0|0|0\n1|Again|d||u|0|0|0|0|1\n",
				"u.user": tinyUser + "4|old|M|x|12345\n6|20|X|x|12345\n",
			},
			total: 5,
			want: []string{
				"FILE/u.item:5: 3 fields, want 10", "FILE/u.item:6: genre flag 1 (Action) is \"2\"",
				"FILE/u.item:7: item 1 already defined at line 1", "FILE/u.user:4: age \"old\"", "FILE/u.user:5: gender \"X\"",
			},
		},
		{
			name:  "bad genre lines",
			files: map[string]string{"u.genre": "unknown|0\nAction|x\nDrama|5\n"},
			total: 2,
			want:  []string{"FILE/u.genre:2: genre index \"x\"", "FILE/u.genre:3: genre index 5, want 0..1"},
		},
		{
			name:  "no genre and no unknown genre",
			files: map[string]string{"u.genre": "Action|0\nComedy|1\nDrama|2\nWestern|3\n", "u.item": "1|A|d||u|0|0|0|0\n", "u.data": "3\t1\t4\t5\n"},
			total: 2, // the rating of the rejected movie is reported too
			want:  []string{"FILE/u.item:1: no genre flag set", "FILE/u.data:1: item 1 not in u.item"},
		},
		{
			name:  "capped list",
			files: map[string]string{"u.data": many},
			total: 25,
			want:  []string{"25 malformed lines", "FILE/u.data:20: 2 fields", "... and 5 more"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			files := map[string]string{"u.genre": tinyGenre, "u.item": tinyItem, "u.user": tinyUser, "u.data": tinyData}
			for k, v := range tc.files {
				files[k] = v
			}
			writeFiles(t, src, files)
			out := filepath.Join(t.TempDir(), "ml")
			_, err := ImportMovieLens(ctx, src, out, ImportOptions{})
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("ImportMovieLens error = %v, want a *MalformedError", err)
			}
			if me.Total != tc.total || len(me.Lines) != min(tc.total, MaxReportedLines) {
				t.Errorf("MalformedError total %d with %d lines, want %d with %d", me.Total, len(me.Lines), tc.total, min(tc.total, MaxReportedLines))
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "FILE", src); !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, err := os.Stat(filepath.Join(out, ManifestFile)); err == nil {
				t.Errorf("a failed import wrote %s", ManifestFile)
			}
		})
	}
}

func TestImportMovieLensErrors(t *testing.T) {
	src := tinyMovieLens(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ImportMovieLens(ctx, src, filepath.Join(t.TempDir(), "ml"), ImportOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("ImportMovieLens with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := ImportMovieLens(context.Background(), t.TempDir(), filepath.Join(t.TempDir(), "ml"), ImportOptions{}); err == nil || !strings.Contains(err.Error(), "u.genre") {
		t.Errorf("ImportMovieLens of an empty folder = %v, want an error naming u.genre", err)
	}
	for _, opts := range []ImportOptions{{MinUserInteractions: -1}, {MinItemInteractions: -2}, {MinRating: -1}} {
		if _, err := ImportMovieLens(context.Background(), src, filepath.Join(t.TempDir(), "ml"), opts); err == nil {
			t.Errorf("ImportMovieLens(%+v): no error", opts)
		}
	}
	if _, err := ImportMovieLens(context.Background(), src, filepath.Join(t.TempDir(), "ml"), ImportOptions{MinRating: 6}); err == nil {
		t.Errorf("ImportMovieLens with every rating filtered out: no error")
	}
}

func TestImportSequences(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "seq.txt")
	// Users interleaved; ids "b" and "10" sort after "2" and "9"; user 1
	// repeats item 5; CRLF line endings are accepted.
	writeFiles(t, dir, map[string]string{"seq.txt": "1 5\n1 9\r\n2 9\n1\t5\n2 10\n2 b\n1 2\n"})
	out := filepath.Join(t.TempDir(), "seq")
	rep, err := ImportSequences(ctx, file, out, ImportOptions{})
	if err != nil {
		t.Fatalf("ImportSequences: %v", err)
	}
	if rep.Users != 2 || rep.Items != 5 || rep.Interactions != 7 {
		t.Errorf("users, items, interactions = %d, %d, %d, want 2, 5, 7", rep.Users, rep.Items, rep.Interactions)
	}
	checkDropped(t, rep.Dropped, nil)
	if problems, err := Validate(ctx, out); err != nil || len(problems) > 0 {
		t.Errorf("Validate = %v, %v; want no problems", problems, err)
	}
	w, err := Open(out, OpenOptions{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	// Items 2, 5, 9, 10, b -> 0..4.
	e := SequenceEpoch
	want := []Event{
		{UserID: 0, AdPinID: 1, Timestamp: e}, {UserID: 0, AdPinID: 2, Timestamp: e + 1},
		{UserID: 0, AdPinID: 1, Timestamp: e + 2}, {UserID: 0, AdPinID: 0, Timestamp: e + 3},
		{UserID: 1, AdPinID: 2, Timestamp: e}, {UserID: 1, AdPinID: 3, Timestamp: e + 1},
		{UserID: 1, AdPinID: 4, Timestamp: e + 2},
	}
	if !reflect.DeepEqual(w.Events, want) {
		t.Errorf("events = %+v, want %+v", w.Events, want)
	}
	items, err := ReadTable[ImportedItem](filepath.Join(out, ImportItemsFile))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, it.OriginalID)
	}
	if want := []string{"2", "5", "9", "10", "b"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("original item ids = %v, want %v", ids, want)
	}
	if len(w.Categories) != 1 || w.Categories[0].Name != SequenceCategory {
		t.Errorf("categories = %+v, want one %q", w.Categories, SequenceCategory)
	}
	for _, u := range w.Users {
		if u.Country != UnknownCountry || u.Gender != GenderUnknown || u.AgeBucket != 0 {
			t.Errorf("user %+v, want unknown demographics", u)
		}
	}
	if w.Manifest.Kind != SequencesKind || w.Manifest.StartTime != SequenceEpoch || w.Manifest.EvalStartDay != 1 {
		t.Errorf("manifest kind %q start %d eval start day %d, want %q %d 1", w.Manifest.Kind, w.Manifest.StartTime, w.Manifest.EvalStartDay, SequencesKind, SequenceEpoch)
	}
	if _, err := ImportSequences(ctx, file, filepath.Join(t.TempDir(), "x"), ImportOptions{MinRating: 4}); err == nil {
		t.Errorf("ImportSequences with MinRating: no error")
	}
}

func TestImportSequencesFilters(t *testing.T) {
	// The k-core worked by hand (MinUser = MinItem = 2):
	//   a: x y z   b: x y   c: x w   d: w
	// pass 1 drops d (1 interaction) and z (1): a-z by the item rule, d-w by
	//        the user rule; w falls to 1.
	// pass 2 drops w: c-w by the item rule; c falls to 1.
	// pass 3 drops c: c-x by the user rule.
	// Left: a, b with x, y: 4 interactions.
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"s.txt": "a x\na y\na z\nb x\nb y\nc x\nc w\nd w\n"})
	rep, err := ImportSequences(context.Background(), filepath.Join(dir, "s.txt"), filepath.Join(t.TempDir(), "s"), ImportOptions{MinUserInteractions: 2, MinItemInteractions: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Users != 2 || rep.Items != 2 || rep.Interactions != 4 {
		t.Errorf("users, items, interactions = %d, %d, %d, want 2, 2, 4", rep.Users, rep.Items, rep.Interactions)
	}
	checkDropped(t, rep.Dropped, map[string]int{
		DroppedUserMinInteractions: 2, DroppedItemMinInteractions: 2, DroppedUsersBelowMin: 2, DroppedItemsBelowMin: 2,
	})
}

func TestImportSequencesMalformed(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "seq.txt")
	writeFiles(t, dir, map[string]string{"seq.txt": "1 5\n1 6 7\n\n2\n2 3\n"})
	_, err := ImportSequences(context.Background(), file, filepath.Join(t.TempDir(), "s"), ImportOptions{})
	var me *MalformedError
	if !errors.As(err, &me) || me.Total != 2 {
		t.Fatalf("ImportSequences error = %v, want a *MalformedError with 2 lines", err)
	}
	for _, w := range []string{file + ":2: 3 fields, want 2", file + ":4: 1 fields, want 2"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if _, err := ImportSequences(context.Background(), filepath.Join(dir, "missing.txt"), filepath.Join(t.TempDir(), "s"), ImportOptions{}); err == nil {
		t.Errorf("ImportSequences of a missing file: no error")
	}
}

func ExampleMalformedError() {
	err := &MalformedError{Total: 2, Lines: []LineProblem{
		{File: "ml/u.data", Line: 12, Msg: "3 fields, want 4 (user item rating timestamp)"},
		{File: "ml/u.data", Line: 40, Msg: "item 1999 not in u.item"},
	}}
	fmt.Println(err)
	// Output:
	// 2 malformed lines
	// 	ml/u.data:12: 3 fields, want 4 (user item rating timestamp)
	// 	ml/u.data:40: item 1999 not in u.item
}
