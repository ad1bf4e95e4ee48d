package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/cgbench/cgbench/datasets"
)

// features is the model's own copy of the catalogue facts it reads at
// serving time, saved in the checkpoint so that a loaded model needs no
// World to embed ad Pins.
type features struct {
	nItems, nCats int
	// itemCats[i*k:(i+1)*k] are ad Pin i's categories (k =
	// MaxCategoriesPerItem), -1 after the last; itemConf the confidences.
	itemCats []int32
	itemConf []float32
	// countries is the sorted list of the training world's user countries;
	// country index 0 is reserved for unknown ones, country i+1 is countries[i].
	countries []string
	countryIx map[string]int32
}

// newFeatures captures the catalogue of w.
func newFeatures(w *datasets.World) (*features, error) {
	const k = datasets.MaxCategoriesPerItem
	f := &features{nItems: len(w.AdPins), nCats: len(w.Categories)}
	if f.nItems == 0 {
		return nil, fmt.Errorf("build features: world has no ad Pins")
	}
	if f.nCats == 0 {
		return nil, fmt.Errorf("build features: world has no categories")
	}
	f.itemCats = make([]int32, f.nItems*k)
	f.itemConf = make([]float32, f.nItems*k)
	for i, a := range w.AdPins {
		if len(a.Categories) > k {
			return nil, fmt.Errorf("build features: ad Pin %d has %d categories, want at most %d", i, len(a.Categories), k)
		}
		for j := range k {
			f.itemCats[i*k+j] = -1
			if j < len(a.Categories) {
				c := a.Categories[j]
				if c.Category < 0 || int(c.Category) >= f.nCats {
					return nil, fmt.Errorf("build features: ad Pin %d: category %d not in taxonomy of %d", i, c.Category, f.nCats)
				}
				f.itemCats[i*k+j] = c.Category
				f.itemConf[i*k+j] = c.Confidence
			}
		}
	}
	seen := map[string]bool{}
	for _, u := range w.Users {
		if !seen[u.Country] {
			seen[u.Country] = true
			f.countries = append(f.countries, u.Country)
		}
	}
	slices.Sort(f.countries)
	f.index()
	return f, nil
}

func (f *features) index() {
	f.countryIx = make(map[string]int32, len(f.countries))
	for i, c := range f.countries {
		f.countryIx[c] = int32(i + 1)
	}
}

// checkWorld reports whether w has the catalogue the model was trained on.
func (f *features) checkWorld(w *datasets.World) error {
	if len(w.AdPins) != f.nItems || len(w.Categories) != f.nCats {
		return fmt.Errorf("world has %d ad Pins and %d categories, the model was trained on %d and %d",
			len(w.AdPins), len(w.Categories), f.nItems, f.nCats)
	}
	if len(w.UserEvents) != len(w.Users)+1 {
		return fmt.Errorf("world has %d users but %d event offsets", len(w.Users), len(w.UserEvents))
	}
	for i, e := range w.Events {
		if e.AdPinID < 0 || int(e.AdPinID) >= f.nItems {
			return fmt.Errorf("event %d: ad_pin_id %d not in catalog of %d", i, e.AdPinID, f.nItems)
		}
	}
	return nil
}

// batch holds the inputs of B sequences of length L: the user tower's
// left-padded tokens and the context layer's inputs. Rows are filled in
// order (0, 1, ..., B-1) through addSeq and addContext.
type batch struct {
	B, L int
	// B*L tokens; -1 marks padding.
	ids, types, gaps []int32
	pad              []bool
	// tokenCats: the history's category bags, one per token (B*L bags).
	tokenCats bags
	// context: subject category bags (B bags) and demographics.
	subject              bags
	age, country, gender []int32
	// labels are the positive ad Pins (training and validation only).
	labels []int32
	// histLen[b] is the number of real tokens of row b.
	histLen []int32
	// whole-history category bags (B bags, CategoryResidual only): every
	// event's categories weighted by confidence / number of events.
	histCats bags
	// whole-history ad Pin bags (B bags, IDResidual only), 1 / number of
	// events per event.
	histAds bags
	scratch []datasets.CategoryScore
}

// bags is a list of weighted id bags in nn.EmbeddingBag's layout: bag i
// holds ids[off[i]:off[i+1]] with weights w.
type bags struct {
	ids []int32
	w   []float32
	off []int32
}

func (g *bags) reset() { g.ids, g.w, g.off = g.ids[:0], g.w[:0], append(g.off[:0], 0) }

// add puts id with weight w into the open bag.
func (g *bags) add(id int32, w float32) {
	g.ids = append(g.ids, id)
	g.w = append(g.w, w)
}

// close ends the open bag.
func (g *bags) close() { g.off = append(g.off, int32(len(g.ids))) }

// n is the number of closed bags.
func (g *bags) n() int { return len(g.off) - 1 }

