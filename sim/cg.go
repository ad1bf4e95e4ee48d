package sim

import (
	"fmt"

	"github.com/cgbench/cgbench/datasets"
)

// Query is one request as a CG sees it.
type Query struct {
	Request *datasets.Request
	User    *datasets.User
	Day     int   // the request's day index (World.Day)
	Cutoff  int64 // the user state a CG may read: offsite events with Timestamp < Cutoff (set by the staleness policy)
}

// Candidate is one retrieved ad Pin with the CG's retrieval score.
type Candidate struct {
	AdPin int32
	Score float32
}

// Generator is a candidate generator: it returns up to its K candidates for
// q, best first, appended to dst. Implementations are safe for concurrent
// use and never read the world's truth.
type Generator interface {
	Name() string
	Retrieve(q *Query, dst []Candidate) ([]Candidate, error)
}

// UserEncoder is what a learned model provides to an embedding CG: the user
// embedding of user for a request whose subject Pin has the given categories,
// reading offsite events before cutoff only, written into dst (len Dim()).
type UserEncoder interface {
	Dim() int
	EncodeUser(user int32, subject []datasets.CategoryScore, cutoff int64, dst []float32) error
}

// Staleness is how old the user state is that CGs read.
type Staleness int

// Staleness policies.
const (
	// StalenessRealtime reads every event before the request.
	StalenessRealtime Staleness = iota
	// StalenessDaily reads the snapshot refreshed at the midnight that
	// starts the request's day.
	StalenessDaily
	// StalenessWeekly reads the snapshot of the most recent refresh day,
	// refresh days being EvalStartDay + 7k.
	StalenessWeekly
)

var stalenessNames = [...]string{"realtime", "daily", "weekly"}

// ParseStaleness parses "realtime", "daily" or "weekly".
func ParseStaleness(s string) (Staleness, error) {
	for i, n := range stalenessNames {
		if s == n {
			return Staleness(i), nil
		}
	}
	return 0, fmt.Errorf("parse staleness %q: want realtime, daily or weekly", s)
}

// String returns the policy's name as ParseStaleness reads it.
func (s Staleness) String() string {
	if s < 0 || int(s) >= len(stalenessNames) {
		return fmt.Sprintf("staleness(%d)", int(s))
	}
	return stalenessNames[s]
}

// MarshalText implements encoding.TextMarshaler, so configs record the name.
func (s Staleness) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(stalenessNames) {
		return nil, fmt.Errorf("marshal staleness: unknown value %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Staleness) UnmarshalText(b []byte) error {
	v, err := ParseStaleness(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Cutoff returns the timestamp before which the user state visible to a CG
// for req ends. Realtime: the request's timestamp. Daily: the start of the
// request's day. Weekly: the start of the most recent refresh day
// EvalStartDay + 7k; a request before the evaluation window falls back to
// the start of its own day, so that no policy ever reads past the request.
func (s Staleness) Cutoff(w *datasets.World, req *datasets.Request) int64 {
	switch s {
	case StalenessDaily:
		return min(w.DayStart(w.Day(req.Timestamp)), req.Timestamp)
	case StalenessWeekly:
		d := w.Day(req.Timestamp)
		e := w.Manifest.EvalStartDay
		if d < e {
			return min(w.DayStart(d), req.Timestamp)
		}
		return w.DayStart(e + 7*((d-e)/7))
	default:
		return req.Timestamp
	}
}

// WithStaleness returns g reading the user state under policy s whatever the
// cutoff of the queries it receives, e.g. a learned CG whose feature store
// refreshes daily inside an otherwise realtime mix.
func WithStaleness(g Generator, s Staleness, w *datasets.World) Generator {
	return &staleGenerator{Generator: g, s: s, w: w}
}

type staleGenerator struct {
	Generator
	s Staleness
	w *datasets.World
}

func (g *staleGenerator) Retrieve(q *Query, dst []Candidate) ([]Candidate, error) {
	q2 := *q
	q2.Cutoff = g.s.Cutoff(g.w, q.Request)
	return g.Generator.Retrieve(&q2, dst)
}

// Spec returns the wrapped generator's spec with its lag.
func (g *staleGenerator) Spec() string {
	return generatorSpec(g.Generator) + " lag=" + g.s.String()
}

// generatorSpec returns g's spec when it records one, else its name.
func generatorSpec(g Generator) string {
	if s, ok := g.(interface{ Spec() string }); ok {
		return s.Spec()
	}
	return g.Name()
}
