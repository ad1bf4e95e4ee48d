package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress renders a library's progress hook on stderr: a self-overwriting
// line on a terminal, and a log line every few seconds otherwise.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	label    string
	start    time.Time
	last     time.Time
	lastDone int64
	quiet    bool
}

func newProgress(w io.Writer, quiet bool) *progress {
	return &progress{w: w, tty: isTerminal(w), quiet: quiet}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// stage returns a hook for one stage of work.
func (p *progress) stage(label string) func(done, total int64) {
	if p == nil || p.quiet {
		return nil
	}
	return func(done, total int64) {
		p.mu.Lock()
		defer p.mu.Unlock()
		now := time.Now()
		if label != p.label {
			p.finishLocked()
			p.label, p.start, p.last = label, now, time.Time{}
		}
		final := total > 0 && done >= total
		every := 5 * time.Second
		if p.tty {
			every = 100 * time.Millisecond
		}
		if !final && now.Sub(p.last) < every {
			return
		}
		p.last, p.lastDone = now, done
		pct := ""
		if total > 0 {
			pct = fmt.Sprintf(" %5.1f%%", 100*float64(done)/float64(total))
		}
		line := fmt.Sprintf("%s: %d/%d%s  %s", label, done, total, pct, now.Sub(p.start).Round(100*time.Millisecond))
		if p.tty {
			fmt.Fprintf(p.w, "\r\033[K%s", line)
			if final {
				fmt.Fprintln(p.w)
				p.label = ""
			}
		} else {
			fmt.Fprintln(p.w, line)
		}
	}
}

// stageNamed adapts a hook that names its own stages.
func (p *progress) named() func(stage string, done, total int64) {
	if p == nil || p.quiet {
		return nil
	}
	hooks := map[string]func(int64, int64){}
	var mu sync.Mutex
	return func(stage string, done, total int64) {
		mu.Lock()
		h, ok := hooks[stage]
		if !ok {
			h = p.stage(stage)
			hooks[stage] = h
		}
		mu.Unlock()
		h(done, total)
	}
}

// logf prints a status line unless quiet.
func (p *progress) logf(format string, args ...any) {
	if p == nil || p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLocked()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *progress) finishLocked() {
	if p.tty && p.label != "" {
		fmt.Fprintln(p.w)
		p.label = ""
	}
}
