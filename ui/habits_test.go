package ui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"agentwatch/reconcile"
)

func init() {
	mainKeyCases = append(append(append(mainKeyCases, habitKeyCases...), copyKeyCases...), forceKeyCases...)
}

var habitKeyCases = []keyCase{
	{name: "Sort", setup: func(t *testing.T, m Model, _ *fakeBackend) Model {
		m.focus = paneProcs
		return m
	}, check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		p := m.panes[paneProcs]
		if p.sortBy != sortCPU || p.rows[0].proc.PID != 1002 || p.rows[0].tree != "" {
			t.Fatalf("sorted by %s, first PID %d (tree %q); want CPU, 1002 (12.5%%), flat", sortNames[p.sortBy], p.rows[0].proc.PID, p.rows[0].tree)
		}
		if !strings.Contains(m.View(), "CPU▼") {
			t.Error("the CPU column head does not show the order")
		}
		want := map[sortKey]int32{sortRSS: 1002, sortAge: 2001, sortVerdict: 3001, sortNone: 3001}
		for _, k := range []sortKey{sortRSS, sortAge, sortVerdict, sortNone} {
			m, _ = press(t, m, "s")
			if got := m.panes[paneProcs].rows[0].proc.PID; m.panes[paneProcs].sortBy != k || got != want[k] {
				t.Errorf("after s: %s with PID %d first, want %s with %d", sortNames[m.panes[paneProcs].sortBy], got, sortNames[k], want[k])
			}
		}
	}},
	{name: "Sort/sessions by CPU", setup: func(t *testing.T, m Model, _ *fakeBackend) Model {
		m.focus = paneTmux
		return m
	}, check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if got := m.panes[paneTmux].rows[0].session.Name; got != "agent_impl-214500-a1b2c3" {
			t.Errorf("first session %s, want impl's (12.9%% CPU)", got)
		}
		if !strings.Contains(m.View(), "SESSION (by CPU▼)") {
			t.Error("the session head does not show the order")
		}
	}},
	{name: "NextFault", check: wantSelected(keyLint)},
	{name: "NextFault/on to the findings", setup: at(paneRegistry, keyFix), check: wantSelected(keyDriftGlobal)},
	{name: "NextFault/goes round", setup: at(paneRegistry, keyDriftTask), check: wantSelected(keyLint)},
	{name: "PrevFault", check: wantSelected(keyDriftTask)},
	{name: "Collapse", setup: at(paneRegistry, keyImpl), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		r, ok := m.panes[paneRegistry].Selected()
		if !ok || !r.collapsed || r.count != 9 || countAgents(m.panes[paneRegistry].rows) != 0 {
			t.Fatalf("selected %+v; want the folded heading of 9 agents alone", r.key)
		}
		if !strings.Contains(m.View(), "▸ "+testTaskA+" (9)") {
			t.Error("no folded heading on screen")
		}
		m, _ = press(t, m, "c")
		if countAgents(m.panes[paneRegistry].rows) != 9 || selected(m) != keyPlan {
			t.Errorf("c again: %d agents, selected %s", countAgents(m.panes[paneRegistry].rows), selected(m))
		}
	}},
	{name: "HideDone", check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if n := countAgents(m.panes[paneRegistry].rows); n != 8 || selected(m) == keyPlan {
			t.Errorf("%d agents shown, selected %s; want 8 without plan (done)", n, selected(m))
		}
	}},
}

