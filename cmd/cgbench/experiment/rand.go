package experiment

import (
	"hash/fnv"
	"math/rand/v2"
)

// newRand returns the random stream of a (seed, stage) pair, so that stages
// draw independently and adding one changes no other.
func newRand(seed uint64, stage string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(stage))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}
