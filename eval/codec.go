package eval

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"slices"
)

// Binary forms of RequestStats and Accumulator, for a distributed runner's
// coder: a magic string, varints (sums are fixed-point integers), and a
// CRC-32 of everything before it, so that a corrupt blob is refused with an
// error rather than decoded into wrong sums.

const (
	statsMagic = "cgbench.eval.RequestStats.v1"
	accMagic   = "cgbench.eval.Accumulator.v1"
)

type encoder struct{ b []byte }

func (e *encoder) uint(x uint64) { e.b = binary.AppendUvarint(e.b, x) }
func (e *encoder) int(x int64)   { e.b = binary.AppendVarint(e.b, x) }
func (e *encoder) str(s string)  { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) strs(ss []string) {
	e.uint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}
func (e *encoder) fixed(f fixed) { e.int(f.hi); e.uint(f.lo) }

// seal appends the checksum.
func (e *encoder) seal() []byte {
	return binary.LittleEndian.AppendUint32(e.b, crc32.ChecksumIEEE(e.b))
}

type decoder struct {
	b    []byte
	what string
	err  error
}

// open checks the checksum and the magic.
func open(b []byte, magic, what string) *decoder {
	d := &decoder{what: what}
	if len(b) < 4 {
		d.fail("truncated")
		return d
	}
	body := b[:len(b)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		d.fail("checksum mismatch")
		return d
	}
	d.b = body
	if d.str() != magic && d.err == nil {
		d.fail("not a %s", magic)
	}
	return d
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("decode %s: %s", d.what, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated")
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("truncated")
		return 0
	}
	d.b = d.b[n:]
	return x
}