// reset prepares b for B rows of length L.
func (b *batch) reset(B, L int) {
	b.B, b.L = B, L
	b.ids = b.ids[:0]
	b.types = b.types[:0]
	b.gaps = b.gaps[:0]
	b.pad = b.pad[:0]
	b.tokenCats.reset()
	b.subject.reset()
	b.age = b.age[:0]
	b.country = b.country[:0]
	b.gender = b.gender[:0]
	b.labels = b.labels[:0]
	b.histLen = b.histLen[:0]
	b.histCats.reset()
	b.histAds.reset()
}

// addSeq appends a row holding the last L of events (left-padded); prevTS is
// the timestamp of the event before events[0], -1 when there is none.
func (b *batch) addSeq(events []datasets.Event, prevTS int64, cfg *Config, f *features) {
	L := b.L
	b.addHistoryBags(events, cfg, f)
	if len(events) > L {
		prevTS = events[len(events)-L-1].Timestamp
		events = events[len(events)-L:]
	}
	for range L - len(events) {
		b.ids = append(b.ids, -1)
		b.types = append(b.types, -1)
		b.gaps = append(b.gaps, -1)
		b.pad = append(b.pad, true)
		b.tokenCats.close()
	}
	for _, e := range events {
		b.ids = append(b.ids, e.AdPinID)
		typ := e.Type
		if typ < 0 || typ >= datasets.NumEventTypes {
			typ = datasets.EventCheckout
		}
		b.types = append(b.types, typ)
		g := int32(0)
		if prevTS >= 0 {
			g = gapBucket(float64(e.Timestamp-prevTS)/3600, cfg.GapBuckets, cfg.GapBucketWidth)
		}
		prevTS = e.Timestamp
		b.gaps = append(b.gaps, g)
		b.pad = append(b.pad, false)
		if cfg.HistoryCategories {
			f.addCategories(&b.tokenCats, e.AdPinID, 1)
		}
		b.tokenCats.close()
	}
	b.histLen = append(b.histLen, int32(len(events)))
}

// addHistoryBags appends a row's whole-history bags of the residuals cfg
// has.
func (b *batch) addHistoryBags(events []datasets.Event, cfg *Config, f *features) {
	inv := 1 / float32(max(1, len(events)))
	if cfg.CategoryResidual {
		for _, e := range events {
			f.addCategories(&b.histCats, e.AdPinID, inv)
		}
		b.histCats.close()
	}
	if cfg.IDResidual {
		for _, e := range events {
			b.histAds.add(e.AdPinID, inv)
		}
		b.histAds.close()
	}
}

// addContext appends a row's context: the subject categories (already
// projected) and user u's demographics.
func (b *batch) addContext(cats []datasets.CategoryScore, u *datasets.User, f *features) {
	for _, c := range cats {
		if c.Category < 0 || int(c.Category) >= f.nCats || !(c.Confidence > 0) || math.IsInf(float64(c.Confidence), 0) {
			continue
		}
		b.subject.add(c.Category, c.Confidence)
	}
	b.subject.close()
	age, gender, country := int32(0), int32(0), int32(0)
	if u != nil {
		if u.AgeBucket >= 0 && u.AgeBucket < datasets.NumAgeBuckets {
			age = u.AgeBucket
		}
		if u.Gender >= 0 && u.Gender < datasets.NumGenders {
			gender = u.Gender
		}
		country = f.countryIx[u.Country]
	}
	b.age = append(b.age, age)
	b.gender = append(b.gender, gender)
	b.country = append(b.country, country)
}

// checkSeq panics when the sequence rows filled do not match B
// (programmer error).
func (b *batch) checkSeq() {
	if len(b.ids) != b.B*b.L || b.tokenCats.n() != b.B*b.L || len(b.pad) != b.B*b.L {
		panic(fmt.Sprintf("model: batch has %d tokens, want %d x %d", len(b.ids), b.B, b.L))
	}
}

// checkContext panics when the context rows filled do not match B.
func (b *batch) checkContext() {
	if len(b.age) != b.B || b.subject.n() != b.B {
		panic(fmt.Sprintf("model: batch has %d context rows, want %d", len(b.age), b.B))
	}
}

// itemBags fills dst with the category bags of the ad Pins ids.
func (f *features) itemBags(ids []int32, dst *bags) {
	dst.reset()
	for _, id := range ids {
		f.addCategories(dst, id, 1)
		dst.close()
	}
}

// addCategories adds ad Pin ad's listed categories to dst's open bag,
// weighted by confidence times scale.
func (f *features) addCategories(dst *bags, ad int32, scale float32) {
	const k = datasets.MaxCategoriesPerItem
	for j := range k {
		if c := f.itemCats[int(ad)*k+j]; c >= 0 {
			dst.add(c, f.itemConf[int(ad)*k+j]*scale)
		}
	}
}
