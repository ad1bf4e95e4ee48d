package sim

import (
	"math"
	"slices"
)

// scored is an item in a bounded top-k selection: ordered by score, then by
// tie (a secondary prior), then by ascending id.
type scored struct {
	score float32
	tie   float32
	id    int32
}

// better reports whether a ranks before b.
func better(a, b scored) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if a.tie != b.tie {
		return a.tie > b.tie
	}
	return a.id < b.id
}

// orderBits maps a float32 to a uint32 whose unsigned order is the float
// order: -0 and +0 map alike, and NaN maps below -Inf, so that a NaN score
// never displaces a number.
func orderBits(f float32) uint32 {
	if f != f {
		return 0
	}
	if f == 0 {
		return 1 << 31
	}
	b := math.Float32bits(f)
	if b>>31 != 0 {
		return ^b
	}
	return b | 1<<31
}

// hent is a heap entry: score and tie packed into one key in the order of
// better, so that a comparison is one or two integer compares.
type hent struct {
	key   uint64 // orderBits(score)<<32 | orderBits(tie)
	id    int32
	score float32
}

func entry(x scored) hent {
	return hent{key: uint64(orderBits(x.score))<<32 | uint64(orderBits(x.tie)), id: x.id, score: x.score}
}

// before reports whether a ranks before b: better for numbers.
func (a hent) before(b hent) bool {
	return a.key > b.key || (a.key == b.key && a.id < b.id)
}

// topK keeps the k best items pushed into it in a min-heap whose root is the
// worst kept item.
type topK struct {
	k int
	h []hent
}

func (t *topK) reset(k int) {
	t.k = k
	t.h = t.h[:0]
}

func (t *topK) full() bool { return len(t.h) >= t.k }

// worst returns the worst kept item; only valid when full.
func (t *topK) worst() hent { return t.h[0] }

// push offers x. Items that do not beat the worst kept one of a full heap
// are dropped without touching the heap.
func (t *topK) push(x scored) { t.pushEntry(entry(x)) }

func (t *topK) pushEntry(x hent) {
	if t.k <= 0 {
		return
	}
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		t.up(len(t.h) - 1)
		return
	}
	if !x.before(t.h[0]) {
		return
	}
	t.h[0] = x
	t.down(0)
}

func (t *topK) up(i int) {
	h := t.h
	x := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if !h[p].before(x) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = x
}

func (t *topK) down(i int) {
	h := t.h
	n := len(h)
	x := h[i]
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		w := l
		if r := l + 1; r < n && h[l].before(h[r]) {
			w = r
		}
		if !x.before(h[w]) {
			break
		}
		h[i] = h[w]
		i = w
	}
	h[i] = x
}

// appendSorted appends the kept items to dst best first and empties the heap.
// The order is strict (ids are distinct), so sorting gives what popping the
// heap would.
func (t *topK) appendSorted(dst []Candidate) []Candidate {
	slices.SortFunc(t.h, func(a, b hent) int {
		if a.before(b) {
			return -1
		}
		return 1
	})
	for _, x := range t.h {
		dst = append(dst, Candidate{AdPin: x.id, Score: x.score})
	}
	t.h = t.h[:0]
	return dst
}

// rankBefore reports whether a ranks before b at a funnel truncation: by
// descending score, ties by ascending ad Pin id.
func rankBefore(a, b rankKey) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.ad < b.ad
}

// selectTop rearranges keys so that keys[:n] hold the n best by rankBefore,
// in no particular order (quickselect with median-of-three pivots; keys are
// distinct ad Pins, so the kept set is that of a full sort).
func selectTop(keys []rankKey, n int) {
	lo, hi := 0, len(keys)
	if n <= 0 || n >= hi {
		return
	}
	for hi-lo > 12 {
		mid := lo + (hi-lo)/2
		a, b, c := &keys[lo], &keys[mid], &keys[hi-1]
		if rankBefore(*b, *a) {
			*a, *b = *b, *a
		}
		if rankBefore(*c, *b) {
			*b, *c = *c, *b
			if rankBefore(*b, *a) {
				*a, *b = *b, *a
			}
		}
		pivot := keys[mid]
		i, j := lo, hi-1
		for i <= j {
			for rankBefore(keys[i], pivot) {
				i++
			}
			for rankBefore(pivot, keys[j]) {
				j--
			}
			if i <= j {
				keys[i], keys[j] = keys[j], keys[i]
				i++
				j--
			}
		}
		// keys[lo:j+1] rank before or with the pivot, keys[i:hi] after or
		// with it, and keys[j+1:i] equal it.
		switch {
		case n <= j+1:
			hi = j + 1
		case n >= i:
			lo = i
		default:
			return
		}
	}
	for i := lo + 1; i < hi; i++ {
		for j := i; j > lo && rankBefore(keys[j], keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}
