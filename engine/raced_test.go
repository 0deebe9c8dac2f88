package engine

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"agentwatch/reconcile"
)

// unlockedEdit changes a registry as the orchestrator's careless writers
// do: no lock, read, change, rewrite in place.
func unlockedEdit(t *testing.T, path, stmt string) {
	t.Helper()
	script := "import json, sys\nwith open(sys.argv[1]) as f:\n    o = json.load(f)\n" + stmt +
		"\nwith open(sys.argv[1], 'r+') as f:\n    f.write(json.dumps(o, indent=2)); f.truncate()\n"
	if out, err := exec.Command("python3", "-c", script, path).CombinedOutput(); err != nil {
		t.Errorf("python3: %v\n%s", err, out)
	}
}

func TestARaceWithAnUnlockedWriterIsReported(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	ctx := context.Background()
	sc := newApplyScene(t)
	sc.eng.cfg.Metrics = NewMetrics()
	plan := reconcile.MakePlan(sc.snap.Input, nil) // recount active_count 5→2
	// While agentwatch holds the task registry's lock, a writer that takes
	// none rewrites it, once.
	wrote := false
	underLock = func(path string) {
		if path == sc.task && !wrote {
			wrote = true
			unlockedEdit(t, sc.task, "o['careless'] = 1")
		}
	}
	t.Cleanup(func() { underLock = nil })
	res, err := sc.eng.Repair(ctx, sc.snap, plan, sc.now, KillOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Raced, []string{sc.task}) {
		t.Errorf("raced %v, want the task registry", res.Raced)
	}
	if n := counterValue(t, sc.eng.cfg.Metrics, "agentwatch_unlocked_writes_total"); n != 1 {
		t.Errorf("agentwatch_unlocked_writes_total = %v, want 1", n)
	}
	// The store derived again from the careless write: both are there.
	data := string(read(t, sc.task))
	if !strings.Contains(data, `"careless": 1`) || !strings.Contains(data, `"active_count": 2`) {
		t.Errorf("task registry after the race:\n%s", data)
	}
	last, err := sc.eng.LastRepairRaced(ctx)
	if err != nil || last == nil || !slices.Equal(last.Raced, []string{sc.task}) {
		t.Fatalf("last repair that raced: %+v, %v; want this one", last, err)
	}
	// A later repair that raced with nothing clears the warning.
	pyEdit(t, sc.task, "o['active_count'] = 7")
	snap, err := sc.eng.Gather(ctx, sc.now)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := sc.eng.Repair(ctx, snap, reconcile.MakePlan(snap.Input, nil), sc.now, KillOptions{}); err != nil || len(res.Applied) == 0 {
		t.Fatalf("second repair: %+v, %v", res, err)
	}
	if last, err := sc.eng.LastRepairRaced(ctx); err != nil || last != nil {
		t.Errorf("after a clean repair: %+v, %v; want no race reported", last, err)
	}
}

func TestARepairThatChangesNothingWritesNothing(t *testing.T) {
	ctx := context.Background()
	sc := newApplyScene(t)
	plan := reconcile.MakePlan(sc.snap.Input, nil) // recount active_count 5→2
	// Before the lock, the orchestrator fixes the counter itself.
	beforeLock = func(path string) {
		if path == sc.task {
			pyEdit(t, sc.task, "o['active_count'] = 2")
		}
	}
	t.Cleanup(func() { beforeLock = nil })
	fixed := func() (os.FileInfo, []byte) {
		fi, err := os.Stat(sc.task)
		if err != nil {
			t.Fatal(err)
		}
		return fi, read(t, sc.task)
	}
	res, err := sc.eng.Repair(ctx, sc.snap, plan, sc.now, KillOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fi, data := fixed()
	if len(res.Applied) != 0 || len(res.Skipped) != 1 || res.Skipped[0].Why != "active_count is already 2" {
		t.Errorf("applied %+v, skipped %+v; want the recount skipped as already right", res.Applied, res.Skipped)
	}
	for _, c := range res.Commits {
		if c.Changed || c.Backup != "" {
			t.Errorf("%s: changed %v, backup %q; want nothing written", c.Path, c.Changed, c.Backup)
		}
	}
	// Nothing written, nothing to undo: no audit entry.
	if entries, _ := sc.eng.Audit().Entries(ctx); len(entries) != 0 {
		t.Errorf("audit entries %+v, want none", entries)
	}
	if fi2, data2 := fixed(); !fi2.ModTime().Equal(fi.ModTime()) || string(data2) != string(data) {
		t.Error("the registry changed after the repair returned")
	}
}

// counterValue reads a counter from the metrics' registry, as a scrape would.
func counterValue(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no counter %s", name)
	return 0
}

func TestAuditLastReadsBackAcrossBlocks(t *testing.T) {
	ctx := context.Background()
	a := NewAudit(t.TempDir())
	if e, err := a.Last(ctx, "repair"); e != nil || err != nil {
		t.Fatalf("no log: %+v, %v; want nothing", e, err)
	}
	long := strings.Repeat("x", 1000)
	// The repair is the first line; 300 kills of about 1 kB each follow,
	// so that it lies several blocks back, and lines straddle the blocks.
	if err := a.Append(ctx, Entry{Action: "repair", Result: "ok", Raced: []string{"/first"}}); err != nil {
		t.Fatal(err)
	}
	for range 300 {
		if err := a.Append(ctx, Entry{Action: "kill", Result: "ok", Error: long}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := a.Last(ctx, "repair")
	if err != nil || e == nil || !slices.Equal(e.Raced, []string{"/first"}) {
		t.Fatalf("got %+v, %v; want the first line's repair", e, err)
	}
	if err := a.Append(ctx, Entry{Action: "repair", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	if e, err := a.Last(ctx, "repair"); err != nil || e == nil || len(e.Raced) != 0 {
		t.Errorf("got %+v, %v; want the newest repair", e, err)
	}
	if e, err := a.Last(ctx, "restore"); err != nil || e != nil {
		t.Errorf("got %+v, %v; want none", e, err)
	}
}
