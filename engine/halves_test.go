package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"agentwatch/reconcile"
)

// immutable makes path immutable with chattr +i, which refuses writes even
// to root; the test is skipped when the file system does not support it.
func immutable(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("chattr +i is not supported here (%v: %s): the read-only half cannot be made for root", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", path).Run() })
}

func TestAStatusChangeIsWrittenInBothRegistriesOrInNeither(t *testing.T) {
	for _, c := range []struct {
		name     string
		readOnly func(sc applyScene) string
	}{
		{"the task registry is immutable", func(sc applyScene) string { return sc.task }},
		{"its directory is immutable (no journal can be made)", func(sc applyScene) string { return filepath.Dir(sc.task) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc := newApplyScene(t)
			bothHalvesOrNeither(t, sc, c.readOnly(sc))
		})
	}
}

func bothHalvesOrNeither(t *testing.T, sc applyScene, readOnly string) {
	plan := reconcile.MakePlan(sc.snap.Input, []reconcile.StatusChange{
		{Base: sc.base, TaskID: taskID, AgentID: "a-1", Op: reconcile.OpTerminate, Reason: "session_not_found"}})
	immutable(t, readOnly)
	taskBefore, _ := os.ReadFile(sc.task)

	res := sc.eng.apply(t.Context(), sc.snap, plan, sc.now)
	failedTask := false
	for _, it := range res.Failed {
		if it.Registry == sc.task && it.Op.Op == reconcile.OpTerminate {
			failedTask = true
		}
	}
	if !failedTask {
		t.Fatalf("the task half did not fail on an immutable file: %+v", res)
	}
	for _, it := range res.Applied {
		if it.Registry == sc.global && it.Op.Op == reconcile.OpTerminate {
			t.Errorf("the global half was applied although the task half failed")
		}
	}
	found := false
	for _, it := range res.Skipped {
		if it.Registry == sc.global && it.Op.Op == reconcile.OpTerminate {
			found = true
			if !strings.Contains(it.Why, "task registry") || !strings.Contains(it.Why, "both halves or neither") {
				t.Errorf("global half skipped with %q; want the reason naming the failed task half", it.Why)
			}
		}
	}
	if !found {
		t.Errorf("the global half is not among the skipped: %+v", res.Skipped)
	}
	g, _ := os.ReadFile(sc.global)
	if strings.Contains(string(g), "terminated") {
		t.Errorf("the global registry was terminated alone:\n%s", g)
	}
	if got, _ := os.ReadFile(sc.task); string(got) != string(taskBefore) {
		t.Errorf("the read-only task registry changed:\n%s", got)
	}
}
