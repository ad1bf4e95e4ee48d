package datasets

import (
	"math"
	"slices"
	"testing"
)

func TestDescribe(t *testing.T) {
	dir := smallWorld(t)
	d, err := Describe(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tables) != len(m.Files) {
		t.Errorf("Describe lists %d tables, manifest %d", len(d.Tables), len(m.Files))
	}
	for _, tr := range d.Tables {
		if tr.Rows != m.Files[tr.File].Rows {
			t.Errorf("Describe %s rows = %d, manifest %d", tr.File, tr.Rows, m.Files[tr.File].Rows)
		}
	}
	// Cross-check the history quantiles against the loaded world.
	w, err := Open(dir, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evalStart := w.DayStart(w.Manifest.EvalStartDay)
	var lengths []int
	var total int
	for u := range w.Users {
		l := len(w.HistoryBefore(int32(u), evalStart))
		lengths = append(lengths, l)
		total += l
	}
	slices.Sort(lengths)
	n := len(lengths)
	if d.HistoryLength.N != int64(n) || d.HistoryLength.Max != float64(lengths[n-1]) ||
		d.HistoryLength.P50 != float64(lengths[(n+1)/2-1]) || math.Abs(d.HistoryLength.Mean-float64(total)/float64(n)) > 1e-9 {
		t.Errorf("history length = %+v, want n %d, max %d, p50 %d, mean %.4f",
			d.HistoryLength, n, lengths[n-1], lengths[(n+1)/2-1], float64(total)/float64(n))
	}
	sum := func(s []Share) (float64, int64) {
		var f float64
		var c int64
		for _, x := range s {
			f += x.Share
			c += x.Count
		}
		return f, c
	}
	for _, tc := range []struct {
		name  string
		s     []Share
		count int64
	}{
		{"countries", d.Countries, int64(len(w.Users))},
		{"intent kinds", d.IntentKinds, int64(len(w.Requests))},
		{"categories per ad Pin", d.CategoriesPerAdPin, int64(len(w.AdPins))},
		{"categories per organic Pin", d.CategoriesPerOrganicPin, int64(len(w.OrganicPins))},
		{"subject categories", d.SubjectCategories, int64(len(w.Requests))},
		{"event types", d.EventTypes, int64(len(w.Events))},
		{"requests per day", d.RequestsPerDay, int64(len(w.Requests))},
	} {
		f, c := sum(tc.s)
		if c != tc.count || math.Abs(f-1) > 1e-9 {
			t.Errorf("%s: counts sum to %d, shares to %v; want %d and 1", tc.name, c, f, tc.count)
		}
	}
	if d.Countries[0].Key != "US" || !slices.IsSortedFunc(d.Countries, func(a, b Share) int { return cmpInt64(b.Count, a.Count) }) {
		t.Errorf("country mix = %+v, want US first and by descending share", d.Countries)
	}
	if len(d.RequestsPerDay) != w.Manifest.EvalDays || d.RequestsPerDay[0].Key != "56" {
		t.Errorf("requests per day = %+v, want %d days from day 56", d.RequestsPerDay, w.Manifest.EvalDays)
	}
	if d.FreshActivityShare <= 0 || d.FreshActivityShare >= 1 {
		t.Errorf("fresh activity share = %v, want in (0, 1)", d.FreshActivityShare)
	}
}

func TestQuantilesOf(t *testing.T) {
	for _, tc := range []struct {
		x    []int32
		want Quantiles
	}{
		{nil, Quantiles{}},
		{[]int32{5}, Quantiles{N: 1, Mean: 5, Min: 5, P10: 5, P25: 5, P50: 5, P75: 5, P90: 5, P99: 5, Max: 5}},
		// Nearest rank over 1..10: p10 is the 1st value, p25 the 3rd, p50 the 5th.
		{[]int32{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, Quantiles{N: 10, Mean: 5.5, Min: 1, P10: 1, P25: 3, P50: 5, P75: 8, P90: 9, P99: 10, Max: 10}},
	} {
		if got := quantilesOf(slices.Clone(tc.x)); got != tc.want {
			t.Errorf("quantilesOf(%v) = %+v, want %+v", tc.x, got, tc.want)
		}
	}
}
