package model

import (
	"fmt"
	"math"

	"github.com/cgbench/cgbench/datasets"
)

// example is one training or validation example: the prefix
// Events[max(userStart, End-L):End] of a user's history predicts the event
// Events[Target]. Indices are absolute into World.Events.
type example struct {
	User   int32
	End    int32
	Target int32
}

// exampleSet holds the examples built from the events strictly before Cutoff.
type exampleSet struct {
	Cutoff int64
	Train  []example
	Val    []example
	// LabelCount[i] counts ad Pin i among the training labels; LabelTotal is
	// their sum. They drive the logQ correction and the popularity baseline.
	LabelCount []int64
	LabelTotal int64
}

// Random-stream stages: every random draw of training comes from a stream
// keyed by (seed, stage, ...), so that changing one stage leaves the others.
const (
	stageInit uint64 = iota + 1
	stageValidation
	stageShuffle
	stageDropout
	stagePseudo
	stageNegatives
)

// mix is the splitmix64 finaliser, used to derive stream keys.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// isValidationUser reports whether user u's last event is held out, a
// seeded draw with probability share.
func isValidationUser(seed uint64, u int32, share float64) bool {
	if share <= 0 {
		return false
	}
	h := mix(mix(seed^stageValidation<<56) ^ uint64(u))
	return float64(h>>11)/(1<<53) < share
}

// buildExamples builds the training and validation examples from the events
// strictly before cutoff. For a validation user (a ValidationShare of the
// users with at least two such events) the last event before the cut-off is
// the validation target and appears in no training example, neither as input
// nor as label. With Window = 0 each event at position >= 1 is the target of
// its prefix; with Window > 0 each prefix also predicts the later events
// within Window days of its last event.
func buildExamples(w *datasets.World, cfg *Config, cutoff int64) (*exampleSet, error) {
	if len(w.UserEvents) != len(w.Users)+1 {
		return nil, fmt.Errorf("build examples: world has %d users but %d event offsets", len(w.Users), len(w.UserEvents))
	}
	if len(w.Events) > math.MaxInt32 {
		return nil, fmt.Errorf("build examples: %d events exceed the int32 index", len(w.Events))
	}
	s := &exampleSet{Cutoff: cutoff, LabelCount: make([]int64, len(w.AdPins))}
	window := int64(cfg.Train.Window) * datasets.SecondsPerDay
	for u := range w.Users {
		start := w.UserEvents[u]
		h := w.HistoryBefore(int32(u), cutoff)
		for i := range h {
			if a := h[i].AdPinID; a < 0 || int(a) >= len(w.AdPins) {
				return nil, fmt.Errorf("build examples: event %d: ad_pin_id %d not in catalog of %d", start+i, a, len(w.AdPins))
			}
		}
		n := len(h)
		if n >= 2 && isValidationUser(cfg.Train.Seed, int32(u), cfg.Train.ValidationShare) {
			s.Val = append(s.Val, example{User: int32(u), End: int32(start + n - 1), Target: int32(start + n - 1)})
			n--
		}
		for p := 1; p < n; p++ {
			last := h[p-1].Timestamp
			for j := p; j < n; j++ {
				if j > p && (window == 0 || h[j].Timestamp-last > window) {
					break
				}
				s.Train = append(s.Train, example{User: int32(u), End: int32(start + p), Target: int32(start + j)})
				s.LabelCount[h[j].AdPinID]++
				s.LabelTotal++
			}
		}
	}
	return s, nil
}

// history returns the events before an example's target: the user tower
// reads the last L of them, the category residual all.
func history(w *datasets.World, ex example) []datasets.Event {
	return w.Events[w.UserEvents[ex.User]:ex.End]
}

// gapBucket maps the hours since the previous event to a bucket:
// 0 = no previous event, then steps of width in log1p(hours).
func gapBucket(hours float64, buckets int, width float64) int32 {
	if buckets <= 1 || hours < 0 {
		return 0
	}
	b := int(math.Log1p(hours) / width)
	return int32(1 + min(b, buckets-2))
}