// length reads a count of items of at least size bytes each, bounded by the
// bytes left, so that a corrupt count cannot allocate beyond the blob.
func (d *decoder) length(size int) int {
	n := d.uint()
	if d.err == nil && n > uint64(len(d.b)/size) {
		d.fail("count %d exceeds the data", n)
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.length(1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strs() []string {
	n := d.length(1)
	out := make([]string, 0, n)
	for range n {
		out = append(out, d.str())
	}
	return out
}

func (d *decoder) fixed() fixed { return fixed{hi: d.int(), lo: d.uint()} }

// small reads an unsigned integer below bound.
func (d *decoder) small(bound int, name string) int {
	x := d.uint()
	if d.err == nil && x >= uint64(bound) {
		d.fail("%s %d out of range [0, %d)", name, x, bound)
		return 0
	}
	return int(x)
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return d.err
}

func (s *RequestStats) encode(e *encoder) {
	e.strs(s.arms)
	countries := slices.Sorted(maps.Keys(s.countries))
	e.uint(uint64(len(countries)))
	for _, c := range countries {
		e.str(c)
		e.int(s.countries[c])
	}
	for _, m := range s.spend {
		cs := slices.Sorted(maps.Keys(m))
		e.uint(uint64(len(cs)))
		for _, c := range cs {
			e.str(c)
			e.fixed(m[c])
		}
	}
	e.int(s.disagree)
}

func decodeStats(d *decoder) *RequestStats {
	arms := d.strs()
	if d.err != nil {
		return nil
	}
	s := NewRequestStats(arms)
	if len(s.armIdx) != len(arms) {
		d.fail("duplicate arm names")
	}
	n := d.length(2)
	for range n {
		c := d.str()
		s.countries[c] = d.int()
	}
	for a := range arms {
		n := d.length(3)
		for range n {
			c := d.str()
			s.spend[a][c] = d.fixed()
		}
	}
	s.disagree = d.int()
	return s
}

// MarshalBinary encodes the stats (encoding.BinaryMarshaler); equal stats
// give equal bytes.
func (s *RequestStats) MarshalBinary() ([]byte, error) {
	e := &encoder{}
	e.str(statsMagic)
	s.encode(e)
	return e.seal(), nil
}

// UnmarshalBinary decodes stats written by MarshalBinary, replacing s.
func (s *RequestStats) UnmarshalBinary(b []byte) error {
	d := open(b, statsMagic, "request stats")
	o := decodeStats(d)
	if err := d.done(); err != nil {
		return err
	}
	*s = *o
	return nil
}

// MarshalBinary encodes the accumulator (encoding.BinaryMarshaler): its
// stats, options and every unit's sums. Its size grows with users x
// (arms + arm-CG pairs) x columns.
func (a *Accumulator) MarshalBinary() ([]byte, error) {
	g := a.g
	e := &encoder{}
	e.str(accMagic)
	a.stats.encode(e)
	e.uint(uint64(len(g.ks)))
	for _, k := range g.ks {
		e.uint(uint64(k))
	}
	e.uint(uint64(len(g.segs)))
	for _, s := range g.segs {
		e.uint(uint64(s))
	}
	e.uint(uint64(len(g.unitUser)))
	for u := range g.unitUser {
		e.uint(uint64(g.unitUser[u]))
		e.uint(uint64(g.unitSet[u]))
	}
	for a := range g.armVals {
		e.uint(uint64(len(g.armVals[a])))
		for _, v := range g.armVals[a] {
			e.fixed(v)
		}
	}
	e.uint(uint64(len(g.blocks)))
	for _, b := range g.blocks {
		e.uint(uint64(b.arm))
		e.str(b.cg)
		e.uint(uint64(len(b.vals)))
		for _, v := range b.vals {
			e.fixed(v)
		}
		e.uint(uint64(len(b.hist)))
		for _, h := range b.hist {
			e.uint(uint64(h))
		}
		for s := range b.acc {
			for k := range numMedianKinds {
				acc := b.acc[s][k]
				if acc == nil {
					e.uint(0)
					continue
				}
				e.uint(1)
				nz := 0
				for i := range acc {
					if acc[i].count != 0 {
						nz++
					}
				}
				e.uint(uint64(nz))
				for i := range acc {
					if acc[i].count != 0 {
						e.uint(uint64(i))
						e.int(acc[i].count)
						e.fixed(acc[i].sum)
					}
				}
			}
		}
		for d := range b.dist {
			for _, c := range b.dist[d] {
				e.int(c)
			}
		}
	}
	e.int(int64(g.impressionDiffs))
	return e.seal(), nil
}

// UnmarshalBinary decodes an accumulator written by MarshalBinary, replacing
// a. A blob that is corrupt or inconsistent gives an error.
func (a *Accumulator) UnmarshalBinary(b []byte) error {
	d := open(b, accMagic, "accumulator")
	stats := decodeStats(d)
	nk := d.length(1)
	ks := make([]int, 0, nk)
	for range nk {
		ks = append(ks, int(d.small(math.MaxInt32, "K")))
	}
	nseg := d.length(1)
	segs := make([]int, 0, nseg)
	for range nseg {
		segs = append(segs, d.small(numSegments, "segment"))
	}
	if d.err != nil {
		return d.err
	}
	if !slices.IsSorted(ks) || len(slices.Compact(slices.Clone(ks))) != len(ks) || len(ks) == 0 || ks[0] <= 0 ||
		!slices.IsSorted(segs) || len(slices.Compact(slices.Clone(segs))) != len(segs) || len(stats.arms) == 0 {
		d.fail("invalid Ks %v, segments %v or arms %v", ks, segs, stats.arms)
		return d.err
	}
	stats.resolve()
	g := newAggregator(stats.arms, stats.top, ks, segs)
	nu := d.length(2)
	for range nu {
		user := d.small(math.MaxInt32+1, "user")
		set := d.small(g.nsets, "row set")
		if d.err != nil {
			return d.err
		}
		if _, dup := g.unitOf[unitKey(int32(user), int32(set))]; dup {
			d.fail("unit (user %d, row set %d) twice", user, set)
			return d.err
		}
		g.unit(int32(user), int32(set))
	}
	sums := func(width int) []fixed {
		n := d.length(2)
		if d.err == nil && (n%width != 0 || n > nu*width) {
			d.fail("%d sums for %d units of %d columns", n, nu, width)
		}
		if d.err != nil {
			return nil
		}
		out := make([]fixed, n)
		for i := range out {
			out[i] = d.fixed()
		}
		return out
	}
	for arm := range g.armVals {
		g.armVals[arm] = sums(g.armN[arm])
	}
	nb := d.length(2)
	hw := histIndex(1, 0, 0)
	for range nb {
		arm := d.small(len(stats.arms), "arm")
		cg := d.str()
		if d.err != nil {
			return d.err
		}
		if _, dup := g.blockOf[armCG{int32(arm), cg}]; dup || cg == "" {
			d.fail("CG %q of arm %d empty or twice", cg, arm)
			return d.err
		}
		blk := g.block(int32(arm), cg)
		blk.vals = sums(g.layout.cols())
		nh := d.length(1)
		if d.err == nil && (nh%hw != 0 || nh > nu*hw) {
			d.fail("%d histogram counts for %d units", nh, nu)
		}
		if d.err != nil {
			return d.err
		}
		blk.hist = make([]uint32, nh)
		for i := range blk.hist {
			blk.hist[i] = uint32(d.small(math.MaxUint32+1, "histogram count"))
		}
		for s := range blk.acc {
			for k := range numMedianKinds {
				if d.small(2, "histogram flag") == 0 {
					continue
				}
				acc := new(fineAcc)
				nz := d.length(3)
				for range nz {
					i := d.small(fineBins, "fine bin")
					acc[i].count = d.int()
					acc[i].sum = d.fixed()
				}
				blk.acc[s][k] = acc
			}
		}
		for di := range blk.dist {
			for i := range blk.dist[di] {
				blk.dist[di][i] = d.int()
			}
		}
	}
	g.impressionDiffs = int(d.int())
	if err := d.done(); err != nil {
		return err
	}
	*a = Accumulator{stats: stats, g: g}
	return nil
}
