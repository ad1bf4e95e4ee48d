package datasets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Problem is one thing wrong with a dataset folder, located by file
// (relative to the folder), row (-1 when not one row's) and column ("" when
// not one column's).
type Problem struct {
	File    string `json:"file"`
	Row     int64  `json:"row"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

// String formats the problem as "events.parquet: row 1812: column
// ad_pin_id: 99120 not in ad_pins.parquet".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Row >= 0 {
		fmt.Fprintf(&b, ": row %d", p.Row)
	}
	if p.Column != "" {
		b.WriteString(": column ")
		b.WriteString(p.Column)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	return b.String()
}

// MaxProblemsPerFile caps the problems Validate reports for one file; the
// rest are counted in a final "... and N more" problem.
const MaxProblemsPerFile = 1000

// confidenceSumSlack is how far a Pin's confidences may sum above 1, for
// float32 rounding.
const confidenceSumSlack = 1e-4

// unitSlack is how far a latent vector's norm may be from 1.
const unitSlack = 1e-3

// Validate checks the dataset folder dir and returns every problem found:
// the manifest (present, parsable, schema version, content hashes, row
// counts), each table's columns and types, value ranges (see the column docs
// in schema.go), NaN and Inf in every float, duplicate and non-dense ids,
// sort orders, references to unknown ids, timestamps outside the manifest's
// days, and the truth tables' alignment with the observable ones. It never
// panics on corrupt, truncated or non-Parquet files: they are problems. The
// error is non-nil only when dir cannot be read at all or ctx is done.
func Validate(ctx context.Context, dir string) ([]Problem, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("validate %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("validate %s: not a folder", dir)
	}
	v := &validator{dir: dir, counts: map[string]int{}, nCat: -1, nAds: -1, nOrg: -1, nUsers: -1}
	v.manifest()
	steps := []struct {
		file     string
		required bool
		run      func(ctx context.Context, path string) error
	}{
		{CategoriesFile, true, v.categories},
		{AdPinsFile, true, v.adPins},
		{OrganicPinsFile, true, v.organicPins},
		{UsersFile, true, v.users},
		{EventsFile, true, v.events},
		{RequestsFile, true, v.requests},
		{TruthRequestsFile, false, v.truthRequests}, // before impressions: it needs requests in file order
		{ImpressionsFile, false, v.impressions},
		{TruthCategoriesFile, false, v.truthCategories},
		{TruthAdPinsFile, false, v.truthAdPins},
		{TruthUsersFile, false, v.truthUsers},
	}
	truthDir := false
	if st, err := os.Stat(filepath.Join(dir, TruthDir)); err == nil && st.IsDir() {
		truthDir = true
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("validate %s: %s: %w", dir, s.file, err)
		}
		path := filepath.Join(dir, s.file)
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				if s.required || (truthDir && strings.HasPrefix(s.file, TruthDir+"/")) {
					v.add(s.file, -1, "", "missing table")
				}
				continue
			}
			v.add(s.file, -1, "", "%v", err)
			continue
		}
		if err := s.run(ctx, path); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("validate %s: %s: %w", dir, s.file, ctx.Err())
			}
			var te *TableError
			if errors.As(err, &te) {
				v.add(s.file, te.Row, te.Column, "%s", te.Msg)
			} else {
				v.add(s.file, -1, "", "%v", err)
			}
		}
	}
	return v.finish(), nil
}

// scanCtx scans a table like scanChecked and stops when ctx is done.
func scanCtx[T any](ctx context.Context, path string, fn func(first int64, rows []T) error) error {
	return scanChecked(path, ReadBatchRows, nil, func(first int64, rows []T) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(first, rows)
	})
}

// validator accumulates problems and what later tables are checked against.
type validator struct {
	dir      string
	m        *Manifest
	problems []Problem
	counts   map[string]int // problems per file, including the dropped ones
	order    []string       // files in order of their first problem

	nCat, nAds, nOrg, nUsers int64 // rows of each entity table, -1 when unreadable
	reqIDs                   []int64
	reqsOK                   bool
	sortedIDs                []int64
}

func (v *validator) add(file string, row int64, column, format string, args ...any) {
	if v.counts[file] == 0 {
		v.order = append(v.order, file)
	}
	v.counts[file]++
	if v.counts[file] <= MaxProblemsPerFile {
		v.problems = append(v.problems, Problem{File: file, Row: row, Column: column, Message: fmt.Sprintf(format, args...)})
	}
}

func (v *validator) finish() []Problem {
	for _, f := range v.order {
		if n := v.counts[f] - MaxProblemsPerFile; n > 0 {
			v.problems = append(v.problems, Problem{File: f, Row: -1, Message: fmt.Sprintf("... and %d more problems", n)})
		}
	}
	return v.problems
}

// manifest checks manifest.json and the files it lists.
func (v *validator) manifest() {
	path := filepath.Join(v.dir, ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			v.add(ManifestFile, -1, "", "missing")
		} else {
			v.add(ManifestFile, -1, "", "%v", err)
		}
		return
	}
	m := &Manifest{}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(m); err != nil {
		v.add(ManifestFile, -1, "", "not valid JSON: %v", err)
		return
	}
	if m.SchemaVersion != SchemaVersion {
		v.add(ManifestFile, -1, "schema_version", "%d, this build reads %d", m.SchemaVersion, SchemaVersion)
		return
	}
	v.m = m
	if m.StartTime%SecondsPerDay != 0 {
		v.add(ManifestFile, -1, "start_time", "%d is not midnight UTC", m.StartTime)
	}
	if m.EvalStartDay < 0 {
		v.add(ManifestFile, -1, "eval_start_day", "%d < 0", m.EvalStartDay)
	}
	if m.EvalDays <= 0 {
		v.add(ManifestFile, -1, "eval_days", "%d, want > 0", m.EvalDays)
	}
	if m.LatentDim < 0 {
		v.add(ManifestFile, -1, "latent_dim", "%d < 0", m.LatentDim)
	}
	if h := dataHash(m.Files); h != m.Hash {
		v.add(ManifestFile, -1, "hash", "%s, want %s from the listed files", m.Hash, h)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range m.Files {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		fi := m.Files[name]
		p := filepath.Join(v.dir, name)
		if !filepath.IsLocal(name) {
			v.add(ManifestFile, -1, "files", "%q is not a path inside the folder", name)
			continue
		}
		sum, size, err := HashFile(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				v.add(name, -1, "", "listed in %s but missing", ManifestFile)
			} else {
				v.add(name, -1, "", "%v", err)
			}
			continue
		}
		if size != fi.Bytes {
			v.add(name, -1, "", "%d bytes, %s says %d", size, ManifestFile, fi.Bytes)
		}
		if sum != fi.SHA256 {
			v.add(name, -1, "", "sha256 %s, %s says %s", sum, ManifestFile, fi.SHA256)
		}
		if rows, err := tableRows(p); err == nil && rows != fi.Rows {
			v.add(name, -1, "", "%d rows, %s says %d", rows, ManifestFile, fi.Rows)
		}
	}
	for _, name := range TableFiles {
		if _, listed := m.Files[name]; listed {
			continue
		}
		if _, err := os.Stat(filepath.Join(v.dir, name)); err == nil {
			v.add(name, -1, "", "not listed in %s", ManifestFile)
		}
	}
}

// window returns the allowed timestamp range [lo, hi) of offsite events
// (all days) or requests (eval days only); ok is false without a manifest.
func (v *validator) window(requests bool) (lo, hi int64, ok bool) {
	if v.m == nil || v.m.EvalDays <= 0 || v.m.EvalStartDay < 0 {
		return 0, 0, false
	}
	lo = v.m.StartTime
	if requests {
		lo += int64(v.m.EvalStartDay) * SecondsPerDay
	}
	hi = v.m.StartTime + int64(v.m.EvalStartDay+v.m.EvalDays)*SecondsPerDay
	return lo, hi, true
}

// ids checks dense, unique ids: row i must hold id i.
type ids struct {
	dense []bool          // row i held id i
	odd   map[int64]int64 // ids found at another row -> first such row
}

func (d *ids) check(v *validator, file, column string, row, id int64) {
	if d.odd == nil {
		d.odd = map[int64]int64{}
	}
	d.dense = append(d.dense, id == row)
	if id == row {
		if r0, ok := d.odd[id]; ok {
			v.add(file, row, column, "duplicate id %d (also at row %d)", id, r0)
		}
		return
	}
	switch r0, ok := d.odd[id]; {
	case id >= 0 && id < row && d.dense[id]:
		v.add(file, row, column, "duplicate id %d (also at row %d)", id, id)
	case ok:
		v.add(file, row, column, "duplicate id %d (also at row %d)", id, r0)
	default:
		d.odd[id] = row
		v.add(file, row, column, "id %d at row %d: ids must be dense (row i holds id i)", id, row)
	}
}

func finite32(x float32) bool {
	f := float64(x)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

// floatProblem describes a float outside its range; "" when it is fine.
func floatProblem(x float32, lo float64, loOpen bool, hi float64, hiOpen bool) string {
	f := float64(x)
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 0):
		return fmt.Sprintf("%v", f)
	case f < lo || (loOpen && f == lo) || f > hi || (hiOpen && f == hi):
		l, r := "[", "]"
		if loOpen {
			l = "("
		}
		if hiOpen {
			r = ")"
		}
		return fmt.Sprintf("%v not in %s%v, %v%s", f, l, lo, hi, r)
	}
	return ""
}

func (v *validator) float(file string, row int64, column string, x float32, lo float64, loOpen bool, hi float64, hiOpen bool) {
	if msg := floatProblem(x, lo, loOpen, hi, hiOpen); msg != "" {
		v.add(file, row, column, "%s", msg)
	}
}

// unitVectorProblem describes a latent vector that is not finite and of
// unit length; "" when it is fine.
func unitVectorProblem(x []float32) string {
	if len(x) == 0 {
		return "empty vector"
	}
	var n float64
	for i, e := range x {
		if !finite32(e) {
			return fmt.Sprintf("element %d is %v", i, e)
		}
		n += float64(e) * float64(e)
	}
	if n = math.Sqrt(n); math.Abs(n-1) > unitSlack {
		return fmt.Sprintf("norm %.6g, want 1", n)
	}
	return ""
}

// categoryList checks a Pin's (or request's) categories: between lo and
// MaxCategoriesPerPin entries, known distinct categories, finite confidences
// in (0, 1] in descending order summing to at most 1.
func (v *validator) categoryList(file string, row int64, column string, cats []CategoryScore, lo int) {
	if len(cats) < lo || len(cats) > MaxCategoriesPerPin {
		v.add(file, row, column, "%d entries, want %d..%d", len(cats), lo, MaxCategoriesPerPin)
	}
	var sum float64
	for i, c := range cats {
		if v.nCat >= 0 && (c.Category < 0 || int64(c.Category) >= v.nCat) {
			v.add(file, row, column+".category", "%d not in %s", c.Category, CategoriesFile)
		}
		for _, p := range cats[:i] {
			if p.Category == c.Category {
				v.add(file, row, column+".category", "category %d listed twice", c.Category)
			}
		}
		if msg := floatProblem(c.Confidence, 0, true, 1, false); msg != "" {
			v.add(file, row, column+".confidence", "%s", msg)
			continue
		}
		if i > 0 && c.Confidence > cats[i-1].Confidence {
			v.add(file, row, column+".confidence", "entries not sorted by descending confidence")
		}
		sum += float64(c.Confidence)
	}
	if sum > 1+confidenceSumSlack {
		v.add(file, row, column+".confidence", "confidences sum to %.6g > 1", sum)
	}
}

func (v *validator) categories(ctx context.Context, path string) error {
	var d ids
	groups := map[int32]bool{}
	var maxGroup int32 = -1
	err := scanCtx(ctx, path, func(first int64, rows []Category) error {
		for j, c := range rows {
			i := first + int64(j)
			d.check(v, CategoriesFile, "category_id", i, int64(c.ID))
			if c.Group < 0 {
				v.add(CategoriesFile, i, "group_id", "%d < 0", c.Group)
			} else {
				groups[c.Group] = true
				maxGroup = max(maxGroup, c.Group)
			}
			if strings.TrimSpace(c.Name) == "" {
				v.add(CategoriesFile, i, "name", "empty")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if int(maxGroup)+1 != len(groups) {
		v.add(CategoriesFile, -1, "group_id", "groups are not dense: %d distinct, largest %d", len(groups), maxGroup)
	}
	v.nCat = int64(len(d.dense))
	return nil
}

func (v *validator) adPins(ctx context.Context, path string) error {
	var d ids
	const f = AdPinsFile
	err := scanCtx(ctx, path, func(first int64, rows []AdPin) error {
		for j, a := range rows {
			i := first + int64(j)
			d.check(v, f, "ad_pin_id", i, int64(a.ID))
			if a.Advertiser < 0 {
				v.add(f, i, "advertiser_id", "%d < 0", a.Advertiser)
			}
			v.categoryList(f, i, "categories", a.Categories, 1)
			v.float(f, i, "bid", a.Bid, 0, true, math.MaxFloat32, false)
			v.float(f, i, "quality", a.Quality, 0, true, 1, false)
			v.float(f, i, "conversion_value", a.ConversionValue, 0, false, math.MaxFloat32, false)
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.nAds = int64(len(d.dense))
	return nil
}

func (v *validator) organicPins(ctx context.Context, path string) error {
	var d ids
	const f = OrganicPinsFile
	err := scanCtx(ctx, path, func(first int64, rows []OrganicPin) error {
		for j, p := range rows {
			i := first + int64(j)
			d.check(v, f, "pin_id", i, int64(p.ID))
			v.categoryList(f, i, "categories", p.Categories, 1)
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.nOrg = int64(len(d.dense))
	return nil
}

func (v *validator) users(ctx context.Context, path string) error {
	var d ids
	const f = UsersFile
	err := scanCtx(ctx, path, func(first int64, rows []User) error {
		for j, u := range rows {
			i := first + int64(j)
			d.check(v, f, "user_id", i, int64(u.ID))
			if u.AgeBucket < 0 || u.AgeBucket >= NumAgeBuckets {
				v.add(f, i, "age_bucket", "%d not in 0..%d", u.AgeBucket, NumAgeBuckets-1)
			}
			if !validCountry(u.Country) {
				v.add(f, i, "country", "%q is not an upper-case ISO 3166-1 alpha-2 code", u.Country)
			}
			if u.Gender < 0 || u.Gender >= NumGenders {
				v.add(f, i, "gender", "%d not in 0..%d", u.Gender, NumGenders-1)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.nUsers = int64(len(d.dense))
	return nil
}

// ref checks that id is a row of a table with n rows (n < 0: unknown).
func (v *validator) ref(file string, row int64, column string, id int32, n int64, table string) {
	if n >= 0 && (id < 0 || int64(id) >= n) {
		v.add(file, row, column, "%d not in %s", id, table)
	}
}

func (v *validator) events(ctx context.Context, path string) error {
	const f = EventsFile
	lo, hi, win := v.window(false)
	var prev Event
	err := scanCtx(ctx, path, func(first int64, rows []Event) error {
		for j, e := range rows {
			i := first + int64(j)
			v.ref(f, i, "user_id", e.UserID, v.nUsers, UsersFile)
			v.ref(f, i, "ad_pin_id", e.AdPinID, v.nAds, AdPinsFile)
			if e.Type < 0 || e.Type >= NumEventTypes {
				v.add(f, i, "event_type", "%d not in 0..%d", e.Type, NumEventTypes-1)
			}
			if win && (e.Timestamp < lo || e.Timestamp >= hi) {
				v.add(f, i, "timestamp", "%d outside the manifest's days [%d, %d)", e.Timestamp, lo, hi)
			}
			if i > 0 {
				switch {
				case eventLess(e, prev):
					v.add(f, i, "", "not sorted by user_id, timestamp, ad_pin_id")
				case e == prev:
					v.add(f, i, "", "duplicate of row %d", i-1)
				}
			}
			prev = e
		}
		return nil
	})
	return err
}

func (v *validator) requests(ctx context.Context, path string) error {
	const f = RequestsFile
	lo, hi, win := v.window(true)
	var prev Request
	err := scanCtx(ctx, path, func(first int64, rows []Request) error {
		for j, r := range rows {
			i := first + int64(j)
			v.reqIDs = append(v.reqIDs, r.RequestID)
			v.ref(f, i, "user_id", r.UserID, v.nUsers, UsersFile)
			v.ref(f, i, "subject_pin_id", r.SubjectPinID, v.nOrg, OrganicPinsFile)
			if win && (r.Timestamp < lo || r.Timestamp >= hi) {
				v.add(f, i, "timestamp", "%d outside the manifest's eval days [%d, %d)", r.Timestamp, lo, hi)
			}
			if r.Surface != SurfaceRelatedPins {
				v.add(f, i, "surface", "%q, want %q", r.Surface, SurfaceRelatedPins)
			}
			v.categoryList(f, i, "subject_categories", r.SubjectCategories, 0)
			if i > 0 && requestLess(r, prev) {
				v.add(f, i, "", "not sorted by timestamp, request_id")
			}
			prev = r
		}
		return nil
	})
	if err != nil {
		v.reqIDs = nil
		return err
	}
	v.sortedIDs = slices.Clone(v.reqIDs)
	slices.Sort(v.sortedIDs)
	var dup map[int64]bool
	for i := 1; i < len(v.sortedIDs); i++ {
		if v.sortedIDs[i] == v.sortedIDs[i-1] {
			if dup == nil {
				dup = map[int64]bool{}
			}
			dup[v.sortedIDs[i]] = true
		}
	}
	if dup != nil {
		first := map[int64]int64{}
		for i, id := range v.reqIDs {
			if !dup[id] {
				continue
			}
			if r0, ok := first[id]; ok {
				v.add(f, int64(i), "request_id", "duplicate id %d (also at row %d)", id, r0)
			} else {
				first[id] = int64(i)
			}
		}
	}
	v.reqsOK = true
	return nil
}

func (v *validator) knownRequest(id int64) bool {
	_, ok := slices.BinarySearch(v.sortedIDs, id)
	return ok
}

func (v *validator) impressions(ctx context.Context, path string) error {
	const f = ImpressionsFile
	var prev Impression
	err := scanCtx(ctx, path, func(first int64, rows []Impression) error {
		for j, im := range rows {
			i := first + int64(j)
			if v.reqsOK && !v.knownRequest(im.RequestID) {
				v.add(f, i, "request_id", "%d not in %s", im.RequestID, RequestsFile)
			}
			v.ref(f, i, "ad_pin_id", im.AdPinID, v.nAds, AdPinsFile)
			if im.Slot < 0 {
				v.add(f, i, "slot", "%d < 0", im.Slot)
			}
			if len(im.SourceCGs) == 0 {
				v.add(f, i, "source_cgs", "empty: every impression comes from at least one CG")
			}
			for k, cg := range im.SourceCGs {
				if cg == "" {
					v.add(f, i, "source_cgs", "empty CG name")
				}
				if k > 0 && cg <= im.SourceCGs[k-1] {
					v.add(f, i, "source_cgs", "not sorted and distinct: %q after %q", cg, im.SourceCGs[k-1])
				}
			}
			v.float(f, i, "price", im.Price, 0, false, math.MaxFloat32, false)
			v.float(f, i, "value", im.Value, 0, false, math.MaxFloat32, false)
			if im.Conversion && !im.Click {
				v.add(f, i, "conversion", "true without a click")
			}
			if !im.Conversion && im.Value != 0 {
				v.add(f, i, "value", "%v without a conversion, want 0", im.Value)
			}
			if i > 0 {
				switch {
				case im.RequestID < prev.RequestID || (im.RequestID == prev.RequestID && im.Slot < prev.Slot):
					v.add(f, i, "", "not sorted by request_id, slot")
				case im.RequestID == prev.RequestID && im.Slot == prev.Slot:
					v.add(f, i, "slot", "duplicate slot %d of request %d (also at row %d)", im.Slot, im.RequestID, i-1)
				}
			}
			prev = im
		}
		return nil
	})
	return err
}

// latentDim is the manifest's latent dimension; 0 when unknown.
func (v *validator) latentDim() int {
	if v.m == nil {
		return 0
	}
	return v.m.LatentDim
}

func (v *validator) vector(file string, row int64, column string, x []float32, dim *int) {
	if *dim == 0 {
		*dim = len(x)
	}
	if len(x) != *dim {
		v.add(file, row, column, "length %d, want %d", len(x), *dim)
	}
	if msg := unitVectorProblem(x); msg != "" {
		v.add(file, row, column, "%s", msg)
	}
}

// rowCount reports a truth table whose rows do not match its entity table.
func (v *validator) rowCount(file string, got, want int64, table string) {
	if want >= 0 && got != want {
		v.add(file, -1, "", "%d rows, want one per row of %s (%d)", got, table, want)
	}
}

func (v *validator) truthCategories(ctx context.Context, path string) error {
	const f = TruthCategoriesFile
	var d ids
	dim := v.latentDim()
	err := scanCtx(ctx, path, func(first int64, rows []TruthCategory) error {
		for j, c := range rows {
			i := first + int64(j)
			d.check(v, f, "category_id", i, int64(c.CategoryID))
			v.vector(f, i, "latent", c.Latent, &dim)
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.rowCount(f, int64(len(d.dense)), v.nCat, CategoriesFile)
	return nil
}

func (v *validator) truthAdPins(ctx context.Context, path string) error {
	const f = TruthAdPinsFile
	var d ids
	dim := v.latentDim()
	err := scanCtx(ctx, path, func(first int64, rows []TruthAdPin) error {
		for j, a := range rows {
			i := first + int64(j)
			d.check(v, f, "ad_pin_id", i, int64(a.AdPinID))
			v.vector(f, i, "latent", a.Latent, &dim)
			v.float(f, i, "popularity", a.Popularity, 0, true, math.MaxFloat32, false)
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.rowCount(f, int64(len(d.dense)), v.nAds, AdPinsFile)
	return nil
}

func (v *validator) truthUsers(ctx context.Context, path string) error {
	const f = TruthUsersFile
	var d ids
	dim := v.latentDim()
	err := scanCtx(ctx, path, func(first int64, rows []TruthUser) error {
		for j, u := range rows {
			i := first + int64(j)
			d.check(v, f, "user_id", i, int64(u.UserID))
			v.vector(f, i, "interest", u.Interest, &dim)
			v.float(f, i, "activity", u.Activity, 0, true, math.MaxFloat32, false)
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.rowCount(f, int64(len(d.dense)), v.nUsers, UsersFile)
	return nil
}

func (v *validator) truthRequests(ctx context.Context, path string) error {
	const f = TruthRequestsFile
	dim := v.latentDim()
	var n int64
	err := scanCtx(ctx, path, func(first int64, rows []TruthRequest) error {
		for j, r := range rows {
			i := first + int64(j)
			n++
			if v.reqsOK && i < int64(len(v.reqIDs)) && r.RequestID != v.reqIDs[i] {
				v.add(f, i, "request_id", "%d, want %d of %s row %d (rows are aligned)", r.RequestID, v.reqIDs[i], RequestsFile, i)
			}
			if !validIntentKind(r.IntentKind) {
				v.add(f, i, "intent_kind", "%q, want %s, %s or %s", r.IntentKind, IntentLongTerm, IntentExploration, IntentTrend)
			}
			v.ref(f, i, "intent_category", r.IntentCategory, v.nCat, CategoriesFile)
			v.vector(f, i, "intent", r.Intent, &dim)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if v.reqsOK {
		v.rowCount(f, n, int64(len(v.reqIDs)), RequestsFile)
	}
	return nil
}
