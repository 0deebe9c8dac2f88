package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"agentwatch/reconcile"
)

// repairGhost terminates a-1 in the scene's registries (a status change in
// both, and the recounts that follow) and returns the bytes of the task and
// the global registry from before.
func repairGhost(t *testing.T, sc applyScene) (task, global []byte) {
	t.Helper()
	task, _ = os.ReadFile(sc.task)
	global, _ = os.ReadFile(sc.global)
	plan := reconcile.MakePlan(sc.snap.Input, []reconcile.StatusChange{
		{Base: sc.base, TaskID: taskID, AgentID: "a-1", Op: reconcile.OpTerminate, Reason: "session_not_found"}})
	if _, res := applyOutcomes(t, sc.eng, sc.snap, plan, sc.now); len(res.Applied) == 0 {
		t.Fatal("the repair applied nothing")
	}
	if after, _ := os.ReadFile(sc.task); !strings.Contains(string(after), `"terminated"`) {
		t.Fatalf("the repair did not terminate a-1:\n%s", after)
	}
	return task, global
}

// undo plans and runs an undo, failing the test on an error.
func undo(t *testing.T, eng *Engine) map[string]UndoOutcome {
	t.Helper()
	ctx := context.Background()
	up, err := eng.PlanUndo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := eng.Undo(ctx, up, false)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]UndoOutcome{}
	for _, o := range outs {
		byPath[o.Path] = o
	}
	return byPath
}

// expected is what a registry holds when stmt, run by the orchestrator, is
// applied to before: the bytes an undo of agentwatch's fields alone leaves.
func expected(t *testing.T, before []byte, stmt string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "AGENT_REGISTRY.json")
	if err := os.WriteFile(p, before, 0o644); err != nil {
		t.Fatal(err)
	}
	pyEdit(t, p, stmt)
	b, _ := os.ReadFile(p)
	return b
}

func TestUndoPutsBackItsOwnFieldsAndKeepsTheOrchestratorsWrite(t *testing.T) {
	sc := newApplyScene(t)
	taskBefore, globalBefore := repairGhost(t, sc)
	// The orchestrator writes another field of the repaired file.
	const write = "o['priority'] = 'P0'; o['agents'][1]['progress'] = 40"
	pyEdit(t, sc.task, write)

	outs := undo(t, sc.eng)
	for _, path := range []string{sc.task, sc.global} {
		if o := outs[path]; !o.Done || len(o.Kept) != 0 {
			t.Errorf("%s: done %v, kept %q, reason %q; want done, nothing kept", path, o.Done, o.Kept, o.Reason)
		}
	}
	// The task registry: agentwatch's fields put back, the orchestrator's
	// write kept, byte for byte as Python writes it.
	if got, want := read(t, sc.task), expected(t, taskBefore, write); string(got) != string(want) {
		t.Errorf("task registry after undo:\n%s\nwant:\n%s", got, want)
	}
	if got := read(t, sc.global); string(got) != string(globalBefore) {
		t.Errorf("global registry after undo:\n%s\nwant it as it was:\n%s", got, globalBefore)
	}
}

func TestUndoKeepsAFieldTheOrchestratorChangedSince(t *testing.T) {
	sc := newApplyScene(t)
	taskBefore, _ := repairGhost(t, sc)
	// The orchestrator sets a-1's status itself, over agentwatch's.
	pyEdit(t, sc.task, "o['agents'][0]['status'] = 'completed'")

	o := undo(t, sc.eng)[sc.task]
	want := `agents[a-1].status is now "completed", agentwatch wrote "terminated": kept`
	if !o.Done || !slices.Contains(o.Kept, want) || len(o.Kept) != 1 {
		t.Errorf("undo: done %v, kept %q, reason %q; want done, keeping only %q", o.Done, o.Kept, o.Reason, want)
	}
	// Every other field agentwatch wrote is put back.
	if got, want := read(t, sc.task), expected(t, taskBefore, "o['agents'][0]['status'] = 'completed'"); string(got) != string(want) {
		t.Errorf("task registry after undo:\n%s\nwant:\n%s", got, want)
	}
	entries, err := sc.eng.Audit().Entries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if last := entries[len(entries)-1]; last.Action != "undo" || last.Result != "partial" || !slices.Contains(last.Kept, want) {
		t.Errorf("audit entry of the undo: %+v; want a partial undo naming the field kept", last)
	}
}

func TestUndoOfAnUndoPutsTheRepairBack(t *testing.T) {
	sc := newApplyScene(t)
	repairGhost(t, sc)
	repaired := read(t, sc.task)
	pyEdit(t, sc.task, "o['priority'] = 'P0'")
	undo(t, sc.eng)
	if strings.Contains(string(read(t, sc.task)), "terminated") {
		t.Fatal("the undo did not put a-1 back")
	}
	// The undo recorded its own fields: undoing it puts the repair back,
	// the orchestrator's write still kept.
	o := undo(t, sc.eng)[sc.task]
	if !o.Done || len(o.Kept) != 0 {
		t.Errorf("undo of the undo: done %v, kept %q, reason %q", o.Done, o.Kept, o.Reason)
	}
	if got, want := read(t, sc.task), expected(t, repaired, "o['priority'] = 'P0'"); string(got) != string(want) {
		t.Errorf("task registry after the undo of the undo:\n%s\nwant:\n%s", got, want)
	}
}

func TestUndoOfADedupePutsTheEntriesBack(t *testing.T) {
	sc := newApplyScene(t)
	pyEdit(t, sc.task, "o['agents'].append(dict(o['agents'][0], note='second')); o['total_spawned'] = 2")
	before := read(t, sc.task)
	snap, err := sc.eng.Gather(context.Background(), sc.now)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := applyOutcomes(t, sc.eng, snap, reconcile.MakePlan(snap.Input, nil), sc.now)
	if !strings.HasPrefix(got["dedupe "+taskID+" "], "applied") {
		t.Fatalf("outcomes %v, want a dedupe applied", got)
	}
	pyEdit(t, sc.task, "o['priority'] = 'P0'")
	undo(t, sc.eng)
	// Both entries are back where they stood, the counters as they were,
	// and the orchestrator's write kept.
	if got, want := read(t, sc.task), expected(t, before, "o['priority'] = 'P0'"); string(got) != string(want) {
		t.Errorf("task registry after the undo of a dedupe:\n%s\nwant:\n%s", got, want)
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An undo puts back a field longer than the whole registry it writes: the
// value comes from the audit log, not from the registry's bytes, and is
// written out as it is.
func TestUndoPutsBackAFieldLongerThanTheRegistry(t *testing.T) {
	sc := newApplyScene(t)
	const long = "o['agents'][0]['termination_reason'] = 'x' * 60000"
	pyEdit(t, sc.task, long)
	taskBefore, _ := repairGhost(t, sc)
	if after := read(t, sc.task); len(after) >= 60000 {
		t.Fatalf("test data: the repair left %d bytes; want the long field gone", len(after))
	}
	if o := undo(t, sc.eng)[sc.task]; !o.Done || len(o.Kept) != 0 {
		t.Fatalf("undo: done %v, kept %q, reason %q", o.Done, o.Kept, o.Reason)
	}
	if got := read(t, sc.task); string(got) != string(taskBefore) {
		t.Errorf("task registry after undo: %d bytes, want the %d from before the repair", len(got), len(taskBefore))
	}
}
