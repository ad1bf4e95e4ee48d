package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/cgbench/cgbench/datasets"
)

// worldSpec sizes a tiny in-memory world for tests.
type worldSpec struct {
	seed         uint64
	users        int
	ads          int
	cats         int // categories, in groups of 4
	meanEvents   float64
	evalStartDay int
	evalDays     int
}

var tinySpec = worldSpec{seed: 1, users: 60, ads: 80, cats: 12, meanEvents: 8, evalStartDay: 20, evalDays: 5}

// genWorld draws a small world: ad Pins with 1-3 categories of one group,
// users with one or two favourite groups whose offsite conversions mostly
// follow those groups and a heavy-tailed popularity, with a tendency to
// repeat the previous event's category.
func genWorld(s worldSpec) *datasets.World {
	rng := rand.New(rand.NewPCG(s.seed, 99))
	const groupSize = 4
	w := &datasets.World{Manifest: datasets.Manifest{
		SchemaVersion: datasets.SchemaVersion, Kind: "synthetic", Seed: s.seed,
		StartTime: 1_700_000_000 - 1_700_000_000%datasets.SecondsPerDay, EvalStartDay: s.evalStartDay, EvalDays: s.evalDays,
	}}
	groups := (s.cats + groupSize - 1) / groupSize
	for c := range s.cats {
		w.Categories = append(w.Categories, datasets.Category{ID: int32(c), Group: int32(c / groupSize), Name: "c"})
	}
	pop := make([]float64, s.ads)
	byGroup := make([][]int32, groups)
	for a := range s.ads {
		g := rng.IntN(groups)
		n := 1 + rng.IntN(datasets.MaxCategoriesPerItem)
		var cs []datasets.CategoryScore
		rest := float32(1)
		for _, k := range rng.Perm(groupSize)[:n] {
			c := g*groupSize + k
			if c >= s.cats {
				continue
			}
			conf := rest * float32(0.4+0.5*rng.Float64())
			rest -= conf
			cs = append(cs, datasets.CategoryScore{Category: int32(c), Confidence: conf})
		}
		if len(cs) == 0 {
			cs = append(cs, datasets.CategoryScore{Category: int32(g * groupSize), Confidence: 0.8})
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i].Confidence > cs[j].Confidence })
		w.AdPins = append(w.AdPins, datasets.AdPin{ID: int32(a), Advertiser: int32(a % 7), Categories: cs, Bid: 1, Quality: 0.5})
		pop[a] = math.Exp(1.2 * rng.NormFloat64())
		byGroup[g] = append(byGroup[g], int32(a))
	}
	for p := range 20 {
		c := int32(rng.IntN(s.cats))
		w.OrganicPins = append(w.OrganicPins, datasets.OrganicPin{ID: int32(p), Categories: []datasets.CategoryScore{{Category: c, Confidence: 0.9}}})
	}
	draw := func(ids []int32) int32 {
		var tot float64
		for _, a := range ids {
			tot += pop[a]
		}
		x := rng.Float64() * tot
		for _, a := range ids {
			x -= pop[a]
			if x <= 0 {
				return a
			}
		}
		return ids[len(ids)-1]
	}
	all := make([]int32, s.ads)
	for i := range all {
		all[i] = int32(i)
	}
	countries := []string{"US", "GB", "DE", "FR"}
	end := w.DayStart(s.evalStartDay + s.evalDays)
	w.UserEvents = []int{0}
	for u := range s.users {
		w.Users = append(w.Users, datasets.User{ID: int32(u), AgeBucket: int32(rng.IntN(datasets.NumAgeBuckets)),
			Country: countries[rng.IntN(len(countries))], Gender: int32(rng.IntN(datasets.NumGenders))})
		fav := []int{rng.IntN(groups)}
		if rng.Float64() < 0.5 {
			fav = append(fav, rng.IntN(groups))
		}
		n := 1 + int(rng.ExpFloat64()*s.meanEvents)
		var ts []int64
		for range n {
			ts = append(ts, w.Manifest.StartTime+rng.Int64N(end-w.Manifest.StartTime))
		}
		slices.Sort(ts)
		prevGroup := -1
		for _, t := range ts {
			var a int32
			switch x := rng.Float64(); {
			case x < 0.15:
				a = draw(all)
			case x < 0.5 && prevGroup >= 0 && len(byGroup[prevGroup]) > 0:
				a = draw(byGroup[prevGroup])
			default:
				g := fav[rng.IntN(len(fav))]
				if len(byGroup[g]) == 0 {
					a = draw(all)
				} else {
					a = draw(byGroup[g])
				}
			}
			prevGroup = int(w.AdPins[a].Categories[0].Category) / groupSize
			w.Events = append(w.Events, datasets.Event{UserID: int32(u), AdPinID: a, Type: int32(rng.IntN(datasets.NumEventTypes)), Timestamp: t})
		}
		w.UserEvents = append(w.UserEvents, len(w.Events))
	}
	return w
}

// tinyConfig is a small, fast model configuration for tests.
func tinyConfig(kind string) Config {
	c := DefaultConfig(kind)
	c.MaxLen = 6
	c.Dim = 8
	c.Layers = 1
	c.Heads = 2
	c.FFN = 16
	c.OutDim = 10
	c.UserHead = []int{12}
	c.ItemTower = []int{12}
	c.GapBuckets = 6
	c.Context.DemoDim = 4
	c.Train.BatchSize = 16
	c.Train.Epochs = 2
	c.Train.WarmupSteps = 2
	return c
}
