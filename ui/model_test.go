package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/tmux"
)

// TestScansNeverOverlap: a registry change or ctrl+r while a scan runs asks
// for one more scan when it returns, never a second scan beside it; the
// tick is armed only when a scan returns.
func TestScansNeverOverlap(t *testing.T) {
	fb := newFakeBackend(t)
	m := New(testOptions(fb))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	init := run(m.Init())
	started, ok := hasMsg[watchStartedMsg](init)
	if !ok {
		t.Fatalf("Init does not start the watch: %v", init)
	}
	first, ok := hasMsg[scanMsg](init)
	if !ok {
		t.Fatalf("Init does not scan: %v", init)
	}
	m, wait := update(t, m, started)
	if wait == nil {
		t.Fatal("no wait on the watch channel")
	}
	fb.watch <- struct{}{}
	change := wait()
	if _, ok := change.(watchMsg); !ok {
		t.Fatalf("got %T, want watchMsg", change)
	}
	// The first scan is still in flight: the change waits for it.
	m, cmd := update(t, m, change)
	fb.watch <- struct{}{} // so that the re-armed wait returns
	msgs := run(cmd)
	if _, ok := hasMsg[scanMsg](msgs); ok || !m.rescanPending {
		t.Fatal("a registry change started a scan beside the one in flight")
	}
	if _, ok := hasMsg[watchMsg](msgs); !ok {
		t.Fatal("the watch is not waited on again")
	}
	m, cmd = press(t, m, "ctrl+r")
	if cmd != nil {
		t.Fatal("ctrl+r started a scan beside the one in flight")
	}
	// When it returns, the pending scan starts at once, not a tick.
	m, cmd = update(t, m, first)
	if _, ok := hasMsg[scanMsg](run(cmd)); !ok || !m.scanning || m.rescanPending {
		t.Fatalf("the pending rescan did not start: scanning %v, pending %v", m.scanning, m.rescanPending)
	}
	// The next result arms the tick; a stale tick is ignored.
	seq := m.tickSeq
	m, cmd = update(t, m, first)
	if cmd == nil || m.tickSeq != seq+1 || m.scanning {
		t.Fatalf("no tick armed after the scan: seq %d→%d", seq, m.tickSeq)
	}
	if _, cmd := update(t, m, tickMsg{seq: seq}); cmd != nil {
		t.Error("a stale tick started a scan")
	}
	if _, cmd := update(t, m, tickMsg{seq: m.tickSeq}); cmd == nil {
		t.Error("the current tick did not scan")
	}
	if n := fb.observes; n != 2 {
		t.Errorf("%d scans ran, want 2", n)
	}
}

// TestScanErrorKeepsLastGoodData: a failed scan says so in the status
// line, and the rows stay.
func TestScanErrorKeepsLastGoodData(t *testing.T) {
	fb := newFakeBackend(t)
	m := scanned(t, fb, testOptions(fb), 120, 40)
	fb.scanErr = errors.New("list panes: tmux exploded")
	m.scanning = true
	msg := scanCmd(fb, testNow, m.snap, m.mem, false)()
	m, cmd := update(t, m, msg)
	if !m.statusErr || !strings.Contains(m.status, "tmux exploded") || !strings.Contains(m.status, "last good scan stays") {
		t.Errorf("status %q", m.status)
	}
	if len(m.rep.Agents) != 9 || !strings.Contains(m.View(), "impl-214500-a1b2c3") {
		t.Error("the last good rows are gone")
	}
	if cmd == nil {
		t.Error("no next scan armed after a failed one")
	}
	fb.scanErr = nil
	m.scanning = true
	m, _ = update(t, m, scanCmd(fb, testNow, m.snap, m.mem, false)())
	if m.statusErr {
		t.Errorf("the scan error stays after a good scan: %q", m.status)
	}
}

