package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"agentwatch/demo"
	"agentwatch/registry"
	"agentwatch/tmux"
)

// The operator's console, for real: the TUI in a tmux pane over the demo
// scene, driven by send-keys and read by capture-pane.

// selectAgent filters the Registry pane to an agent and selects it.
func (s *screen) selectAgent(id string) {
	s.t.Helper()
	s.keys("/")
	s.keys(strings.Split(tail(id), "")...)
	s.keys("Enter", "g")
	s.waitFor("agent "+id+" selected", 10*time.Second, func(v string) bool {
		return strings.Contains(v, "▶ agent "+id)
	})
}

func TestTUIPreviewShowsPaneAndStream(t *testing.T) {
	state := sandbox(t)
	s := buildScene(t)
	sc := openScreen(t, s, filepath.Dir(state))
	id := s.Cast.Healthy1
	sc.selectAgent(id)

	sc.keys("v") // 160 columns: the preview is under the panes on request
	// The pane shows what the agent's claude printed, raw JSON; the stream
	// log is rendered for a person.
	sc.waitFor("the preview", 15*time.Second, func(v string) bool {
		return strings.Contains(v, "Preview: agent "+id) && strings.Contains(v, `{"message":{"content":"step`) &&
			strings.Contains(v, "● step")
	})
	// A tool call written to the agent's stream log, with an escape
	// sequence in it, shows rendered and escaped at the next read.
	logPath := registry.StreamLogPath(filepath.Join(s.Base, demo.TaskMain, "AGENT_REGISTRY.json"), id)
	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, `{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash","input":{"command":"echo \u001b[2Jfrom-the-test"}}]}}`)
	f.Close()
	sc.waitFor("the tool call from the stream log", 5*time.Second, func(v string) bool {
		return strings.Contains(v, `→ Bash(echo \x1b[2Jfrom-the-test)`)
	})
	// The preview follows the selection: another agent's pane replaces it.
	sc.keys("Escape")
	sc.selectAgent(s.Cast.Healthy2)
	sc.waitFor("the second agent's preview", 15*time.Second, func(v string) bool {
		return strings.Contains(v, "Preview: agent "+s.Cast.Healthy2) && strings.Contains(v, `"agent_id":"`+s.Cast.Healthy2)
	})
}

func TestTUISortFaultJumpMouseAndDrift(t *testing.T) {
	state := sandbox(t)
	s := buildScene(t)
	sc := openScreen(t, s, filepath.Dir(state))
	sc.waitFor("the ghosts", 15*time.Second, func(v string) bool {
		return strings.Contains(line(v, tail(s.Cast.Ghost)), "ghost")
	})

	// n from the top of the Registry pane lands on a fault, N goes back
	// round to the last one.
	sc.keys("g", "n")
	faults := []string{"✗ ghost", "⚠ leak", "? suspect", "! stale", "≠ drift", "¿ unknown"}
	isFault := func(l string) bool {
		for _, f := range faults {
			if strings.Contains(l, f) {
				return true
			}
		}
		return false
	}
	sc.waitFor("n on a fault", 5*time.Second, func(v string) bool {
		return isFault(line(v, "▶ ")) && strings.HasPrefix(line(v, "▶ agent"), "▶ agent")
	})
	sc.keys("g", "N")
	sc.waitFor("N round to the last fault: a finding", 5*time.Second, func(v string) bool {
		return strings.HasPrefix(line(v, "▶ drift"), "▶ drift") || strings.HasPrefix(line(v, "▶ duplicate"), "▶ duplicate")
	})

	// The drift row opens its detail: recorded against actual.
	sc.keys("Enter")
	sc.waitFor("the drift detail", 5*time.Second, func(v string) bool {
		return strings.Contains(v, "recorded") && strings.Contains(v, "actual") && strings.Contains(v, "Detail: drift")
	})
	sc.keys("Escape")

	// Sort the Processes pane by CPU: the column head says so, the tree is
	// flat, and g selects the busiest process.
	sc.keys("Tab", "Tab", "s")
	sc.waitFor("the CPU order", 5*time.Second, func(v string) bool {
		return strings.Contains(v, "CPU▼") && !strings.Contains(v, "└─")
	})
	sc.keys("s", "s", "s")
	sc.waitFor("the verdict order", 5*time.Second, func(v string) bool { return strings.Contains(v, "VERDICT▼") })
	sc.keys("g")
	sc.waitFor("a leak first", 5*time.Second, func(v string) bool { return strings.Contains(line(v, "▶ PID"), "⚠ leak") })

	// A click on a session of the Tmux pane selects it.
	v := sc.view()
	name := "agent_" + s.Cast.Finished
	y, x := -1, -1
	for i, l := range strings.Split(v, "\n") {
		if j := strings.Index(l, tail(s.Cast.Finished)); j >= 0 && strings.Contains(l, "│") && !strings.HasPrefix(l, "▶") {
			// The Tmux pane is the second: find the cell in it.
			if k := strings.Index(l, "┃│"); k >= 0 || strings.Contains(l, "││") {
				y, x = i, len([]rune(l[:j]))
				break
			}
		}
	}
	if y < 0 {
		t.Fatalf("no row of %s on screen:\n%s", name, v)
	}
	if err := sc.tmux.SendKeys(context.Background(), tmux.SessionTarget("tui"), fmt.Sprintf("\x1b[<0;%d;%dM", x+1, y+1), fmt.Sprintf("\x1b[<0;%d;%dm", x+1, y+1)); err != nil {
		t.Fatal(err)
	}
	sc.waitFor("the clicked session selected", 5*time.Second, func(v string) bool {
		return strings.HasPrefix(line(v, "▶ session"), "▶ session "+name)
	})
}

