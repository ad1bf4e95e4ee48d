package nn

// kernel4x4 sets the 4 x 4 tile t (row stride ldt) to the product of a packed
// 4-row panel of A and a packed 4-column panel of B, both kb deep (stride 4).
// It runs as two 2 x 4 halves: eight accumulators fit the 15 usable SSE
// registers, sixteen do not and spill.
func kernel4x4(kb int, a, b []float32, t []float32, ldt int) {
	kernel2x4(kb, a, b, t, ldt)
	kernel2x4(kb, a[2:], b, t[2*ldt:], ldt)
}

// kernel2x4 handles rows 0 and 1 of a 4-row panel (a starts at the row).
// The slice-advancing loop lets the compiler drop the bounds checks.
func kernel2x4(kb int, a, b []float32, t []float32, ldt int) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	a = a[: (kb-1)*4+2 : (kb-1)*4+2]
	b = b[:kb*4]
	for len(a) >= 2 && len(b) >= 4 {
		a0, a1 := a[0], a[1]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		if len(a) < 4 {
			break
		}
		a = a[4:]
		b = b[4:]
	}
	r := t[:ldt+4]
	r[0], r[1], r[2], r[3] = c00, c01, c02, c03
	r = r[ldt:]
	r[0], r[1], r[2], r[3] = c10, c11, c12, c13
}

// kernel4x4strided computes columns j0..j0+3 of a 4 x gemmNR tile from a
// packed 4-row panel of A and a packed gemmNR-column panel of B.
func kernel4x4strided(kb int, a, b []float32, j0 int, t []float32, ldt int) {
	for i := range 4 {
		var c0, c1, c2, c3 float32
		for p := range kb {
			av := a[p*4+i]
			bb := b[p*gemmNR+j0 : p*gemmNR+j0+4]
			c0 += av * bb[0]
			c1 += av * bb[1]
			c2 += av * bb[2]
			c3 += av * bb[3]
		}
		r := t[i*ldt : i*ldt+4]
		r[0], r[1], r[2], r[3] = c0, c1, c2, c3
	}
}
