package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"agentwatch/engine"
	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/registry/pyjson"
	"agentwatch/tmux"
)

// The fixed world of the tests: one workspace, two task registries (one of
// them locked), a global registry, one tmux server, a process table. Every
// verdict is in it.
var testNow = time.Date(2025, 10, 17, 22, 0, 0, 0, time.Local)

const (
	testBase  = "/ws/.agent-workspace"
	testTaskA = "TASK-20251017-210000-1a2b3c4d"
	testTaskB = "TASK-20251017-213000-5e6f7a8b"
	testSock  = "/tmp/aw-test/sock"
)

var (
	testPathA      = filepath.Join(testBase, testTaskA, "AGENT_REGISTRY.json")
	testPathB      = filepath.Join(testBase, testTaskB, "AGENT_REGISTRY.json")
	testPathGlobal = filepath.Join(testBase, "registry", "GLOBAL_REGISTRY.json")
)

// testAgent is one agent of task A.
type testAgent struct {
	id, typ, status string
	started         time.Duration // ago
	updated         time.Duration // ago
}

var testAgents = []testAgent{
	{"impl-214500-a1b2c3", "implementer", "working", 15 * time.Minute, time.Minute},
	{"test-215950-d4e5f6", "tester", "running", 10 * time.Second, 10 * time.Second},
	{"review-213000-0a0b0c", "reviewer", "working", 30 * time.Minute, 20 * time.Minute},
	{"docs-212000-1d2e3f", "writer", "working", 40 * time.Minute, 25 * time.Minute},
	{"fix-215800-4a5b6c", "fixer", "working", 2 * time.Minute, 2 * time.Minute},
	{"lint-200000-7d8e9f", "linter", "working", 2 * time.Hour, 2 * time.Hour},
	{"plan-190000-aabbcc", "planner", "completed", 3 * time.Hour, 150 * time.Minute},
	{"build-200500-ddeeff", "builder", "completed", 115 * time.Minute, time.Hour},
	{"odd-210000-112233", "odd", "paused", time.Hour, time.Hour},
}

func ts(ago time.Duration) string { return registry.FormatTimestamp(testNow.Add(-ago)) }

// mustParse parses a fixture document; t may be nil (for package-level
// fixtures), and then a bad fixture panics.
func mustParse(t testing.TB, s string) *pyjson.Value {
	v, err := pyjson.Parse([]byte(s))
	if err != nil {
		if t == nil {
			panic(fmt.Sprintf("parse fixture: %v\n%s", err, s))
		}
		t.Fatalf("parse fixture: %v\n%s", err, s)
	}
	return v
}

