package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"agentwatch/demo"
	"agentwatch/reconcile"
	"agentwatch/tmux"
)

const fixtureDir = "testdata/orchestrator-2025-10/.agent-workspace"

const (
	taskDone    = "TASK-20251017-213512-5169d812" // six completed agents
	taskWorking = "TASK-20251017-215604-df6a3cbd" // one working agent
	taskEmpty   = "TASK-20251018-220858-1d09b188"
)

// sandbox gives a test its own state directory and home, so that neither
// the operator's audit log nor their workspaces are touched.
func sandbox(t *testing.T) string {
	t.Helper()
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLAUDE_ORCHESTRATOR_WORKSPACE", "")
	t.Setenv("NO_COLOR", "")
	// The default tmux server is the operator's: point it somewhere empty.
	t.Setenv("TMUX_TMPDIR", t.TempDir())
	t.Setenv("TMUX", "")
	t.Setenv("TMUX_PANE", "")
	return filepath.Join(state, "agentwatch")
}

// liveFlags starts a private tmux server on which the fixtures' one working
// agent runs (a fake claude: this test binary), so that it is alive rather
// than a ghost, and returns the flags that point agentwatch at it. The
// server and its processes end with the test.
func liveFlags(t *testing.T, base string) []string {
	t.Helper()
	live.Lock()
	defer live.Unlock()
	if f, ok := live.flags[base]; ok {
		return f
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp", "awtest-")
	if err != nil {
		t.Fatal(err)
	}
	sock := tmux.Socket{Path: filepath.Join(dir, "sock")}
	remember(dir, sock)
	if err := os.Symlink(exe, filepath.Join(dir, "claude")); err != nil {
		t.Fatal(err)
	}
	c := tmux.NewClient(sock)
	c.Config = "/dev/null"
	const id = "jsonl_architecture_planner-215640-c3f469"
	ctx := context.Background()
	err = c.NewSession(ctx, tmux.NewSessionRequest{Name: "agent_" + id, Dir: dir,
		Command: []string{filepath.Join(dir, "claude"), "--scene", dir, "--role", "agent:" + id, "--agent-id", id}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		live.Lock()
		delete(live.flags, base)
		live.Unlock()
		if err := demo.Teardown(context.Background(), dir, sock); err != nil {
			t.Errorf("tear down %s: %v", dir, err)
		}
	})
	// Wait for the fake claude to run, so that the scan finds it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if entries, _ := os.ReadDir(filepath.Join(dir, "pids")); len(entries) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the fixture's working agent did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	f := []string{"--tmux-socket-path", sock.Path}
	live.flags[base] = f
	return f
}

var live = struct {
	sync.Mutex
	flags map[string][]string
}{flags: map[string][]string{}}

// copyFixtures copies the real registries into a fresh workspace base.
func copyFixtures(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Fatalf("the fixtures are missing from the repository: %v", err)
	}
	dst := filepath.Join(t.TempDir(), ".agent-workspace")
	err := filepath.WalkDir(fixtureDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(fixtureDir, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy fixtures: %v", err)
	}
	return dst
}

type result struct {
	code           int
	stdout, stderr string
}

// agentwatch runs one command line in-process, with no terminal.
func agentwatch(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := run(ctx, args, strings.NewReader(""), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// python runs a python3 snippet that edits registries the way the
// orchestrator does: json.load, change, json.dumps(obj, indent=2) in place.
func python(t *testing.T, script string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed; it is the oracle for the registry format")
	}
	pre := "import json, sys\n" +
		"def load(p):\n    with open(p) as f: return json.load(f)\n" +
		"def save(p, o):\n    with open(p, 'r+') as f:\n        f.write(json.dumps(o, indent=2)); f.truncate()\n"
	cmd := exec.Command("python3", append([]string{"-c", pre + script}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	return string(out)
}

type fileState struct {
	data  []byte
	mtime time.Time
}

func snapshotFiles(t *testing.T, base string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		out[p] = fileState{data: data, mtime: info.ModTime()}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFixturesAreHealthyAndRepairWritesNothing(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	before := snapshotFiles(t, base)
	// Let an mtime change be visible even on coarse file systems.
	time.Sleep(20 * time.Millisecond)

	if r := agentwatch(t, append([]string{"check", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
		t.Fatalf("check exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := agentwatch(t, append([]string{"repair", "--workspace", base, "--yes", "--json"}, liveFlags(t, base)...)...)
	if r.code != 0 {
		t.Fatalf("repair exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res repairJSON
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("repair --json: %v\n%s", err, r.stdout)
	}
	if len(res.Applied)+len(res.Skipped)+len(res.Failed) != 0 {
		t.Errorf("repair on healthy fixtures did something: %s", r.stdout)
	}
	after := snapshotFiles(t, base)
	if len(after) != len(before) {
		t.Errorf("got %d files after repair, want %d (no journal or new file may remain)", len(after), len(before))
	}
	for p, b := range before {
		a := after[p]
		if !bytes.Equal(a.data, b.data) || !a.mtime.Equal(b.mtime) {
			t.Errorf("%s changed: bytes equal %v, mtime %v → %v", p, bytes.Equal(a.data, b.data), b.mtime, a.mtime)
		}
	}
}

type checkOut struct {
	Healthy    bool                `json:"healthy"`
	Summary    map[string]int      `json:"summary"`
	Workspaces []map[string]string `json:"workspaces"`
	Servers    []map[string]any    `json:"servers"`
	Agents     []map[string]any    `json:"agents"`
	Registries []map[string]any    `json:"registries"`
	Sessions   []any               `json:"sessions"`
	Processes  []any               `json:"processes"`
	Findings   []map[string]any    `json:"findings"`
}

func checkJSONOf(t *testing.T, base string) (checkOut, int) {
	t.Helper()
	return checkJSONArgs(t, append([]string{"check", "--json", "--workspace", base}, liveFlags(t, base)...)...)
}

func checkJSONArgs(t *testing.T, args ...string) (checkOut, int) {
	t.Helper()
	r := agentwatch(t, args...)
	var out checkOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("check --json (exit %d): %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	// Not a terminal: one compact line, for programs.
	if strings.Count(r.stdout, "\n") != 1 || !strings.HasSuffix(r.stdout, "}\n") {
		t.Errorf("check --json to a pipe: got %d lines, want one compact line", strings.Count(r.stdout, "\n"))
	}
	return out, r.code
}

func findingLines(fs []map[string]any) []string {
	var out []string
	for _, f := range fs {
		b, _ := json.Marshal(f)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

// damage breaks copies of the fixtures the way the field report describes:
// an inflated active_count and total_agents_spawned, a duplicated agent and a
// global status that disagrees with its task.
func damage(t *testing.T, base string) {
	t.Helper()
	python(t, `
base = sys.argv[1]
t = base + '/TASK-20251017-215604-df6a3cbd/AGENT_REGISTRY.json'
o = load(t); o['active_count'] = 15; save(t, o)
t = base + '/TASK-20251017-213512-5169d812/AGENT_REGISTRY.json'
o = load(t)
dup = dict(o['agents'][1]); dup['last_update'] = '2025-10-17T21:36:00.000001'; dup['note'] = 'from the copy'
o['agents'].append(dup); save(t, o)
g = base + '/registry/GLOBAL_REGISTRY.json'
o = load(g); o['total_agents_spawned'] = 95; o['agents']['code_auditor-213536-71587d']['status'] = 'working'; save(g, o)
`, base)
}

func TestRepairCountersOnDamagedFixtures(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	damage(t, base)
	g := filepath.Join(base, "registry", "GLOBAL_REGISTRY.json")
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	td := filepath.Join(base, taskDone, "AGENT_REGISTRY.json")
	dupID := "architecture_analyzer-213538-2fff2c"

	out, code := checkJSONOf(t, base)
	if code != 1 || out.Healthy {
		t.Fatalf("check: exit %d healthy %v, want exit 1 and not healthy", code, out.Healthy)
	}
	want := []string{
		fmt.Sprintf(`{"actual":1,"field":"active_count","kind":"drift","recorded":15,"registry":%q}`, tw),
		fmt.Sprintf(`{"actual":27,"field":"total_agents_spawned","kind":"drift","recorded":95,"registry":%q}`, g),
		fmt.Sprintf(`{"actual":2,"field":"active_agents","kind":"drift","recorded":1,"registry":%q}`, g),
		fmt.Sprintf(`{"actual":7,"field":"completed_count","kind":"drift","recorded":6,"registry":%q}`, td),
		fmt.Sprintf(`{"agent_id":%q,"count":2,"kind":"duplicate","registry":%q}`, dupID, td),
		fmt.Sprintf(`{"agent_id":"code_auditor-213536-71587d","global_registry":%q,"global_status":"working","kind":"divergent","task_registry":%q,"task_status":"completed"}`,
			g, filepath.Join(base, taskDone, "AGENT_REGISTRY.json")),
		// Alive (liveFlags runs it) but silent since 2025: a warning.
		`{"agent_id":"jsonl_architecture_planner-215640-c3f469","kind":"stale","last_update":"2025-10-17T21:57:50.252741"}`,
	}
	slices.Sort(want)
	if got := findingLines(out.Findings); !slices.Equal(got, want) {
		t.Errorf("findings:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if out.Summary["drift"] != 4 || out.Summary["duplicate"] != 1 || out.Summary["divergent"] != 1 || out.Summary["ghost"] != 0 {
		t.Errorf("summary = %v", out.Summary)
	}

	// The plan: exactly the fixes of the counter table and the sync rules.
	// The completed_count and active_agents drifts vanish with the dedupe
	// and the sync, so they are not recounted.
	wantOps := []string{
		fmt.Sprintf("dedupe %s %s  2→1", td, dupID),
		fmt.Sprintf("recount %s  active_count 15→1", tw),
		fmt.Sprintf(`sync %s code_auditor-213536-71587d status "working"→"completed"`, g),
		fmt.Sprintf("recount %s  total_agents_spawned 95→27", g),
	}
	before := snapshotFiles(t, base)
	r := agentwatch(t, append([]string{"repair", "--dry-run", "--json", "--workspace", base}, liveFlags(t, base)...)...)
	if r.code != 0 {
		t.Fatalf("repair --dry-run exit %d\n%s", r.code, r.stderr)
	}
	var planned repairJSON
	if err := json.Unmarshal([]byte(r.stdout), &planned); err != nil {
		t.Fatal(err)
	}
	if got := opLines(planned.Planned); !slices.Equal(got, wantOps) {
		t.Errorf("planned:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(wantOps, "\n     "))
	}
	for p, st := range snapshotFiles(t, base) {
		if !bytes.Equal(st.data, before[p].data) {
			t.Errorf("dry run wrote %s", p)
		}
	}

	r = agentwatch(t, append([]string{"repair", "--yes", "--json", "--workspace", base}, liveFlags(t, base)...)...)
	if r.code != 0 {
		t.Fatalf("repair --yes exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res repairJSON
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	var applied []string
	for _, it := range res.Applied {
		applied = append(applied, opLine2(it.Op.Op, it.Registry, it.AgentID, it.Field, it.Old, it.New))
	}
	if !slices.Equal(applied, wantOps) || len(res.Skipped)+len(res.Failed) != 0 {
		t.Errorf("applied:\ngot  %s\nwant %s\nskipped %v failed %v", strings.Join(applied, "\n     "), strings.Join(wantOps, "\n     "), res.Skipped, res.Failed)
	}

	// Exactly those changes and nothing else: every file equals the
	// pristine fixture, except the deduplicated entry, which gained the
	// field only its copy had — as python3 itself writes that document.
	pristine := copyFixtures(t)
	python(t, `
p = sys.argv[1] + '/TASK-20251017-213512-5169d812/AGENT_REGISTRY.json'
o = load(p); o['agents'][1]['note'] = 'from the copy'; save(p, o)
`, pristine)
	for p, st := range snapshotFiles(t, base) {
		rel, _ := filepath.Rel(base, p)
		want, err := os.ReadFile(filepath.Join(pristine, rel))
		if err != nil {
			t.Errorf("%s: %v (a file agentwatch should not have left)", rel, err)
			continue
		}
		if !bytes.Equal(st.data, want) {
			t.Errorf("%s after repair differs from the expected document", rel)
		}
	}
	if out, code := checkJSONOf(t, base); code != 0 || !out.Healthy {
		t.Errorf("check after repair: exit %d, findings %v", code, findingLines(out.Findings))
	}

	// And undo puts back the damaged bytes exactly.
	r = agentwatch(t, "undo", "--yes")
	if r.code != 0 {
		t.Fatalf("undo exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for p, st := range snapshotFiles(t, base) {
		if !bytes.Equal(st.data, before[p].data) {
			t.Errorf("after undo %s is not as it was before the repair", p)
		}
	}
}

func opLine2(op any, registry, agent, field string, old, new json.RawMessage) string {
	return fmt.Sprintf("%s %s %s %s %s→%s", op, registry, agent, field, old, new)
}

func opLines(ops []reconcile.Op) []string {
	var out []string
	for _, op := range ops {
		out = append(out, opLine2(op.Op, op.Registry, op.AgentID, op.Field, op.Old, op.New))
	}
	return out
}

// forgetFields rewrites the audit log as agentwatch wrote it before it
// recorded the fields each action changed: undo then falls back to putting
// whole files back.
func forgetFields(t *testing.T, state string) {
	t.Helper()
	path := filepath.Join(state, "audit.jsonl")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var e map[string]any
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		regs, _ := e["registries"].([]any)
		for _, r := range regs {
			delete(r.(map[string]any), "fields")
		}
		b, _ := json.Marshal(e)
		out = append(append(out, b...), '\n')
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestUndoOfAnOldEntryRefusesWhatChangedSince(t *testing.T) {
	state := sandbox(t)
	base := copyFixtures(t)
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	python(t, `o = load(sys.argv[1]); o['active_count'] = 9; save(sys.argv[1], o)`, tw)
	damaged, _ := os.ReadFile(tw)

	if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
		t.Fatalf("repair exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	forgetFields(t, state) // an entry written before fields were recorded
	// An orchestrator writer changes the file after the repair.
	python(t, `o = load(sys.argv[1]); o['priority'] = 'P0'; save(sys.argv[1], o)`, tw)
	changed, _ := os.ReadFile(tw)

	r := agentwatch(t, "undo", "--yes")
	if r.code != 1 || !strings.Contains(r.stdout, "changed since by someone else") {
		t.Fatalf("undo of a file changed since: exit %d, want 1 and a refusal\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(tw); !bytes.Equal(got, changed) {
		t.Fatal("a refused undo wrote the file")
	}
	if r := agentwatch(t, "undo", "--yes", "--force"); r.code != 0 {
		t.Fatalf("undo --force exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(tw); !bytes.Equal(got, damaged) {
		t.Fatal("undo --force did not put back the bytes from before the repair")
	}
	// The undo is itself undoable: undoing it brings the writer's change back.
	if r := agentwatch(t, "undo", "--yes"); r.code != 0 {
		t.Fatalf("undo of the undo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(tw); !bytes.Equal(got, changed) {
		t.Fatal("undoing the undo did not bring back the bytes it replaced")
	}
	// Every write is in the audit log: repair, refused undo, undo, undo.
	lines := auditActions(t, state)
	if want := []string{"repair:ok", "undo:failed", "undo:ok", "undo:ok"}; !slices.Equal(lines, want) {
		t.Errorf("audit log actions = %v, want %v", lines, want)
	}
}

func auditActions(t *testing.T, state string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(state, "audit.jsonl"))
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct{ Action, Result string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, e.Action+":"+e.Result)
	}
	return out
}

func TestCorruptRegistries(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(orig []byte) []byte
		// wantPos is the line and column check reports.
		wantPos string
		// mendable says restore can mend it without a backup.
		mendable bool
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, "", false},
		{"trailing garbage", func(b []byte) []byte { return append(b, []byte("\n  }\n}")...) }, "line 32 column 3", true},
		{"longer earlier version left behind", func(b []byte) []byte {
			return append(b[:len(b):len(b)], b[len(b)-200:]...)
		}, "line 31 column 2", true},
		{"empty", func([]byte) []byte { return nil }, "line 1 column 1", false},
		{"not JSON at all", func([]byte) []byte { return []byte("<html>502 Bad Gateway</html>\n") }, "line 1 column 1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sandbox(t)
			base := copyFixtures(t)
			path := filepath.Join(base, taskEmpty, "AGENT_REGISTRY.json")
			orig, _ := os.ReadFile(path)
			bad := tt.corrupt(orig)
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			out, code := checkJSONOf(t, base)
			if code != 1 || out.Summary["corrupt"] != 1 {
				t.Fatalf("check: exit %d summary %v, want exit 1 and one corrupt", code, out.Summary)
			}
			var f map[string]any
			for _, x := range out.Findings {
				if x["kind"] == "corrupt" {
					f = x
				}
			}
			msg, _ := f["error"].(string)
			if f["registry"] != path || !regexp.MustCompile(`line \d+ column \d+`).MatchString(msg) || !strings.Contains(msg, tt.wantPos) {
				t.Errorf("corrupt finding = %v, want registry %s and an error with %q", f, path, tt.wantPos)
			}

			if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
				t.Errorf("repair exit %d, want 0 (nothing it may touch)\n%s%s", r.code, r.stdout, r.stderr)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, bad) {
				t.Fatal("repair wrote a corrupt registry")
			}

			r := agentwatch(t, "restore", "--registry", path, "--yes")
			if !tt.mendable {
				if r.code != 2 || !strings.Contains(r.stderr, "nothing can mend it automatically") {
					t.Errorf("restore of an unmendable file: exit %d, want 2 and a plain refusal\n%s%s", r.code, r.stdout, r.stderr)
				}
				if got, _ := os.ReadFile(path); !bytes.Equal(got, bad) {
					t.Fatal("a failed restore wrote the file")
				}
				return
			}
			if r.code != 0 || !strings.Contains(r.stdout, "salvage") || !strings.Contains(r.stdout, "@@") {
				t.Fatalf("restore: exit %d, want 0 with a salvage diff\n%s%s", r.code, r.stdout, r.stderr)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, orig) {
				t.Errorf("restored file is not the complete document:\n%s", got)
			}
			// The corrupt bytes are kept in the backups, and undo says where
			// rather than write them back.
			r = agentwatch(t, "undo", "--yes")
			m := regexp.MustCompile(`kept in (\S+),`).FindStringSubmatch(r.stdout)
			if r.code != 1 || m == nil {
				t.Fatalf("undo of restore: exit %d, want 1 naming the backup\n%s%s", r.code, r.stdout, r.stderr)
			}
			if kept, err := os.ReadFile(m[1]); err != nil || !bytes.Equal(kept, bad) {
				t.Errorf("the backup %s does not hold the corrupt bytes (%v)", m[1], err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, orig) {
				t.Error("the refused undo wrote the file")
			}
		})
	}
}

func TestRestoreFromBackup(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	path := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	python(t, `o = load(sys.argv[1]); o['active_count'] = 4; save(sys.argv[1], o)`, path)
	damaged, _ := os.ReadFile(path)
	if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
		t.Fatalf("repair exit %d\n%s", r.code, r.stderr)
	}
	// An unlocked writer dies mid-write: half a file.
	repaired, _ := os.ReadFile(path)
	if err := os.WriteFile(path, repaired[:len(repaired)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	r := agentwatch(t, "restore", "--registry", path, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "from backup") {
		t.Fatalf("restore: exit %d, want 0 from a backup\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The newest backup that parses is the one the repair took: the bytes
	// from before the repair.
	if got, _ := os.ReadFile(path); !bytes.Equal(got, damaged) {
		t.Errorf("restored bytes are not the newest parseable backup")
	}
}

func TestLockHeldByPython(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	path := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	python(t, `o = load(sys.argv[1]); o['active_count'] = 4; save(sys.argv[1], o)`, path)
	liveFlags(t, base) // started for the whole test, not a subtest

	t.Run("past --lock-timeout: exit 75 naming the holder", func(t *testing.T) {
		holder := holdLock(t, path)
		start := time.Now()
		r := agentwatch(t, append([]string{"repair", "--yes", "--lock-timeout", "700ms", "--workspace", base}, liveFlags(t, base)...)...)
		waited := time.Since(start)
		if r.code != 75 {
			t.Fatalf("exit %d, want 75\n%s%s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout+r.stderr, fmt.Sprintf("PID %d", holder.Process.Pid)) {
			t.Errorf("output does not name PID %d:\n%s%s", holder.Process.Pid, r.stdout, r.stderr)
		}
		if waited < 700*time.Millisecond {
			t.Errorf("gave up after %v, want it to wait the lock timeout", waited)
		}
		if got, _ := os.ReadFile(path); !strings.Contains(string(got), `"active_count": 4`) {
			t.Error("the registry was written without the lock")
		}
	})
	t.Run("check past --lock-timeout: exit 75, the JSON marks it, one wait", func(t *testing.T) {
		holdLock(t, path)
		start := time.Now()
		r := agentwatch(t, append([]string{"check", "--json", "--lock-timeout", "2s", "--workspace", base}, liveFlags(t, base)...)...)
		waited := time.Since(start)
		if r.code != 75 {
			t.Fatalf("exit %d, want 75\n%s%s", r.code, r.stdout, r.stderr)
		}
		var out struct {
			Healthy    bool `json:"healthy"`
			Registries []struct {
				Path   string `json:"path"`
				Locked bool   `json:"locked"`
			} `json:"registries"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("stdout is not the JSON: %v\n%s", err, r.stdout)
		}
		found := false
		for _, reg := range out.Registries {
			if reg.Locked != (reg.Path == path) {
				t.Errorf("registry %s: got locked %v", reg.Path, reg.Locked)
			}
			found = found || reg.Path == path
		}
		if !found || out.Healthy {
			t.Errorf("got registries %+v healthy %v, want %s listed as locked and not healthy", out.Registries, out.Healthy, path)
		}
		if waited >= 4*time.Second {
			t.Errorf("check took %v with a 2s lock timeout, want one wait, not two", waited)
		}
	})
	t.Run("released in time: agentwatch waits and repairs", func(t *testing.T) {
		holder := holdLock(t, path)
		go func() {
			time.Sleep(500 * time.Millisecond)
			holder.release()
		}()
		start := time.Now()
		r := agentwatch(t, append([]string{"repair", "--yes", "--lock-timeout", "10s", "--workspace", base}, liveFlags(t, base)...)...)
		if r.code != 0 {
			t.Fatalf("exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
		}
		if waited := time.Since(start); waited < 400*time.Millisecond {
			t.Errorf("repair finished after %v while the lock was held for 500ms", waited)
		}
		if got, _ := os.ReadFile(path); !strings.Contains(string(got), `"active_count": 1`) {
			t.Error("the repair did not land")
		}
	})
}

type lockHolder struct {
	*exec.Cmd
	release func()
}

// holdLock starts python3 holding flock(LOCK_EX) on path, as the
// orchestrator's locking writers do, until released or the test ends.
func holdLock(t *testing.T, path string) *lockHolder {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	cmd := exec.Command("python3", "registry/testdata/hold.py", path, "ex")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	h := &lockHolder{Cmd: cmd}
	var once bool
	h.release = func() {
		if !once {
			once = true
			stdin.Close()
		}
	}
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("lock holder said %q, %v", line, err)
	}
	return h
}

func TestCommandLineErrors(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	empty := t.TempDir()
	t.Chdir(empty)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown flag", []string{"check", "--bogus"}, 2, "unknown flag: --bogus"},
		{"a mistyped command", []string{"chek"}, 2, `unknown command "chek" for "agentwatch" (did you mean check?); see 'agentwatch --help'`},
		{"no workspace anywhere", []string{"check"}, 2, "agentwatch demo"},
		{"missing --workspace", []string{"check", "--workspace", filepath.Join(empty, "nope")}, 2, "does not exist"},
		{"repair without a terminal or --yes", append([]string{"repair", "--workspace", base}, liveFlags(t, base)...), 0, ""},
		{"readonly refuses repair", []string{"repair", "--readonly", "--yes", "--workspace", base}, 2, "--readonly"},
		{"readonly refuses undo", []string{"undo", "--readonly"}, 2, "--readonly"},
		{"restore needs --registry", []string{"restore"}, 2, `"registry" not set`},
		{"restore of a missing file", []string{"restore", "--registry", filepath.Join(empty, "x.json"), "--yes"}, 2, "does not exist"},
		{"nothing to undo", []string{"undo", "--yes"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := agentwatch(t, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
	t.Run("repair with findings and no terminal refuses", func(t *testing.T) {
		tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
		python(t, `o = load(sys.argv[1]); o['active_count'] = 4; save(sys.argv[1], o)`, tw)
		before, _ := os.ReadFile(tw)
		r := agentwatch(t, append([]string{"repair", "--workspace", base}, liveFlags(t, base)...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "--yes") {
			t.Errorf("exit %d, stderr %q; want 2 and a hint to use --yes", r.code, r.stderr)
		}
		if got, _ := os.ReadFile(tw); !bytes.Equal(got, before) {
			t.Error("repair wrote without confirmation")
		}
	})
}

func TestUndoOfAnOldEntryIsAllOrNothing(t *testing.T) {
	state := sandbox(t)
	base := copyFixtures(t)
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	g := filepath.Join(base, "registry", "GLOBAL_REGISTRY.json")
	python(t, `o = load(sys.argv[1]); o['active_count'] = 9; save(sys.argv[1], o)`, tw)
	python(t, `o = load(sys.argv[1]); o['total_tasks'] = 9; save(sys.argv[1], o)`, g)
	damagedT, _ := os.ReadFile(tw)
	damagedG, _ := os.ReadFile(g)
	if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
		t.Fatalf("repair exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	forgetFields(t, state) // an entry written before fields were recorded
	repairedT, _ := os.ReadFile(tw)
	python(t, `o = load(sys.argv[1]); o['max_concurrent_agents'] = 21; save(sys.argv[1], o)`, g)
	changedG, _ := os.ReadFile(g)

	r := agentwatch(t, "undo", "--yes")
	if r.code != 1 {
		t.Fatalf("undo with one file changed since: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(tw); !bytes.Equal(got, repairedT) {
		t.Error("a refused undo put back the other file anyway")
	}
	if got, _ := os.ReadFile(g); !bytes.Equal(got, changedG) {
		t.Error("a refused undo wrote the file that changed since")
	}
	// The advice it gives does what it says: --force puts both back.
	if r := agentwatch(t, "undo", "--yes", "--force"); r.code != 0 {
		t.Fatalf("undo --force exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(tw); !bytes.Equal(got, damagedT) {
		t.Error("undo --force did not put back the task registry")
	}
	if got, _ := os.ReadFile(g); !bytes.Equal(got, damagedG) {
		t.Error("undo --force did not put back the global registry")
	}
}

func TestLogShowsTheAuditLog(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	if r := agentwatch(t, "log"); r.code != 0 || !strings.Contains(r.stdout, "is empty") {
		t.Fatalf("log of an empty audit log: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	for i := 0; i < 3; i++ {
		python(t, fmt.Sprintf(`o = load(sys.argv[1]); o['active_count'] = %d; save(sys.argv[1], o)`, 5+i), tw)
		if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
			t.Fatalf("repair: exit %d\n%s", r.code, r.stderr)
		}
	}
	r := agentwatch(t, "log", "--json", "-n", "2")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 {
		t.Fatalf("log --json -n 2: exit %d, %d lines\n%s", r.code, len(lines), r.stdout)
	}
	for _, l := range lines {
		var e struct {
			Action, Result string
			Registries     []struct{ Path, Before, After string }
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Action != "repair" || e.Result != "ok" || len(e.Registries) != 1 || e.Registries[0].Path != tw {
			t.Errorf("entry %s: %+v %v", l, e, err)
		}
	}
	// A person's log: one short line per action, the registry named by its
	// task directory and file, never by its full path.
	r = agentwatch(t, "log")
	lines = strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 3 {
		t.Fatalf("log: exit %d, %d lines, want 3\n%s", r.code, len(lines), r.stdout)
	}
	short := taskWorking + "/AGENT_REGISTRY.json"
	for _, l := range lines {
		if !strings.Contains(l, " repair ") || !strings.Contains(l, " ok ") || !strings.Contains(l, short) || strings.Contains(l, tw) || len(l) > 160 {
			t.Errorf("log line %q: want the action, its result and %s, not the full path, in under 160 bytes", l, short)
		}
	}
	if r := agentwatch(t, "log", "--help"); !strings.Contains(r.stdout, "JSON Lines") {
		t.Errorf("log --help does not say that --json prints JSON Lines:\n%s", r.stdout)
	}
}

func TestRestoreNeverSalvagesANonRegistry(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	path := filepath.Join(base, taskEmpty, "AGENT_REGISTRY.json")
	orig, _ := os.ReadFile(path)
	bad := append([]byte("0"), orig[1:]...) // a lone 0 where the object began
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	r := agentwatch(t, "restore", "--registry", path, "--yes")
	if r.code != 2 || !strings.Contains(r.stderr, "not a registry") {
		t.Errorf("restore: exit %d, want 2 saying the salvage is not a registry\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, bad) {
		t.Error("restore wrote the file")
	}
}

func TestEverySubcommandOfTheContractExists(t *testing.T) {
	sandbox(t)
	for _, c := range []string{"watch", "check", "repair", "kill", "undo", "restore", "demo", "log", "metrics"} {
		r := agentwatch(t, c, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "agentwatch "+c) {
			t.Errorf("agentwatch %s --help: exit %d\n%s%s", c, r.code, r.stdout, r.stderr)
		}
	}
	if r := agentwatch(t, "--version"); r.code != 0 || !strings.Contains(r.stdout, "agentwatch") {
		t.Errorf("--version: exit %d %q", r.code, r.stdout)
	}
}

func TestFlagValuesAreChecked(t *testing.T) {
	sandbox(t)
	for _, args := range [][]string{
		{"check", "--grace", "-5s"},
		{"check", "--stale", "0s"},
		{"check", "--active-statuses", "running", "--terminal-statuses", "running"},
		{"log", "-n", "-3"},
		{"metrics", "--interval", "0s"},
		{"watch", "--interval", "0s"},
	} {
		if r := agentwatch(t, args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a reason", args, r.code, r.stderr)
		}
	}
}

func TestCheckSuggestsCommandsThatRunAsPrinted(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	python(t, `o = load(sys.argv[1]); o['active_count'] = 9; save(sys.argv[1], o)`, tw)
	empty := filepath.Join(base, taskEmpty, "AGENT_REGISTRY.json")
	if err := os.WriteFile(empty, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := liveFlags(t, base)
	r := agentwatch(t, append([]string{"check", "--workspace", base}, flags...)...)
	want := []string{
		"agentwatch restore --registry " + empty,
		"agentwatch repair --dry-run --workspace " + base + " --tmux-socket-path " + flags[1],
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("check output lacks %q:\n%s", w, r.stdout)
		}
	}
}

func TestCheckWarnsOfAGivenServerThatIsNotRunning(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	missing := filepath.Join(t.TempDir(), "no-such-socket")
	r := agentwatch(t, "check", "--workspace", base, "--tmux-socket-path", missing)
	if want := "tmux -S " + missing + "  (given): no server running — if agents should be running on it, check the socket"; !strings.Contains(r.stdout, want) {
		t.Errorf("check output lacks %q:\n%s", want, r.stdout)
	}
}

// TestHelpDescribesTheWholeTool: `agentwatch --help` describes, before its
// list of commands, every subcommand and both registry eras.
func TestHelpDescribesTheWholeTool(t *testing.T) {
	sandbox(t)
	r := agentwatch(t, "--help")
	about, _, _ := strings.Cut(r.stdout, "Usage:")
	for _, want := range []string{"watch", "check", "repair", "kill", "undo", "restore", "log", "metrics", "demo",
		"GLOBAL_REGISTRY.json", "AGENT_REGISTRY.json", "state.sqlite3", "tmux", "claude"} {
		if !strings.Contains(about, want) {
			t.Errorf("--help's description does not mention %q:\n%s", want, about)
		}
	}
}
