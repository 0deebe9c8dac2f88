package engine

import (
	"context"
	"testing"
	"time"

	"agentwatch/reconcile"
)

// TestObserveReusesUntilARegistryChanges: a scan that finds the registries
// as they were gives the previous report again; a scan after a writer
// changed a registry's bytes analyzes them.
func TestObserveReusesUntilARegistryChanges(t *testing.T) {
	ctx := context.Background()
	base, task, _ := workspace(t)
	e := newEngine(t, base)
	drift := func(rep reconcile.Report) int { return rep.Summary()[reconcile.FindDrift] }
	_, rep1, mem, err := e.Observe(ctx, time.Now(), nil)
	if err != nil || drift(rep1) == 0 {
		t.Fatalf("first scan: %d drift findings, err %v; want the inflated active_count", drift(rep1), err)
	}
	_, rep2, mem, err := e.Observe(ctx, time.Now(), mem)
	if err != nil || len(rep2.Findings) != len(rep1.Findings) || &rep2.Findings[0] != &rep1.Findings[0] {
		t.Fatalf("an unchanged scan was analyzed again (err %v)", err)
	}
	pyEdit(t, task, `o["active_count"] = 2`)
	_, rep3, _, err := e.Observe(ctx, time.Now(), mem)
	if err != nil || drift(rep3) != 0 {
		t.Errorf("after the repair by another writer: %d drift findings, err %v; want 0", drift(rep3), err)
	}
}
