//go:build race

package nn

// raceEnabled: the race detector instruments code with allocations, so
// allocation counts are not meaningful there.
const raceEnabled = true
