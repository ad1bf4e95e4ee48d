package datasets

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Manifest kinds of imported datasets.
const (
	MovieLensKind = "movielens"
	SequencesKind = "sequences"
)

// Files an importer writes besides the tables of schema.go, relative to the
// dataset folder: the original ids and the fields the schema has no column
// for.
const (
	ImportItemsFile = "import/items.parquet" // ImportedItem rows, one per ad Pin
	ImportUsersFile = "import/users.parquet" // ImportedUser rows, one per user
)

// UnknownCountry is the country of an imported user whose country is not
// known: "ZZ", a user-assigned ISO 3166-1 alpha-2 code.
const UnknownCountry = "ZZ"

// MaxReportedLines caps the malformed lines a MalformedError lists; the rest
// are counted.
const MaxReportedLines = 20

// SequenceEpoch is the synthetic time of a sequence file's first line of
// every user: 2000-01-01 00:00 UTC. A user's k-th line is k seconds later.
var SequenceEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// Importer names (Manifest.CreatedBy).
const (
	MovieLensImporterName = "cgbench datasets.ImportMovieLens"
	SequencesImporterName = "cgbench datasets.ImportSequences"
)

// Keys of ImportReport.Dropped. Interactions are counted per removed
// interaction, users and items per removed entity.
const (
	DroppedBelowMinRating      = "interactions_below_min_rating"
	DroppedDuplicate           = "interactions_duplicate"
	DroppedUserMinInteractions = "interactions_user_below_min"
	DroppedItemMinInteractions = "interactions_item_below_min"
	DroppedUsersBelowMin       = "users_below_min_interactions" // lost every interaction to the minimum rules
	DroppedItemsBelowMin       = "items_below_min_interactions"
	DroppedUsersNoInteractions = "users_without_interactions" // listed in u.user, no interaction after the rating threshold
	DroppedItemsNoInteractions = "items_without_interactions" // listed in u.item, no interaction after the rating threshold
)

// ImportOptions are the usual filters of sequential-recommendation
// preprocessing. The zero value keeps everything.
type ImportOptions struct {
	// MinUserInteractions drops users with fewer interactions (0 = off).
	MinUserInteractions int `json:"min_user_interactions"`
	// MinItemInteractions drops items with fewer interactions (0 = off).
	MinItemInteractions int `json:"min_item_interactions"`
	// MinRating drops ratings below it (0 = off; MovieLens only).
	MinRating float64 `json:"min_rating"`
}

func (o ImportOptions) validate(ratings bool) error {
	switch {
	case o.MinUserInteractions < 0:
		return fmt.Errorf("min user interactions %d < 0", o.MinUserInteractions)
	case o.MinItemInteractions < 0:
		return fmt.Errorf("min item interactions %d < 0", o.MinItemInteractions)
	case math.IsNaN(o.MinRating) || math.IsInf(o.MinRating, 0) || o.MinRating < 0:
		return fmt.Errorf("min rating %v, want a finite value >= 0", o.MinRating)
	case o.MinRating != 0 && !ratings:
		return fmt.Errorf("min rating %v: a sequence file has no ratings", o.MinRating)
	}
	return nil
}

// ImportReport summarises an import: what was kept and what was dropped by
// which rule (the Dropped* keys, all present, zero included). The same
// counts are in the manifest's ImportConfig.
type ImportReport struct {
	Users, Items, Interactions int
	Dropped                    map[string]int
	Manifest                   *Manifest
}

// ImportConfig is Manifest.Config of an imported dataset.
type ImportConfig struct {
	Format       string         `json:"format"` // "movielens-100k" or "sequences"
	Sources      []ImportSource `json:"sources"`
	Options      ImportOptions  `json:"options"`
	Users        int            `json:"users"`
	Items        int            `json:"items"`
	Interactions int            `json:"interactions"`
	Dropped      map[string]int `json:"dropped"`
	Categories   []string       `json:"categories"` // category names by id
	IDOrder      string         `json:"id_order"`
	TieRule      string         `json:"tie_rule"`
	Timestamps   string         `json:"timestamps"`
	Filter       string         `json:"filter"`
	ItemsFile    string         `json:"items_file"`
	UsersFile    string         `json:"users_file"`
}

