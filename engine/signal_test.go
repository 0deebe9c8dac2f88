package engine

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"agentwatch/procscan"
	"agentwatch/reconcile"
)

// TestSignalAudited: the chosen signal reaches the planned process when its
// start time still matches, and never a PID whose start time differs.
func TestSignalAudited(t *testing.T) {
	// Under nohup the tests start with SIGHUP ignored, and a child would
	// inherit that: while a handler is installed here, the child starts
	// with the default (die on SIGHUP), as an agent's process does.
	if signal.Ignored(syscall.SIGHUP) {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	t.Cleanup(func() { child.Process.Kill(); <-done })
	table, err := procscan.NewScanner().Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := table.Procs[int32(child.Process.Pid)]
	if p == nil {
		t.Fatal("the child is not in the process table")
	}
	e := New(Config{Audit: NewAudit(t.TempDir())})
	stale := []reconcile.Op{{Op: reconcile.OpKillProcess, PID: int(p.PID), Start: p.Start + 10, Comm: "sleep"}}
	res, err := e.SignalAudited(context.Background(), &Snapshot{}, stale, "HUP", []string{"x"})
	if err != nil || len(res.Skipped) != 1 || len(res.Applied) != 0 {
		t.Fatalf("another start time: %+v, %v; want skipped", res, err)
	}
	ops := []reconcile.Op{{Op: reconcile.OpKillProcess, PID: int(p.PID), Start: p.Start, Comm: "sleep"}}
	res, err = e.SignalAudited(context.Background(), &Snapshot{}, ops, "HUP", []string{"x"})
	if err != nil || len(res.Applied) != 1 {
		t.Fatalf("got %+v, %v; want the signal applied", res, err)
	}
	select {
	case err := <-done:
		if err == nil || err.Error() != "signal: hangup" {
			t.Errorf("the child ended with %v, want hangup", err)
		}
		done <- err
	case <-time.After(20 * time.Second):
		t.Fatal("the child is still running after SIGHUP")
	}
	if _, err := e.SignalAudited(context.Background(), &Snapshot{}, ops, "STOP", nil); err == nil {
		t.Error("a signal outside the choice is accepted")
	}
}
