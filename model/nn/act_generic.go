//go:build !goexperiment.simd || !amd64

package nn

func geluForward(x, y, t []float32)       { geluForwardGo(x, y, t) }
func geluBackward(x, t, dy, dx []float32) { geluBackwardGo(x, t, dy, dx) }