// ImportSource is one input file of an import.
type ImportSource struct {
	File   string `json:"file"` // base name
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	Lines  int    `json:"lines"`
}

// Rules recorded in ImportConfig, worded for a reader of the manifest.
const (
	importIDOrder = "dense ids 0..n-1 in ascending original id: integer ids numerically, then other ids as strings"
	importTieRule = "a user's events with equal timestamps are ordered by ascending item id"
	importFilter  = "rating threshold, duplicate removal, then minimum user and item interactions iterated to a fixed point (k-core); users and items left without interactions are dropped"
)

// ManifestImportConfig returns the importer config recorded in an imported
// dataset's manifest.
func ManifestImportConfig(m *Manifest) (ImportConfig, error) {
	if m.Kind != MovieLensKind && m.Kind != SequencesKind {
		return ImportConfig{}, fmt.Errorf("read import config: manifest kind %q is not an import", m.Kind)
	}
	data, err := json.Marshal(m.Config)
	if err != nil {
		return ImportConfig{}, fmt.Errorf("read import config: %w", err)
	}
	var c ImportConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return ImportConfig{}, fmt.Errorf("read import config: %w", err)
	}
	return c, nil
}

// ImportedItem is a row of ImportItemsFile: the original id and the fields
// of an imported item that the schema has no column for.
type ImportedItem struct {
	AdPinID    int32    `parquet:"ad_pin_id"`
	OriginalID string   `parquet:"original_id"`
	Title      string   `parquet:"title"`       // UTF-8; "" when the source has none
	Genres     []string `parquet:"genres,list"` // every genre, in u.genre order; empty when the source has none
}

// ImportedUser is a row of ImportUsersFile.
type ImportedUser struct {
	UserID     int32  `parquet:"user_id"`
	OriginalID string `parquet:"original_id"`
	Age        int32  `parquet:"age"`        // years; -1 when unknown
	Gender     string `parquet:"gender"`     // as in the source; "" when unknown
	Occupation string `parquet:"occupation"` // "" when unknown
	Zip        string `parquet:"zip"`        // "" when unknown
}

// LineProblem is one malformed line of an input file.
type LineProblem struct {
	File string // path as given
	Line int    // 1-based
	Msg  string
}

