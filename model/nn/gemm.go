package nn

import "fmt"

// Cache blocking of Gemm: a KC-deep slice of op(B) (NC columns) and of op(A)
// (MC rows) are packed into contiguous panels that the micro-kernel streams.
const (
	gemmKC = 256
	gemmMC = gemmMR * 32
	gemmNC = gemmNR * 32
	// gemmMinWork is the number of multiply-adds below which Gemm runs on the
	// calling goroutine only.
	gemmMinWork = 1 << 16
)

// gemmWS is the packing workspace of one goroutine.
type gemmWS struct {
	a    []float32 // gemmMC x gemmKC, MR-row panels
	b    []float32 // gemmKC x gemmNC, NR-column panels
	tile [gemmMR * gemmNR]float32
	// alpha and beta of the current call, 8 copies each, so that a SIMD kernel
	// can load them as vectors instead of converting scalars.
	alphaV, betaV [8]float32
}

var wsPool = newFreeList(64, func() *gemmWS {
	return &gemmWS{a: make([]float32, gemmMC*gemmKC), b: make([]float32, gemmKC*gemmNC)}
})

// gemmArgs are the arguments of one Gemm call.
type gemmArgs struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
}

// gemmTask splits C into row blocks (byRows) or column blocks of size step.
type gemmTask struct {
	gemmArgs
	byRows bool
	step   int
}

func (t *gemmTask) run(chunk int) {
	ws := wsPool.get()
	if t.byRows {
		lo, hi := chunkBounds(chunk, t.step, t.m)
		gemmBlock(ws, &t.gemmArgs, lo, hi, 0, t.n)
	} else {
		lo, hi := chunkBounds(chunk, t.step, t.n)
		gemmBlock(ws, &t.gemmArgs, 0, t.m, lo, hi)
	}
	wsPool.put(ws)
}

var gemmTaskPool = newFreeList(64, func() *gemmTask { return new(gemmTask) })

// Gemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(X) is X or its transpose. op(A) is m x k, op(B) is k x n and C is m x n;
// lda, ldb and ldc are the row strides of A, B and C as stored (A is k x m when
// transA). When beta is 0, C is overwritten without being read.
//
// The work is split into row or column blocks of C whose bounds depend only on
// the shapes, and each element is accumulated in the same order whatever the
// split, so the result is bit-identical for every Threads() setting. Gemm panics
// if a slice is too short for its shape and stride.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	args := gemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc}
	checkGemm(&args)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(&args, 0, m, 0, n)
		return
	}
	if m*n*k < gemmMinWork || Threads() == 1 {
		ws := wsPool.get()
		gemmBlock(ws, &args, 0, m, 0, n)
		wsPool.put(ws)
		return
	}
	t := gemmTaskPool.get()
	t.gemmArgs = args
	var chunks int
	if m >= n {
		t.byRows = true
		t.step = roundUp(max((m+15)/16, 32), gemmMR)
		chunks = numChunks(m, t.step)
	} else {
		t.byRows = false
		t.step = roundUp(max((n+15)/16, 64), gemmNR)
		chunks = numChunks(n, t.step)
	}
	parallelFor(t, chunks)
	t.gemmArgs = gemmArgs{}
	gemmTaskPool.put(t)
}

// gemmSerial is Gemm on the calling goroutine with the given workspace; for use
// inside chunks of parallel work.
func gemmSerial(ws *gemmWS, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	args := gemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc}
	checkGemm(&args)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(&args, 0, m, 0, n)
		return
	}
	gemmBlock(ws, &args, 0, m, 0, n)
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

func checkGemm(g *gemmArgs) {
	if g.m < 0 || g.n < 0 || g.k < 0 {
		panic(fmt.Sprintf("nn: Gemm: negative dimension m=%d n=%d k=%d", g.m, g.n, g.k))
	}
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = g.n, g.k
	}
	check := func(name string, s []float32, r, c, ld int) {
		if ld < max(c, 1) {
			panic(fmt.Sprintf("nn: Gemm: ld%s = %d < %d columns", name, ld, c))
		}
		if r > 0 && c > 0 && len(s) < (r-1)*ld+c {
			panic(fmt.Sprintf("nn: Gemm: len(%s) = %d too short for %d x %d with stride %d", name, len(s), r, c, ld))
		}
	}
	if g.m > 0 && g.n > 0 && g.k > 0 {
		check("a", g.a, ar, ac, g.lda)
		check("b", g.b, br, bc, g.ldb)
	}
	check("c", g.c, g.m, g.n, g.ldc)
}

// scaleC sets C[r0:r1, c0:c1] *= beta (= 0 when beta is 0, without reading C).
func scaleC(g *gemmArgs, r0, r1, c0, c1 int) {
	for i := r0; i < r1; i++ {
		row := g.c[i*g.ldc+c0 : i*g.ldc+c1]
		if g.beta == 0 {
			clear(row)
			continue
		}
		if g.beta != 1 {
			for j := range row {
				row[j] *= g.beta
			}
		}
	}
}

