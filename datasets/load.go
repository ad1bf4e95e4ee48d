package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// OpenOptions select the tables Open leaves on disk.
type OpenOptions struct {
	// SkipRequests leaves World.Requests nil; stream them with ScanRequests
	// (the large preset holds 10M requests).
	SkipRequests bool
	// SkipImpressions leaves World.Impressions nil even when the folder has
	// impressions.parquet.
	SkipImpressions bool
}

// Open loads the observable tables of the dataset folder dir into a World
// and computes World.UserEvents. It checks what later code relies on: dense
// ids, ids that refer to known rows, and the sort orders; the first
// violation is returned as an error naming the file, row and column
// (Validate reports every problem). The truth tables are not read (OpenTruth).
func Open(dir string, opts OpenOptions) (*World, error) {
	w, err := open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open dataset %s: %w", dir, err)
	}
	return w, nil
}

func open(dir string, opts OpenOptions) (*World, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	w := &World{Dir: dir, Manifest: *m}
	path := func(name string) string { return filepath.Join(dir, name) }

	if w.Categories, err = readChecked[Category](path(CategoriesFile)); err != nil {
		return nil, err
	}
	for i, c := range w.Categories {
		if err := denseID(path(CategoriesFile), i, "category_id", int64(c.ID)); err != nil {
			return nil, err
		}
		if c.Group < 0 {
			return nil, tableErrorf(path(CategoriesFile), int64(i), "group_id", "%d < 0", c.Group)
		}
	}
	nCat := len(w.Categories)

	if w.AdPins, err = readChecked[AdPin](path(AdPinsFile)); err != nil {
		return nil, err
	}
	for i, a := range w.AdPins {
		if err := denseID(path(AdPinsFile), i, "ad_pin_id", int64(a.ID)); err != nil {
			return nil, err
		}
		if err := knownCategories(path(AdPinsFile), i, a.Categories, nCat); err != nil {
			return nil, err
		}
	}
	if w.OrganicPins, err = readChecked[OrganicPin](path(OrganicPinsFile)); err != nil {
		return nil, err
	}
	for i, p := range w.OrganicPins {
		if err := denseID(path(OrganicPinsFile), i, "pin_id", int64(p.ID)); err != nil {
			return nil, err
		}
		if err := knownCategories(path(OrganicPinsFile), i, p.Categories, nCat); err != nil {
			return nil, err
		}
	}
	if w.Users, err = readChecked[User](path(UsersFile)); err != nil {
		return nil, err
	}
	for i, u := range w.Users {
		if err := denseID(path(UsersFile), i, "user_id", int64(u.ID)); err != nil {
			return nil, err
		}
	}

	if w.Events, err = readChecked[Event](path(EventsFile)); err != nil {
		return nil, err
	}
	w.UserEvents = make([]int, len(w.Users)+1)
	for i, e := range w.Events {
		p := path(EventsFile)
		if e.UserID < 0 || int(e.UserID) >= len(w.Users) {
			return nil, tableErrorf(p, int64(i), "user_id", "%d not in %s (%d users)", e.UserID, UsersFile, len(w.Users))
		}
		if e.AdPinID < 0 || int(e.AdPinID) >= len(w.AdPins) {
			return nil, tableErrorf(p, int64(i), "ad_pin_id", "%d not in %s (%d ad Pins)", e.AdPinID, AdPinsFile, len(w.AdPins))
		}
		if i > 0 && eventLess(e, w.Events[i-1]) {
			return nil, tableErrorf(p, int64(i), "", "not sorted by user_id, timestamp, ad_pin_id")
		}
		w.UserEvents[e.UserID+1]++
	}
	for u := range w.Users {
		w.UserEvents[u+1] += w.UserEvents[u]
	}

	if !opts.SkipRequests {
		w.Requests = []Request{}
		err := ScanRequests(dir, ReadBatchRows, func(first int64, rows []Request) error {
			for j, r := range rows {
				i := first + int64(j)
				if err := w.checkRequest(path(RequestsFile), i, r); err != nil {
					return err
				}
				if n := len(w.Requests); n > 0 && requestLess(r, w.Requests[n-1]) {
					return tableErrorf(path(RequestsFile), i, "", "not sorted by timestamp, request_id")
				}
				w.Requests = append(w.Requests, r)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}

	if !opts.SkipImpressions {
		p := path(ImpressionsFile)
		if _, err := os.Stat(p); err == nil {
			if w.Impressions, err = readChecked[Impression](p); err != nil {
				return nil, err
			}
			for i, im := range w.Impressions {
				if im.AdPinID < 0 || int(im.AdPinID) >= len(w.AdPins) {
					return nil, tableErrorf(p, int64(i), "ad_pin_id", "%d not in %s (%d ad Pins)", im.AdPinID, AdPinsFile, len(w.AdPins))
				}
				if i > 0 {
					q := w.Impressions[i-1]
					if im.RequestID < q.RequestID || (im.RequestID == q.RequestID && im.Slot <= q.Slot) {
						return nil, tableErrorf(p, int64(i), "", "not sorted by request_id, slot")
					}
				}
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: %w", p, err)
		}
	}
	return w, nil
}

// checkRequest checks that a request refers to a known user and subject Pin.
func (w *World) checkRequest(path string, i int64, r Request) error {
	if r.UserID < 0 || int(r.UserID) >= len(w.Users) {
		return tableErrorf(path, i, "user_id", "%d not in %s (%d users)", r.UserID, UsersFile, len(w.Users))
	}
	if r.SubjectPinID < 0 || int(r.SubjectPinID) >= len(w.OrganicPins) {
		return tableErrorf(path, i, "subject_pin_id", "%d not in %s (%d Pins)", r.SubjectPinID, OrganicPinsFile, len(w.OrganicPins))
	}
	return knownCategoriesCol(path, int(i), "subject_categories", r.SubjectCategories, len(w.Categories))
}

func denseID(path string, row int, column string, id int64) error {
	if id != int64(row) {
		return tableErrorf(path, int64(row), column, "id %d, want %d (ids are dense: row i holds id i)", id, row)
	}
	return nil
}

func knownCategories(path string, row int, cats []CategoryScore, nCat int) error {
	return knownCategoriesCol(path, row, "categories", cats, nCat)
}

func knownCategoriesCol(path string, row int, column string, cats []CategoryScore, nCat int) error {
	for _, c := range cats {
		if c.Category < 0 || int(c.Category) >= nCat {
			return tableErrorf(path, int64(row), column+".category", "%d not in %s (%d categories)", c.Category, CategoriesFile, nCat)
		}
	}
	return nil
}

func eventLess(a, b Event) bool {
	if a.UserID != b.UserID {
		return a.UserID < b.UserID
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp < b.Timestamp
	}
	return a.AdPinID < b.AdPinID
}

func requestLess(a, b Request) bool {
	if a.Timestamp != b.Timestamp {
		return a.Timestamp < b.Timestamp
	}
	return a.RequestID < b.RequestID
}

// ScanRequests streams DIR/requests.parquet in batches of at most batch rows
// in file order (timestamp, request id), calling fn with each batch and the
// index of its first row. The batch slice is reused between calls. The
// file's columns are checked first.
func ScanRequests(dir string, batch int, fn func(first int64, rows []Request) error) error {
	return scanChecked(filepath.Join(dir, RequestsFile), batch, nil, fn)
}

// ScanTruthRequests streams DIR/truth/requests.parquet like ScanRequests;
// its rows are aligned with requests.parquet.
func ScanTruthRequests(dir string, batch int, fn func(first int64, rows []TruthRequest) error) error {
	return scanChecked(filepath.Join(dir, TruthRequestsFile), batch, nil, fn)
}

// OpenTruth loads the truth tables of dir. Only the simulator and oracle
// metrics may call it. When w is not nil, the tables are checked against it
// (one truth row per category, ad Pin and user; truth requests aligned with
// w.Requests), and truth requests are loaded only when w.Requests is (use
// ScanTruthRequests to stream them otherwise). Real logs have no truth: the
// error then says so.
func OpenTruth(dir string, w *World) (*Truth, error) {
	t, err := openTruth(dir, w)
	if err != nil {
		return nil, fmt.Errorf("open truth %s: %w", dir, err)
	}
	return t, nil
}

func openTruth(dir string, w *World) (*Truth, error) {
	if _, err := os.Stat(filepath.Join(dir, TruthDir)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no %s folder: the dataset has no truth (real logs have none)", TruthDir)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	t := &Truth{}
	dim := m.LatentDim
	checkVec := func(p string, row int, column string, v []float32) error {
		if dim <= 0 {
			dim = len(v)
		}
		if len(v) != dim {
			return tableErrorf(p, int64(row), column, "length %d, want latent_dim %d", len(v), dim)
		}
		if msg := unitVectorProblem(v); msg != "" {
			return tableErrorf(p, int64(row), column, "%s", msg)
		}
		return nil
	}
	want := func(p string, got, n int, what string) error {
		if w != nil && got != n {
			return tableErrorf(p, -1, "", "%d rows, want one per %s (%d)", got, what, n)
		}
		return nil
	}

	if t.Categories, err = readChecked[TruthCategory](path(TruthCategoriesFile)); err != nil {
		return nil, err
	}
	for i, c := range t.Categories {
		if err := denseID(path(TruthCategoriesFile), i, "category_id", int64(c.CategoryID)); err != nil {
			return nil, err
		}
		if err := checkVec(path(TruthCategoriesFile), i, "latent", c.Latent); err != nil {
			return nil, err
		}
	}
	if w != nil {
		if err := want(path(TruthCategoriesFile), len(t.Categories), len(w.Categories), "category"); err != nil {
			return nil, err
		}
	}

	if t.AdPins, err = readChecked[TruthAdPin](path(TruthAdPinsFile)); err != nil {
		return nil, err
	}
	for i, a := range t.AdPins {
		p := path(TruthAdPinsFile)
		if err := denseID(p, i, "ad_pin_id", int64(a.AdPinID)); err != nil {
			return nil, err
		}
		if err := checkVec(p, i, "latent", a.Latent); err != nil {
			return nil, err
		}
		if !finite32(a.Popularity) || a.Popularity <= 0 {
			return nil, tableErrorf(p, int64(i), "popularity", "%v, want a finite value > 0", a.Popularity)
		}
	}
	if w != nil {
		if err := want(path(TruthAdPinsFile), len(t.AdPins), len(w.AdPins), "ad Pin"); err != nil {
			return nil, err
		}
	}

	if t.Users, err = readChecked[TruthUser](path(TruthUsersFile)); err != nil {
		return nil, err
	}
	for i, u := range t.Users {
		p := path(TruthUsersFile)
		if err := denseID(p, i, "user_id", int64(u.UserID)); err != nil {
			return nil, err
		}
		if err := checkVec(p, i, "interest", u.Interest); err != nil {
			return nil, err
		}
		if !finite32(u.Activity) || u.Activity <= 0 {
			return nil, tableErrorf(p, int64(i), "activity", "%v, want a finite value > 0", u.Activity)
		}
	}
	if w != nil {
		if err := want(path(TruthUsersFile), len(t.Users), len(w.Users), "user"); err != nil {
			return nil, err
		}
	}

	if w != nil && w.Requests == nil {
		return t, nil
	}
	if t.Requests, err = readChecked[TruthRequest](path(TruthRequestsFile)); err != nil {
		return nil, err
	}
	for i, r := range t.Requests {
		p := path(TruthRequestsFile)
		if w != nil && i < len(w.Requests) && r.RequestID != w.Requests[i].RequestID {
			return nil, tableErrorf(p, int64(i), "request_id", "%d, want %d of %s row %d (rows are aligned)", r.RequestID, w.Requests[i].RequestID, RequestsFile, i)
		}
		if !validIntentKind(r.IntentKind) {
			return nil, tableErrorf(p, int64(i), "intent_kind", "%q, want %s, %s or %s", r.IntentKind, IntentLongTerm, IntentExploration, IntentTrend)
		}
		if r.IntentCategory < 0 || int(r.IntentCategory) >= len(t.Categories) {
			return nil, tableErrorf(p, int64(i), "intent_category", "%d not in %s (%d categories)", r.IntentCategory, TruthCategoriesFile, len(t.Categories))
		}
		if err := checkVec(p, i, "intent", r.Intent); err != nil {
			return nil, err
		}
	}
	if w != nil {
		if err := want(path(TruthRequestsFile), len(t.Requests), len(w.Requests), "request"); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func validIntentKind(k string) bool {
	return k == IntentLongTerm || k == IntentExploration || k == IntentTrend
}
