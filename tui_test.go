package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"agentwatch/demo"
	"agentwatch/tmux"
)

// screen is the real agentwatch TUI (this test binary run as agentwatch) in
// a pane of a private tmux server, driven by send-keys and read by
// capture-pane only.
type screen struct {
	t    *testing.T
	tmux *tmux.Client
}

func openScreen(t *testing.T, s *demo.Scene, state string, args ...string) *screen {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp", "awtui-")
	if err != nil {
		t.Fatal(err)
	}
	sock := tmux.Socket{Path: filepath.Join(dir, "sock")}
	remember(dir, sock)
	c := tmux.NewClient(sock)
	c.Config = "/dev/null"
	cmd := append([]string{exe}, append(append(s.Flags(), "--grace", "1s"), args...)...)
	err = c.NewSession(context.Background(), tmux.NewSessionRequest{Name: "tui", Dir: dir, Width: 160, Height: 45,
		Env:     map[string]string{"AGENTWATCH_TEST_AS_MAIN": "1", "XDG_STATE_HOME": state, "TMUX_TMPDIR": dir, "TERM": "xterm-256color"},
		Command: cmd})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := demo.Teardown(context.Background(), dir, sock); err != nil {
			t.Errorf("tear down %s: %v", dir, err)
		}
	})
	sc := &screen{t: t, tmux: c}
	sc.waitFor("the first scan", 15*time.Second, func(v string) bool { return strings.Contains(v, "scanned ") })
	return sc
}

func (s *screen) view() string {
	s.t.Helper()
	v, err := s.tmux.CapturePane(context.Background(), tmux.SessionTarget("tui"))
	if err != nil {
		s.t.Fatalf("capture-pane: %v", err)
	}
	return v
}

func (s *screen) keys(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		if err := s.tmux.SendKeys(context.Background(), tmux.SessionTarget("tui"), k); err != nil {
			s.t.Fatalf("send-keys %q: %v", k, err)
		}
		time.Sleep(60 * time.Millisecond)
	}
}

// waitFor polls the screen until ok, and returns how long it took.
func (s *screen) waitFor(what string, limit time.Duration, ok func(string) bool) time.Duration {
	s.t.Helper()
	start := time.Now()
	var v string
	for time.Since(start) < limit {
		if v = s.view(); ok(v) {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("waited %v for %s; the screen shows:\n%s", limit, what, v)
	return 0
}

// tail is the end of an agent id: the screen shortens long ids in the
// middle, and their last six hex digits tell them apart.
func tail(id string) string { return id[len(id)-6:] }

// line returns the screen line that holds text, or "".
func line(view, text string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, text) {
			return l
		}
	}
	return ""
}

func TestTUIRepairsFromTheKeyboard(t *testing.T) {
	state := sandbox(t)
	s := buildScene(t)
	sc := openScreen(t, s, filepath.Dir(state))
	sc.waitFor("the ghosts", 15*time.Second, func(v string) bool {
		return strings.Contains(line(v, tail(s.Cast.Ghost)), "ghost") && strings.Contains(line(v, tail(s.Cast.GhostDone)), "ghost")
	})

	// Move to a ghost and mark it terminated: filter to it, t, confirm.
	sc.keys("/")
	sc.keys(strings.Split(tail(s.Cast.Ghost), "")...)
	sc.keys("Enter", "g", "t")
	sc.waitFor("the mark dialog", 5*time.Second, func(v string) bool { return strings.Contains(v, "Cancel") })
	sc.keys("Tab", "Enter")
	sc.waitFor("the ghost marked terminated", 10*time.Second, func(v string) bool {
		return strings.Contains(line(v, tail(s.Cast.Ghost)), "done") && strings.Contains(line(v, tail(s.Cast.Ghost)), "terminated")
	})
	sc.keys("Escape") // clear the filter

	// The whole repair plan: preview, confirm.
	sc.keys("R")
	sc.waitFor("the repair preview", 5*time.Second, func(v string) bool { return strings.Contains(v, "Cancel") })
	sc.keys("Tab", "Enter")
	sc.waitFor("the completed ghost", 10*time.Second, func(v string) bool {
		return strings.Contains(line(v, tail(s.Cast.GhostDone)), "done") && strings.Contains(line(v, tail(s.Cast.GhostDone)), "completed")
	})

	// Kill the leaked session from the dialog: Tmux pane, select it, x.
	leaked := rolePIDs(t, s, "agent:"+s.Cast.Finished)
	sc.keys("Tab", "/")
	sc.keys(strings.Split(tail(s.Cast.Finished), "")...)
	sc.keys("Enter", "g", "x")
	sc.waitFor("the kill dialog", 5*time.Second, func(v string) bool {
		return strings.Contains(v, "SIGTERM") && strings.Contains(v, "Cancel")
	})
	sc.keys("Tab", "Enter")
	sc.waitFor("the leaked session gone", 15*time.Second, func(v string) bool {
		// Sessions of other servers on a shared machine carry "#N";
		// this scene's server is the one given, #1 or unnumbered.
		for _, l := range strings.Split(v, "\n") {
			if strings.Contains(l, "agent_bug_f") && !strings.HasPrefix(l, "▶ session") &&
				(!strings.Contains(l, "#") || strings.Contains(l, "#1 ")) {
				return false
			}
		}
		return strings.Contains(v, "kill")
	})
	sc.keys("Escape")
	sc.waitFor("the finished agent done", 10*time.Second, func(v string) bool {
		return strings.Contains(line(v, tail(s.Cast.Finished)), "done")
	})

	// The registry holds the change; the leaked processes are gone.
	data, err := os.ReadFile(filepath.Join(s.Base, demo.TaskMain, "AGENT_REGISTRY.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"termination_reason": "session_not_found"`) {
		t.Error("the task registry does not hold the ghost's termination")
	}
	for _, pid := range leaked {
		if alive(pid) {
			t.Errorf("leaked PID %d still runs", pid)
		}
	}
}

func TestTUIAnswersWhileALockIsHeld(t *testing.T) {
	state := sandbox(t)
	s := buildScene(t)
	sc := openScreen(t, s, filepath.Dir(state), "--interval", "500ms")

	// A python3 writer holds the global registry's lock for 10 s.
	global := filepath.Join(s.Base, "registry", "GLOBAL_REGISTRY.json")
	holder := exec.Command("python3", "-c", `
import fcntl, sys, time
with open(sys.argv[1], 'r+') as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    print('locked', flush=True)
    time.sleep(10)
`, global)
	out, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	if l, _ := bufio.NewReader(out).ReadString('\n'); strings.TrimSpace(l) != "locked" {
		t.Fatalf("holder said %q", l)
	}
	sc.waitFor("the lock badge naming the holder", 5*time.Second, func(v string) bool {
		return strings.Contains(v, fmt.Sprintf("PID %d", holder.Process.Pid))
	})
	// A keypress shows at once, lock or no lock.
	for i, k := range []string{"?", "Escape", "?"} {
		want := i%2 == 0
		sc.keys(k)
		took := sc.waitFor("the key "+k, 2*time.Second, func(v string) bool { return strings.Contains(v, "In a dialog:") == want })
		if took > 200*time.Millisecond {
			t.Errorf("key %q showed after %v while the lock was held; want within 200ms", k, took)
		}
	}
}
