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