// gemmBlock computes the block C[r0:r1, c0:c1] of g with packed panels.
func gemmBlock(ws *gemmWS, g *gemmArgs, r0, r1, c0, c1 int) {
	for jc := c0; jc < c1; jc += gemmNC {
		nb := min(gemmNC, c1-jc)
		for pc := 0; pc < g.k; pc += gemmKC {
			kb := min(gemmKC, g.k-pc)
			packB(ws.b, g, pc, kb, jc, nb)
			beta := g.beta
			if pc > 0 {
				beta = 1
			}
			for i := range ws.alphaV {
				ws.alphaV[i], ws.betaV[i] = g.alpha, beta
			}
			for ic := r0; ic < r1; ic += gemmMC {
				mb := min(gemmMC, r1-ic)
				packA(ws.a, g, ic, mb, pc, kb)
				for jr := 0; jr < nb; jr += gemmNR {
					nr := min(gemmNR, nb-jr)
					bp := ws.b[jr*kb : (jr+gemmNR)*kb]
					for ir := 0; ir < mb; ir += gemmMR {
						mr := min(gemmMR, mb-ir)
						ap := ws.a[ir*kb : (ir+gemmMR)*kb]
						off := (ic+ir)*g.ldc + jc + jr
						if mr == gemmMR && nr == gemmNR {
							gemmKernelStore(kb, ap, bp, g.c[off:], g.ldc, g.alpha, beta, ws)
							continue
						}
						gemmKernel(kb, ap, bp, &ws.tile)
						storeTile(&ws.tile, g.c, off, g.ldc, mr, nr, g.alpha, beta)
					}
				}
			}
		}
	}
}

// storeTile writes C = alpha*tile + beta*C for the mr x nr corner of the tile.
func storeTile(tile *[gemmMR * gemmNR]float32, c []float32, off, ldc, mr, nr int, alpha, beta float32) {
	for i := range mr {
		row := c[off+i*ldc : off+i*ldc+nr]
		t := tile[i*gemmNR : i*gemmNR+nr]
		switch beta {
		case 0:
			for j := range row {
				row[j] = alpha * t[j]
			}
		case 1:
			for j := range row {
				row[j] += alpha * t[j]
			}
		default:
			for j := range row {
				row[j] = alpha*t[j] + beta*row[j]
			}
		}
	}
}

// packA copies op(A)[ic:ic+mb, pc:pc+kb] into MR-row panels: panel q holds
// rows ic+q*MR.. as dst[(q*kb+p)*MR+i], zero-padded to a multiple of MR rows.
func packA(dst []float32, g *gemmArgs, ic, mb, pc, kb int) {
	for ir := 0; ir < mb; ir += gemmMR {
		panel := dst[ir*kb : (ir+gemmMR)*kb]
		mr := min(gemmMR, mb-ir)
		if mr < gemmMR {
			clear(panel)
		}
		if g.transA {
			// op(A) row i is column ic+ir+i of A: copy MR-wide row pieces.
			for p := range kb {
				off := (pc+p)*g.lda + ic + ir
				copy(panel[p*gemmMR:p*gemmMR+mr], g.a[off:off+mr])
			}
			continue
		}
		if mr == 4 && gemmMR == 4 {
			// Interleave four rows at once: sequential reads and writes.
			o := (ic+ir)*g.lda + pc
			r0 := g.a[o : o+kb]
			r1 := g.a[o+g.lda : o+g.lda+kb]
			r2 := g.a[o+2*g.lda : o+2*g.lda+kb]
			r3 := g.a[o+3*g.lda : o+3*g.lda+kb]
			dst := panel[:4*kb]
			for p := range r0 {
				d := dst[4*p : 4*p+4 : 4*p+4]
				d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
			}
			continue
		}
		for i := range mr {
			row := ic + ir + i
			src := g.a[row*g.lda+pc : row*g.lda+pc+kb]
			for p, v := range src {
				panel[p*gemmMR+i] = v
			}
		}
	}
}

// packB copies op(B)[pc:pc+kb, jc:jc+nb] into NR-column panels: panel q holds
// columns jc+q*NR.. as dst[(q*kb+p)*NR+j], zero-padded to a multiple of NR.
func packB(dst []float32, g *gemmArgs, pc, kb, jc, nb int) {
	for jr := 0; jr < nb; jr += gemmNR {
		panel := dst[jr*kb : (jr+gemmNR)*kb]
		nr := min(gemmNR, nb-jr)
		if nr < gemmNR {
			clear(panel)
		}
		if !g.transB {
			for p := range kb {
				src := g.b[(pc+p)*g.ldb+jc+jr : (pc+p)*g.ldb+jc+jr+nr]
				copy(panel[p*gemmNR:p*gemmNR+nr], src)
			}
		} else {
			for j := range nr {
				src := g.b[(jc+jr+j)*g.ldb+pc : (jc+jr+j)*g.ldb+pc+kb]
				for p, v := range src {
					panel[p*gemmNR+j] = v
				}
			}
		}
	}
}