// jq quotes a string as JSON does.
func jq(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func taskDoc(t testing.TB, agents []testAgent) *pyjson.Value {
	var entries []string
	for _, a := range agents {
		entries = append(entries, fmt.Sprintf(`{"id": %s, "type": %s, "tmux_session": %s, "parent": "orchestrator", "depth": 1, "status": %s, "started_at": %q, "progress": 40, "last_update": %q, "prompt": "do the work", "tracked_files": {"log_file": %s}}`,
			jq(a.id), jq(a.typ), jq("agent_"+a.id), jq(a.status), ts(a.started), ts(a.updated), jq(testTaskA+"/logs/"+a.id+"_stream.jsonl")))
	}
	return mustParse(t, fmt.Sprintf(`{"task_id": %q, "task_description": "fix the flaky build", "status": "INITIALIZED", "agents": [%s], "active_count": 9, "total_spawned": %d, "completed_count": 2}`,
		testTaskA, strings.Join(entries, ", "), len(agents)))
}

func globalDoc(t testing.TB, agents []testAgent) *pyjson.Value {
	var entries []string
	for _, a := range agents {
		entries = append(entries, fmt.Sprintf(`%s: {"task_id": %q, "type": %s, "parent": "orchestrator", "started_at": %q, "tmux_session": %s}`,
			jq(a.id), testTaskA, jq(a.typ), ts(a.started), jq("agent_"+a.id)))
	}
	return mustParse(t, fmt.Sprintf(`{"created_at": %q, "total_tasks": 2, "active_tasks": 2, "total_agents_spawned": %d, "active_agents": 4, "max_concurrent_agents": 8, "tasks": {%q: {"description": "fix the flaky build", "status": "INITIALIZED"}, %q: {"description": "scout", "status": "INITIALIZED"}}, "agents": {%s}}`,
		ts(5*time.Hour), len(agents), testTaskA, testTaskB, strings.Join(entries, ", ")))
}

func tproc(pid, ppid, sid int32, age time.Duration, cpu float64, rss uint64, argv ...string) *procscan.Proc {
	return &procscan.Proc{PID: pid, PPID: ppid, SID: sid, PGID: sid, UID: 1000, Comm: filepath.Base(argv[0]), Argv: argv,
		Start: testNow.Add(-age).UnixMilli(), State: "S", CPU: cpu, RSS: rss, EnvReadable: true}
}

// testWorld builds the input of the fixed world; agents lets a test change
// task A's agents.
func testWorld(t testing.TB, agents []testAgent) reconcile.Input {
	in := reconcile.Input{Now: testNow, Sets: registry.DefaultStatusSets()}
	in.Registries = []reconcile.Registry{
		{Path: testPathGlobal, Kind: reconcile.KindGlobal, Base: testBase, Root: globalDoc(t, agents)},
		{Path: testPathA, Kind: reconcile.KindTask, Base: testBase, TaskID: testTaskA, Root: taskDoc(t, agents)},
		{Path: testPathB, Kind: reconcile.KindTask, Base: testBase, TaskID: testTaskB, Locked: true,
			Err: &registry.LockBusyError{Path: testPathB, PID: 1234, Command: "python3", Waited: 50 * time.Millisecond}},
	}
	const mb = 1 << 20
	claude := func(id string) []string {
		return []string{"/usr/local/bin/claude", "--print", "--output-format", "stream-json", "--verbose", "-p", "You are agent " + id}
	}
	procs := []*procscan.Proc{
		tproc(1, 0, 1, 24*time.Hour, 0, 8*mb, "/sbin/init"),
		tproc(50, 1, 50, 5*time.Hour, 0.1, 6*mb, "tmux", "-S", testSock, "new-session", "-d"),
		// impl: ok, with an MCP server child
		tproc(1001, 50, 1001, 15*time.Minute, 0, 3*mb, "sh", "-c", "cd /src && claude --print | tee log"),
		tproc(1002, 1001, 1001, 15*time.Minute, 12.5, 412*mb, claude("impl-214500-a1b2c3")...),
		tproc(1003, 1001, 1001, 15*time.Minute, 0, 2*mb, "tee", testBase+"/"+testTaskA+"/logs/impl-214500-a1b2c3_stream.jsonl"),
		tproc(1004, 1002, 1001, 14*time.Minute, 0.4, 58*mb, "python3", "real_mcp_server.py"),
		// lint: stale
		tproc(2001, 50, 2001, 2*time.Hour, 0, 3*mb, "sh", "-c", "cd /src && claude --print | tee log"),
		tproc(2002, 2001, 2001, 2*time.Hour, 0, 300*mb, claude("lint-200000-7d8e9f")...),
		// build: finished, still runs
		tproc(3001, 50, 3001, 115*time.Minute, 0, 3*mb, "sh", "-c", "cd /src && claude --print | tee log"),
		tproc(3002, 3001, 3001, 115*time.Minute, 0.2, 280*mb, claude("build-200500-ddeeff")...),
		// an untracked agent session
		tproc(4001, 50, 4001, time.Hour, 0, 3*mb, "sh", "-c", "cd /src && claude --print | tee "+testBase+"/"+testTaskA+"/logs/explore-205000-445566_stream.jsonl"),
		tproc(4002, 4001, 4001, time.Hour, 3.1, 350*mb, claude("explore-205000-445566")...),
		// not an agent session
		tproc(5001, 50, 5001, 5*time.Hour, 0, 4*mb, "bash"),
		// an orphan that escaped with setsid, and its child
		tproc(7001, 1, 7001, 50*time.Minute, 1.5, 260*mb, "/usr/local/bin/claude", "--print", "--resume", "build-200500-ddeeff"),
		tproc(7002, 7001, 7001, 50*time.Minute, 0, 40*mb, "python3", "real_mcp_server.py"),
		// the operator's own claude
		tproc(9001, 1, 9001, 3*time.Hour, 0, 5*mb, "-zsh"),
		tproc(9002, 9001, 9001, 2*time.Hour, 0.8, 390*mb, "claude"),
	}
	procs[13].TMUX, procs[13].TMUXPane = testSock+",50,0", "%99"
	table := &procscan.Table{Time: testNow, Procs: map[int32]*procscan.Proc{}, Children: map[int32][]int32{}}
	for _, p := range procs {
		table.Procs[p.PID] = p
		if p.PID != 1 {
			table.Children[p.PPID] = append(table.Children[p.PPID], p.PID)
		}
	}
	snap := &tmux.Snapshot{Socket: tmux.Socket{Path: testSock}, Running: true, ServerPID: 50}
	pane := func(session, id string, pid int, created time.Duration) {
		snap.Panes = append(snap.Panes, tmux.Pane{Session: session, SessionID: fmt.Sprintf("$%d", len(snap.Panes)),
			SessionCreated: testNow.Add(-created), PaneID: id, PanePID: pid, Command: "sh"})
	}
	pane("agent_impl-214500-a1b2c3", "%1", 1001, 15*time.Minute)
	pane("agent_lint-200000-7d8e9f", "%2", 2001, 2*time.Hour)
	pane("agent_build-200500-ddeeff", "%3", 3001, 115*time.Minute)
	pane("agent_explore-205000-445566", "%4", 4001, time.Hour)
	pane("ops", "%5", 5001, 5*time.Hour)
	live := &reconcile.Live{
		Servers:  []reconcile.Server{{Socket: tmux.Socket{Path: testSock}, Snapshot: snap, Why: "given"}},
		Procs:    table,
		Claude:   map[int32]bool{},
		Evidence: map[string]bool{"docs-212000-1d2e3f": true},
		Confirm:  map[string]bool{},
		Grace:    30 * time.Second,
		Stale:    30 * time.Minute,
	}
	m := procscan.DefaultMatcher()
	for pid, p := range table.Procs {
		if m.Match(p) {
			live.Claude[pid] = true
		}
	}
	in.Live = live
	return in
}

// testReport analyzes the world as the second of two scans: the ghosts
// were suspects on the first (one of them already a ghost, so only the
// other is NEW); fix-… is missing for the first time, so it is a suspect.
func testReport(in reconcile.Input) (reconcile.Report, *reconcile.Memory) {
	_, first := reconcile.Observe(in, nil)
	prev := &reconcile.Memory{Suspects: map[string]bool{}, Verdicts: map[string]reconcile.Verdict{}}
	for k, v := range first.Verdicts {
		prev.Verdicts[k] = v
	}
	prev.Suspects[testBase+"|review-213000-0a0b0c"] = true
	prev.Suspects[testBase+"|docs-212000-1d2e3f"] = true
	prev.Verdicts[testBase+"|docs-212000-1d2e3f"] = reconcile.VerdictGhost
	return reconcile.Observe(in, prev)
}

// fakeBackend serves the fixed world and records what is asked of it.
type fakeBackend struct {
	mu          sync.Mutex
	in          reconcile.Input
	rep         reconcile.Report
	mem         *reconcile.Memory
	scanErr     error
	observes    int
	observeGate chan struct{} // when set, Observe waits for it
	watch       chan struct{}
	kills       [][]string
	killOps     [][]reconcile.Op
	killForce   []bool
	repairs     []reconcile.Plan
	undoPlan    *engine.UndoPlan
	undoErr     error
	undos       int
	audit       *engine.Audit
	// preview is what Preview returns; previews are the requests it got.
	preview  engine.Preview
	previews []engine.PreviewRequest
	// inside: SwitchClient switches (and records switches); otherwise it
	// says agentwatch is not inside tmux and AttachCommand is asked.
	inside   bool
	switches []engine.AttachRequest
	attaches []engine.AttachRequest
	copies   []string // texts put into tmux's paste buffer
	signals  []string // signals sent by SignalAudited
}

func newFakeBackend(t testing.TB) *fakeBackend {
	in := testWorld(t, testAgents)
	rep, mem := testReport(in)
	return &fakeBackend{in: in, rep: rep, mem: mem, watch: make(chan struct{}, 1)}
}

// Rescan serves the fixed world's report, with the engine's own carrying of
// a locked registry's last good document.
func (f *fakeBackend) Rescan(ctx context.Context, now time.Time, prev *engine.Snapshot, mem *reconcile.Memory) (engine.Scan, error) {
	snap, rep, next, err := f.observe(ctx, now)
	if err != nil {
		return engine.Scan{}, err
	}
	return engine.Scan{Snap: snap, Report: rep, Memory: next}.Carry(prev, mem), nil
}

func (f *fakeBackend) observe(ctx context.Context, now time.Time) (*engine.Snapshot, reconcile.Report, *reconcile.Memory, error) {
	f.mu.Lock()
	gate := f.observeGate
	f.observes++
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, reconcile.Report{}, nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.scanErr != nil {
		return nil, reconcile.Report{}, nil, f.scanErr
	}
	// A fresh snapshot each time: Carry changes the one it is given.
	in := f.in
	in.Registries = append([]reconcile.Registry(nil), f.in.Registries...)
	snap := &engine.Snapshot{Time: now, Duration: 42 * time.Millisecond, Input: in, Hashes: map[string]string{}}
	for _, r := range in.Registries {
		if r.Root != nil {
			snap.Hashes[r.Path] = "hash-" + filepath.Base(filepath.Dir(r.Path))
		}
	}
	return snap, f.rep, f.mem, nil
}

func (f *fakeBackend) Watch(ctx context.Context) (<-chan struct{}, error) { return f.watch, nil }

func (f *fakeBackend) Repair(ctx context.Context, snap *engine.Snapshot, plan reconcile.Plan, now time.Time, kill engine.KillOptions) (*engine.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repairs = append(f.repairs, plan)
	res := &engine.Result{}
	for _, op := range plan.Ops {
		op.New = json.RawMessage(`"done"`)
		res.Applied = append(res.Applied, engine.Item{Op: op})
	}
	return res, nil
}

func (f *fakeBackend) KillAudited(ctx context.Context, snap *engine.Snapshot, ops []reconcile.Op, opts engine.KillOptions, targets []string) (*engine.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kills = append(f.kills, targets)
	f.killOps = append(f.killOps, ops)
	f.killForce = append(f.killForce, opts.Force)
	res := &engine.Result{}
	for _, op := range ops {
		res.Applied = append(res.Applied, engine.Item{Op: op})
	}
	return res, nil
}

func (f *fakeBackend) PlanUndo(ctx context.Context) (*engine.UndoPlan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.undoErr != nil {
		return nil, f.undoErr
	}
	return f.undoPlan, nil
}

func (f *fakeBackend) Undo(ctx context.Context, up *engine.UndoPlan, force bool) ([]engine.UndoOutcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.undos++
	var outs []engine.UndoOutcome
	for _, uf := range up.Files {
		outs = append(outs, engine.UndoOutcome{Path: uf.Path, Done: uf.Conflict == "", Reason: uf.Conflict})
	}
	return outs, nil
}

func (f *fakeBackend) Audit() *engine.Audit { return f.audit }

func (f *fakeBackend) Preview(ctx context.Context, snap *engine.Snapshot, req engine.PreviewRequest) *engine.Preview {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.previews = append(f.previews, req)
	p := f.preview
	return &p
}

func (f *fakeBackend) SwitchClient(ctx context.Context, snap *engine.Snapshot, req engine.AttachRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.inside {
		return engine.ErrNotInside
	}
	f.switches = append(f.switches, req)
	return nil
}

func (f *fakeBackend) SignalAudited(ctx context.Context, snap *engine.Snapshot, ops []reconcile.Op, signal string, targets []string) (*engine.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, signal)
	f.kills = append(f.kills, targets)
	f.killOps = append(f.killOps, ops)
	res := &engine.Result{}
	for _, op := range ops {
		res.Applied = append(res.Applied, engine.Item{Op: op})
	}
	return res, nil
}

func (f *fakeBackend) CopyToTmux(ctx context.Context, tmuxEnv, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.copies = append(f.copies, text)
	return nil
}

func (f *fakeBackend) AttachCommand(snap *engine.Snapshot, req engine.AttachRequest) (*exec.Cmd, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attaches = append(f.attaches, req)
	return exec.Command("true"), nil
}

func (f *fakeBackend) Bases() []registry.Base {
	return []registry.Base{{Dir: testBase, Source: "--workspace"}}
}

func testOptions(b Backend) Options {
	return Options{Backend: b, Title: "test", Now: func() time.Time { return testNow }, Clipboard: io.Discard}
}
