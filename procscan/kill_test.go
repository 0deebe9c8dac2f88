package procscan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// kill runs Kill and checks there is one outcome per target, in order.
func kill(t *testing.T, req KillRequest) []KillOutcome {
	t.Helper()
	out, err := Kill(context.Background(), req)
	if err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if len(out) != len(req.Targets) {
		t.Fatalf("Kill returned %d outcomes for %d targets", len(out), len(req.Targets))
	}
	for i, o := range out {
		if o.Identity != req.Targets[i] {
			t.Errorf("outcome %d is for %v, want %v", i, o.Identity, req.Targets[i])
		}
	}
	return out
}

func wantResult(t *testing.T, o KillOutcome, want string) {
	t.Helper()
	if o.Result != want {
		t.Errorf("PID %d: got %s (%s), want %s", o.PID, o.Result, o.Reason, want)
	}
	if o.Reason == "" {
		t.Errorf("PID %d: %s without a reason", o.PID, o.Result)
	}
}

func TestKillTermSuffices(t *testing.T) {
	f := startFake(t, fakeSpec{role: "sleep"})
	start := time.Now()
	out := kill(t, KillRequest{Targets: []Identity{f.id()}, TermTimeout: 5 * time.Second})
	wantResult(t, out[0], KillGone)
	// Waiting out the TermTimeout would mean SIGTERM was not seen to work.
	if d := time.Since(start); d >= 5*time.Second {
		t.Errorf("took %v; SIGTERM should end it before the TermTimeout", d)
	}
	if Alive(f.id()) {
		t.Errorf("still alive")
	}
	// It was our child: Kill reaped it.
	if st, err := probe(context.Background(), f.pid()); err == nil && st.Start == f.id().Start {
		t.Errorf("not reaped: state %s", st.State)
	}
}

func TestKillNeedsKill(t *testing.T) {
	f := startFake(t, fakeSpec{role: "ignore-hup-and-term"})
	const timeout = 500 * time.Millisecond
	start := time.Now()
	out := kill(t, KillRequest{Targets: []Identity{f.id()}, TermTimeout: timeout})
	d := time.Since(start)
	wantResult(t, out[0], KillKilled)
	// At least the TermTimeout; the upper bound only catches a wait that
	// never ends (a loaded machine stretches everything else).
	if d < timeout || d > timeout+20*time.Second {
		t.Errorf("took %v, want the TermTimeout %v and then SIGKILL", d, timeout)
	}
	if Alive(f.id()) {
		t.Errorf("still alive")
	}
}

// TestKillStopped: a stopped process is continued after SIGTERM, so the
// SIGTERM suffices.
func TestKillStopped(t *testing.T) {
	f := startFake(t, fakeSpec{role: "sleep"})
	if err := unix.Kill(int(f.pid()), unix.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fake to stop", func() bool {
		st, err := probe(context.Background(), f.pid())
		return err == nil && st.State == "T"
	})
	out := kill(t, KillRequest{Targets: []Identity{f.id()}, TermTimeout: 5 * time.Second})
	wantResult(t, out[0], KillGone)
}

func TestKillSetsidChild(t *testing.T) {
	f := startFake(t, fakeSpec{role: "setsid-child"})
	child, parent := f.ids[0], f.id()
	if sid, _ := unix.Getsid(int(child.PID)); int32(sid) != child.PID {
		t.Fatalf("the child's session is %d, want its own %d", sid, child.PID)
	}
	out := kill(t, KillRequest{Targets: []Identity{parent, child}, TermTimeout: 2 * time.Second})
	wantResult(t, out[0], KillGone)
	wantResult(t, out[1], KillGone)
	if Alive(child) || Alive(parent) {
		t.Errorf("alive after Kill: child %v, parent %v", Alive(child), Alive(parent))
	}
}

func TestKillMixed(t *testing.T) {
	calm := startFake(t, fakeSpec{role: "sleep"})
	stubborn := startFake(t, fakeSpec{role: "ignore-hup-and-term"})
	gone := startFake(t, fakeSpec{role: "sleep"})
	gone.stop(t)
	out := kill(t, KillRequest{
		Targets:     []Identity{stubborn.id(), calm.id(), gone.id(), calm.id()},
		TermTimeout: 300 * time.Millisecond,
	})
	wantResult(t, out[0], KillKilled)
	wantResult(t, out[1], KillGone)
	wantResult(t, out[2], KillAlreadyGone)
	wantResult(t, out[3], KillGone) // the same target twice: one signal, the same outcome
}

