package nn

import (
	"math"
	"testing"
)

func TestTanh32(t *testing.T) {
	var worst float64
	for x := -12.0; x <= 12; x += 1e-3 {
		got := float64(tanh32(float32(x)))
		want := math.Tanh(float64(float32(x)))
		worst = max(worst, math.Abs(got-want))
	}
	if worst > 2e-6 {
		t.Errorf("tanh32 max abs error on [-12, 12] = %g, want <= 2e-6", worst)
	}
}

func TestGeluKernels(t *testing.T) {
	const n = 1003 // not a multiple of the vector width
	x := make([]float32, n)
	dy := make([]float32, n)
	for i := range x {
		x[i] = float32(i-n/2) / 60
		dy[i] = float32(i%7) - 3
	}
	y, th, dx := make([]float32, n), make([]float32, n), make([]float32, n)
	yr, thr, dxr := make([]float32, n), make([]float32, n), make([]float32, n)
	geluForward(x, y, th)
	geluForwardGo(x, yr, thr)
	geluBackward(x, th, dy, dx)
	geluBackwardGo(x, thr, dy, dxr)
	for i := range x {
		// Against float64 GELU, and the build's kernel against the pure-Go one.
		v := float64(x[i])
		want := 0.5 * v * (1 + math.Tanh(geluC*(v+geluA*v*v*v)))
		if math.Abs(float64(y[i])-want) > 1e-5 || math.Abs(float64(y[i]-yr[i])) > 1e-6 || math.Abs(float64(dx[i]-dxr[i])) > 1e-5 {
			t.Fatalf("gelu(%g) = %g (pure Go %g, float64 %g), dx = %g (pure Go %g)", x[i], y[i], yr[i], want, dx[i], dxr[i])
		}
	}
}