// TestLockedRegistryKeepsLastGoodCopy: a registry whose lock is busy keeps
// its last good document on screen (its agents are not lost, its sessions
// not taken for untracked leaks), and the header names the holder and how
// long it has held the lock.
func TestLockedRegistryKeepsLastGoodCopy(t *testing.T) {
	fb := newFakeBackend(t)
	scout := mustParse(t, `{"task_id": "`+testTaskB+`", "agents": [{"id": "scout-213000-abcdef", "status": "completed", "started_at": "`+ts(30*time.Minute)+`"}], "active_count": 0, "total_spawned": 1, "completed_count": 1}`)
	fb.in.Registries[2] = reconcile.Registry{Path: testPathB, Kind: reconcile.KindTask, Base: testBase, TaskID: testTaskB, Root: scout}
	fb.rep, fb.mem = testReport(fb.in)
	clock := testNow
	opts := testOptions(fb)
	opts.Now = func() time.Time { return clock }
	m := scanned(t, fb, opts, 160, 45)
	if strings.Contains(m.View(), "locked") {
		t.Fatal("a badge before any lock")
	}
	// Now python3 holds the lock, for two scans.
	fb.in.Registries[2] = reconcile.Registry{Path: testPathB, Kind: reconcile.KindTask, Base: testBase, TaskID: testTaskB, Locked: true,
		Err: &registry.LockBusyError{Path: testPathB, PID: 4242, Command: "python3"}}
	fb.rep, fb.mem = testReport(fb.in) // what the engine reports without the document
	for _, advance := range []time.Duration{time.Second, 3 * time.Second} {
		clock = clock.Add(advance)
		m.scanning = true
		m, _ = update(t, m, scanCmd(fb, clock, m.snap, m.mem, false)())
	}
	view := m.View()
	for _, want := range []string{"⊠ TASK-20251017-213000-5e6f7a8b locked by PID 4242 (python3) for 3s — showing its last good copy",
		"scout-213000-abcdef", "▾ ⊠ TASK-20251017-213000-5e6f7a8b (1)"} {
		if !strings.Contains(view, want) {
			t.Errorf("screen lacks %q:\n%s", want, view)
		}
	}
	// The lock is let go: the badge goes.
	fb.in.Registries[2] = reconcile.Registry{Path: testPathB, Kind: reconcile.KindTask, Base: testBase, TaskID: testTaskB, Root: scout}
	fb.rep, fb.mem = testReport(fb.in)
	m.scanning = true
	m, _ = update(t, m, scanCmd(fb, clock, m.snap, m.mem, false)())
	if strings.Contains(m.View(), "locked") {
		t.Error("the badge stays after the lock is let go")
	}
}

// TestKillForceNeedsSecondConfirmation: with --force a foreign claude can
// be killed, but only after a second dialog, and both open on Cancel.
func TestKillForceNeedsSecondConfirmation(t *testing.T) {
	fb := newFakeBackend(t)
	opts := testOptions(fb)
	opts.Force = true
	m := scanned(t, fb, opts, 160, 45)
	m = selectRow(t, m, paneProcs, procKey(9002))
	m, _ = press(t, m, "x")
	if m.overlay != overlayDialog || m.dialog.focus != 0 || !strings.Contains(m.dialog.body, "--force") {
		t.Fatalf("first dialog: overlay %d focus %d\n%s", m.overlay, m.dialog.focus, m.dialog.body)
	}
	m, cmd := press(t, m, "tab", "enter")
	if cmd != nil || m.overlay != overlayDialog || m.dialog.focus != 0 || !strings.Contains(m.dialog.title, "Really kill") {
		t.Fatalf("no second confirmation: cmd %v, title %q, focus %d", cmd, m.dialog.title, m.dialog.focus)
	}
	if len(fb.kills) != 0 {
		t.Fatal("killed before the second confirmation")
	}
	m, cmd = press(t, m, "tab", "enter")
	msg, ok := hasMsg[resultMsg](run(cmd))
	if !ok || len(fb.kills) != 1 || fb.kills[0][0] != "9002" || !fb.killForce[0] {
		t.Fatalf("kill not run with force: %v %v", fb.kills, fb.killForce)
	}
	m, cmd = update(t, m, msg)
	if !strings.Contains(m.status, "kill: 1 applied") || len(m.log.entries) != 1 {
		t.Errorf("status %q, log %v", m.status, m.log.entries)
	}
	if _, ok := hasMsg[scanMsg](run(cmd)); !ok {
		t.Error("no rescan after the kill")
	}
}

// TestKillClearsTags: a kill of tagged rows clears the tags.
func TestKillClearsTags(t *testing.T) {
	fb := newFakeBackend(t)
	m := scanned(t, fb, testOptions(fb), 160, 45)
	m = selectRow(t, m, paneTmux, keyExplore)
	m, _ = press(t, m, " ")
	if len(m.tags) != 1 || !strings.Contains(m.View(), "1 tagged") {
		t.Fatalf("tags %v", m.tags)
	}
	m, _ = press(t, m, "x", "right", "enter")
	if len(m.tags) != 0 || m.busy != actionKill {
		t.Errorf("after the kill: tags %v, busy %q", m.tags, m.busy)
	}
	if m2, _ := press(t, m, "R"); m2.overlay == overlayDialog || !strings.Contains(m2.status, "busy: kill is running") {
		t.Errorf("a second action started while a kill runs: %q", m2.status)
	}
}

// TestNewRowsStandOut: a row that just turned ghost says NEW.
func TestNewRowsStandOut(t *testing.T) {
	fb := newFakeBackend(t)
	m := scanned(t, fb, testOptions(fb), 160, 45)
	view := m.View()
	if !strings.Contains(view, "✗ ghost    NEW review-213000-0a0b0c") {
		t.Errorf("the new ghost does not stand out:\n%s", view)
	}
	if strings.Contains(view, "NEW docs") {
		t.Error("an old ghost is marked NEW")
	}
}

