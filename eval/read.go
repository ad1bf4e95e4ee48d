package eval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/cgbench/cgbench/datasets"
)

// replayMeta is what Compute takes from a results folder's replay.json, which
// is otherwise opaque to eval.
type replayMeta struct {
	raw      map[string]any // the whole object, numbers as json.Number
	hash     string         // sha256 of its canonical JSON
	dataHash string
	seed     *uint64
	arms     []string // arm order, when listed
}

// readReplayMeta reads dir/replay.json. A missing file gives an empty meta
// (a results folder written by hand in a test has none).
func readReplayMeta(dir string) (replayMeta, error) {
	path := filepath.Join(dir, datasets.ReplayManifestFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return replayMeta{}, nil
	}
	if err != nil {
		return replayMeta{}, fmt.Errorf("read %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return replayMeta{}, fmt.Errorf("read %s: not a JSON object: %w", path, err)
	}
	canon, err := json.Marshal(raw)
	if err != nil {
		return replayMeta{}, fmt.Errorf("read %s: %w", path, err)
	}
	sum := sha256.Sum256(canon)
	m := replayMeta{raw: raw, hash: hex.EncodeToString(sum[:])}
	if v, ok := raw["data_hash"]; ok {
		s, ok := v.(string)
		if !ok {
			return replayMeta{}, fmt.Errorf("read %s: data_hash is %T, want a string", path, v)
		}
		m.dataHash = s
	}
	if v, ok := raw["seed"]; ok {
		n, ok := v.(json.Number)
		if !ok {
			return replayMeta{}, fmt.Errorf("read %s: seed is %T, want an integer", path, v)
		}
		u, err := strconv.ParseUint(n.String(), 10, 64)
		if err != nil {
			return replayMeta{}, fmt.Errorf("read %s: seed %s: %w", path, n, err)
		}
		m.seed = &u
	}
	if v, ok := raw["arms"].([]any); ok {
		for _, a := range v {
			switch a := a.(type) {
			case string:
				m.arms = append(m.arms, a)
			case map[string]any:
				if s, ok := a["name"].(string); ok {
					m.arms = append(m.arms, s)
				}
			}
		}
	}
	return m, nil
}

// request is one RequestResult row as the aggregation needs it.
type request struct {
	id          int64
	arm         int32
	user        int32
	country     string
	topCountry  int8 // index into the arm's top countries, -1 for others
	seg         [numSegments]uint8
	logged      []int32
	impressions int32
	clicks      float64
	conversions float64
	spend       float64
	value       float64
	done        bool // its candidate rows were aggregated
}

// armReq keys a request within an arm.
type armReq struct {
	arm int32
	req int64
}

// requestTable is every requests.parquet row of the results, indexed.
type requestTable struct {
	arms  []string
	reqs  []request
	index map[armReq]int32
	// topCountries[arm] are the arm's top 3 countries by spend.
	topCountries [][]string
}

// addArm returns the index of arm, registering it.
func (t *requestTable) addArm(arm string) int32 {
	if i := slices.Index(t.arms, arm); i >= 0 {
		return int32(i)
	}
	t.arms = append(t.arms, arm)
	return int32(len(t.arms) - 1)
}

// readRequests reads dir's requests (requests.parquet or its shards) into
// t. Arms already owned by an earlier folder are an error: arm names must be
// unique across results.
func (t *requestTable) readRequests(dir string, listed []string, owner map[string]string) error {
	for _, a := range listed {
		if o, ok := owner[a]; ok && o != dir {
			return fmt.Errorf("read %s: arm %q is also in %s: arm names must be unique across results", dir, a, o)
		}
		owner[a] = dir
		t.addArm(a)
	}
	return datasets.ScanResultTable(dir, datasets.ReplayRequestsFile, 8192, func(path string, first int64, rows []datasets.RequestResult) error {
		for i := range rows {
			r := &rows[i]
			row := first + int64(i)
			if o, ok := owner[r.Arm]; ok && o != dir {
				return fmt.Errorf("read %s: row %d: arm %q is also in %s: arm names must be unique across results", path, row, r.Arm, o)
			}
			owner[r.Arm] = dir
			if err := t.addRow(r, path, row); err != nil {
				return err
			}
		}
		return nil
	})
}

// addRow validates and adds one requests.parquet row (of file path, row
// row, for errors).
func (t *requestTable) addRow(r *datasets.RequestResult, path string, row int64) error {
	if r.Arm == "" {
		return fmt.Errorf("read %s: row %d: column arm: empty arm name", path, row)
	}
	a := t.addArm(r.Arm)
	req, err := newRequest(r, a, path, row)
	if err != nil {
		return err
	}
	k := armReq{a, r.RequestID}
	if _, dup := t.index[k]; dup {
		return fmt.Errorf("read %s: row %d: request %d appears twice in arm %q", path, row, r.RequestID, r.Arm)
	}
	t.index[k] = int32(len(t.reqs))
	t.reqs = append(t.reqs, req)
	return nil
}

// newRequest validates a RequestResult row of arm index a (of file path, row
// row, for errors) and converts it; segments other than the country tier
// are set, the tier and top country are left to RequestStats.apply.
func newRequest(r *datasets.RequestResult, a int32, path string, row int64) (request, error) {
	if r.UserID < 0 {
		return request{}, fmt.Errorf("read %s: row %d: column user_id: negative id %d", path, row, r.UserID)
	}
	if r.Impressions < 0 || r.Clicks < 0 || r.Conversions < 0 {
		return request{}, fmt.Errorf("read %s: row %d: negative impressions, clicks or conversions", path, row)
	}
	if !finiteNonNeg(r.Spend) || !finiteNonNeg(r.Value) {
		return request{}, fmt.Errorf("read %s: row %d: columns spend/value: want finite values >= 0, got %v/%v", path, row, r.Spend, r.Value)
	}
	if math.IsNaN(float64(r.ContextStrength)) {
		return request{}, fmt.Errorf("read %s: row %d: column context_strength: NaN", path, row)
	}
	for _, ad := range r.LoggedAds {
		if ad < 0 || ad >= maxAdID {
			return request{}, fmt.Errorf("read %s: row %d: column logged_ads: ad id %d out of range [0, %d)", path, row, ad, maxAdID)
		}
	}
	return request{
		id:          r.RequestID,
		arm:         a,
		user:        r.UserID,
		country:     r.Country,
		topCountry:  -1,
		seg:         [numSegments]uint8{historyBucket(r.HistoryLength), contextBucket(r.ContextStrength), freshBucket(r.FreshActivity)},
		logged:      slices.Clone(r.LoggedAds),
		impressions: r.Impressions,
		clicks:      float64(r.Clicks),
		conversions: float64(r.Conversions),
		spend:       float64(r.Spend),
		value:       float64(r.Value),
	}, nil
}

func finiteNonNeg(x float32) bool {
	return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) && x >= 0
}

// finish assigns segments (from each request's first row, so that all arms
// agree), country tiers and each arm's top countries by spend. It returns the
// number of requests whose segment values differ between arms.
func (t *requestTable) finish() (disagreements int) {
	st := NewRequestStats(t.arms)
	first := make(map[int64]int32, len(t.reqs))
	for i := range t.reqs {
		r := &t.reqs[i]
		f, ok := first[r.id]
		if !ok {
			first[r.id] = int32(i)
			st.count(r, true)
			continue
		}
		fr := &t.reqs[f]
		if fr.seg != r.seg || fr.country != r.country {
			disagreements++
		}
		r.seg = fr.seg
		r.country = fr.country
		st.count(r, false)
	}
	st.resolve()
	t.topCountries = st.top
	for i := range t.reqs {
		st.apply(&t.reqs[i])
	}
	return disagreements
}

// topCountries is how many countries by spend get their own ROAS figure.
const topCountries = 3

// maxAdID bounds ad Pin ids: ids are dense, and the aggregation keeps arrays
// indexed by them.
const maxAdID = 1 << 25
