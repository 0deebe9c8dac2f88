package engine

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"agentwatch/internal/lifeline"
	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/registry/pyjson"
	"agentwatch/tmux"
)

const taskID = "TASK-20251029-225319-45548b6a"

// workspace writes a base with one task registry (two working agents, an
// inflated active_count) and its global registry.
func workspace(t *testing.T) (base, task, global string) {
	t.Helper()
	base = t.TempDir()
	task = filepath.Join(base, taskID, "AGENT_REGISTRY.json")
	global = filepath.Join(base, "registry", "GLOBAL_REGISTRY.json")
	for _, d := range []string{filepath.Dir(task), filepath.Dir(global)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, task, `{"task_id": "`+taskID+`", "status": "INITIALIZED", "agents": [
	  {"id": "a-1", "status": "working", "last_update": "2025-10-29T23:00:00.000001"},
	  {"id": "a-2", "status": "working", "last_update": "2025-10-29T23:00:00.000001"}],
	  "total_spawned": 2, "active_count": 5, "completed_count": 0}`)
	write(t, global, `{"total_tasks": 1, "active_tasks": 1, "total_agents_spawned": 2, "active_agents": 2,
	  "tasks": {"`+taskID+`": {"status": "INITIALIZED"}},
	  "agents": {"a-1": {"task_id": "`+taskID+`"}, "a-2": {"task_id": "`+taskID+`", "status": "working"}}}`)
	return base, task, global
}

// tieServer kills the tmux server on sock (continuing pids first) when the
// test binary ends, even by a timeout's panic, or when the test is cleaned
// up.
func tieServer(t *testing.T, sock string, pids ...int) {
	t.Helper()
	cut, err := lifeline.TmuxServer(sock, pids...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cut() })
}

// write stores a document as the orchestrator would: json.dumps(indent=2).
func write(t *testing.T, path, doc string) {
	t.Helper()
	v, err := pyjson.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("test document: %v", err)
	}
	if err := os.WriteFile(path, pyjson.Encode(v), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newEngine(t *testing.T, base string) *Engine {
	t.Helper()
	state := t.TempDir()
	return New(Config{
		Bases: []registry.Base{{Dir: base, Source: "test"}},
		Sets:  registry.DefaultStatusSets(),
		Store: &registry.Store{StateDir: state, LockTimeout: 2 * time.Second},
		Audit: NewAudit(state),
	})
}

// pyEdit changes a registry with python3 under flock, as the orchestrator's
// careful writers do.
func pyEdit(t *testing.T, path, stmt string) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	script := "import fcntl, json, sys\nwith open(sys.argv[1], 'r+') as f:\n    fcntl.flock(f, fcntl.LOCK_EX)\n    o = json.load(f)\n    " +
		stmt + "\n    f.seek(0); f.write(json.dumps(o, indent=2)); f.truncate()\n"
	if out, err := exec.Command("python3", "-c", script, path).CombinedOutput(); err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
}

// applyScene is the workspace, an engine on it, and a snapshot of it taken
// at now.
type applyScene struct {
	base, task, global string
	eng                *Engine
	snap               *Snapshot
	now                time.Time
}

