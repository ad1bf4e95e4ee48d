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
	// history category bags, one per token (B*L bags).
	hcIDs []int32
	hcW   []float32
	hcOff []int32
	// context: subject category bags (B bags) and demographics.
	ctxIDs               []int32
	ctxW                 []float32
	ctxOff               []int32
	age, country, gender []int32
	// labels are the positive ad Pins (training and validation only).
	labels []int32
	// histLen[b] is the number of real tokens of row b.
	histLen []int32
	// whole-history category bags (B bags, CategoryResidual only): every
	// event's categories weighted by confidence / number of events.
	ucIDs []int32
	ucW   []float32
	ucOff []int32
	// whole-history ad Pin bags (B bags, IDResidual only), 1 / number of
	// events per event.
	uiIDs   []int32
	uiW     []float32
	uiOff   []int32
	scratch []datasets.CategoryScore
}

// reset prepares b for B rows of length L.
func (b *batch) reset(B, L int) {
	b.B, b.L = B, L
	b.ids = b.ids[:0]
	b.types = b.types[:0]
	b.gaps = b.gaps[:0]
	b.pad = b.pad[:0]
	b.hcIDs = b.hcIDs[:0]
	b.hcW = b.hcW[:0]
	b.hcOff = append(b.hcOff[:0], 0)
	b.ctxIDs = b.ctxIDs[:0]
	b.ctxW = b.ctxW[:0]
	b.ctxOff = append(b.ctxOff[:0], 0)
	b.age = b.age[:0]
	b.country = b.country[:0]
	b.gender = b.gender[:0]
	b.labels = b.labels[:0]
	b.histLen = b.histLen[:0]
	b.ucIDs = b.ucIDs[:0]
	b.ucW = b.ucW[:0]
	b.ucOff = append(b.ucOff[:0], 0)
	b.uiIDs = b.uiIDs[:0]
	b.uiW = b.uiW[:0]
	b.uiOff = append(b.uiOff[:0], 0)
}

// addSeq appends a row holding the last L of events (left-padded); prevTS is
// the timestamp of the event before events[0], -1 when there is none.
func (b *batch) addSeq(events []datasets.Event, prevTS int64, cfg *Config, f *features) {
	const k = datasets.MaxCategoriesPerItem
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
		b.hcOff = append(b.hcOff, int32(len(b.hcIDs)))
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
			for j := range k {
				if c := f.itemCats[int(e.AdPinID)*k+j]; c >= 0 {
					b.hcIDs = append(b.hcIDs, c)
					b.hcW = append(b.hcW, f.itemConf[int(e.AdPinID)*k+j])
				}
			}
		}
		b.hcOff = append(b.hcOff, int32(len(b.hcIDs)))
	}
	b.histLen = append(b.histLen, int32(len(events)))
}

// addHistoryBags appends a row's whole-history bags of the residuals cfg
// has.
func (b *batch) addHistoryBags(events []datasets.Event, cfg *Config, f *features) {
	const k = datasets.MaxCategoriesPerItem
	inv := 1 / float32(max(1, len(events)))
	if cfg.CategoryResidual {
		for _, e := range events {
			for j := range k {
				if c := f.itemCats[int(e.AdPinID)*k+j]; c >= 0 {
					b.ucIDs = append(b.ucIDs, c)
					b.ucW = append(b.ucW, f.itemConf[int(e.AdPinID)*k+j]*inv)
				}
			}
		}
		b.ucOff = append(b.ucOff, int32(len(b.ucIDs)))
	}
	if cfg.IDResidual {
		for _, e := range events {
			b.uiIDs = append(b.uiIDs, e.AdPinID)
			b.uiW = append(b.uiW, inv)
		}
		b.uiOff = append(b.uiOff, int32(len(b.uiIDs)))
	}
}

// addContext appends a row's context: the subject categories (already
// projected) and user u's demographics.
func (b *batch) addContext(cats []datasets.CategoryScore, u *datasets.User, f *features) {
	for _, c := range cats {
		if c.Category < 0 || int(c.Category) >= f.nCats || !(c.Confidence > 0) || math.IsInf(float64(c.Confidence), 0) {
			continue
		}
		b.ctxIDs = append(b.ctxIDs, c.Category)
		b.ctxW = append(b.ctxW, c.Confidence)
	}
	b.ctxOff = append(b.ctxOff, int32(len(b.ctxIDs)))
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
	if len(b.ids) != b.B*b.L || len(b.hcOff) != b.B*b.L+1 || len(b.pad) != b.B*b.L {
		panic(fmt.Sprintf("model: batch has %d tokens, want %d x %d", len(b.ids), b.B, b.L))
	}
}

// checkContext panics when the context rows filled do not match B.
func (b *batch) checkContext() {
	if len(b.age) != b.B || len(b.ctxOff) != b.B+1 {
		panic(fmt.Sprintf("model: batch has %d context rows, want %d", len(b.age), b.B))
	}
}

// itemBags fills bag inputs for the ad Pins ids from f.
func (f *features) itemBags(ids []int32, catIDs []int32, catW []float32, off []int32) ([]int32, []float32, []int32) {
	const k = datasets.MaxCategoriesPerItem
	catIDs, catW, off = catIDs[:0], catW[:0], append(off[:0], 0)
	for _, id := range ids {
		for j := range k {
			if c := f.itemCats[int(id)*k+j]; c >= 0 {
				catIDs = append(catIDs, c)
				catW = append(catW, f.itemConf[int(id)*k+j])
			}
		}
		off = append(off, int32(len(catIDs)))
	}
	return catIDs, catW, off
}
