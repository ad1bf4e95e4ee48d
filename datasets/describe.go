package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Description is what `cgbench data describe` prints: row counts and the
// distributions a data scientist checks first.
type Description struct {
	Dir          string `json:"dir"`
	Kind         string `json:"kind"`
	Seed         uint64 `json:"seed"`
	Hash         string `json:"hash"`
	StartDate    string `json:"start_date"`     // day 0, YYYY-MM-DD (UTC)
	EvalStartDay int    `json:"eval_start_day"` // first day of the eval window
	EvalDays     int    `json:"eval_days"`

	Tables []TableRows `json:"tables"` // every table present, in TableFiles order

	// HistoryLength is the number of offsite events per user before the
	// eval window, over all users (including those with none).
	HistoryLength Quantiles `json:"history_length"`
	// EvalEventsPerUser is the number of offsite events per user inside the
	// eval window: the activity a daily snapshot misses.
	EvalEventsPerUser Quantiles `json:"eval_events_per_user"`
	// FreshActivityShare is the share of users with at least one offsite
	// event inside the eval window.
	FreshActivityShare float64 `json:"fresh_activity_share"`
	// RequestsPerUser is over users with at least one request.
	RequestsPerUser Quantiles `json:"requests_per_user"`
	// RequestUserShare is the share of users with at least one request.
	RequestUserShare float64 `json:"request_user_share"`
	// RequestsPerDay counts requests per day index.
	RequestsPerDay []Share `json:"requests_per_day"`

	CategoriesPerAdPin      []Share `json:"categories_per_ad_pin"`      // keys "1".."3"
	CategoriesPerOrganicPin []Share `json:"categories_per_organic_pin"` // keys "1".."3"
	SubjectCategories       []Share `json:"subject_categories"`         // logged categories per request, "0".."3"
	EventTypes              []Share `json:"event_types"`                // checkout, signup, add_to_cart
	Countries               []Share `json:"countries"`                  // by descending share
	AgeBuckets              []Share `json:"age_buckets"`
	Genders                 []Share `json:"genders"`
	// IntentKinds is the session-intent mix of the requests, from the truth
	// tables; nil when the dataset has none.
	IntentKinds []Share `json:"intent_kinds,omitempty"`
	// Impressions per request and click-through rate, when logged.
	ImpressionsPerRequest float64 `json:"impressions_per_request,omitempty"`
	ClickRate             float64 `json:"click_rate,omitempty"`
}

// TableRows is one table's row count.
type TableRows struct {
	File  string `json:"file"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// Quantiles summarises a distribution of counts.
type Quantiles struct {
	N    int64   `json:"n"`
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	P10  float64 `json:"p10"`
	P25  float64 `json:"p25"`
	P50  float64 `json:"p50"`
	P75  float64 `json:"p75"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Share is one value of a categorical distribution.
type Share struct {
	Key   string  `json:"key"`
	Count int64   `json:"count"`
	Share float64 `json:"share"`
}

// EventTypeNames names the event types by code.
var EventTypeNames = [NumEventTypes]string{"checkout", "signup", "add_to_cart"}

// AgeBucketNames names the age buckets by code.
var AgeBucketNames = [NumAgeBuckets]string{"unknown", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"}

// GenderNames names the gender codes.
var GenderNames = [NumGenders]string{"unknown", "female", "male"}

// quantilesOf summarises counts (sorted in place). Quantiles are the
// nearest-rank values.
func quantilesOf(x []int32) Quantiles {
	q := Quantiles{N: int64(len(x))}
	if len(x) == 0 {
		return q
	}
	slices.Sort(x)
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(x)))) - 1
		return float64(x[min(max(i, 0), len(x)-1)])
	}
	q.Mean = s / float64(len(x))
	q.Min, q.Max = float64(x[0]), float64(x[len(x)-1])
	q.P10, q.P25, q.P50, q.P75, q.P90, q.P99 = at(0.10), at(0.25), at(0.50), at(0.75), at(0.90), at(0.99)
	return q
}

// sharesOf turns counts into shares, keeping keys in the given order.
func sharesOf(keys []string, counts []int64) []Share {
	var tot int64
	for _, c := range counts {
		tot += c
	}
	out := make([]Share, len(keys))
	for i, k := range keys {
		out[i] = Share{Key: k, Count: counts[i]}
		if tot > 0 {
			out[i].Share = float64(counts[i]) / float64(tot)
		}
	}
	return out
}

// scanOptional scans a table like scanChecked; an absent table has no rows.
func scanOptional[T any](path string, fn func(first int64, rows []T) error) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return scanChecked(path, ReadBatchRows, nil, fn)
}

// Describe reads the dataset folder dir, streaming the large tables, and
// summarises it. Absent tables count as empty; an unreadable table is an
// error.
func Describe(dir string) (*Description, error) {
	d, err := describe(dir)
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", dir, err)
	}
	return d, nil
}

