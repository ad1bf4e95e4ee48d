//go:build !amd64 || (purego && !goexperiment.simd)

package nn

// Micro-kernel tile of the portable build.
const (
	gemmMR = 4
	gemmNR = 4
)

// gemmKernelName names the micro-kernel in benchmarks.
const gemmKernelName = "portable4x4"

// gemmKernel sets tile = A_panel * B_panel for one MR x kb panel of A and one
// kb x NR panel of B (packed as in packA/packB).
func gemmKernel(kb int, a, b []float32, tile *[gemmMR * gemmNR]float32) {
	kernel4x4(kb, a, b, tile[:], gemmNR)
}

// gemmKernelStore computes a full tile and writes C = alpha*tile + beta*C at c
// (row stride ldc).
func gemmKernelStore(kb int, a, b, c []float32, ldc int, alpha, beta float32, ws *gemmWS) {
	gemmKernel(kb, a, b, &ws.tile)
	storeTile(&ws.tile, c, 0, ldc, gemmMR, gemmNR, alpha, beta)
}