// TestSelectionHighlightsJoinedRows: the rows joined to the selection in
// the other panes carry the join mark.
func TestSelectionHighlightsJoinedRows(t *testing.T) {
	fb := newFakeBackend(t)
	m := scanned(t, fb, testOptions(fb), 160, 45)
	m = selectRow(t, m, paneRegistry, keyImpl)
	var sel *link
	if r, ok := m.panes[m.focus].Selected(); ok {
		l := linkOf(r, m.focus)
		sel = &l
	}
	joined := map[string]bool{}
	for _, id := range []paneID{paneTmux, paneProcs} {
		for _, r := range m.panes[id].rows {
			if r.joined(*sel) {
				joined[r.key] = true
			}
		}
	}
	want := []string{"s|-S " + testSock + "|agent_impl-214500-a1b2c3", procKey(1001), procKey(1002), procKey(1004)}
	for _, k := range want {
		if !joined[k] {
			t.Errorf("%s is not joined to impl", k)
		}
	}
	if len(joined) != len(want) {
		t.Errorf("joined %v, want %v", joined, want)
	}
	// From the session to the agent.
	m = selectRow(t, m, paneTmux, "s|-S "+testSock+"|agent_impl-214500-a1b2c3")
	if !strings.Contains(m.panesView(), "┃▶ ✓ ok       agent_impl") || !strings.Contains(m.panesView(), "│• ✓ ok       impl-214500-a1b2c3") {
		t.Errorf("the agent of the session is not marked:\n%s", m.panesView())
	}
}

// TestTabsWhenNarrow: under 120 columns one pane shows at a time and tab
// switches it; every line fits the width.
func TestTabsWhenNarrow(t *testing.T) {
	fb := newFakeBackend(t)
	m := scanned(t, fb, testOptions(fb), 80, 24)
	for _, want := range []string{"Registry 11", "Tmux 5", "Processes 12"} {
		m, _ = press(t, m, "tab")
		m, _ = press(t, m, "shift+tab")
		view := m.View()
		if !strings.Contains(view, "["+want+"]") {
			t.Errorf("tab %s is not the active one", want)
		}
		checkSize(t, view, 80, 24)
		m, _ = press(t, m, "tab")
	}
}

// TestResizeAtAnyTime: every size from tiny to wide gives a whole screen.
func TestResizeAtAnyTime(t *testing.T) {
	fb := newFakeBackend(t)
	m := scanned(t, fb, testOptions(fb), 160, 45)
	m = selectRow(t, m, paneProcs, procKey(4002))
	for _, sz := range [][2]int{{80, 24}, {119, 30}, {120, 30}, {200, 60}, {40, 12}, {30, 8}, {100, 15}} {
		m, _ = update(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		view := m.View()
		if sz[0] < minWidth || sz[1] < minHeight {
			if !strings.Contains(view, "needs at least") {
				t.Errorf("%v: %q", sz, view)
			}
			continue
		}
		checkSize(t, view, sz[0], sz[1])
		if selected(m) != procKey(4002) {
			t.Errorf("%v: the selection moved to %s", sz, selected(m))
		}
	}
	// Overlays too.
	for _, k := range []string{"enter", "esc", "R", "esc", "?", "esc", "@"} {
		m, _ = press(t, m, k)
		checkSize(t, m.View(), 100, 15)
	}
}

func checkSize(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d:\n%s", len(lines), h, view)
	}
	for i, l := range lines {
		if got := lipglossWidth(l); got != w {
			t.Errorf("line %d is %d wide, want %d: %q", i, got, w, l)
		}
	}
}

// TestNoColor: with --no-color the screen carries no colour at all, even
// on a terminal that has them; bold and reverse stay.
func TestNoColor(t *testing.T) {
	defer lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetColorProfile(termenv.TrueColor)
	fb := newFakeBackend(t)
	opts := testOptions(fb)
	opts.NoColor = true
	m := scanned(t, fb, opts, 160, 45)
	for _, k := range []string{"", "tab", "x", "esc", "?"} {
		if k != "" {
			m, _ = press(t, m, k)
		}
		view := m.View()
		for _, sgr := range []string{"[38;", "[48;", ";38;", ";48;"} {
			if strings.Contains(view, sgr) {
				t.Fatalf("after %q the screen has colour (%q)", k, sgr)
			}
		}
		if !strings.Contains(view, "\x1b[") {
			t.Fatal("no bold or reverse either: the cursor would not show")
		}
	}
	opts.NoColor = false
	if m := scanned(t, fb, opts, 160, 45); !strings.Contains(m.View(), "38;2;") {
		t.Error("colour mode has no colour: the test proves nothing")
	}
}

