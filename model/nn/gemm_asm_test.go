//go:build amd64 && !goexperiment.simd && !purego

package nn

import "testing"

// TestGemmFallbackKernel runs the pure-Go kernel that CPUs without AVX2/FMA get.
func TestGemmFallbackKernel(t *testing.T) {
	defer func(v bool) { useAsm = v }(useAsm)
	useAsm = false
	for _, tr := range [][2]bool{{false, false}, {true, true}} {
		checkGemmShape(t, 37, 45, 300, tr[0], tr[1], 0.5, 1)
		checkGemmShape(t, 8, 16, 5, tr[0], tr[1], 1, 0)
	}
}