var copyKeyCases = []keyCase{
	{name: "CopyID", setup: func(t *testing.T, m Model, b *fakeBackend) Model {
		m.opts.Clipboard = &strings.Builder{}
		m.opts.TMUX = testSock + ",50,0"
		return selectRow(t, m, paneRegistry, keyImpl)
	}, check: func(t *testing.T, m Model, cmd tea.Cmd, b *fakeBackend) {
		msg, ok := hasMsg[copiedMsg](run(cmd))
		if !ok {
			t.Fatal("y copies nothing")
		}
		// OSC 52: ESC ] 52 ; c ; base64("impl-214500-a1b2c3") BEL
		if got := m.opts.Clipboard.(*strings.Builder).String(); got != "\x1b]52;c;aW1wbC0yMTQ1MDAtYTFiMmMz\x07" {
			t.Errorf("wrote %q to the terminal", got)
		}
		if len(b.copies) != 1 || b.copies[0] != "impl-214500-a1b2c3" {
			t.Errorf("tmux buffer got %q", b.copies)
		}
		m, _ = update(t, m, msg)
		if !strings.Contains(m.status, "copied agent id impl-214500-a1b2c3") {
			t.Errorf("status %q", m.status)
		}
	}},
	{name: "CopyPath", setup: at(paneProcs, procKey(7001)), check: func(t *testing.T, m Model, cmd tea.Cmd, b *fakeBackend) {
		msg, ok := hasMsg[copiedMsg](run(cmd))
		if !ok || msg.text != "/usr/local/bin/claude --print --resume build-200500-ddeeff" || len(b.copies) != 0 {
			t.Errorf("Y copied %q (tmux buffer %q outside tmux)", msg.text, b.copies)
		}
	}},
}

