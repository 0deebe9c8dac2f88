// The store's errors: a lock that stayed busy, a registry that does not parse.

package registry

import (
	"errors"
	"fmt"
	"time"
)

// ErrLockBusy is what every lock timeout is: another process held the
// registry's lock for longer than the store would wait. The CLI exits 75.
var ErrLockBusy = errors.New("registry lock busy")

// ErrUnlockedWriter means a registry kept changing while agentwatch held its
// lock: a writer that takes no lock is rewriting it, and agentwatch would
// only write over its changes.
var ErrUnlockedWriter = errors.New("the registry kept changing while agentwatch held its lock (a writer that takes no lock is active); nothing written, try again")

// ErrCorrupt is what every registry that does not parse is.
var ErrCorrupt = errors.New("registry does not parse")

// LockBusyError reports that the registry stayed locked for the whole wait.
// It matches ErrLockBusy with errors.Is.
type LockBusyError struct {
	Path string
	// PID is the process holding the lock, from /proc/locks on Linux; 0 when
	// it is unknown (another OS, or the holder let go in the meantime).
	PID int
	// Command is the holder's command name (/proc/PID/comm), "" if unknown.
	Command string
	// Waited is how long the store tried.
	Waited time.Duration

	// shared is set for Read's shared lock, which --lock-timeout does not govern.
	shared bool
}

func (e *LockBusyError) Error() string {
	holder := "(holder unknown)"
	switch {
	case e.PID > 0 && e.Command != "":
		holder = fmt.Sprintf("by PID %d (%s)", e.PID, e.Command)
	case e.PID > 0:
		holder = fmt.Sprintf("by PID %d", e.PID)
	}
	hint := "try again, or raise --lock-timeout"
	if e.shared {
		hint = "try again"
	}
	return fmt.Sprintf("registry %s is locked %s: waited %s; %s", e.Path, holder, roundWait(e.Waited), hint)
}

// Is makes errors.Is(err, ErrLockBusy) true.
func (e *LockBusyError) Is(target error) bool { return target == ErrLockBusy }

// roundWait shortens a measured wait for a message: "10s", not "10.000184s".
func roundWait(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// CorruptError reports a registry that does not parse. It matches ErrCorrupt
// with errors.Is; Err is the parser's *SyntaxError, with line and column.
type CorruptError struct {
	Path string
	Err  error
	// Journal is set when agentwatch's own write to the registry was
	// interrupted and another writer then tore the file: neither the
	// journal's bytes nor the torn ones are known to be right, so nothing
	// was written and the journal is kept, at this path, for restore to
	// offer. "" otherwise.
	Journal string
}

func (e *CorruptError) Error() string {
	if e.Journal != "" {
		return fmt.Sprintf("registry %s does not parse: %v; another writer tore it after agentwatch's interrupted write, "+
			"so agentwatch wrote nothing and kept its journal %s: run `agentwatch restore --registry %s` "+
			"to preview the journal's bytes, a salvage or a backup, and choose one (--from journal|salvage|backup)",
			e.Path, e.Err, e.Journal, e.Path)
	}
	return fmt.Sprintf("registry %s does not parse: %v", e.Path, e.Err)
}

// Unwrap returns the syntax error.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
