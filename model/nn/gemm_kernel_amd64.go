//go:build amd64 && !goexperiment.simd && !purego

package nn

import "golang.org/x/sys/cpu"

// Micro-kernel tile of the default amd64 build: 4 rows x 16 columns in eight
// 8-wide AVX2 accumulators (gemm_kernel_amd64.s).
const (
	gemmMR = 4
	gemmNR = 16
)

// gemmKernelName names the micro-kernel in benchmarks.
const gemmKernelName = "avx2asm4x16"

// useAsm is false on CPUs (or kernels) without AVX2 and FMA; the pure-Go
// kernel computes the same tile then.
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel4x16 computes the 4 x 16 product of a packed A panel (a, kb x 4) and a
// packed B panel (b, kb x 16) and writes row i to c[i*ldc : i*ldc+16] as
// alpha*acc (mode 0), c + alpha*acc (mode 1) or alpha*acc + beta*c (mode 2),
// with the rounding steps of storeTile. kb must be at least 1.
//
//go:noescape
func kernel4x16(kb int, a, b, c *float32, ldc int, alpha, beta float32, mode int)

// gemmKernel sets tile = A_panel * B_panel for one MR x kb panel of A and one
// kb x NR panel of B (packed as in packA/packB).
func gemmKernel(kb int, a, b []float32, tile *[gemmMR * gemmNR]float32) {
	if !useAsm {
		for j0 := 0; j0 < gemmNR; j0 += 4 {
			kernel4x4strided(kb, a, b, j0, tile[j0:], gemmNR)
		}
		return
	}
	a = a[:kb*gemmMR]
	b = b[:kb*gemmNR]
	kernel4x16(kb, &a[0], &b[0], &tile[0], gemmNR, 1, 0, 0)
}

// gemmKernelStore computes a full tile and writes C = alpha*tile + beta*C at c
// (row stride ldc).
func gemmKernelStore(kb int, a, b, c []float32, ldc int, alpha, beta float32, ws *gemmWS) {
	if !useAsm {
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
	a = a[:kb*gemmMR]
	b = b[:kb*gemmNR]
	c = c[:3*ldc+gemmNR]
	kernel4x16(kb, &a[0], &b[0], &c[0], ldc, alpha, beta, mode)
}
