//go:build !goexperiment.simd

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
