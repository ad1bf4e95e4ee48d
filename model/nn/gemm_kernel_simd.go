//go:build goexperiment.simd && amd64

package nn

import "simd/archsimd"

// Micro-kernel tile of the SIMD build: 4 rows x 16 columns, eight 8-wide
// accumulators (AVX2 + FMA).
const (
	gemmMR = 4
	gemmNR = 16
)

// gemmKernelName names the micro-kernel in benchmarks.
const gemmKernelName = "avx2fma4x16"

// useSIMD is false on CPUs without AVX2 and FMA; the pure-Go kernel computes
// the same tile then.
var useSIMD = archsimd.X86.AVX2() && archsimd.X86.FMA()

// gemmKernel sets tile = A_panel * B_panel for one MR x kb panel of A and one
// kb x NR panel of B (packed as in packA/packB).
func gemmKernel(kb int, a, b []float32, tile *[gemmMR * gemmNR]float32) {
	if !useSIMD {
		for j0 := 0; j0 < gemmNR; j0 += 4 {
			kernel4x4strided(kb, a, b, j0, tile[j0:], gemmNR)
		}
		return
	}
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	a = a[:kb*4]
	b = b[:kb*16]
	for len(a) >= 4 && len(b) >= 16 {
		b0 := archsimd.LoadFloat32x8((*[8]float32)(b[0:8]))
		b1 := archsimd.LoadFloat32x8((*[8]float32)(b[8:16]))
		a0 := archsimd.BroadcastFloat32x8(a[0])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := archsimd.BroadcastFloat32x8(a[1])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := archsimd.BroadcastFloat32x8(a[2])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := archsimd.BroadcastFloat32x8(a[3])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
		a = a[4:]
		b = b[16:]
	}
	t := tile[:]
	c00.Store((*[8]float32)(t[0:8]))
	c01.Store((*[8]float32)(t[8:16]))
	c10.Store((*[8]float32)(t[16:24]))
	c11.Store((*[8]float32)(t[24:32]))
	c20.Store((*[8]float32)(t[32:40]))
	c21.Store((*[8]float32)(t[40:48]))
	c30.Store((*[8]float32)(t[48:56]))
	c31.Store((*[8]float32)(t[56:64]))
	// Leave no dirty upper halves behind: the scalar SSE code that follows
	// (storeTile, math.Exp) would otherwise pay for a false dependency.
	archsimd.ClearAVXUpperBits()
}

// gemmKernelStore computes a full tile and writes C = alpha*tile + beta*C at c
// (row stride ldc) with the rounding steps of storeTile. alpha and beta are
// loaded as vectors from ws (a scalar float conversion is a legacy-SSE
// instruction, very slow while 256-bit registers are dirty), and the upper
// halves are cleared at the end for the scalar code that follows.
func gemmKernelStore(kb int, a, b, c []float32, ldc int, alpha, beta float32, ws *gemmWS) {
	if !useSIMD {
		gemmKernel(kb, a, b, &ws.tile)
		storeTile(&ws.tile, c, 0, ldc, gemmMR, gemmNR, alpha, beta)
		return
	}
	mode := 2
	switch beta {
	case 0:
		mode = 0
	case 1:
		mode = 1
	}
	c = c[:3*ldc+16]
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	a = a[:kb*4]
	b = b[:kb*16]
	for len(a) >= 4 && len(b) >= 16 {
		b0 := archsimd.LoadFloat32x8((*[8]float32)(b[0:8]))
		b1 := archsimd.LoadFloat32x8((*[8]float32)(b[8:16]))
		a0 := archsimd.BroadcastFloat32x8(a[0])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := archsimd.BroadcastFloat32x8(a[1])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := archsimd.BroadcastFloat32x8(a[2])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := archsimd.BroadcastFloat32x8(a[3])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
		a = a[4:]
		b = b[16:]
	}
	va := archsimd.LoadFloat32x8(&ws.alphaV)
	vb := archsimd.LoadFloat32x8(&ws.betaV)
	storeRow(c[0:16], c00, c01, va, vb, mode)
	storeRow(c[ldc:ldc+16], c10, c11, va, vb, mode)
	storeRow(c[2*ldc:2*ldc+16], c20, c21, va, vb, mode)
	storeRow(c[3*ldc:3*ldc+16], c30, c31, va, vb, mode)
	archsimd.ClearAVXUpperBits()
}

// storeRow writes row = alpha*[x0 x1] (mode 0), row + alpha*[x0 x1] (mode 1)
// or alpha*[x0 x1] + beta*row (mode 2).
func storeRow(row []float32, x0, x1, va, vb archsimd.Float32x8, mode int) {
	lo := (*[8]float32)(row[0:8])
	hi := (*[8]float32)(row[8:16])
	x0 = x0.Mul(va)
	x1 = x1.Mul(va)
	switch mode {
	case 1:
		x0 = archsimd.LoadFloat32x8(lo).Add(x0)
		x1 = archsimd.LoadFloat32x8(hi).Add(x1)
	case 2:
		x0 = x0.Add(archsimd.LoadFloat32x8(lo).Mul(vb))
		x1 = x1.Add(archsimd.LoadFloat32x8(hi).Mul(vb))
	}
	x0.Store(lo)
	x1.Store(hi)
}