// TestTUIAttachSwitchesTheClient: agentwatch in a session of the agents'
// own server, shown by a client: a switches that client to the agent's
// session, and tmux's switch-client -l brings the screen back.
func TestTUIAttachSwitchesTheClient(t *testing.T) {
	state := sandbox(t)
	s := buildScene(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cmd := append([]string{exe}, append(s.Flags(), "--grace", "1s")...)
	err = s.Tmux().NewSession(ctx, tmux.NewSessionRequest{Name: "awtui", Dir: s.Dir, Width: 160, Height: 44,
		Env:     map[string]string{"AGENTWATCH_TEST_AS_MAIN": "1", "XDG_STATE_HOME": filepath.Dir(state), "TERM": "xterm-256color"},
		Command: cmd})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Tmux().KillSession(context.Background(), "awtui") })

	// The client: a pane of a private outer server runs tmux attach.
	dir, err := os.MkdirTemp("/tmp", "awatt-")
	if err != nil {
		t.Fatal(err)
	}
	sock := tmux.Socket{Path: filepath.Join(dir, "sock")}
	remember(dir, sock)
	outer := tmux.NewClient(sock)
	outer.Config = "/dev/null"
	err = outer.NewSession(ctx, tmux.NewSessionRequest{Name: "tui", Dir: dir, Width: 160, Height: 46,
		Env:     map[string]string{"TERM": "xterm-256color"},
		Command: []string{"env", "-u", "TMUX", "-u", "TMUX_PANE", "tmux", "-S", s.Socket.Path, "attach-session", "-t", "=awtui"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := demo.Teardown(context.Background(), dir, sock); err != nil {
			t.Errorf("tear down %s: %v", dir, err)
		}
	})
	sc := &screen{t: t, tmux: outer}
	sc.waitFor("the first scan", 20*time.Second, func(v string) bool { return strings.Contains(v, "scanned ") })

	id := s.Cast.Healthy1
	sc.selectAgent(id)
	sc.keys("a") // (no Escape first: a nested tmux would read ESC a as M-a)
	sc.waitFor("the client on the agent's session", 10*time.Second, func(v string) bool {
		return strings.Contains(v, `"agent_id":"`+id) && !strings.Contains(v, "scanned ") && strings.Contains(v, "[agent_")
	})
	// Back: tmux's own key for the last session.
	sc.keys("C-b", "L")
	sc.waitFor("the screen back", 10*time.Second, func(v string) bool {
		return strings.Contains(v, "scanned ") && strings.Contains(v, "switched this tmux client to agent_"+id)
	})
}