func TestKillRefuses(t *testing.T) {
	protected := startFake(t, fakeSpec{role: "sleep"})
	identity := func(pid int32) Identity {
		st, err := probe(context.Background(), pid)
		if err != nil {
			t.Fatalf("probe %d: %v", pid, err)
		}
		return Identity{PID: pid, Start: st.Start}
	}
	// Where the test runs as the child of a namespace's init, its parent
	// is PID 1, refused as such before its ancestry is looked at.
	parentReason := "ancestor"
	if os.Getppid() <= 1 {
		parentReason = "PID 1"
	}
	cases := []struct {
		name   string
		target Identity
		reason string
	}{
		{"PID 0", Identity{PID: 0}, "PID 1"},
		{"negative PID", Identity{PID: -5}, "PID 1"},
		{"PID 1", identity(1), "PID 1"},
		{"itself", identity(int32(os.Getpid())), "agentwatch itself"},
		{"its parent", identity(int32(os.Getppid())), parentReason},
		{"protected", protected.id(), "protected"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := kill(t, KillRequest{Targets: []Identity{c.target}, Protect: []int32{protected.pid()}, TermTimeout: time.Second})
			wantResult(t, out[0], KillRefused)
			if !strings.Contains(out[0].Reason, c.reason) {
				t.Errorf("reason %q, want it to say %q", out[0].Reason, c.reason)
			}
		})
	}
	if !Alive(protected.id()) {
		t.Errorf("the protected process was killed")
	}
}

// TestKillReusedPID: an identity whose PID is alive but names a process
// with another start time is not signaled.
func TestKillReusedPID(t *testing.T) {
	f := startFake(t, fakeSpec{role: "sleep"}) // dies of the first SIGTERM
	stale := Identity{PID: f.pid(), Start: f.id().Start - 1000}
	out := kill(t, KillRequest{Targets: []Identity{stale}, TermTimeout: time.Second})
	wantResult(t, out[0], KillReused)
	time.Sleep(100 * time.Millisecond)
	if !Alive(f.id()) {
		t.Fatalf("the process that now has the PID was signaled")
	}
	if Alive(stale) {
		t.Errorf("Alive(%v) with a wrong start time: got true", stale)
	}
}

func TestKillAlreadyGone(t *testing.T) {
	f := startFake(t, fakeSpec{role: "sleep"})
	id := f.id()
	f.stop(t)
	out := kill(t, KillRequest{Targets: []Identity{id}})
	wantResult(t, out[0], KillAlreadyGone)
}

// TestKillOwnZombie: a child that exited and was not reaped is not alive;
// Kill reaps it and reports it already gone.
func TestKillOwnZombie(t *testing.T) {
	f := startFake(t, fakeSpec{role: "sleep"})
	id := f.id()
	if err := unix.Kill(int(id.PID), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the zombie", func() bool {
		st, err := probe(context.Background(), id.PID)
		return err == nil && st.zombie()
	})
	if Alive(id) {
		t.Errorf("Alive(zombie): got true")
	}
	tab := scan(t, NewScanner())
	if p := tab.Procs[id.PID]; p == nil || !p.Zombie() {
		t.Errorf("the scan does not show the zombie: %+v", p)
	}
	out := kill(t, KillRequest{Targets: []Identity{id}})
	wantResult(t, out[0], KillAlreadyGone)
	if st, err := probe(context.Background(), id.PID); err == nil && st.Start == id.Start {
		t.Errorf("the zombie was not reaped: state %s", st.State)
	}
}

// TestKillOtherUser: another user's process needs root and Force.
func TestKillOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a process as another user")
	}
	const nobody = 65534
	f := startFake(t, fakeSpec{role: "sleep", uid: nobody})
	out := kill(t, KillRequest{Targets: []Identity{f.id()}, TermTimeout: time.Second})
	wantResult(t, out[0], KillRefused)
	if !strings.Contains(out[0].Reason, "uid 65534") {
		t.Errorf("reason %q, want it to name the owner", out[0].Reason)
	}
	if !Alive(f.id()) {
		t.Fatalf("refused, yet killed")
	}
	out = kill(t, KillRequest{Targets: []Identity{f.id()}, TermTimeout: time.Second, Force: true})
	wantResult(t, out[0], KillGone)
}

