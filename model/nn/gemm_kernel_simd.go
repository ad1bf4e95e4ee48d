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
