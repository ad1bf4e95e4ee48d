package sim

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

// topK keeps the k best items pushed into it in a min-heap whose root is the
// worst kept item.
type topK struct {
	k int
	h []scored
}

func (t *topK) reset(k int) {
	t.k = k
	t.h = t.h[:0]
}

func (t *topK) full() bool { return len(t.h) >= t.k }

// worst returns the worst kept item; only valid when full.
func (t *topK) worst() scored { return t.h[0] }

// push offers x. Items that do not beat the worst kept one of a full heap
// are dropped without touching the heap.
func (t *topK) push(x scored) {
	if t.k <= 0 {
		return
	}
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		t.up(len(t.h) - 1)
		return
	}
	if !better(x, t.h[0]) {
		return
	}
	t.h[0] = x
	t.down(0)
}

func (t *topK) up(i int) {
	h := t.h
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (t *topK) down(i int) {
	h := t.h
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		w := l
		if r := l + 1; r < n && better(h[l], h[r]) {
			w = r
		}
		if !better(h[i], h[w]) {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// appendSorted appends the kept items to dst best first and empties the heap.
func (t *topK) appendSorted(dst []Candidate) []Candidate {
	n := len(t.h)
	start := len(dst)
	for range n {
		dst = append(dst, Candidate{})
	}
	// Pop the worst repeatedly, filling dst from the back.
	for i := n - 1; i >= 0; i-- {
		x := t.h[0]
		last := len(t.h) - 1
		t.h[0] = t.h[last]
		t.h = t.h[:last]
		if len(t.h) > 0 {
			t.down(0)
		}
		dst[start+i] = Candidate{AdPin: x.id, Score: x.score}
	}
	return dst
}
