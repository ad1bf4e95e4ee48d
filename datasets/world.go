package datasets

// World is a dataset folder loaded into memory: the observable tables that
// models and candidate generators may read. The truth tables are loaded
// separately (Truth) so that model code never holds them.
type World struct {
	Dir         string
	Manifest    Manifest
	Categories  []Category   // index i holds id i
	AdPins      []AdPin      // index i holds id i
	OrganicPins []OrganicPin // index i holds id i
	Users       []User       // index i holds id i
	Events      []Event      // sorted by user, timestamp, ad Pin
	UserEvents  []int        // len(Users)+1 offsets: user u's events are Events[UserEvents[u]:UserEvents[u+1]]
	Requests    []Request    // sorted by timestamp, request id; nil when not loaded
	Impressions []Impression // sorted by request id, slot; nil when absent or not loaded
}

// History returns the offsite events of user u in time order. The slice
// aliases w.Events.
func (w *World) History(u int32) []Event {
	return w.Events[w.UserEvents[u]:w.UserEvents[u+1]]
}

// HistoryBefore returns user u's events with a timestamp strictly before ts.
func (w *World) HistoryBefore(u int32, ts int64) []Event {
	h := w.History(u)
	lo, hi := 0, len(h)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if h[m].Timestamp < ts {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return h[:lo]
}

// Day returns the day index of a unix timestamp: day 0 starts at
// Manifest.StartTime. Timestamps before the start give negative days.
func (w *World) Day(ts int64) int {
	return w.Manifest.Day(ts)
}

// DayStart returns the unix timestamp at which day d starts.
func (w *World) DayStart(d int) int64 {
	return w.Manifest.StartTime + int64(d)*SecondsPerDay
}

// Truth is the world's hidden state, read only by the simulator and oracle
// metrics.
type Truth struct {
	Categories []TruthCategory // index i holds category i
	AdPins     []TruthAdPin    // index i holds ad Pin i
	Users      []TruthUser     // index i holds user i
	Requests   []TruthRequest  // aligned with World.Requests
}

// Manifest is manifest.json of a dataset folder.
type Manifest struct {
	SchemaVersion int    `json:"schema_version"`
	Kind          string `json:"kind"` // "synthetic", "movielens", "sequences", ...
	CreatedBy     string `json:"created_by"`
	Seed          uint64 `json:"seed"`
	// Config is the generator's or importer's full configuration.
	Config any `json:"config"`
	// Response is the world's true response model; nil for real logs,
	// where no truth exists.
	Response *ResponseConfig `json:"response,omitempty"`
	// StartTime is the unix time (midnight UTC) at which day 0 starts.
	StartTime int64 `json:"start_time"`
	// Days [0, EvalStartDay) hold the offsite history used for training;
	// days [EvalStartDay, EvalStartDay+EvalDays) the requests, during which
	// offsite activity goes on.
	EvalStartDay int                 `json:"eval_start_day"`
	EvalDays     int                 `json:"eval_days"`
	LatentDim    int                 `json:"latent_dim,omitempty"`
	Files        map[string]FileInfo `json:"files"` // keyed by path relative to the folder
	Hash         string              `json:"hash"`  // hash over Files' hashes, in path order: the data hash
}

// FileInfo describes one table file of a dataset folder.
type FileInfo struct {
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Day returns the day index of a unix timestamp.
func (m *Manifest) Day(ts int64) int {
	d := ts - m.StartTime
	if d < 0 {
		return int((d - SecondsPerDay + 1) / SecondsPerDay)
	}
	return int(d / SecondsPerDay)
}
