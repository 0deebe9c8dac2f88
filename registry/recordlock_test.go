package registry

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"agentwatch/internal/pyscript"
)

// A writer that locks with fcntl.lockf (a POSIX record lock, which flock
// does not see) is waited for and named like a flock holder, and is kept
// out while agentwatch holds the registry.
func TestRecordLocksAreHonoured(t *testing.T) {
	pyscript.Python(t)
	path := newRegistry(t, sampleRegistry)
	s := newStore(t)
	s.LockTimeout, s.ReadTimeout = 300*time.Millisecond, 300*time.Millisecond

	holder := pyscript.Start(t, "lockf.py", path, "hold")
	holder.Expect(t, "locked")
	_, err := s.Transform(context.Background(), path, setKey("aw_lockf", 1))
	var busy *LockBusyError
	if !errors.As(err, &busy) {
		t.Fatalf("update beside a lockf writer: got %v, want a *LockBusyError", err)
	}
	if runtime.GOOS == "linux" && busy.PID != holder.PID() {
		t.Errorf("the error names PID %d, want the lockf writer's %d", busy.PID, holder.PID())
	}
	if _, err := s.Read(context.Background(), path); !errors.Is(err, ErrLockBusy) {
		t.Errorf("read beside a lockf writer: got %v, want ErrLockBusy", err)
	}
	fmt.Fprintln(holder.Stdin)
	holder.Expect(t, "released")
	holder.Wait(t)
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
	try := pyscript.Start(t, "lockf.py", path, "try")
	try.Expect(t, "busy")
	try.Wait(t)
}

// LockedExclusive sees a writer's flock and its lockf alike, and never waits.
func TestLockedExclusive(t *testing.T) {
	pyscript.Python(t)
	path := newRegistry(t, sampleRegistry)
	if LockedExclusive(path) {
		t.Fatal("a registry nobody holds reads as locked")
	}
	for _, tc := range []struct{ script, mode string }{{"hold.py", "ex"}, {"lockf.py", "hold"}} {
		p := pyscript.Start(t, tc.script, path, tc.mode)
		p.Expect(t, "locked")
		if !LockedExclusive(path) {
			t.Errorf("%s: got false, want true while it holds the registry", tc.script)
		}
		fmt.Fprintln(p.Stdin)
		p.Expect(t, "released")
		p.Wait(t)
	}
}