// TestMouse: a click selects the row under it in any pane; the wheel moves
// the selection of the pane under it.
func TestMouse(t *testing.T) {
	fb := newFakeBackend(t)
	m := scanned(t, fb, testOptions(fb), 160, 45)
	top := m.header().height(&m.styles)
	click := func(m Model, x, y int) Model {
		m, _ = update(t, m, tea.MouseMsg{X: x, Y: y, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
		return m
	}
	// The Tmux pane's third session (agent_build…): border, column heads,
	// then rows.
	x := m.panes[paneRegistry].width + 5
	m = click(m, x, top+2+2)
	if m.focus != paneTmux || selected(m) != "s|-S "+testSock+"|agent_build-200500-ddeeff" {
		t.Fatalf("click: focus %s, selected %s", paneNames[m.focus], selected(m))
	}
	// A click on a task heading selects nothing new.
	m = click(m, 3, top+2)
	if m.focus != paneRegistry || selected(m) != keyPlan {
		t.Errorf("click on the heading: focus %s, selected %s; want the Registry's first agent kept", paneNames[m.focus], selected(m))
	}
	m = click(m, 3, top+2+3)
	if selected(m) != testBase+"|build-200500-ddeeff" {
		t.Errorf("click on the third agent: selected %s", selected(m))
	}
	m, _ = update(t, m, tea.MouseMsg{X: 3, Y: top + 5, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	if selected(m) != keyReview {
		t.Errorf("wheel down from build: selected %s, want three rows on (review)", selected(m))
	}
	// Narrow: the tab bar switches panes.
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	top = m.header().height(&m.styles)
	m = click(m, 17, top)
	if m.focus != paneTmux {
		t.Errorf("click on the Tmux tab: focus %s", paneNames[m.focus])
	}
}

var forceKeyCases = []keyCase{
	{name: "ForceKill", setup: at(paneProcs, procKey(9002)), check: func(t *testing.T, m Model, _ tea.Cmd, b *fakeBackend) {
		if m.overlay != overlayDialog || len(m.dialog.choices) != 4 || m.dialog.focus != 0 {
			t.Fatalf("X on a foreign claude: overlay %d, choices %v, focus %d; want the signal dialog on Cancel", m.overlay, m.dialog.choices, m.dialog.focus)
		}
		m, _ = press(t, m, "right", "right", "enter") // SIGKILL
		if m.overlay != overlayDialog || !strings.Contains(m.dialog.title, "Really send SIGKILL") || m.dialog.focus != 0 {
			t.Fatalf("no second confirmation: %q", m.dialog.title)
		}
		m, cmd := press(t, m, "right", "enter")
		if _, ok := hasMsg[resultMsg](run(cmd)); !ok || len(b.signals) != 1 || b.signals[0] != "KILL" || b.kills[0][0] != "9002" {
			t.Errorf("signals %v to %v", b.signals, b.kills)
		}
	}},
	{name: "ForceKill/SIGTERM is the kill of x, forced", setup: at(paneProcs, procKey(9002)), check: func(t *testing.T, m Model, _ tea.Cmd, b *fakeBackend) {
		_, cmd := press(t, m, "right", "enter", "right", "enter")
		if _, ok := hasMsg[resultMsg](run(cmd)); !ok || len(b.signals) != 0 || len(b.killForce) != 1 || !b.killForce[0] {
			t.Errorf("SIGTERM: signals %v, kills with force %v; want the engine's kill, forced", b.signals, b.killForce)
		}
	}},
	{name: "ForceKill/second confirmation cancelled", setup: at(paneProcs, procKey(9002)), check: func(t *testing.T, m Model, _ tea.Cmd, b *fakeBackend) {
		m, cmd := press(t, m, "right", "enter", "enter") // Cancel has the focus
		if m.overlay != overlayNone || cmd != nil || len(b.signals)+len(b.kills) != 0 {
			t.Errorf("cancelled, yet overlay %d, kills %v", m.overlay, b.kills)
		}
	}},
	{name: "Kill/on a foreign claude says X", setup: at(paneProcs, procKey(9002)), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if !strings.Contains(m.status, "X force-kills it here") || strings.Contains(m.status, "--force") {
			t.Errorf("status %q", m.status)
		}
	}},
}

func countAgents(rows []row) int {
	n := 0
	for _, r := range rows {
		if r.kind == rowAgent {
			n++
		}
	}
	return n
}

// TestDriftRowDetail: a drift finding is a row whose detail shows what is
// recorded against what is, and the repair that fixes it.
func TestDriftRowDetail(t *testing.T) {
	fb := newFakeBackend(t)
	m := scanned(t, fb, testOptions(fb), 120, 40)
	m = selectRow(t, m, paneRegistry, keyDriftTask)
	if !strings.Contains(m.View(), "≠ drift") {
		t.Errorf("no drift row on screen:\n%s", m.View())
	}
	m, _ = press(t, m, "enter")
	for _, want := range []string{"recorded    9", "actual      6", "field       active_count", "recount   active_count: 9 → 4 (counted after"} {
		if !strings.Contains(m.viewer.content, want) {
			t.Errorf("the drift detail lacks %q:\n%s", want, m.viewer.content)
		}
	}
}

// TestHeaderCountsFollowedServersApart: sessions and claude processes of a
// server followed through a claude's TMUX are not in the headline counts.
func TestHeaderCountsFollowedServersApart(t *testing.T) {
	fb := newFakeBackend(t)
	fb.in.Live.Servers[0].Followed = true
	m := scanned(t, fb, testOptions(fb), 160, 45)
	head := strings.Join(m.header().lines(&m.styles), "\n")
	if !strings.Contains(head, "live sessions 0 │ claude procs 1 (followed servers: 4 sessions, 5 claude)") {
		t.Errorf("header:\n%s", head)
	}
}

// TestEmptyFaultsViewSaysSo: faults only, and a pane with no fault says
// that, not that a filter matches nothing.
func TestEmptyFaultsViewSaysSo(t *testing.T) {
	fb := newFakeBackend(t)
	var healthy []reconcile.SessionRow
	for _, x := range fb.rep.Sessions {
		if !faulty(string(x.Verdict)) {
			healthy = append(healthy, x)
		}
	}
	fb.rep.Sessions = healthy
	m := scanned(t, fb, testOptions(fb), 160, 45)
	m, _ = press(t, m, "f")
	if v := m.View(); !strings.Contains(v, "no faults here") || strings.Contains(v, "no row matches") {
		t.Errorf("the empty faults view:\n%s", v)
	}
}

// TestRescanningClears: the status of ctrl+r goes once the scan is in.
func TestRescanningClears(t *testing.T) {
	fb := newFakeBackend(t)
	m := scanned(t, fb, testOptions(fb), 160, 45)
	m, cmd := press(t, m, "ctrl+r")
	if m.status != statusRescanning {
		t.Fatalf("status %q", m.status)
	}
	msg, _ := hasMsg[scanMsg](run(cmd))
	m, _ = update(t, m, msg)
	if m.status != "" {
		t.Errorf("status %q after the scan", m.status)
	}
}
