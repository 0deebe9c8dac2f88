package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"agentwatch/demo"
	"agentwatch/tmux"
)

// hostile carries the sequences an attacker would plant: a window title
// (OSC 0), a screen clear (CSI), a clipboard write (OSC 52), a return that
// overwrites the line, a C1 CSI and a bidirectional override.
const hostile = "\x1b]0;pwned\x07\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07\r\u009b31m\u202e"

// assertSafe fails when out holds a byte that a terminal would act on.
func assertSafe(t *testing.T, what, out string) {
	t.Helper()
	for _, bad := range []string{"\x1b", "\x07", "\x9b", "\r", "\u202e"} {
		if i := strings.Index(out, bad); i >= 0 {
			lo, hi := max(0, i-40), min(len(out), i+40)
			t.Errorf("%s: %q reaches the terminal, near %q", what, bad, out[lo:hi])
		}
	}
}

// hostileProcess starts python3 with a hostile argv[0] and comm, and ends
// it with the test. It returns its PID.
func hostileProcess(t *testing.T) int {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	script := `import ctypes, sys
ctypes.CDLL(None).prctl(15, b'\x1b[2J\x9b\x07claude', 0, 0, 0)
sys.stdout.write('ready\n'); sys.stdout.flush(); sys.stdin.read()`
	cmd := &exec.Cmd{Path: py, Args: []string{hostile + "claude", "-c", script}}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("the hostile process said %q, %v", line, err)
	}
	return cmd.Process.Pid
}

// hostileWorkspace builds a workspace base under a hostile directory name
// whose registries carry hostile agent ids, statuses and session names: a
// ghost, a divergent status, drifting counters and a corrupt task registry.
func hostileWorkspace(t *testing.T) (base, corrupt string) {
	t.Helper()
	base = filepath.Join(t.TempDir(), "ws"+hostile+"\xff", ".agent-workspace")
	const task, task2 = "TASK-20251017-215604-df6a3cbd", "TASK-20251017-213512-5169d812"
	for _, d := range []string{filepath.Join(base, "registry"), filepath.Join(base, task), filepath.Join(base, task2)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	python(t, `
base, task, evil = sys.argv[1], sys.argv[2], sys.argv[3]
ghost = 'impl' + evil + '-215640-c3f469'
odd = 'odd' + evil + '-215641-c3f46a'
def agent(i, status):
    return {'id': i, 'type': 'impl' + evil, 'tmux_session': 'agent_' + i, 'parent': 'orchestrator',
            'depth': 1, 'status': status, 'started_at': '2025-10-17T21:56:40.000001',
            'last_update': '2025-10-17T21:56:40.000001', 'progress': 0}
t = {'task_id': task, 'task_description': evil, 'created_at': '2025-10-17T21:56:04.000001',
     'status': 'INITIALIZED', 'agents': [agent(ghost, 'running'), agent(odd, 'completed')],
     'agent_hierarchy': {}, 'total_spawned': 7, 'active_count': 1, 'completed_count': 1}
g = {'created_at': '2025-10-17T21:56:04.000001', 'total_tasks': 1, 'active_tasks': 1,
     'total_agents_spawned': 2, 'active_agents': 1, 'max_concurrent_agents': 20,
     'tasks': {task: {'description': evil, 'created_at': '2025-10-17T21:56:04.000001', 'status': 'INITIALIZED'}},
     'agents': {ghost: {'task_id': task, 'type': 'impl', 'parent': 'orchestrator', 'started_at': '2025-10-17T21:56:40.000001',
                        'tmux_session': 'agent_' + ghost, 'status': 'running'},
                odd: {'task_id': task, 'type': 'impl', 'parent': 'orchestrator', 'started_at': '2025-10-17T21:56:40.000001',
                      'tmux_session': 'agent_' + odd, 'status': 'failed' + evil}}}
for p, o in ((base + '/' + task + '/AGENT_REGISTRY.json', t), (base + '/registry/GLOBAL_REGISTRY.json', g)):
    with open(p, 'w') as f: f.write(json.dumps(o, indent=2))
`, base, task, hostile)
	corrupt = filepath.Join(base, task2, "AGENT_REGISTRY.json")
	if err := os.WriteFile(corrupt, []byte("{\"task_id\": \""+hostile+"\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	return base, corrupt
}

// hostileServer starts a private tmux server whose socket path is hostile.
func hostileServer(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	dir, err := os.MkdirTemp("/tmp", "awh-")
	if err != nil {
		t.Fatal(err)
	}
	sockDir := filepath.Join(dir, "s\x1b[2J\x9b")
	if err := os.Mkdir(sockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := tmux.Socket{Path: filepath.Join(sockDir, "sock")}
	remember(dir, sock)
	c := tmux.NewClient(sock)
	c.Config = "/dev/null"
	err = c.NewSession(context.Background(), tmux.NewSessionRequest{Name: "plain", Dir: dir, Command: []string{"cat"}})
	t.Cleanup(func() {
		if err := demo.Teardown(context.Background(), dir, sock); err != nil {
			t.Errorf("tear down %s: %v", dir, err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return sock.Path
}

// TestHostileTextIsEscapedInEveryCommand: agent ids, statuses, session
// names, paths, a process's comm and the errors that quote them reach the
// terminal as readable escapes, never as the sequences themselves.
func TestHostileTextIsEscapedInEveryCommand(t *testing.T) {
	sandbox(t)
	base, corrupt := hostileWorkspace(t)
	sock := hostileServer(t)
	pid := hostileProcess(t)
	scope := []string{"--workspace", base, "--tmux-socket-path", sock}
	steps := []struct {
		name string
		args []string
	}{
		{"check", append([]string{"check"}, scope...)},
		{"repair --dry-run", append([]string{"repair", "--dry-run"}, scope...)},
		{"kill (plan, not confirmed)", append([]string{"kill", "--force", fmt.Sprint(pid)}, scope...)},
		{"kill of a hostile session name", append([]string{"kill", "agent_" + hostile}, scope...)},
		{"repair --yes", append([]string{"repair", "--yes"}, scope...)},
		{"log", []string{"log"}},
		{"undo (plan, not confirmed)", []string{"undo"}},
		{"restore", []string{"restore", "--registry", corrupt, "--yes"}},
		{"check --workspace of a missing hostile directory", []string{"check", "--workspace", base + hostile}},
	}
	for _, s := range steps {
		r := agentwatch(t, s.args...)
		out := r.stdout + r.stderr
		assertSafe(t, s.name, out)
		if !strings.Contains(out, `\x1b]0;pwned\x07`) && !strings.Contains(out, `\x1b[2J`) {
			t.Errorf("%s: the hostile text is not shown escaped:\n%s", s.name, out)
		}
		if s.name == "kill (plan, not confirmed)" && !strings.Contains(out, fmt.Sprintf("PID %d", pid)) {
			t.Errorf("%s: the plan does not name PID %d:\n%s", s.name, pid, out)
		}
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Errorf("the hostile process was killed without a confirmation: %v", err)
	}
}