func newApplyScene(t *testing.T) applyScene {
	t.Helper()
	sc := applyScene{now: time.Date(2025, 10, 29, 23, 30, 0, 0, time.Local)}
	sc.base, sc.task, sc.global = workspace(t)
	sc.eng = newEngine(t, sc.base)
	var err error
	if sc.snap, err = sc.eng.Gather(context.Background(), sc.now); err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestApplyReDerivesUnderTheLock(t *testing.T) {
	ctx := context.Background()
	sc := newApplyScene(t)
	base, task, global, eng, snap, now := sc.base, sc.task, sc.global, sc.eng, sc.snap, sc.now
	// a-1 is a ghost: terminate it. The plan also recounts active_count
	// 5→1 and completed_count 0→1 in the task, active_agents 2→1 globally.
	plan := reconcile.MakePlan(snap.Input, []reconcile.StatusChange{
		{Base: base, TaskID: taskID, AgentID: "a-1", Op: reconcile.OpTerminate, Reason: "session_not_found"}})
	if len(plan.Ops) != 5 {
		t.Fatalf("got %d planned ops, want 5: %+v", len(plan.Ops), plan.Ops)
	}

	// Between plan and apply, the orchestrator marks a-1 completed and a-2
	// terminated, and fixes active_count itself.
	pyEdit(t, task, "o['agents'][0]['status'] = 'completed'; o['agents'][1]['status'] = 'terminated'; o['active_count'] = 0")

	got, _ := applyOutcomes(t, eng, snap, plan, now)
	want := map[string]string{
		"terminate " + taskID + " status": `skipped: status is "completed" now, the plan expected "working"`,
		// active_count is already right: nothing to do.
		"recount " + taskID + " active_count": "skipped: active_count is already 0",
		// completed_count is re-derived: both agents are terminal now.
		"recount " + taskID + " completed_count": "applied 2",
		// The global terminate consults the task registry as it is now: a-1
		// completed there, so the global entry is left for the next sync.
		"terminate registry status": `skipped: the task registry says "completed" now; the next plan syncs the global entry`,
		// active_agents counts a-2 by its global status, which says
		// working (the next plan syncs it).
		"recount registry active_agents": "applied 1",
	}
	if len(got) != len(want) {
		t.Errorf("got %d outcomes, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
	data, _ := os.ReadFile(task)
	if !strings.Contains(string(data), `"completed_count": 2`) || !strings.Contains(string(data), `"active_count": 0`) {
		t.Errorf("task registry after apply:\n%s", data)
	}
	g, _ := os.ReadFile(global)
	if !strings.Contains(string(g), `"active_agents": 1`) || strings.Contains(string(g), "termination_reason") {
		t.Errorf("global registry after apply:\n%s", g)
	}
	// One audit line for the repair, naming both files' hashes.
	entries, err := eng.cfg.Audit.Entries(ctx)
	if err != nil || len(entries) != 1 || len(entries[0].Files) != 2 || entries[0].Result != "ok" {
		t.Fatalf("audit entries = %+v, %v", entries, err)
	}
	for _, f := range entries[0].Files {
		if f.Before == "" || f.After == "" || f.Before == f.After {
			t.Errorf("audit file change %+v lacks hashes", f)
		}
	}
}

func TestDiff(t *testing.T) {
	a := "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}"
	b := "{\n  \"a\": 1,\n  \"b\": 20,\n  \"c\": 3\n}"
	want := "--- old\n+++ new\n@@ -1,5 +1,5 @@\n {\n   \"a\": 1,\n-  \"b\": 2,\n+  \"b\": 20,\n   \"c\": 3\n }\n\\ No newline at end of file\n"
	if got := Diff("old", "new", []byte(a), []byte(b)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := Diff("old", "new", []byte(a), []byte(a)); got != "" {
		t.Errorf("diff of equal texts = %q, want empty", got)
	}
}

func TestKillNeverHitsAReusedPID(t *testing.T) {
	// A live process stands in for a PID the kernel handed out again: the
	// plan knew a process with that PID but another start time.
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	table, err := procscan.NewScanner().Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := table.Procs[int32(cmd.Process.Pid)]
	if p == nil {
		t.Fatal("the process is not in the table")
	}
	eng := newEngine(t, t.TempDir())
	ops := []reconcile.Op{{Op: reconcile.OpKillProcess, PID: int(p.PID), Start: p.Start - 5000, Comm: "sleep", Why: "planned for an earlier process"}}
	res, err := eng.KillAudited(context.Background(), &Snapshot{}, ops, KillOptions{TermTimeout: time.Second}, []string{"test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 0 || len(res.Skipped) != 1 || !strings.HasPrefix(res.Skipped[0].Why, "reused") {
		t.Errorf("got applied %v skipped %v failed %v; want one skip for a reused PID", res.Applied, res.Skipped, res.Failed)
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the process with the reused PID was signaled: %v", err)
	}
	// With the right start time the same operation kills it.
	ops[0].Start = p.Start
	res = eng.kill(context.Background(), &Snapshot{}, ops, KillOptions{TermTimeout: time.Second})
	if len(res.Applied) != 1 {
		t.Errorf("with the right identity: applied %v failed %v", res.Applied, res.Failed)
	}
}

func TestWatchSignalsRegistryChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, task, _ := workspace(t)
	eng := newEngine(t, base)
	ch, err := eng.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(3 * time.Second):
			t.Fatalf("no signal after %s", what)
		}
	}
	quiet := func() {
		t.Helper()
		select {
		case <-ch:
			t.Fatal("a signal without a change")
		case <-time.After(300 * time.Millisecond):
		}
	}
	quiet()
	pyEdit(t, task, "o['active_count'] = 7")
	expect("an in-place rewrite of a task registry")
	quiet()
	newTask := filepath.Join(base, "TASK-20251030-101010-0123abcd")
	if err := os.Mkdir(newTask, 0o755); err != nil {
		t.Fatal(err)
	}
	expect("a new task directory")
	time.Sleep(200 * time.Millisecond)
	write(t, filepath.Join(newTask, "AGENT_REGISTRY.json"), `{"task_id": "TASK-20251030-101010-0123abcd", "agents": []}`)
	expect("a registry written in the new task directory")
	if err := os.WriteFile(filepath.Join(base, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	quiet()
	cancel()
	for range ch {
	}
}

func TestCarryKeepsTheLastGoodDocumentOfALockedRegistry(t *testing.T) {
	base, task, _ := workspace(t)
	eng := newEngine(t, base)
	ctx := context.Background()
	prev, err := eng.Gather(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cur, err := eng.Gather(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range cur.Input.Registries {
		if r.Path == task {
			cur.Input.Registries[i].Root = nil
			cur.Input.Registries[i].Err = &registry.LockBusyError{Path: task, PID: 4242, Command: "python3"}
			cur.Input.Registries[i].Locked = true
		}
	}
	carried := cur.Carry(prev)
	if len(carried) != 1 || carried[0].Path != task {
		t.Fatalf("carried %v, want the task registry", carried)
	}
	if pid, cmd, ok := LockHolder(carried[0].Err); !ok || pid != 4242 || cmd != "python3" {
		t.Errorf("LockHolder = %d %q %v", pid, cmd, ok)
	}
	for _, r := range cur.Input.Registries {
		if r.Path == task && (r.Root == nil || r.Locked || r.Err != nil) {
			t.Errorf("after carrying, the locked registry is still unread: %+v", r)
		}
		if r.Path == task && (r.Hash == "" || r.Hash != prev.Hashes[task]) {
			t.Errorf("the carried document's hash: got %q, want the last read's %q (the analysis is reused by it)", r.Hash, prev.Hashes[task])
		}
	}
}

// applyOutcomes runs plan through Repair and returns each operation's
// outcome keyed by "op task-or-registry field".
func applyOutcomes(t *testing.T, eng *Engine, snap *Snapshot, plan reconcile.Plan, now time.Time) (map[string]string, *Result) {
	t.Helper()
	res, err := eng.Repair(context.Background(), snap, plan, now, KillOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 0 {
		t.Fatalf("failed: %+v", res.Failed)
	}
	got := map[string]string{}
	for _, it := range res.Applied {
		got[string(it.Op.Op)+" "+filepath.Base(filepath.Dir(it.Registry))+" "+it.Field] = "applied " + string(it.New)
	}
	for _, it := range res.Skipped {
		got[string(it.Op.Op)+" "+filepath.Base(filepath.Dir(it.Registry))+" "+it.Field] = "skipped: " + it.Why
	}
	return got, res
}

func TestApplyDerivesAgainWhenTheBytesChangeAfterItsRead(t *testing.T) {
	sc := newApplyScene(t)
	task, eng, snap, now := sc.task, sc.eng, sc.snap, sc.now
	plan := reconcile.MakePlan(snap.Input, nil) // recount active_count 5→2
	// After the read that the operations are first derived from, and
	// before the lock, the orchestrator fixes the counter itself and adds
	// a field: what was derived ahead must not be written.
	beforeLock = func(path string) {
		if path == task {
			pyEdit(t, task, "o['active_count'] = 2; o['note'] = 'orchestrator'")
		}
	}
	t.Cleanup(func() { beforeLock = nil })
	got, res := applyOutcomes(t, eng, snap, plan, now)
	for _, c := range res.Commits {
		if c.Path == task && c.Ahead {
			t.Errorf("what was derived from bytes that changed before the lock was written")
		}
	}
	if w := "skipped: active_count is already 2"; got["recount "+taskID+" active_count"] != w {
		t.Errorf("got %v, want the recount %q", got, w)
	}
	data, _ := os.ReadFile(task)
	if !strings.Contains(string(data), `"note": "orchestrator"`) || !strings.Contains(string(data), `"active_count": 2`) {
		t.Errorf("the orchestrator's write was lost:\n%s", data)
	}
}

func TestApplyDerivesAgainWhenAGhostsSessionComesBack(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	sc := newApplyScene(t)
	base, task, eng, snap, now := sc.base, sc.task, sc.eng, sc.snap, sc.now
	// A private tmux server, with no session yet, is what the snapshot saw.
	sock := filepath.Join(t.TempDir(), "sock")
	tm := func(args ...string) error {
		return exec.Command("tmux", append([]string{"-S", sock, "-f", "/dev/null"}, args...)...).Run()
	}
	t.Cleanup(func() { tm("kill-server") })
	tieServer(t, sock)
	snap.Input.Live = &reconcile.Live{Servers: []reconcile.Server{{Socket: tmux.Socket{Path: sock}}}}
	plan := reconcile.MakePlan(snap.Input, []reconcile.StatusChange{
		{Base: base, TaskID: taskID, AgentID: "a-1", Session: "agent_a-1", Op: reconcile.OpTerminate, Reason: "session_not_found"}})
	// a-1's session starts after the derivation ahead of the lock: under
	// the lock it is alive, and a-1 must not be terminated.
	beforeLock = func(path string) {
		if path == task {
			if err := tm("new-session", "-d", "-s", "agent_a-1", "sleep 60"); err != nil {
				t.Errorf("start session: %v", err)
			}
		}
	}
	t.Cleanup(func() { beforeLock = nil })
	got, _ := applyOutcomes(t, eng, snap, plan, now)
	if w := "skipped: its session agent_a-1 is alive again"; got["terminate "+taskID+" status"] != w {
		t.Errorf("got %v, want the terminate %q", got, w)
	}
	data, _ := os.ReadFile(task)
	if strings.Contains(string(data), `"terminated"`) || !strings.Contains(string(data), `"active_count": 2`) {
		t.Errorf("task registry after apply:\n%s", data)
	}
}

func TestApplyWritesWhatItDerivedAheadWhenNothingChanged(t *testing.T) {
	sc := newApplyScene(t)
	base, task, eng, snap, now := sc.base, sc.task, sc.eng, sc.snap, sc.now
	plan := reconcile.MakePlan(snap.Input, []reconcile.StatusChange{
		{Base: base, TaskID: taskID, AgentID: "a-1", Op: reconcile.OpTerminate, Reason: "session_not_found"}})
	got, res := applyOutcomes(t, eng, snap, plan, now)
	for k, v := range got {
		if !strings.HasPrefix(v, "applied") {
			t.Errorf("%s: %s, want applied", k, v)
		}
	}
	// Both registries were written as derived before the lock.
	for _, c := range res.Commits {
		if !c.Changed || !c.Ahead {
			t.Errorf("%s: changed %v, written as derived ahead %v; want both", c.Path, c.Changed, c.Ahead)
		}
	}
	if len(res.Commits) != 2 {
		t.Errorf("got %d commits, want the task's and the global registry's", len(res.Commits))
	}
	// What was written is what a derivation from the file as it was makes.
	data, _ := os.ReadFile(task)
	if !strings.Contains(string(data), `"termination_reason": "session_not_found"`) || !strings.Contains(string(data), `"active_count": 1`) {
		t.Errorf("task registry after apply:\n%s", data)
	}
	v, err := pyjson.Parse(data)
	if err != nil || !bytes.Equal(pyjson.Encode(v), data) {
		t.Errorf("the written registry is not json.dumps(indent=2) of itself: %v", err)
	}
}

func TestEvidenceFollowsTheRegistry(t *testing.T) {
	sc := newApplyScene(t)
	logs := filepath.Join(filepath.Dir(sc.task), "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a-1", "a-2"} {
		line := `{"type":"assistant"}`
		if id == "a-1" {
			line = `{"type":"result","subtype":"success"}`
		}
		if err := os.WriteFile(filepath.Join(logs, id+"_stream.jsonl"), []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	evidence := func() map[string]bool {
		t.Helper()
		snap, err := sc.eng.Gather(context.Background(), sc.now)
		if err != nil {
			t.Fatal(err)
		}
		in := snap.Input
		in.Live = &reconcile.Live{Evidence: map[string]bool{}}
		sc.eng.readEvidence(&in)
		return in.Live.Evidence
	}
	for range 2 { // the second look lists the active agents from the cache
		if got := evidence(); !got["a-1"] || got["a-2"] {
			t.Fatalf("evidence %v, want a-1 only (its stream log ends with a result)", got)
		}
	}
	// a-1 is completed now: it is no longer looked at, however the
	// registry was read before.
	pyEdit(t, sc.task, "o['agents'][0]['status'] = 'completed'")
	if got := evidence(); got["a-1"] {
		t.Errorf("evidence %v after a-1 completed, want none: the active agents were not listed again", got)
	}
}

func TestUndoOfARegistryThatNoLongerExists(t *testing.T) {
	ctx := context.Background()
	sc := newApplyScene(t)
	plan := reconcile.MakePlan(sc.snap.Input, nil) // recount active_count 5→2
	if got, _ := applyOutcomes(t, sc.eng, sc.snap, plan, sc.now); len(got) == 0 {
		t.Fatal("the repair did nothing to undo")
	}
	if err := os.RemoveAll(filepath.Dir(sc.task)); err != nil { // the task was archived
		t.Fatal(err)
	}
	up, err := sc.eng.PlanUndo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := sc.eng.Undo(ctx, up, true)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range outs {
		if o.Path != sc.task {
			continue
		}
		found = true
		if o.Done || !strings.Contains(o.Reason, "no longer exists") || strings.Contains(o.Reason, "--force") {
			t.Errorf("undo --force of a registry that is gone: done %v, %q; want refused, saying so, without offering --force", o.Done, o.Reason)
		}
	}
	if !found {
		t.Errorf("no outcome for the registry that is gone: %+v", outs)
	}
	if _, err := os.Stat(sc.task); !os.IsNotExist(err) {
		t.Errorf("undo created the registry again: %v", err)
	}
}

func TestUndoOnAWorkspaceUndoesItsOwnNewestAction(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 10, 29, 23, 30, 0, 0, time.Local)
	state := t.TempDir()
	engineOn := func(bases ...string) *Engine {
		cfg := Config{Sets: registry.DefaultStatusSets(), Store: &registry.Store{StateDir: state, LockTimeout: 2 * time.Second}, Audit: NewAudit(state)}
		for _, b := range bases {
			cfg.Bases = append(cfg.Bases, registry.Base{Dir: b, Source: "test"})
		}
		return New(cfg)
	}
	baseA, taskA, _ := workspace(t)
	baseB, taskB, _ := workspace(t)
	link := filepath.Join(t.TempDir(), "a-by-another-name")
	if err := os.Symlink(baseA, link); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{baseA, baseB} { // A repaired first, then B
		eng := engineOn(b)
		snap, err := eng.Gather(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := applyOutcomes(t, eng, snap, reconcile.MakePlan(snap.Input, nil), now); len(got) == 0 {
			t.Fatal("nothing repaired")
		}
	}
	for _, c := range []struct {
		name  string
		eng   *Engine
		wants string
	}{
		{"no workspace: the newest of all", engineOn(), taskB},
		{"on A: A's own", engineOn(baseA), taskA},
		{"on B: B's own", engineOn(baseB), taskB},
		{"on A through a symlink: A's own", engineOn(link), taskA},
	} {
		up, err := c.eng.PlanUndo(ctx)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.ContainsFunc(up.Files, func(f UndoFile) bool { return f.Path == c.wants }) {
			t.Errorf("%s: the undo puts back %v, want the repair of %s", c.name, up.Files, c.wants)
		}
	}
}
