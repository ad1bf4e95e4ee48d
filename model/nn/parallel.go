package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threads is the parallelism of the package: the number of goroutines
// (including the caller) that work on one parallel operation.
var threads atomic.Int32

func init() {
	threads.Store(int32(max(1, runtime.GOMAXPROCS(0))))
}

// SetThreads sets how many goroutines (including the caller) share the work of
// one operation; n < 1 means 1. Results do not depend on it.
func SetThreads(n int) {
	threads.Store(int32(max(1, n)))
}

// Threads returns the parallelism set by SetThreads (default
// runtime.GOMAXPROCS(0) at package initialisation).
func Threads() int { return int(threads.Load()) }

// chunkTask is a unit of parallel work split into chunks. run(c) must write
// only outputs that belong to chunk c, so chunks can run in any order on any
// goroutine with the same result.
type chunkTask interface {
	run(chunk int)
}

// runner dispatches the chunks of one task; it is pooled so that a parallel
// call does not allocate.
type runner struct {
	t    chunkTask
	n    int64
	next atomic.Int64
	wg   sync.WaitGroup
}

func (r *runner) work() {
	for {
		c := r.next.Add(1) - 1
		if c >= r.n {
			return
		}
		r.t.run(int(c))
	}
}

var (
	runnerPool = newFreeList(64, func() *runner { return new(runner) })
	workOnce   sync.Once
	workCh     chan *runner
)

// startWorkers starts the helper goroutines once. They live for the process
// and block on workCh when idle.
func startWorkers() {
	n := max(runtime.NumCPU(), runtime.GOMAXPROCS(0), 2) * 2
	workCh = make(chan *runner, n)
	for range n {
		go func() {
			for r := range workCh {
				r.work()
				r.wg.Done()
			}
		}()
	}
}

// parallelFor runs t.run(c) for every chunk c in [0, n), on up to Threads()
// goroutines including the caller, which also works on the chunks. A chunk must
// not call parallelFor itself (inside chunks use gemmSerial): a helper waiting
// on nested work could leave queued work unserved. Concurrent calls from
// different goroutines are fine.
func parallelFor(t chunkTask, n int) {
	helpers := min(Threads(), n) - 1
	if helpers <= 0 {
		for c := range n {
			t.run(c)
		}
		return
	}
	workOnce.Do(startWorkers)
	r := runnerPool.get()
	r.t = t
	r.n = int64(n)
	r.next.Store(0)
	for range helpers {
		r.wg.Add(1)
		select {
		case workCh <- r:
		default:
			r.wg.Done()
		}
	}
	r.work()
	r.wg.Wait()
	r.t = nil
	runnerPool.put(r)
}

// chunkBounds splits [0, n) into chunks of size step (the last may be shorter)
// and returns the bounds of chunk c.
func chunkBounds(c, step, n int) (lo, hi int) {
	lo = c * step
	return lo, min(lo+step, n)
}

// numChunks returns ceil(n / step).
func numChunks(n, step int) int {
	if n <= 0 {
		return 0
	}
	return (n + step - 1) / step
}

// freeList is a bounded free list. Unlike sync.Pool it keeps its items across
// garbage collections, so steady-state training allocates nothing.
type freeList[T any] struct {
	ch    chan *T
	alloc func() *T
}

func newFreeList[T any](size int, alloc func() *T) *freeList[T] {
	return &freeList[T]{ch: make(chan *T, size), alloc: alloc}
}

func (f *freeList[T]) get() *T {
	select {
	case x := <-f.ch:
		return x
	default:
		return f.alloc()
	}
}

func (f *freeList[T]) put(x *T) {
	select {
	case f.ch <- x:
	default:
	}
}