// TestKillCanceled: when ctx ends during the wait, Kill says which targets
// it could not verify and returns ctx's error.
func TestKillCanceled(t *testing.T) {
	f := startFake(t, fakeSpec{role: "ignore-hup-and-term"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	out, err := Kill(ctx, KillRequest{Targets: []Identity{f.id()}, TermTimeout: 10 * time.Second})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "kill processes: ") {
		t.Errorf("got %v, want a wrapped deadline error", err)
	}
	if len(out) != 1 {
		t.Fatalf("got %d outcomes, want 1", len(out))
	}
	wantResult(t, out[0], KillSurvived)
	if !Alive(f.id()) {
		t.Errorf("a process that ignores SIGTERM died without SIGKILL")
	}
}

// TestKillRefusedProtectsItsTree: a refused target protects what killing it
// would sweep in: its descendants, and the members of the session it
// leads, even one no longer its descendant. They are not signaled either,
// and the outcomes say why.
func TestKillRefusedProtectsItsTree(t *testing.T) {
	t.Run("descendants", func(t *testing.T) {
		f := startFake(t, fakeSpec{role: "tree", env: []string{"PROCSCAN_TEST_DEPTH=2"}})
		grandchild, child, root := f.ids[0], f.ids[1], f.id()
		// The refused target comes last: nothing may be signaled before
		// every target has been judged.
		out := kill(t, KillRequest{Targets: []Identity{grandchild, child, root}, Protect: []int32{root.PID}, TermTimeout: time.Second})
		wantResult(t, out[2], KillRefused)
		for _, o := range out[:2] {
			wantResult(t, o, KillRefused)
			if want := fmt.Sprintf("PID %d", root.PID); !strings.Contains(o.Reason, want) {
				t.Errorf("PID %d: reason %q, want it to name the refused %s", o.PID, o.Reason, want)
			}
		}
		if !strings.Contains(out[2].Reason, "2 processes of its tree") {
			t.Errorf("the refused target's reason %q does not say its tree was spared", out[2].Reason)
		}
		for _, id := range f.ids {
			if !Alive(id) {
				t.Errorf("PID %d of the refused target's tree was killed", id.PID)
			}
		}
	})
	t.Run("session members", func(t *testing.T) {
		f := startFake(t, fakeSpec{role: "tree", env: []string{"PROCSCAN_TEST_DEPTH=2"}, setsid: true})
		grandchild, child, leader := f.ids[0], f.ids[1], f.id()
		// Its parent gone, the grandchild is the test's (a subreaper), but
		// still in the leader's session.
		if err := unix.Kill(int(child.PID), unix.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the grandchild to be orphaned", func() bool {
			st, err := probe(context.Background(), grandchild.PID)
			return err == nil && st.PPID != child.PID
		})
		if sid, _ := unix.Getsid(int(grandchild.PID)); int32(sid) != leader.PID {
			t.Fatalf("the grandchild's session is %d, want the leader's %d", sid, leader.PID)
		}
		out := kill(t, KillRequest{Targets: []Identity{leader, grandchild}, Protect: []int32{leader.PID}, TermTimeout: time.Second})
		wantResult(t, out[0], KillRefused)
		wantResult(t, out[1], KillRefused)
		if !Alive(grandchild) || !Alive(leader) {
			t.Errorf("alive after Kill: leader %v, session member %v; want both", Alive(leader), Alive(grandchild))
		}
	})
}

// TestKillTreesAreJudgedApart: a target planned as a tree of its own is
// judged on its own, even when it descends from a refused target.
func TestKillTreesAreJudgedApart(t *testing.T) {
	f := startFake(t, fakeSpec{role: "tree", env: []string{"PROCSCAN_TEST_DEPTH=2"}})
	grandchild, child, root := f.ids[0], f.ids[1], f.id()
	out := kill(t, KillRequest{Targets: []Identity{root, child, grandchild}, Trees: []int{0, 1, 1},
		Protect: []int32{root.PID}, TermTimeout: 2 * time.Second})
	wantResult(t, out[0], KillRefused)
	wantResult(t, out[1], KillGone)
	wantResult(t, out[2], KillGone)
	if !Alive(root) {
		t.Errorf("the refused target was killed")
	}
	reap([]Identity{child, grandchild}, time.Now().Add(3*time.Second))
	if Alive(child) || Alive(grandchild) {
		t.Errorf("alive after Kill: child %v, grandchild %v", Alive(child), Alive(grandchild))
	}
}
