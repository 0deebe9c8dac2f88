package procscan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// errVanished says a process exited, or its PID came to name another
// process, while it was being read. Scan skips such a process.
var errVanished = errors.New("process vanished")

// sample is what a scan reads of every process on every scan: the fields
// that change during a process's life, and comm and start, which tell
// whether the cached fixed fields still belong to it.
type sample struct {
	PID, PPID, PGID, SID int32
	Comm                 string
	Start                int64
	TTY                  string
	State                string
	RSS                  uint64
	// CPUSeconds is the user plus system CPU time used so far.
	CPUSeconds float64
}

// details are the fields fixed for a process's life (between two execs),
// read once per process and then served from the Scanner's cache.
type details struct {
	UID            uint32
	Argv           []string
	TMUX, TMUXPane string
	EnvReadable    bool
}

// source reads the process table. The Linux and macOS readers implement
// it; so does the fake in the cache's unit test.
type source interface {
	// samples reads every process's sample in one pass over the table.
	samples(ctx context.Context) ([]sample, error)
	// details reads the fixed fields of the process pid started at start.
	// It returns errVanished when pid no longer names that process; it
	// reports what it could not read as empty fields, not as an error.
	details(ctx context.Context, pid int32, start int64) (details, error)
}

// Scanner reads the process table, keeping what never changes for a
// process between scans.
//
// A process seen before with the same start time and the same comm keeps
// its cached argv, uid and environment fields; PPID, PGID, SID, state, RSS
// and CPU are read again on every scan (PPID changes when a process is
// reparented, SID when it calls setsid). A changed comm means the process
// exec'd another program (or was caught between fork and exec on the
// previous scan), so its fixed fields are read again. A steady-state scan
// therefore costs one small read per process.
//
// A Scanner is safe for concurrent use; scans are serialised.
type Scanner struct {
	mu    sync.Mutex
	src   source
	now   func() time.Time
	cache map[int32]*cached
	last  time.Time // when the previous scan started; zero before the first
	// detailReads counts calls to src.details, so tests can see the cache
	// at work.
	detailReads int
}

// cached is what a Scanner keeps of one process between scans.
type cached struct {
	start int64
	comm  string
	d     details
	cpu   float64 // CPUSeconds at the previous scan
}

// NewScanner returns a Scanner of this machine's process table.
func NewScanner() *Scanner { return newScanner(newSystemSource()) }

func newScanner(src source) *Scanner {
	return &Scanner{src: src, now: time.Now, cache: map[int32]*cached{}}
}

// Scan reads the process table once and returns it as a Table. Processes
// that exit while the scan reads them are left out, not reported as
// errors.
func (s *Scanner) Scan(ctx context.Context) (*Table, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	at := s.now()
	samples, err := s.src.samples(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan processes: %w", err)
	}
	var elapsed float64
	if !s.last.IsZero() {
		elapsed = at.Sub(s.last).Seconds()
	}

	procs := make(map[int32]*Proc, len(samples))
	next := make(map[int32]*cached, len(samples))
	for i := range samples {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("scan processes: %w", err)
			}
		}
		sm := &samples[i]
		c := s.cache[sm.PID]
		cpu := 0.0
		if c != nil && c.start == sm.Start {
			if elapsed > 0 {
				cpu = max(0, (sm.CPUSeconds-c.cpu)/elapsed*100)
			}
		} else {
			c = nil
		}
		if c == nil || c.comm != sm.Comm {
			d, err := s.src.details(ctx, sm.PID, sm.Start)
			s.detailReads++
			if errors.Is(err, errVanished) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("scan processes: %w", err)
			}
			c = &cached{start: sm.Start, comm: sm.Comm, d: d}
		}
		c.cpu = sm.CPUSeconds
		next[sm.PID] = c
		procs[sm.PID] = &Proc{
			PID: sm.PID, PPID: sm.PPID, PGID: sm.PGID, SID: sm.SID,
			UID:  c.d.UID,
			Comm: sm.Comm, Argv: c.d.Argv, Start: sm.Start,
			TTY: sm.TTY, State: sm.State, RSS: sm.RSS, CPU: cpu,
			TMUX: c.d.TMUX, TMUXPane: c.d.TMUXPane, EnvReadable: c.d.EnvReadable,
		}
	}
	s.cache = next
	s.last = at
	return newTable(at, procs), nil
}

// tmuxVars returns the TMUX and TMUX_PANE values of an environment given
// as NAME=value entries.
func tmuxVars(env []string) (tmux, pane string) {
	for _, kv := range env {
		switch {
		case len(kv) > 5 && kv[:5] == "TMUX=":
			tmux = kv[5:]
		case len(kv) > 10 && kv[:10] == "TMUX_PANE=":
			pane = kv[10:]
		}
	}
	return tmux, pane
}
