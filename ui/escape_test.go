package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"agentwatch/reconcile"
	"agentwatch/tmux"
)

// TestControlCharactersCannotReachTheTerminal: an agent id, a session name
// and a command line that carry terminal escapes show as text, on the main
// screen and in the detail views, in monochrome and in colour.
func TestControlCharactersCannotReachTheTerminal(t *testing.T) {
	const evilID = "evil\x1b[2J\x1b]0;pwned\x07-1"
	agents := append([]testAgent(nil), testAgents...)
	agents = append(agents, testAgent{evilID, "x\x1b[31m", "working\r", 5 * time.Minute, time.Minute})
	in := testWorld(t, agents)
	in.Live.Servers[0].Snapshot.Panes = append(in.Live.Servers[0].Snapshot.Panes,
		tmux.Pane{Session: "agent_evil\x1b[H\x1b[2J", SessionID: "$9", SessionCreated: testNow.Add(-time.Hour), PaneID: "%9", PanePID: 8001})
	in.Live.Procs.Procs[8001] = tproc(8001, 50, 8001, time.Hour, 0, 1<<20, "sh")
	in.Live.Procs.Procs[8002] = tproc(8002, 8001, 8001, time.Hour, 0, 1<<20, "/usr/local/bin/claude", "-p", "\x1b[31mred\r\x1b[1A")
	in.Live.Procs.Children[50] = append(in.Live.Procs.Children[50], 8001)
	in.Live.Procs.Children[8001] = []int32{8002}
	in.Live.Claude[8002] = true
	fb := newFakeBackend(t)
	fb.in = in
	fb.rep, fb.mem = testReport(in)

	screens := func() []string {
		m := scanned(t, fb, testOptions(fb), 200, 60)
		out := []string{m.View()}
		for _, r := range fb.rep.Agents {
			if strings.HasPrefix(r.ID, "evil") {
				mm, _ := press(t, selectRow(t, m, paneRegistry, r.Key), "enter")
				out = append(out, mm.View(), mm.viewer.content)
			}
		}
		for _, s := range fb.rep.Sessions {
			if strings.HasPrefix(s.Name, "agent_evil") {
				mm, _ := press(t, selectRow(t, m, paneTmux, s.Key), "enter")
				out = append(out, mm.View())
				mm, _ = press(t, selectRow(t, m, paneTmux, s.Key), "x")
				out = append(out, mm.View(), mm.dialog.body)
			}
		}
		mm, _ := press(t, selectRow(t, m, paneProcs, procKeyIn(fb.rep, 8002)), "enter")
		return append(out, mm.View(), mm.viewer.content)
	}
	for i, s := range screens() {
		if strings.ContainsAny(s, "\x1b\x07\r\x00") {
			t.Errorf("screen %d lets a control character through: %q", i, s)
		}
	}
	joined := strings.Join(screens(), "\n")
	for _, want := range []string{`evil\x1b[2J\x1b]0;pwned\x07-1`, `agent_evil\x1b[H\x1b[2J`, `\x1b[31mred\r\x1b[1A`} {
		if !strings.Contains(joined, want) {
			t.Errorf("the escaped form %s is not shown", want)
		}
	}

	// In colour the styles write escapes of their own; none of the data's.
	defer lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetColorProfile(termenv.TrueColor)
	for i, s := range screens() {
		for _, bad := range []string{"\x1b[2J", "\x1b]0;", "\x1b[H", "\x1b[1A", "\x07", "\r"} {
			if strings.Contains(s, bad) {
				t.Errorf("colour screen %d contains %q", i, bad)
			}
		}
	}
}

func procKeyIn(rep reconcile.Report, pid int32) string {
	for _, p := range rep.Processes {
		if p.PID == pid {
			return p.Key
		}
	}
	return ""
}