func (p LineProblem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// MalformedError lists the malformed lines of an import: the first
// MaxReportedLines in Lines, and the total count.
type MalformedError struct {
	Lines []LineProblem
	Total int
}

func (e *MalformedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d malformed line", e.Total)
	if e.Total != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Lines {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	if n := e.Total - len(e.Lines); n > 0 {
		fmt.Fprintf(&b, "\n\t... and %d more", n)
	}
	return b.String()
}

// problems collects malformed lines.
type problems struct{ e MalformedError }

func (p *problems) add(file string, line int, format string, args ...any) {
	p.e.Total++
	if len(p.e.Lines) < MaxReportedLines {
		p.e.Lines = append(p.e.Lines, LineProblem{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
}

func (p *problems) err() error {
	if p.e.Total == 0 {
		return nil
	}
	e := p.e
	return &e
}

// MovieLens-100k genre named "unknown" in u.genre.
const movieLensUnknownGenre = "unknown"

// ImportMovieLens imports the MovieLens-100k folder dir (u.data, u.item,
// u.user, u.genre) into the dataset folder out, which must not hold a
// dataset yet. u.data holds tab- (or space-) separated user id, item id,
// rating and unix time; u.item pipe-separated Latin-1 lines of id, title,
// release date, video release date, IMDb URL and one 0/1 flag per genre of
// u.genre ("name|index" lines); u.user pipe-separated id, age, gender,
// occupation and zip code. Malformed lines give a *MalformedError (wrapped).
//
// ImportMovieLens and ImportSequences turn the two layouts most
// sequential-recommendation papers use into a cgbench dataset folder, so that
// training and evaluation read them unchanged. The mapping into the schema:
//
//   - Items become ad Pins, and also organic Pins with the same id and
//     categories (so a model that takes a viewed Pin as context can be given
//     an item). Dense ids 0..n-1 follow the ascending order of the original
//     ids: integer ids numerically, before any non-integer ids, which sort
//     as strings. Advertiser = the dense item id, Bid 1, Quality 0.5,
//     ConversionValue 1 (the funnel's auction has nothing to go on).
//   - MovieLens genres become the interest categories: category i is line i
//     of u.genre (its own top-level group i). A movie's categories are its
//     flagged genres in u.genre order; the schema allows at most
//     MaxCategoriesPerPin, so a movie with more keeps the first three, and
//     its confidence 1/k is split equally among the k kept genres. A movie
//     with no genre flag gets the "unknown" genre of u.genre with confidence
//     1 (the line is malformed when u.genre has none). Every genre of a
//     movie, kept or not, is listed in ImportItemsFile. A sequence file has
//     no item features: every item gets the single category
//     "uncategorized" (id 0) with confidence 1, so a context layer sees a
//     constant.
//   - Users get dense ids in the same id order. MovieLens ages map to the age
//     buckets of schema.go; ages under 18 go to bucket 0, the schema's
//     "unknown" bucket (it has no under-18 bucket, and MovieLens has no
//     unknown ages, so in an imported MovieLens folder bucket 0 means under
//     18). Gender M/F maps to GenderMale/GenderFemale. Country comes from
//     the zip code: five digits give "US", a Canadian postal code (letter,
//     digit, letter...) gives "CA", anything else UnknownCountry ("ZZ", the
//     ISO 3166 user-assigned code, here meaning unknown). Sequence-file
//     users have bucket 0, GenderUnknown and UnknownCountry. Age,
//     occupation, zip code and the original id are kept in ImportUsersFile.
//   - Interactions become EventCheckout events. MovieLens keeps its unix
//     timestamps; a sequence file has none, so a user's k-th line (k from 0)
//     gets SequenceEpoch + k seconds.
//   - Events are sorted by user, timestamp, then ad Pin id, as events.parquet
//     requires: events of one user with equal timestamps are ordered by
//     ascending dense item id, that is by ascending original item id. This
//     is the tie rule every protocol downstream inherits. Exact duplicates
//     (same user, item and timestamp) are kept once and counted.
//   - The manifest: Kind MovieLensKind or SequencesKind; StartTime the
//     midnight UTC on or before the first event; EvalStartDay the day after
//     the last event and EvalDays 1, so every event is history and next-item
//     protocols (leave-last-out) split it per user. requests.parquet is
//     written empty; there is no truth folder. Config is an ImportConfig
//     with the options, the dropped counts, the source files' hashes and the
//     rules above.
//
// Filtering (ImportOptions, off by default) runs in this order: the rating
// threshold (MovieLens only), duplicate removal, then the minimum-interaction
// rules iterated to a fixed point (a k-core): each pass removes every
// interaction of a user with fewer than MinUserInteractions interactions and
// of an item with fewer than MinItemInteractions, counted against the user
// rule when both apply, until no user or item is below its minimum. Users
// and items left without interactions are dropped. Every removal is counted
// in ImportReport.Dropped and ImportConfig.Dropped under the Dropped* keys.
//
// Malformed lines are never skipped: the import fails with a *MalformedError
// listing each one by file and line number. Blank lines hold no record and
// are ignored.
func ImportMovieLens(ctx context.Context, dir, out string, opts ImportOptions) (*ImportReport, error) {
	r, err := importMovieLens(ctx, dir, out, opts)
	if err != nil {
		return nil, fmt.Errorf("import movielens %s: %w", dir, err)
	}
	return r, nil
}

func importMovieLens(ctx context.Context, dir, out string, opts ImportOptions) (*ImportReport, error) {
	if err := opts.validate(true); err != nil {
		return nil, err
	}
	var (
		raw     rawImport
		bad     problems
		sources []ImportSource
	)
	read := func(name string, fn func(line int, s string)) error {
		src, err := scanLines(ctx, filepath.Join(dir, name), fn)
		if err != nil {
			return err
		}
		sources = append(sources, src)
		return nil
	}

	// u.genre: "name|index", indices dense 0..G-1 in any line order.
	genreFile := filepath.Join(dir, "u.genre")
	type genreLine struct {
		name string
		line int
	}
	byIndex := map[int]genreLine{}
	if err := read("u.genre", func(line int, s string) {
		f := strings.Split(s, "|")
		if len(f) != 2 {
			bad.add(genreFile, line, "%d fields, want 2 (name|index)", len(f))
			return
		}
		name := strings.TrimSpace(f[0])
		idx, err := strconv.Atoi(strings.TrimSpace(f[1]))
		switch {
		case name == "":
			bad.add(genreFile, line, "empty genre name")
		case err != nil || idx < 0:
			bad.add(genreFile, line, "genre index %q is not an integer >= 0", f[1])
		default:
			if g, dup := byIndex[idx]; dup {
				bad.add(genreFile, line, "genre index %d already used at line %d", idx, g.line)
				return
			}
			byIndex[idx] = genreLine{name, line}
		}
	}); err != nil {
		return nil, err
	}
	genres := make([]string, len(byIndex))
	for idx, g := range byIndex {
		if idx >= len(genres) {
			bad.add(genreFile, g.line, "genre index %d, want 0..%d (indices are dense)", idx, len(genres)-1)
			continue
		}
		genres[idx] = g.name
	}
	if len(byIndex) == 0 {
		bad.add(genreFile, 1, "no genres")
	}
	if err := bad.err(); err != nil {
		return nil, err // u.item cannot be checked without the genres
	}
	unknownGenre := int32(slices.Index(genres, movieLensUnknownGenre))

	// u.item
	itemFile := filepath.Join(dir, "u.item")
	itemIndex := map[string]int32{}
	itemLine := map[string]int{}
	if err := read("u.item", func(line int, s string) {
		f := strings.Split(s, "|")
		if len(f) != 5+len(genres) {
			bad.add(itemFile, line, "%d fields, want %d (id|title|release date|video release date|url and %d genre flags)", len(f), 5+len(genres), len(genres))
			return
		}
		id := strings.TrimSpace(f[0])
		if id == "" {
			bad.add(itemFile, line, "empty item id")
			return
		}
		if l, dup := itemLine[id]; dup {
			bad.add(itemFile, line, "item %s already defined at line %d", id, l)
			return
		}
		var gs []int32
		for g, flag := range f[5:] {
			switch strings.TrimSpace(flag) {
			case "1":
				gs = append(gs, int32(g))
			case "0":
			default:
				bad.add(itemFile, line, "genre flag %d (%s) is %q, want 0 or 1", g, genres[g], flag)
				return
			}
		}
		if len(gs) == 0 {
			if unknownGenre < 0 {
				bad.add(itemFile, line, "no genre flag set and u.genre has no %q genre", movieLensUnknownGenre)
				return
			}
			gs = []int32{unknownGenre}
		}
		itemLine[id] = line
		itemIndex[id] = int32(len(raw.items))
		raw.items = append(raw.items, rawItem{key: parseIDKey(id), title: f[1], genres: gs})
	}); err != nil {
		return nil, err
	}

	// u.user
	userFile := filepath.Join(dir, "u.user")
	userIndex := map[string]int32{}
	userLine := map[string]int{}
	if err := read("u.user", func(line int, s string) {
		f := strings.Split(s, "|")
		if len(f) != 5 {
			bad.add(userFile, line, "%d fields, want 5 (id|age|gender|occupation|zip)", len(f))
			return
		}
		id := strings.TrimSpace(f[0])
		if id == "" {
			bad.add(userFile, line, "empty user id")
			return
		}
		if l, dup := userLine[id]; dup {
			bad.add(userFile, line, "user %s already defined at line %d", id, l)
			return
		}
		age, err := strconv.Atoi(strings.TrimSpace(f[1]))
		if err != nil || age < 0 || age > 150 {
			bad.add(userFile, line, "age %q is not an integer in 0..150", f[1])
			return
		}
		gender := strings.TrimSpace(f[2])
		var g int32
		switch strings.ToUpper(gender) {
		case "M":
			g = GenderMale
		case "F":
			g = GenderFemale
		default:
			bad.add(userFile, line, "gender %q, want M or F", f[2])
			return
		}
		zip := strings.TrimSpace(f[4])
		userLine[id] = line
		userIndex[id] = int32(len(raw.users))
		raw.users = append(raw.users, rawUser{
			key: parseIDKey(id), age: int32(age), gender: gender, occupation: strings.TrimSpace(f[3]), zip: zip,
			ageBucket: ageBucket(age), genderCode: g, country: zipCountry(zip),
		})
	}); err != nil {
		return nil, err
	}

	// u.data
	dataFile := filepath.Join(dir, "u.data")
	var belowMin int
	if err := read("u.data", func(line int, s string) {
		f := strings.Fields(s)
		if len(f) != 4 {
			bad.add(dataFile, line, "%d fields, want 4 (user item rating timestamp)", len(f))
			return
		}
		u, uok := userIndex[f[0]]
		it, iok := itemIndex[f[1]]
		rating, rerr := strconv.ParseFloat(f[2], 64)
		ts, terr := strconv.ParseInt(f[3], 10, 64)
		switch {
		case !uok:
			bad.add(dataFile, line, "user %s not in u.user", f[0])
		case !iok:
			bad.add(dataFile, line, "item %s not in u.item", f[1])
		case rerr != nil || math.IsNaN(rating) || math.IsInf(rating, 0):
			bad.add(dataFile, line, "rating %q is not a finite number", f[2])
		case terr != nil || ts < 0:
			bad.add(dataFile, line, "timestamp %q is not a unix time >= 0", f[3])
		case opts.MinRating > 0 && rating < opts.MinRating:
			belowMin++
		default:
			raw.inter = append(raw.inter, rawInter{user: u, item: it, ts: ts})
		}
	}); err != nil {
		return nil, err
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	return finishImport(ctx, out, importSpec{
		kind:       MovieLensKind,
		createdBy:  MovieLensImporterName,
		format:     "movielens-100k",
		timestamps: "unix time from u.data",
		categories: genres,
		sources:    sources,
		opts:       opts,
		belowMin:   belowMin,
	}, &raw)
}

// ageBucket maps an age in years to the buckets of schema.go; under 18 is
// bucket 0 (see the import notes).
func ageBucket(age int) int32 {
	switch {
	case age < 18:
		return 0
	case age < 25:
		return 1
	case age < 35:
		return 2
	case age < 45:
		return 3
	case age < 55:
		return 4
	case age < 65:
		return 5
	}
	return 6
}

// zipCountry guesses the country of a MovieLens zip code: five digits are a
// US ZIP code, letter-digit-letter starts a Canadian postal code.
func zipCountry(zip string) string {
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isLetter := func(c byte) bool { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') }
	if len(zip) == 5 && isDigit(zip[0]) && isDigit(zip[1]) && isDigit(zip[2]) && isDigit(zip[3]) && isDigit(zip[4]) {
		return "US"
	}
	if len(zip) >= 3 && isLetter(zip[0]) && isDigit(zip[1]) && isLetter(zip[2]) {
		return "CA"
	}
	return UnknownCountry
}

// idKey orders original ids: integers numerically, then other ids as
// strings.
type idKey struct {
	orig  string
	isInt bool
	n     int64
}

func parseIDKey(s string) idKey {
	n, err := strconv.ParseInt(s, 10, 64)
	return idKey{orig: s, isInt: err == nil, n: n}
}

func cmpIDKey(a, b idKey) int {
	switch {
	case a.isInt && b.isInt:
		if c := cmp.Compare(a.n, b.n); c != 0 {
			return c
		}
		return strings.Compare(a.orig, b.orig) // "7" and "07"
	case a.isInt:
		return -1
	case b.isInt:
		return 1
	}
	return strings.Compare(a.orig, b.orig)
}

type rawUser struct {
	key                   idKey
	age                   int32 // -1 unknown
	gender                string
	occupation, zip       string
	ageBucket, genderCode int32
	country               string
}

type rawItem struct {
	key    idKey
	title  string  // UTF-8
	genres []int32 // every flagged genre, ascending
}

type rawInter struct {
	user, item int32 // indices into rawImport.users, .items
	ts         int64
}

type rawImport struct {
	users []rawUser
	items []rawItem
	inter []rawInter
}

type importSpec struct {
	kind, createdBy, format, timestamps string
	categories                          []string
	sources                             []ImportSource
	opts                                ImportOptions
	belowMin                            int // interactions below the rating threshold
}

// scanLines calls fn with every non-blank line of the file at path, decoded
// from Latin-1 (ASCII is unchanged), without its line ending, and its 1-based
// number. It returns the file's description for the manifest.
func scanLines(ctx context.Context, path string, fn func(line int, s string)) (ImportSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return ImportSource{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	src := ImportSource{File: filepath.Base(path)}
	sum, size, err := HashFile(path)
	if err != nil {
		return ImportSource{}, err
	}
	src.SHA256, src.Bytes = sum, size
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		if line%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return ImportSource{}, fmt.Errorf("read %s: line %d: %w", path, line, err)
			}
		}
		b := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		fn(line, latin1(b))
	}
	if err := sc.Err(); err != nil {
		return ImportSource{}, fmt.Errorf("read %s: line %d: %w", path, line+1, err)
	}
	src.Lines = line
	return src, nil
}

// latin1 decodes ISO 8859-1 bytes: byte b is code point b.
func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// finishImport filters raw, assigns dense ids and writes the dataset folder
// out with its manifest (last). On error the files written are removed.
func finishImport(ctx context.Context, out string, spec importSpec, raw *rawImport) (rep *ImportReport, err error) {
	if _, err := os.Stat(filepath.Join(out, ManifestFile)); err == nil {
		return nil, fmt.Errorf("folder %s already holds a dataset (%s)", out, ManifestFile)
	}
	dropped := map[string]int{
		DroppedBelowMinRating: spec.belowMin, DroppedDuplicate: 0,
		DroppedUserMinInteractions: 0, DroppedItemMinInteractions: 0,
		DroppedUsersBelowMin: 0, DroppedItemsBelowMin: 0,
		DroppedUsersNoInteractions: 0, DroppedItemsNoInteractions: 0,
	}

	// Exact duplicates, found in (user, item, time) order.
	inter := raw.inter
	order := make([]int, len(inter))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		x, y := inter[a], inter[b]
		if c := cmp.Compare(x.user, y.user); c != 0 {
			return c
		}
		if c := cmp.Compare(x.item, y.item); c != 0 {
			return c
		}
		if c := cmp.Compare(x.ts, y.ts); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	alive := make([]bool, len(inter))
	for j, i := range order {
		if j > 0 && inter[order[j-1]] == inter[i] {
			dropped[DroppedDuplicate]++
			continue
		}
		alive[i] = true
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}

	// Minimum interactions, to a fixed point.
	userCnt := make([]int, len(raw.users))
	itemCnt := make([]int, len(raw.items))
	for i, x := range inter {
		if alive[i] {
			userCnt[x.user]++
			itemCnt[x.item]++
		}
	}
	for _, c := range userCnt {
		if c == 0 {
			dropped[DroppedUsersNoInteractions]++
		}
	}
	for _, c := range itemCnt {
		if c == 0 {
			dropped[DroppedItemsNoInteractions]++
		}
	}
	minU, minI := spec.opts.MinUserInteractions, spec.opts.MinItemInteractions
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
		badUser := func(u int32) bool { return userCnt[u] > 0 && userCnt[u] < minU }
		badItem := func(it int32) bool { return itemCnt[it] > 0 && itemCnt[it] < minI }
		removeUser := make([]bool, len(raw.users))
		removeItem := make([]bool, len(raw.items))
		found := false
		for u := range userCnt {
			if badUser(int32(u)) {
				removeUser[u], found = true, true
			}
		}
		for it := range itemCnt {
			if badItem(int32(it)) {
				removeItem[it], found = true, true
			}
		}
		if !found {
			break
		}
		for i, x := range inter {
			if !alive[i] || (!removeUser[x.user] && !removeItem[x.item]) {
				continue
			}
			alive[i] = false
			if removeUser[x.user] {
				dropped[DroppedUserMinInteractions]++
			} else {
				dropped[DroppedItemMinInteractions]++
			}
			userCnt[x.user]--
			itemCnt[x.item]--
			if userCnt[x.user] == 0 {
				dropped[DroppedUsersBelowMin]++
			}
			if itemCnt[x.item] == 0 {
				dropped[DroppedItemsBelowMin]++
			}
		}
	}

	// Dense ids in original id order, over the users and items kept.
	userID := denseIDs(len(raw.users), func(i int) bool { return userCnt[i] > 0 }, func(i int) idKey { return raw.users[i].key })
	itemID := denseIDs(len(raw.items), func(i int) bool { return itemCnt[i] > 0 }, func(i int) idKey { return raw.items[i].key })

	var events []Event
	for i, x := range inter {
		if alive[i] {
			events = append(events, Event{UserID: userID.dense[x.user], AdPinID: itemID.dense[x.item], Type: EventCheckout, Timestamp: x.ts})
		}
	}
	slices.SortFunc(events, func(a, b Event) int {
		if eventLess(a, b) {
			return -1
		}
		if eventLess(b, a) {
			return 1
		}
		return 0
	})

	nCat := len(spec.categories)
	categories := make([]Category, nCat)
	for i, name := range spec.categories {
		categories[i] = Category{ID: int32(i), Group: int32(i), Name: name}
	}
	ads := make([]AdPin, len(itemID.orig))
	organic := make([]OrganicPin, len(itemID.orig))
	items := make([]ImportedItem, len(itemID.orig))
	for d, ri := range itemID.orig {
		it := raw.items[ri]
		cats := []CategoryScore{{Category: 0, Confidence: 1}}
		var names []string
		if len(it.genres) > 0 {
			kept := it.genres[:min(len(it.genres), MaxCategoriesPerPin)]
			cats = make([]CategoryScore, len(kept))
			for j, g := range kept {
				cats[j] = CategoryScore{Category: g, Confidence: 1 / float32(len(kept))}
			}
			names = make([]string, len(it.genres))
			for j, g := range it.genres {
				names[j] = spec.categories[g]
			}
		}
		ads[d] = AdPin{ID: int32(d), Advertiser: int32(d), Categories: cats, Bid: 1, Quality: 0.5, ConversionValue: 1}
		organic[d] = OrganicPin{ID: int32(d), Categories: cats}
		items[d] = ImportedItem{AdPinID: int32(d), OriginalID: it.key.orig, Title: it.title, Genres: names}
	}
	users := make([]User, len(userID.orig))
	imported := make([]ImportedUser, len(userID.orig))
	for d, ri := range userID.orig {
		u := raw.users[ri]
		users[d] = User{ID: int32(d), AgeBucket: u.ageBucket, Country: u.country, Gender: u.genderCode}
		imported[d] = ImportedUser{UserID: int32(d), OriginalID: u.key.orig, Age: u.age, Gender: u.gender, Occupation: u.occupation, Zip: u.zip}
	}

	if len(events) == 0 {
		return nil, fmt.Errorf("no interactions left (dropped: %v)", dropped)
	}
	m := &Manifest{
		SchemaVersion: SchemaVersion,
		Kind:          spec.kind,
		CreatedBy:     spec.createdBy,
		EvalDays:      1,
		Files:         map[string]FileInfo{},
	}
	lo, hi := events[0].Timestamp, events[0].Timestamp
	for _, e := range events {
		lo, hi = min(lo, e.Timestamp), max(hi, e.Timestamp)
	}
	m.StartTime = lo - lo%SecondsPerDay // timestamps are >= 0
	m.EvalStartDay = m.Day(hi) + 1
	m.Config = ImportConfig{
		Format:       spec.format,
		Sources:      spec.sources,
		Options:      spec.opts,
		Users:        len(users),
		Items:        len(ads),
		Interactions: len(events),
		Dropped:      dropped,
		Categories:   spec.categories,
		IDOrder:      importIDOrder,
		TieRule:      importTieRule,
		Timestamps:   spec.timestamps,
		Filter:       importFilter,
		ItemsFile:    ImportItemsFile,
		UsersFile:    ImportUsersFile,
	}

	if err := os.MkdirAll(filepath.Join(out, filepath.Dir(ImportItemsFile)), 0o755); err != nil {
		return nil, err
	}
	var written []string
	defer func() {
		if err != nil {
			for _, p := range written {
				os.Remove(filepath.Join(out, p))
			}
			os.Remove(filepath.Join(out, filepath.Dir(ImportItemsFile))) // only when empty
		}
	}()
	rows := map[string]int64{}
	write := func(name string, n int, f func(path string) error) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		written = append(written, name)
		rows[name] = int64(n)
		return f(filepath.Join(out, name))
	}
	steps := []struct {
		name string
		n    int
		f    func(string) error
	}{
		{CategoriesFile, len(categories), func(p string) error { return WriteTable(p, categories) }},
		{AdPinsFile, len(ads), func(p string) error { return WriteTable(p, ads) }},
		{OrganicPinsFile, len(organic), func(p string) error { return WriteTable(p, organic) }},
		{UsersFile, len(users), func(p string) error { return WriteTable(p, users) }},
		{EventsFile, len(events), func(p string) error { return WriteTable(p, events) }},
		{RequestsFile, 0, func(p string) error { return WriteTable[Request](p, nil) }},
		{ImportItemsFile, len(items), func(p string) error { return WriteTable(p, items) }},
		{ImportUsersFile, len(imported), func(p string) error { return WriteTable(p, imported) }},
	}
	for _, s := range steps {
		if err := write(s.name, s.n, s.f); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range rows {
			if !yield(k) {
				return
			}
		}
	}) {
		sum, size, err := HashFile(filepath.Join(out, name))
		if err != nil {
			return nil, err
		}
		m.Files[name] = FileInfo{Rows: rows[name], Bytes: size, SHA256: sum}
	}
	m.Hash = dataHash(m.Files)
	written = append(written, ManifestFile)
	if err := writeManifest(out, m); err != nil {
		return nil, err
	}
	return &ImportReport{Users: len(users), Items: len(ads), Interactions: len(events), Dropped: dropped, Manifest: m}, nil
}

// denseMap maps raw indices to dense ids and back.
type denseMap struct {
	dense []int32 // raw index -> dense id, -1 when dropped
	orig  []int   // dense id -> raw index
}

// denseIDs numbers the kept entities of n in ascending key order.
func denseIDs(n int, keep func(i int) bool, key func(i int) idKey) denseMap {
	m := denseMap{dense: make([]int32, n)}
	for i := range n {
		m.dense[i] = -1
		if keep(i) {
			m.orig = append(m.orig, i)
		}
	}
	slices.SortStableFunc(m.orig, func(a, b int) int { return cmpIDKey(key(a), key(b)) })
	for d, i := range m.orig {
		m.dense[i] = int32(d)
	}
	return m
}
