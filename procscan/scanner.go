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
	UID          uint32
	OwnerUnknown bool
	Argv         []string
}

// envVars are what a process's environment says of tmux. Like details
// they are fixed between two execs, but they are read only on request
// (Scanner.ReadEnv): they cost more than every other field together.
type envVars struct {
	TMUX, TMUXPane string
	Readable       bool
}

// record is one process as a source read it: its sample, and its details
// when fresh.
type record struct {
	sample
	details
	fresh bool
}

// held tells what a Scanner holds of the process pid: its start time and
// comm, and ok false when it holds nothing.
type held func(pid int32) (start int64, comm string, ok bool)

// source reads the process table. The Linux and macOS readers implement
// it; so does the fake in the cache's unit test.
type source interface {
	// read reads every process's sample in one pass over the table, and
	// the details of every process that known does not hold with the same
	// start time and comm (fresh records), their owners only with owners
	// (a source that has them for free gives them anyway). Every record's
	// fields belong to the one process its PID and start time name;
	// processes that exit while they are read are left out.
	read(ctx context.Context, known held, owners bool) ([]record, error)
	// environ reads the tmux variables of the process pid started at
	// start. It returns errVanished when pid no longer names that process;
	// an environment it may not read is Readable false, not an error.
	environ(ctx context.Context, pid int32, start int64) (envVars, error)
}

// Scanner reads the process table, keeping what never changes for a
// process between scans.
//
// A process seen before with the same start time and the same comm keeps
// its cached argv and uid (and environment, once read); PPID, PGID, SID,
// state, RSS and CPU are read again on every scan (PPID changes when a
// process is reparented, SID when it calls setsid). A changed comm means
// the process exec'd another program (or was caught between fork and exec
// on the previous scan), so its fixed fields are read again. A steady-state
// scan therefore costs one small read per process.
//
// A Scanner is safe for concurrent use; scans are serialised.
type Scanner struct {
	mu  sync.Mutex
	src source
	// ownerless: the details read leave the owner unread.
	ownerless bool
	now       func() time.Time
	cache     map[int32]*cached
	last      time.Time // when the previous scan started; zero before the first
	// detailReads and envReads count the processes whose details and
	// environment were read, so tests can see the cache at work.
	detailReads, envReads int
}

// cached is what a Scanner keeps of one process between scans.
type cached struct {
	start int64
	comm  string
	d     details
	env   envVars
	// envRead: env holds what the environment says (ReadEnv read it).
	envRead bool
	cpu     float64 // CPUSeconds at the previous scan
}

// NewScanner returns a Scanner of this machine's process table.
func NewScanner() *Scanner { return newScanner(newSystemSource()) }

// NewOwnerlessScanner is NewScanner for tables that are read rather than
// shown: it reads no process's owner (on Linux a third of the system calls
// a new process costs), and leaves its Procs OwnerUnknown where the system
// does not give owners for free. Refusal asks the system for the owner of
// a process it judges on such a table.
func NewOwnerlessScanner() *Scanner {
	s := newScanner(newSystemSource())
	s.ownerless = true
	return s
}

func newScanner(src source) *Scanner {
	return &Scanner{src: src, now: time.Now, cache: map[int32]*cached{}}
}

// Scan reads the process table once and returns it as a Table. Processes
// that exit while the scan reads them are left out, not reported as
// errors. The environment of a process is not read (its Proc's TMUX fields
// are empty, EnvReadable false) unless ReadEnv read it, on this table or
// on an earlier one of the same Scanner.
func (s *Scanner) Scan(ctx context.Context) (*Table, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	at := s.now()
	recs, err := s.src.read(ctx, func(pid int32) (int64, string, bool) {
		// A process whose owner could not be read is read again where
		// owners are read.
		if c := s.cache[pid]; c != nil && (s.ownerless || !c.d.OwnerUnknown) {
			return c.start, c.comm, true
		}
		return 0, "", false
	}, !s.ownerless)
	if err != nil {
		return nil, fmt.Errorf("scan processes: %w", err)
	}
	var elapsed float64
	if !s.last.IsZero() {
		elapsed = at.Sub(s.last).Seconds()
	}

	procs := make(map[int32]*Proc, len(recs))
	slab := make([]Proc, len(recs))
	next := make(map[int32]*cached, len(recs))
	for i := range recs {
		r := &recs[i]
		c := s.cache[r.PID]
		cpu := 0.0
		if c != nil && c.start == r.Start {
			if elapsed > 0 {
				cpu = max(0, (r.CPUSeconds-c.cpu)/elapsed*100)
			}
		} else {
			c = nil
		}
		switch {
		case r.fresh:
			s.detailReads++
			c = &cached{start: r.Start, comm: r.Comm, d: r.details}
		case c == nil || c.comm != r.Comm:
			continue // a source breaking its contract: no details to give
		}
		c.cpu = r.CPUSeconds
		next[r.PID] = c
		p := &slab[i]
		*p = Proc{
			PID: r.PID, PPID: r.PPID, PGID: r.PGID, SID: r.SID,
			UID: c.d.UID, OwnerUnknown: c.d.OwnerUnknown,
			Comm: r.Comm, Argv: c.d.Argv, Start: r.Start,
			TTY: r.TTY, State: r.State, RSS: r.RSS, CPU: cpu,
			TMUX: c.env.TMUX, TMUXPane: c.env.TMUXPane, EnvReadable: c.env.Readable,
		}
		procs[r.PID] = p
	}
	s.cache = next
	s.last = at
	return newTable(at, procs), nil
}

// ReadEnv reads the TMUX and TMUX_PANE variables of the processes pids
// names in t, a table this Scanner returned, into their Procs (TMUX,
// TMUXPane, EnvReadable). It must be called before t is shared: it
// changes t's Procs. A process whose environment was read before (by
// ReadEnv on an earlier table) is served from the cache; one that exited
// since t was read keeps EnvReadable false. PIDs not in t are ignored.
func (s *Scanner) ReadEnv(ctx context.Context, t *Table, pids []int32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, pid := range pids {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("read environments: %w", err)
			}
		}
		p := t.Procs[pid]
		if p == nil || p.EnvReadable {
			continue
		}
		c := s.cache[pid]
		if c == nil || c.start != p.Start || c.comm != p.Comm {
			c = nil // t is older than the cache: read, but do not keep
		}
		if c == nil || !c.envRead {
			env, err := s.src.environ(ctx, pid, p.Start)
			s.envReads++
			if errors.Is(err, errVanished) {
				continue
			}
			if err != nil {
				return fmt.Errorf("read environments: %w", err)
			}
			if c == nil {
				p.TMUX, p.TMUXPane, p.EnvReadable = env.TMUX, env.TMUXPane, env.Readable
				continue
			}
			c.env, c.envRead = env, true
		}
		p.TMUX, p.TMUXPane, p.EnvReadable = c.env.TMUX, c.env.TMUXPane, c.env.Readable
	}
	return nil
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
