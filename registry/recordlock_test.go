package registry

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// A writer that locks with fcntl.lockf (a POSIX record lock, which flock
// does not see) is waited for and named like a flock holder, and is kept
// out while agentwatch holds the registry.
func TestRecordLocksAreHonoured(t *testing.T) {
	requirePython(t)
	path := newRegistry(t, sampleRegistry)
	s := newStore(t)
	s.LockTimeout, s.ReadTimeout = 300*time.Millisecond, 300*time.Millisecond

	holder := startPython(t, "lockf.py", path, "hold")
	holder.expect(t, "locked")
	_, err := s.Transform(context.Background(), path, setKey("aw_lockf", 1))
	var busy *LockBusyError
	if !errors.As(err, &busy) {
		t.Fatalf("update beside a lockf writer: got %v, want a *LockBusyError", err)
	}
	if runtime.GOOS == "linux" && busy.PID != holder.cmd.Process.Pid {
		t.Errorf("the error names PID %d, want the lockf writer's %d", busy.PID, holder.cmd.Process.Pid)
	}
	if _, err := s.Read(context.Background(), path); !errors.Is(err, ErrLockBusy) {
		t.Errorf("read beside a lockf writer: got %v, want ErrLockBusy", err)
	}
	fmt.Fprintln(holder.stdin)
	holder.expect(t, "released")
	holder.wait(t)
	if _, err := s.Transform(context.Background(), path, setKey("aw_lockf", 1)); err != nil {
		t.Fatalf("update once the lockf writer let go: %v", err)
	}

	if runtime.GOOS != "linux" {
		return // elsewhere record locks are only detected
	}
	h, _, err := openLocked(context.Background(), path, path, true, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	try := startPython(t, "lockf.py", path, "try")
	try.expect(t, "busy")
	try.wait(t)
}

// LockedExclusive sees a writer's flock and its lockf alike, and never waits.
func TestLockedExclusive(t *testing.T) {
	requirePython(t)
	path := newRegistry(t, sampleRegistry)
	if LockedExclusive(path) {
		t.Fatal("a registry nobody holds reads as locked")
	}
	for _, tc := range []struct{ script, mode string }{{"hold.py", "ex"}, {"lockf.py", "hold"}} {
		p := startPython(t, tc.script, path, tc.mode)
		p.expect(t, "locked")
		if !LockedExclusive(path) {
			t.Errorf("%s: got false, want true while it holds the registry", tc.script)
		}
		fmt.Fprintln(p.stdin)
		p.expect(t, "released")
		p.wait(t)
	}
}
