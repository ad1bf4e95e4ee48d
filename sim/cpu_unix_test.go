//go:build unix

package sim

import (
	"syscall"
	"testing"
)

// cpuNow returns the process's user+system CPU time in seconds.
func cpuNow() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// cpuTimer reports the process CPU time per op between start and stop, a
// figure less sensitive than wall time to other processes sharing the cores.
type cpuTimer struct{ t0 float64 }

func startCPU(b *testing.B) *cpuTimer { b.Helper(); return &cpuTimer{t0: cpuNow()} }

func (c *cpuTimer) report(b *testing.B, per float64) {
	b.Helper()
	if d := cpuNow() - c.t0; d > 0 && b.N > 0 {
		b.ReportMetric(d*1e6/(float64(b.N)*per), "cpu-us/unit")
	}
}