// TestCursorStaysWhenItsRowGoes: when the selected row disappears (its
// process was killed), the cursor stays at its place, not at the top.
func TestCursorStaysWhenItsRowGoes(t *testing.T) {
	fb := newFakeBackend(t)
	m := scanned(t, fb, testOptions(fb), 160, 45)
	m = selectRow(t, m, paneProcs, procKey(4002))
	rows := m.panes[paneProcs].all
	var kept []row
	want, after := "", false
	for _, r := range rows {
		if r.proc.PID == 4002 {
			after = true
		}
		if r.proc.PID != 4001 && r.proc.PID != 4002 {
			kept = append(kept, r)
			if after && want == "" {
				want = r.key
			}
		}
	}
	if want == "" {
		t.Fatal("the fixture has no row after PID 4002")
	}
	m.panes[paneProcs].SetRows(kept, rowFilter{})
	if got := selected(m); got != want {
		t.Errorf("cursor on %s, want the row after the killed ones (%s)", got, want)
	}
}

// TestKillSessionOnOneOfTwoServers: the same session name on two tmux
// servers. KillPlan refuses the bare name (a command line cannot say which
// is meant); the screen kills the one whose row was chosen, on its server
// only, and numbers the servers so the rows can be told apart.
func TestKillSessionOnOneOfTwoServers(t *testing.T) {
	const sock2 = "/tmp/aw-test/sock2"
	in := testWorld(t, testAgents)
	snap2 := &tmux.Snapshot{Socket: tmux.Socket{Path: sock2}, Running: true, ServerPID: 60, Panes: []tmux.Pane{{
		Session: "agent_explore-205000-445566", SessionID: "$0", SessionCreated: testNow.Add(-time.Hour), PaneID: "%1", PanePID: 6001, Command: "sh"}}}
	in.Live.Servers = append(in.Live.Servers, reconcile.Server{Socket: tmux.Socket{Path: sock2}, Snapshot: snap2, Why: "given"})
	for _, p := range []*procscan.Proc{
		tproc(60, 1, 60, 5*time.Hour, 0, 1<<20, "tmux", "-S", sock2),
		tproc(6001, 60, 6001, time.Hour, 0, 1<<20, "sh", "-c", "claude --print | tee "+testBase+"/"+testTaskA+"/logs/explore-205000-445566_stream.jsonl"),
		tproc(6002, 6001, 6001, time.Hour, 0, 1<<20, "/usr/local/bin/claude", "--print"),
	} {
		in.Live.Procs.Procs[p.PID] = p
		in.Live.Procs.Children[p.PPID] = append(in.Live.Procs.Children[p.PPID], p.PID)
	}
	in.Live.Claude[6002] = true
	fb := newFakeBackend(t)
	fb.in = in
	fb.rep, fb.mem = testReport(in)
	m := scanned(t, fb, testOptions(fb), 160, 45)
	if v := m.View(); !strings.Contains(v, "#1 agent_e…205000-445566") || !strings.Contains(v, "#2 agent_e…205000-445566") || !strings.Contains(v, "tmux #1 -S "+testSock) {
		t.Fatalf("the servers are not told apart:\n%s", v)
	}
	m = selectRow(t, m, paneTmux, "s|-S "+sock2+"|agent_explore-205000-445566")
	m, _ = press(t, m, "x")
	if m.overlay != overlayDialog {
		t.Fatalf("no kill dialog: %q", m.status)
	}
	var got []string
	for _, op := range m.pending.ops {
		got = append(got, fmt.Sprintf("%s %d %s", op.Op, op.PID, op.Server))
	}
	want := "kill_process 6001 -S " + sock2 + ",kill_process 6002 -S " + sock2 + ",kill_session 0 -S " + sock2
	if strings.Join(got, ",") != want {
		t.Errorf("ops\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
	if !strings.Contains(m.dialog.body, "(tmux -S "+sock2+")") {
		t.Errorf("the dialog does not name the server:\n%s", m.dialog.body)
	}
}

// TestKeysInABurst: keys that arrive in one message (key repeat, fast
// typing) act one by one.
func TestKeysInABurst(t *testing.T) {
	fb := newFakeBackend(t)
	one := scanned(t, fb, testOptions(fb), 160, 45)
	for i := 0; i < 3; i++ {
		one, _ = press(t, one, "j")
	}
	burst := scanned(t, fb, testOptions(fb), 160, 45)
	next, _ := burst.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jjj")})
	if got, want := selected(next.(Model)), selected(one); got != want {
		t.Errorf("after a burst of jjj the cursor is on %s, want %s (three single j)", got, want)
	}
}
