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