func describe(dir string) (*Description, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	d := &Description{
		Dir: dir, Kind: m.Kind, Seed: m.Seed, Hash: m.Hash,
		StartDate:    time.Unix(m.StartTime, 0).UTC().Format(time.DateOnly),
		EvalStartDay: m.EvalStartDay, EvalDays: m.EvalDays,
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	exists := func(name string) bool {
		_, err := os.Stat(path(name))
		return err == nil
	}
	for _, name := range TableFiles {
		st, err := os.Stat(path(name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		rows, err := tableRows(path(name))
		if err != nil {
			return nil, err
		}
		d.Tables = append(d.Tables, TableRows{File: name, Rows: rows, Bytes: st.Size()})
	}

	// Users: demographics.
	var nUsers int
	countryCount := map[string]int64{}
	ages := make([]int64, NumAgeBuckets)
	genders := make([]int64, NumGenders)
	err = scanOptional(path(UsersFile), func(_ int64, rows []User) error {
		for _, u := range rows {
			nUsers++
			countryCount[u.Country]++
			if u.AgeBucket >= 0 && u.AgeBucket < NumAgeBuckets {
				ages[u.AgeBucket]++
			}
			if u.Gender >= 0 && u.Gender < NumGenders {
				genders[u.Gender]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	codes := make([]string, 0, len(countryCount))
	for c := range countryCount {
		codes = append(codes, c)
	}
	slices.SortFunc(codes, func(a, b string) int {
		if countryCount[a] != countryCount[b] {
			return cmpInt64(countryCount[b], countryCount[a])
		}
		if a < b {
			return -1
		}
		return 1
	})
	cc := make([]int64, len(codes))
	for i, c := range codes {
		cc[i] = countryCount[c]
	}
	d.Countries = sharesOf(codes, cc)
	d.AgeBuckets = sharesOf(AgeBucketNames[:], ages)
	d.Genders = sharesOf(GenderNames[:], genders)

	// Events: history length and fresh activity per user.
	evalStart := m.StartTime + int64(m.EvalStartDay)*SecondsPerDay
	hist := make([]int32, nUsers)
	fresh := make([]int32, nUsers)
	types := make([]int64, NumEventTypes)
	err = scanOptional(path(EventsFile), func(first int64, rows []Event) error {
		for j, e := range rows {
			if e.UserID < 0 || int(e.UserID) >= nUsers {
				return tableErrorf(path(EventsFile), first+int64(j), "user_id", "%d not in %s", e.UserID, UsersFile)
			}
			if e.Timestamp < evalStart {
				hist[e.UserID]++
			} else {
				fresh[e.UserID]++
			}
			if e.Type >= 0 && e.Type < NumEventTypes {
				types[e.Type]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var freshUsers int64
	for _, f := range fresh {
		if f > 0 {
			freshUsers++
		}
	}
	if nUsers > 0 {
		d.FreshActivityShare = float64(freshUsers) / float64(nUsers)
	}
	d.HistoryLength = quantilesOf(hist)
	d.EvalEventsPerUser = quantilesOf(fresh)
	d.EventTypes = sharesOf(EventTypeNames[:], types)

	// Pins: categories per Pin.
	catCounts := func(name string, get func(func([]CategoryScore)) error) ([]Share, error) {
		counts := make([]int64, MaxCategoriesPerPin+1)
		if err := get(func(c []CategoryScore) { counts[min(len(c), MaxCategoriesPerPin)]++ }); err != nil {
			return nil, err
		}
		return sharesOf([]string{"1", "2", "3"}, counts[1:]), nil
	}
	if d.CategoriesPerAdPin, err = catCounts(AdPinsFile, func(f func([]CategoryScore)) error {
		return scanOptional(path(AdPinsFile), func(_ int64, rows []AdPin) error {
			for _, a := range rows {
				f(a.Categories)
			}
			return nil
		})
	}); err != nil {
		return nil, err
	}
	if d.CategoriesPerOrganicPin, err = catCounts(OrganicPinsFile, func(f func([]CategoryScore)) error {
		return scanOptional(path(OrganicPinsFile), func(_ int64, rows []OrganicPin) error {
			for _, p := range rows {
				f(p.Categories)
			}
			return nil
		})
	}); err != nil {
		return nil, err
	}

	// Requests: per user, per day, logged context.
	perUser := make([]int32, nUsers)
	subj := make([]int64, MaxCategoriesPerPin+1)
	var perDay []int64
	var nReq int64
	err = scanOptional(path(RequestsFile), func(first int64, rows []Request) error {
		for j, r := range rows {
			if r.UserID < 0 || int(r.UserID) >= nUsers {
				return tableErrorf(path(RequestsFile), first+int64(j), "user_id", "%d not in %s", r.UserID, UsersFile)
			}
			nReq++
			perUser[r.UserID]++
			subj[min(len(r.SubjectCategories), MaxCategoriesPerPin)]++
			if day := m.Day(r.Timestamp); day >= 0 && day < 1<<16 {
				for len(perDay) <= day {
					perDay = append(perDay, 0)
				}
				perDay[day]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	active := perUser[:0]
	for _, c := range perUser {
		if c > 0 {
			active = append(active, c)
		}
	}
	if nUsers > 0 {
		d.RequestUserShare = float64(len(active)) / float64(nUsers)
	}
	d.RequestsPerUser = quantilesOf(active)
	d.SubjectCategories = sharesOf([]string{"0", "1", "2", "3"}, subj)
	var dayKeys []string
	var dayCounts []int64
	for day, c := range perDay {
		if c > 0 {
			dayKeys = append(dayKeys, strconv.Itoa(day))
			dayCounts = append(dayCounts, c)
		}
	}
	d.RequestsPerDay = sharesOf(dayKeys, dayCounts)

	if exists(ImpressionsFile) {
		var n, clicks int64
		err := scanChecked(path(ImpressionsFile), ReadBatchRows, nil, func(_ int64, rows []Impression) error {
			for _, im := range rows {
				n++
				if im.Click {
					clicks++
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if nReq > 0 {
			d.ImpressionsPerRequest = float64(n) / float64(nReq)
		}
		if n > 0 {
			d.ClickRate = float64(clicks) / float64(n)
		}
	}

	if exists(TruthRequestsFile) {
		kinds := make([]int64, len(intentKinds))
		err := ScanTruthRequests(dir, ReadBatchRows, func(_ int64, rows []TruthRequest) error {
			for _, r := range rows {
				for k, name := range intentKinds {
					if r.IntentKind == name {
						kinds[k]++
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		d.IntentKinds = sharesOf(intentKinds[:], kinds)
	}
	return d, nil
}
