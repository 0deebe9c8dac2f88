package engine

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"agentwatch/reconcile"
	"agentwatch/registry/pyjson"
)

// startWriters starts n flock'd python writers that each add 1 to fields of
// path, times times, pausing pause before each; every one is ended by PID
// when the test ends. running counts the writers not yet exited.
func startWriters(t *testing.T, path string, n, times int, pause string, fields ...string) (running *atomic.Int32) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	running = &atomic.Int32{}
	for range n {
		cmd := exec.Command("python3", append([]string{"testdata/bump.py", path, strconv.Itoa(times), pause}, fields...)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		t.Cleanup(func() { _ = killPID(pid) })
		running.Add(1)
		go func() {
			_ = cmd.Wait()
			running.Add(-1)
		}()
	}
	return running
}

func killPID(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

func TestRecountsLandOnABusyRegistry(t *testing.T) {
	ctx := context.Background()
	sc := newApplyScene(t)
	sc.eng.cfg.Store.LockTimeout = 30 * time.Second
	const writers, times = 8, 150
	// Each writer bumps a field of the orchestrator's own, which no repair
	// touches (a lost update shows there), and active_count, which drifts
	// further with every write and which every repair recounts.
	running := startWriters(t, sc.task, writers, times, "0.01", "orchestrator_writes", "active_count")
	applied, skipped, rederived, rounds := 0, 0, 0, 0
	for running.Load() > 0 {
		snap, err := sc.eng.Gather(ctx, sc.now)
		if err != nil {
			t.Fatal(err)
		}
		plan := reconcile.MakePlan(snap.Input, nil)
		if len(plan.Ops) == 0 {
			continue
		}
		rounds++
		res, err := sc.eng.Repair(ctx, snap, plan, sc.now, KillOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Failed) > 0 {
			t.Fatalf("failed: %+v", res.Failed)
		}
		during := running.Load() > 0
		for _, it := range res.Applied {
			if it.Field == "active_count" && during {
				applied++
				if strings.HasPrefix(it.Why, "re-derived") {
					rederived++
				}
			}
		}
		for _, it := range res.Skipped {
			skipped++
			t.Errorf("skipped %s %s: %s", it.Op.Op, it.Field, it.Why)
		}
	}
	t.Logf("%d rounds, %d recounts applied while the writers ran (%d re-derived), %d skipped", rounds, applied, rederived, skipped)
	if applied < 5 {
		t.Errorf("%d recounts applied while the writers ran, want at least 5", applied)
	}
	data, err := os.ReadFile(sc.task)
	if err != nil {
		t.Fatal(err)
	}
	v, err := pyjson.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := v.Get("orchestrator_writes").Int(); n != writers*times {
		t.Errorf("orchestrator_writes = %d, want %d: updates were lost", n, writers*times)
	}
}
