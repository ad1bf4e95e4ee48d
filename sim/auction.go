package sim

import (
	"cmp"
	"math"
	"slices"
)

// Bid is one ranked candidate entering the auction.
type Bid struct {
	AdPin   int32
	Bid     float64 // max cost per click, USD
	PCTR    float64 // the ranking stage's click estimate, [0, 1]
	Quality float64 // creative quality, (0, 1]
}

// ECPM is the bid's expected cost per impression (not per thousand), USD:
// Bid x PCTR x Quality.
func (b Bid) ECPM() float64 { return b.Bid * b.PCTR * b.Quality }

// Win is an auction slot won by a bid.
type Win struct {
	Index int     // position of the winning bid in the auction's input
	AdPin int32   // the winner's ad Pin
	Slot  int     // 0 is the top slot
	ECPM  float64 // the winner's eCPM
	Price float64 // cost per click, USD
}

// RunAuction runs a generalized second-price auction. Bids are ranked by
// eCPM = Bid x PCTR x Quality, ties by ascending ad Pin id. Only bids with a
// positive, finite eCPM of at least reserve are eligible; the top `slots`
// eligible bids win slots 0, 1, ... in order. The winner of slot i pays per
// click max(eCPM_{i+1}, reserve) / (PCTR_i x Quality_i), capped at its bid,
// where eCPM_{i+1} is that of the next eligible bid (0 when none). With
// fewer eligible bids than slots, the lower slots stay empty. The returned
// wins are ordered by slot; bids is not modified.
func RunAuction(bids []Bid, slots int, reserve float64) []Win {
	var eligible []int
	for i, b := range bids {
		e := b.ECPM()
		if e > 0 && !math.IsInf(e, 0) && e >= reserve {
			eligible = append(eligible, i)
		}
	}
	return runAuction(bids, eligible, slots, reserve, nil)
}

// runAuction ranks eligible (indexes into bids, reordered in place) and
// appends the wins to dst.
func runAuction(bids []Bid, eligible []int, slots int, reserve float64, dst []Win) []Win {
	slices.SortFunc(eligible, func(i, j int) int {
		if c := cmp.Compare(bids[j].ECPM(), bids[i].ECPM()); c != 0 {
			return c
		}
		return cmp.Compare(bids[i].AdPin, bids[j].AdPin)
	})
	for s := 0; s < slots && s < len(eligible); s++ {
		b := bids[eligible[s]]
		next := 0.0
		if s+1 < len(eligible) {
			next = bids[eligible[s+1]].ECPM()
		}
		price := min(max(next, reserve)/(b.PCTR*b.Quality), b.Bid)
		dst = append(dst, Win{Index: eligible[s], AdPin: b.AdPin, Slot: s, ECPM: b.ECPM(), Price: price})
	}
	return dst
}
