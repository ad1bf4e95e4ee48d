package sim

import (
	"math"
	"testing"
)

func TestRunAuction(t *testing.T) {
	a := Bid{AdPin: 1, Bid: 2, PCTR: 0.1, Quality: 1}     // eCPM 0.2
	b := Bid{AdPin: 2, Bid: 1, PCTR: 0.15, Quality: 1}    // eCPM 0.15
	c := Bid{AdPin: 3, Bid: 4, PCTR: 0.05, Quality: 0.5}  // eCPM 0.1
	tieLo := Bid{AdPin: 3, Bid: 1, PCTR: 0.2, Quality: 1} // eCPM 0.2, same as a
	zero := Bid{AdPin: 9, Bid: 5, PCTR: 0, Quality: 1}
	cases := []struct {
		name    string
		bids    []Bid
		slots   int
		reserve float64
		want    []Win
	}{
		{
			name: "no reserve", bids: []Bid{c, a, b}, slots: 2,
			// a pays b's eCPM over its pCTR x quality: 0.15/0.1; b pays c's: 0.1/0.15.
			want: []Win{{Index: 1, AdPin: 1, Slot: 0, ECPM: 0.2, Price: 1.5}, {Index: 2, AdPin: 2, Slot: 1, ECPM: 0.15, Price: 0.1 / 0.15}},
		},
		{
			name: "reserve drops a bidder and sets the last price", bids: []Bid{c, a, b}, slots: 2, reserve: 0.12,
			want: []Win{{Index: 1, AdPin: 1, Slot: 0, ECPM: 0.2, Price: 1.5}, {Index: 2, AdPin: 2, Slot: 1, ECPM: 0.15, Price: 0.12 / 0.15}},
		},
		{
			name: "reserve above the runner-up", bids: []Bid{c, a, b}, slots: 3, reserve: 0.18,
			want: []Win{{Index: 1, AdPin: 1, Slot: 0, ECPM: 0.2, Price: 1.8}},
		},
		{
			name: "reserve above every bid", bids: []Bid{c, a, b}, slots: 3, reserve: 0.25,
			want: nil,
		},
		{
			name: "fewer bidders than slots", bids: []Bid{b, c}, slots: 4,
			// c is last with no one below: it pays the (zero) reserve.
			want: []Win{{Index: 0, AdPin: 2, Slot: 0, ECPM: 0.15, Price: 0.1 / 0.15}, {Index: 1, AdPin: 3, Slot: 1, ECPM: 0.1, Price: 0}},
		},
		{
			name: "fewer bidders than slots with reserve", bids: []Bid{b, c}, slots: 4, reserve: 0.05,
			want: []Win{{Index: 0, AdPin: 2, Slot: 0, ECPM: 0.15, Price: 0.1 / 0.15}, {Index: 1, AdPin: 3, Slot: 1, ECPM: 0.1, Price: 0.05 / 0.025}},
		},
		{
			name: "tie broken by ad id, winner pays its bid", bids: []Bid{a, tieLo, b}, slots: 2,
			// tieLo (ad 3) and a (ad 1) have equal eCPM: ad 1 wins slot 0 and
			// pays tieLo's eCPM 0.2 / 0.1 = its own bid 2 (the cap).
			want: []Win{{Index: 0, AdPin: 1, Slot: 0, ECPM: 0.2, Price: 2}, {Index: 1, AdPin: 3, Slot: 1, ECPM: 0.2, Price: 0.15 / 0.2}},
		},
		{
			name: "zero pCTR never wins", bids: []Bid{zero, c}, slots: 2,
			want: []Win{{Index: 1, AdPin: 3, Slot: 0, ECPM: 0.1, Price: 0}},
		},
		{name: "no bids", bids: nil, slots: 2, want: nil},
		{name: "no slots", bids: []Bid{a}, slots: 0, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := RunAuction(tc.bids, tc.slots, tc.reserve)
			if len(got) != len(tc.want) {
				t.Fatalf("RunAuction() = %+v, want %+v", got, tc.want)
			}
			for i, g := range got {
				w := tc.want[i]
				if g.Index != w.Index || g.AdPin != w.AdPin || g.Slot != w.Slot ||
					math.Abs(g.ECPM-w.ECPM) > 1e-12 || math.Abs(g.Price-w.Price) > 1e-12 {
					t.Errorf("RunAuction() win %d = %+v, want %+v", i, g, w)
				}
				if g.Price > tc.bids[g.Index].Bid {
					t.Errorf("RunAuction() win %d price %g above bid %g", i, g.Price, tc.bids[g.Index].Bid)
				}
			}
		})
	}
}
