package eval

import (
	"fmt"
	"slices"
)

// Segment names accepted in Options.Segments, with their values in output
// order. A segment is a property of the request (and its user), so a request
// lands in the same segment value in every arm: when arms disagree (say a
// staleness arm sees a shorter history) the value of the request's first row
// in the results, in the order given, is used, so that paired comparisons stay
// on the same requests.
//
//   - history_length: offsite events visible in the snapshot
//     (RequestResult.HistoryLength): "0", "1-2", "3-9", "10-49", "50+".
//   - context_strength: the subject Pin's top logged confidence
//     (RequestResult.ContextStrength): "none" (0, no category), "weak"
//     (< 0.4), "medium" (< 0.7), "strong" (>= 0.7).
//   - fresh_activity: offsite events between the snapshot and the request
//     (RequestResult.FreshActivity): "fresh", "not_fresh".
//   - country_tier: countries ranked by their number of distinct requests in
//     the results (ties by country code): "tier1" the top 3, "tier2" the next
//     7, "tier3" the rest.
const (
	SegmentHistoryLength   = "history_length"
	SegmentContextStrength = "context_strength"
	SegmentFreshActivity   = "fresh_activity"
	SegmentCountryTier     = "country_tier"
)

// segmentNames lists the segments in canonical (output) order.
var segmentNames = []string{SegmentHistoryLength, SegmentContextStrength, SegmentFreshActivity, SegmentCountryTier}

// segmentValues lists each segment's values in output order, indexed like
// segmentNames.
var segmentValues = [][]string{
	{"0", "1-2", "3-9", "10-49", "50+"},
	{"none", "weak", "medium", "strong"},
	{"fresh", "not_fresh"},
	{"tier1", "tier2", "tier3"},
}

const numSegments = 4

// SegmentValues returns the values of a segment in output order, or nil for
// an unknown segment.
func SegmentValues(segment string) []string {
	i := slices.Index(segmentNames, segment)
	if i < 0 {
		return nil
	}
	return slices.Clone(segmentValues[i])
}

func historyBucket(n int32) uint8 {
	switch {
	case n <= 0:
		return 0
	case n <= 2:
		return 1
	case n <= 9:
		return 2
	case n <= 49:
		return 3
	}
	return 4
}

func contextBucket(c float32) uint8 {
	switch {
	case !(c > 0):
		return 0
	case c < 0.4:
		return 1
	case c < 0.7:
		return 2
	}
	return 3
}

func freshBucket(f bool) uint8 {
	if f {
		return 0
	}
	return 1
}

// tierOfRank maps a country's 0-based rank by request volume to its tier
// value index.
func tierOfRank(rank int) uint8 {
	switch {
	case rank < 3:
		return 0
	case rank < 10:
		return 1
	}
	return 2
}

// parseSegments validates and orders segment names canonically, returning
// their indices into segmentNames.
func parseSegments(names []string) ([]int, error) {
	var out []int
	for _, n := range names {
		i := slices.Index(segmentNames, n)
		if i < 0 {
			return nil, fmt.Errorf("parse segments: unknown segment %q (want one of %v)", n, segmentNames)
		}
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out, nil
}
