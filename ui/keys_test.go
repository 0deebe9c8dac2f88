package ui

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

// Keys of rows in the fixed world.
var (
	keyPlan    = testBase + "|plan-190000-aabbcc"
	keyLint    = testBase + "|lint-200000-7d8e9f"
	keyDocs    = testBase + "|docs-212000-1d2e3f"
	keyReview  = testBase + "|review-213000-0a0b0c"
	keyImpl    = testBase + "|impl-214500-a1b2c3"
	keyFix     = testBase + "|fix-215800-4a5b6c"
	keyTest    = testBase + "|test-215950-d4e5f6"
	keyExplore = "s|-S " + testSock + "|agent_explore-205000-445566"
	keyOps     = "s|-S " + testSock + "|ops"
	// The drift findings' rows, last in the Registry pane.
	keyDriftGlobal = "f|drift|" + testPathGlobal + "||||active_agents|"
	keyDriftTask   = "f|drift|" + testPathA + "|||" + testTaskA + "|active_count|"
)

func procKey(pid int32) string {
	for _, p := range newFakeBackend(nil).rep.Processes {
		if p.PID == pid {
			return p.Key
		}
	}
	return ""
}

func selected(m Model) string {
	r, _ := m.panes[m.focus].Selected()
	return r.key
}

// run executes a command and returns its message (nil for none). A batch
// is run whole and its messages returned in order.
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, run(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

func hasMsg[T any](msgs []tea.Msg) (T, bool) {
	for _, m := range msgs {
		if t, ok := m.(T); ok {
			return t, true
		}
	}
	var zero T
	return zero, false
}

type keyCase struct {
	name  string // binding field name, and a variant after a slash
	setup func(t *testing.T, m Model, b *fakeBackend) Model
	check func(t *testing.T, m Model, cmd tea.Cmd, b *fakeBackend)
}

func bindingName(c keyCase) string { name, _, _ := strings.Cut(c.name, "/"); return name }

var mainKeyCases = []keyCase{
	{name: "NextPane", check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if m.focus != paneTmux {
			t.Errorf("focus %s, want Tmux", paneNames[m.focus])
		}
	}},
	{name: "PrevPane", check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if m.focus != paneProcs {
			t.Errorf("focus %s, want Processes", paneNames[m.focus])
		}
	}},
	{name: "Up", setup: at(paneRegistry, keyReview), check: wantSelected(keyDocs)},
	{name: "Up/skips the task heading", setup: at(paneRegistry, keyPlan), check: wantSelected(keyPlan)},
	{name: "Down", check: wantSelected(keyLint)},
	{name: "PageUp", setup: at(paneRegistry, keyTest), check: wantSelected(keyPlan)},
	{name: "PageDown", check: wantSelected(keyDriftTask)},
	{name: "Top", setup: at(paneRegistry, keyFix), check: wantSelected(keyPlan)},
	{name: "Bottom", check: wantSelected(keyDriftTask)},
	{name: "Filter", check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if !m.filtering {
			t.Fatal("not filtering")
		}
		m, _ = press(t, m, "r", "e", "v")
		if got := countSelectable(m.panes[paneRegistry].rows); got != 1 {
			t.Errorf("filter rev: %d agents shown, want 1", got)
		}
		if m.filter.Value() != "rev" {
			t.Errorf("filter %q, want rev", m.filter.Value())
		}
	}},
	{name: "Filter/by verdict", check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		m, _ = press(t, m, "g", "h", "o", "s", "t")
		if got := countSelectable(m.panes[paneRegistry].rows); got != 2 {
			t.Errorf("filter ghost: %d agents shown, want the 2 ghosts", got)
		}
	}},
	{name: "Back/clears the filter", setup: func(t *testing.T, m Model, _ *fakeBackend) Model {
		m.filter.SetValue("review")
		m.refreshRows()
		return m
	}, check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if m.filter.Value() != "" || countSelectable(m.panes[paneRegistry].rows) != 11 {
			t.Errorf("filter %q with %d agents, want none and 9", m.filter.Value(), countSelectable(m.panes[paneRegistry].rows))
		}
	}},
	{name: "Back/closes an overlay", setup: func(t *testing.T, m Model, _ *fakeBackend) Model {
		m, _ = press(t, m, "?")
		return m
	}, check: wantOverlay(overlayNone)},
	{name: "Detail", setup: at(paneRegistry, keyReview), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		wantOverlay(overlayDetail)(t, m, nil, nil)
		for _, want := range []string{`"id": "review-213000-0a0b0c"`, "session_not_found", "GLOBAL_REGISTRY.json"} {
			if !strings.Contains(m.viewer.content, want) {
				t.Errorf("detail lacks %q:\n%s", want, m.viewer.content)
			}
		}
	}},
	{name: "Detail/of a process", setup: at(paneProcs, procKey(7001)), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		for _, want := range []string{"PPID 1", "SID 7001", "TMUX_PANE   %99", "/usr/local/bin/claude --print --resume", "orphan_process"} {
			if !strings.Contains(m.viewer.content, want) {
				t.Errorf("detail lacks %q:\n%s", want, m.viewer.content)
			}
		}
	}},
	{name: "Detail/of a session", setup: at(paneTmux, keyExplore), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		for _, want := range []string{"%4", "pane PID 4001", "untracked_session", "4001 4002"} {
			if !strings.Contains(m.viewer.content, want) {
				t.Errorf("detail lacks %q:\n%s", want, m.viewer.content)
			}
		}
	}},
	{name: "FaultsOnly", check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if !m.faultsOnly {
			t.Fatal("faults only is off")
		}
		for _, p := range m.panes {
			for _, r := range p.rows {
				if r.selectable() && !faulty(r.verdict()) {
					t.Errorf("row %s (%s) shown under faults only", r.key, r.verdict())
				}
			}
		}
	}},
	{name: "Tag", setup: at(paneTmux, keyExplore), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if !m.tags[keyExplore] || len(m.tags) != 1 {
			t.Errorf("tags %v, want the explore session", m.tags)
		}
		if selected(m) != keyOps {
			t.Errorf("cursor on %s, want it moved down to ops", selected(m))
		}
	}},
	{name: "Kill", setup: at(paneTmux, keyExplore), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		wantOverlay(overlayDialog)(t, m, nil, nil)
		if m.pending == nil || m.pending.kind != actionKill || m.dialog.focus != 0 {
			t.Fatalf("pending %+v, dialog focus %d; want a kill with Cancel focused", m.pending, m.dialog.focus)
		}
		var got []string
		for _, op := range m.pending.ops {
			got = append(got, fmt.Sprintf("%s %d %s", op.Op, op.PID, op.Session))
		}
		want := "kill_process 4001 agent_explore-205000-445566,kill_process 4002 agent_explore-205000-445566,kill_session 0 agent_explore-205000-445566"
		if strings.Join(got, ",") != want {
			t.Errorf("ops %v, want %s", got, want)
		}
		for _, want := range []string{"PID 4001", "PID 4002", "SIGTERM, then SIGKILL after 5s", "kill-session -t =agent_explore-205000-445566"} {
			if !strings.Contains(m.dialog.body, want) {
				t.Errorf("dialog lacks %q:\n%s", want, m.dialog.body)
			}
		}
	}},
	{name: "Kill/tagged rows", setup: func(t *testing.T, m Model, _ *fakeBackend) Model {
		m.tags[keyExplore] = true
		m.tags[procKey(7001)] = true
		return at(paneRegistry, keyPlan)(t, m, nil)
	}, check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if m.pending == nil || strings.Join(m.pending.targets, " ") != "agent_explore-205000-445566 7001" {
			t.Fatalf("pending %+v, want the two tagged targets", m.pending)
		}
		if !strings.Contains(m.dialog.title, "Kill 2 targets") {
			t.Errorf("title %q", m.dialog.title)
		}
	}},
	{name: "Kill/refuses a foreign claude without --force", setup: at(paneProcs, procKey(9002)), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		wantOverlay(overlayNone)(t, m, nil, nil)
		if !m.statusErr || !strings.Contains(m.status, "only leaks are killed") {
			t.Errorf("status %q, want the refusal", m.status)
		}
		if len(m.log.entries) != 1 || !strings.Contains(m.log.entries[0].summary, "refused") {
			t.Errorf("the refusal is not in the action log: %v", m.log.entries)
		}
	}},
	{name: "Kill/an agent by its session", setup: at(paneRegistry, testBase+"|build-200500-ddeeff"), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if m.pending == nil || strings.Join(m.pending.targets, " ") != "agent_build-200500-ddeeff" {
			t.Fatalf("pending %+v, want the agent's session", m.pending)
		}
		if !strings.Contains(m.dialog.body, "agent build-200500-ddeeff by its session agent_build-200500-ddeeff") {
			t.Errorf("dialog:\n%s", m.dialog.body)
		}
	}},
	{name: "Mark", setup: at(paneRegistry, keyReview), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		wantOverlay(overlayDialog)(t, m, nil, nil)
		if m.pending == nil || m.pending.kind != actionMark {
			t.Fatalf("pending %+v, want a mark", m.pending)
		}
		var got []string
		for _, op := range m.pending.plan.Ops {
			got = append(got, fmt.Sprintf("%s %s %s", op.Op, registryName(op.Registry), op.AgentID+op.Field))
		}
		want := "terminate TASK-20251017-210000-1a2b3c4d review-213000-0a0b0cstatus," +
			"recount TASK-20251017-210000-1a2b3c4d active_count,recount TASK-20251017-210000-1a2b3c4d completed_count," +
			"terminate GLOBAL review-213000-0a0b0cstatus,recount GLOBAL active_agents"
		if strings.Join(got, ",") != want {
			t.Errorf("plan\n%s\nwant\n%s", strings.Join(got, ","), want)
		}
	}},
	{name: "Mark/a ghost with completion evidence", setup: at(paneRegistry, keyDocs), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if m.pending == nil || m.pending.plan.Ops[0].Op != reconcile.OpComplete {
			t.Fatalf("pending %+v, want a complete", m.pending)
		}
	}},
	{name: "Mark/refuses a suspect", setup: at(paneRegistry, keyFix), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		wantOverlay(overlayNone)(t, m, nil, nil)
		if !strings.Contains(m.status, "only a suspect") {
			t.Errorf("status %q", m.status)
		}
	}},
	{name: "Repair", check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		wantOverlay(overlayDialog)(t, m, nil, nil)
		if m.pending == nil || m.pending.kind != actionRepair || len(m.pending.plan.Ops) != 6 {
			t.Fatalf("pending %+v, want a repair of 6 ops", m.pending)
		}
		for _, op := range m.pending.plan.Ops {
			if op.Op == reconcile.OpKillProcess || op.Op == reconcile.OpKillSession {
				t.Errorf("the repair plan kills: %+v", op)
			}
		}
	}},
	{name: "Undo", setup: func(t *testing.T, m Model, b *fakeBackend) Model {
		b.undoPlan = &engine.UndoPlan{Entry: engine.Entry{Action: "repair", Time: testNow}, Files: []engine.UndoFile{{
			FileChange: engine.FileChange{Path: testPathA}, Current: []byte("{\n  \"active_count\": 4\n}"), Restore: []byte("{\n  \"active_count\": 9\n}")}}}
		return m
	}, check: func(t *testing.T, m Model, cmd tea.Cmd, fb *fakeBackend) {
		if m.busy != actionUndo {
			t.Errorf("busy %q, want undo", m.busy)
		}
		msg, ok := hasMsg[undoPlanMsg](run(cmd))
		if !ok {
			t.Fatal("no undo plan")
		}
		m, _ = update(t, m, msg)
		wantOverlay(overlayDialog)(t, m, nil, nil)
		for _, want := range []string{`-  "active_count": 4`, `+  "active_count": 9`, "(after undo)"} {
			if !strings.Contains(m.dialog.body, want) {
				t.Errorf("undo preview lacks %q:\n%s", want, m.dialog.body)
			}
		}
		m, cmd = press(t, m, "right", "enter")
		done, ok := hasMsg[undoDoneMsg](run(cmd))
		if !ok || fb.undos != 1 {
			t.Fatalf("undo not run (%d)", fb.undos)
		}
		m, cmd = update(t, m, done)
		if m.status != "undo: 1 put back, 0 refused" || len(m.log.entries) != 1 {
			t.Errorf("status %q, log %v", m.status, m.log.entries)
		}
		if _, ok := hasMsg[scanMsg](run(cmd)); !ok {
			t.Error("no rescan after the undo")
		}
	}},
	{name: "Undo/refused", setup: func(t *testing.T, m Model, b *fakeBackend) Model {
		b.undoPlan = &engine.UndoPlan{Entry: engine.Entry{Action: "repair", Time: testNow}, Files: []engine.UndoFile{
			{FileChange: engine.FileChange{Path: testPathA}, Conflict: "changed since after agentwatch wrote it",
				Current: []byte("{\n  \"active_count\": 5\n}"), Restore: []byte("{\n  \"active_count\": 9\n}")},
			{FileChange: engine.FileChange{Path: testPathA + ".gone"}, Conflict: "it no longer exists"}}}
		return m
	}, check: func(t *testing.T, m Model, cmd tea.Cmd, fb *fakeBackend) {
		m, _ = update(t, m, run(cmd)[0])
		wantOverlay(overlayDialog)(t, m, nil, nil)
		for _, want := range []string{"Nothing can be put back", "Not even --force", `+  "active_count": 9`, "no longer exists"} {
			if !strings.Contains(m.dialog.body, want) {
				t.Errorf("refused undo lacks %q:\n%s", want, m.dialog.body)
			}
		}
		if strings.Contains(m.dialog.body, "undo --force") {
			t.Errorf("--force is offered where it cannot help:\n%s", m.dialog.body)
		}
		if v := m.View(); strings.Contains(v, "Undo  ") || !strings.Contains(v, "[ Close ]") {
			t.Errorf("a refused undo offers to undo:\n%s", v)
		}
		m, cmd = press(t, m, "right", "enter")
		if cmd != nil {
			run(cmd)
		}
		if fb.undos != 0 || m.overlay != overlayNone {
			t.Errorf("undos %d, overlay %v: want none run and the dialog closed", fb.undos, m.overlay)
		}
	}},
	{name: "Undo/refused, changed since", setup: func(t *testing.T, m Model, b *fakeBackend) Model {
		b.undoPlan = &engine.UndoPlan{Entry: engine.Entry{Action: "repair", Time: testNow}, Files: []engine.UndoFile{
			{FileChange: engine.FileChange{Path: testPathA}, Conflict: "changed since after agentwatch wrote it",
				Current: []byte("{\n  \"active_count\": 5\n}"), Restore: []byte("{\n  \"active_count\": 9\n}")}}}
		return m
	}, check: func(t *testing.T, m Model, cmd tea.Cmd, fb *fakeBackend) {
		m, _ = update(t, m, run(cmd)[0])
		if want := "`agentwatch undo --force --workspace " + testBase + "` overrides"; !strings.Contains(m.dialog.body, want) {
			t.Errorf("a refusal that --force overrides lacks %q:\n%s", want, m.dialog.body)
		}
	}},
	{name: "Undo/nothing to undo", setup: func(t *testing.T, m Model, b *fakeBackend) Model {
		b.undoErr = engine.ErrNothingToUndo
		return m
	}, check: func(t *testing.T, m Model, cmd tea.Cmd, _ *fakeBackend) {
		m, _ = update(t, m, run(cmd)[0])
		wantOverlay(overlayNone)(t, m, nil, nil)
		if !strings.Contains(m.status, "nothing to undo") || m.busy != "" {
			t.Errorf("status %q, busy %q", m.status, m.busy)
		}
	}},
	{name: "Pause", check: func(t *testing.T, m Model, cmd tea.Cmd, _ *fakeBackend) {
		if !m.paused || cmd != nil {
			t.Fatalf("paused %v, cmd %v", m.paused, cmd)
		}
		if !strings.Contains(m.View(), "PAUSED") {
			t.Error("the header does not say PAUSED")
		}
		if _, cmd := update(t, m, tickMsg{seq: m.tickSeq}); cmd != nil {
			t.Error("a tick scans while paused")
		}
		m.scanning = true
		n, cmd := update(t, m, scanMsg{snap: m.snap, rep: reconcile.Report{}, mem: m.mem})
		if len(n.rep.Agents) == 0 || cmd != nil {
			t.Error("a scan result moved the rows while paused")
		}
		n, cmd = press(t, n, "p")
		if n.paused || cmd == nil || !n.scanning {
			t.Error("resuming does not scan")
		}
	}},
	{name: "Rescan", check: func(t *testing.T, m Model, cmd tea.Cmd, _ *fakeBackend) {
		if !m.scanning {
			t.Error("no scan in flight")
		}
		if _, ok := hasMsg[scanMsg](run(cmd)); !ok {
			t.Error("ctrl+r does not scan")
		}
		if _, cmd := press(t, m, "ctrl+r"); cmd != nil {
			t.Error("a second ctrl+r overlaps the scan in flight")
		}
	}},
	{name: "Log", check: func(t *testing.T, m Model, cmd tea.Cmd, _ *fakeBackend) {
		wantOverlay(overlayLog)(t, m, nil, nil)
		msg, ok := hasMsg[auditMsg](run(cmd))
		if !ok {
			t.Fatal("the log does not read the audit log")
		}
		m, _ = update(t, m, msg)
		if !strings.Contains(m.viewer.content, "This run") || !strings.Contains(m.viewer.content, "Audit log") {
			t.Errorf("log content:\n%s", m.viewer.content)
		}
	}},
	{name: "Help", check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		wantOverlay(overlayHelp)(t, m, nil, nil)
		if !strings.Contains(m.viewer.content, "mark ghost") || !strings.Contains(m.viewer.content, "⚠ leak") {
			t.Errorf("help:\n%s", m.viewer.content)
		}
	}},
	{name: "Quit", check: wantQuit},
	{name: "Interrupt", setup: func(t *testing.T, m Model, _ *fakeBackend) Model {
		m, _ = press(t, m, "/")
		return m
	}, check: wantQuit},
}

func at(id paneID, k string) func(*testing.T, Model, *fakeBackend) Model {
	return func(t *testing.T, m Model, _ *fakeBackend) Model { return selectRow(t, m, id, k) }
}

func wantSelected(k string) func(*testing.T, Model, tea.Cmd, *fakeBackend) {
	return func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		t.Helper()
		if got := selected(m); got != k {
			t.Errorf("selected %s, want %s", got, k)
		}
	}
}

func wantOverlay(o overlayKind) func(*testing.T, Model, tea.Cmd, *fakeBackend) {
	return func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		t.Helper()
		if m.overlay != o {
			t.Errorf("overlay %d, want %d", m.overlay, o)
		}
	}
}

func wantQuit(t *testing.T, _ Model, cmd tea.Cmd, _ *fakeBackend) {
	t.Helper()
	if _, ok := hasMsg[tea.QuitMsg](run(cmd)); !ok {
		t.Error("does not quit")
	}
}

// openRepairDialog is the setup of the dialog keys' tests.
func openRepairDialog(t *testing.T, m Model, _ *fakeBackend) Model {
	m, _ = press(t, m, "R")
	if m.overlay != overlayDialog {
		t.Fatal("no dialog")
	}
	return m
}

var dialogKeyCases = []keyCase{
	{name: "Left", setup: openRepairDialog, check: wantDialogFocus(1)},
	{name: "Right", setup: openRepairDialog, check: wantDialogFocus(1)},
	{name: "Press/on Cancel, the default", setup: openRepairDialog, check: func(t *testing.T, m Model, cmd tea.Cmd, b *fakeBackend) {
		wantOverlay(overlayNone)(t, m, nil, nil)
		if cmd != nil || m.pending != nil || len(b.repairs) != 0 || !strings.Contains(m.status, "cancelled") {
			t.Errorf("cancel ran something: cmd %v, status %q", cmd, m.status)
		}
	}},
	{name: "Press/on the action", setup: func(t *testing.T, m Model, b *fakeBackend) Model {
		m = openRepairDialog(t, m, b)
		m, _ = press(t, m, "right")
		return m
	}, check: func(t *testing.T, m Model, cmd tea.Cmd, b *fakeBackend) {
		if m.busy != actionRepair {
			t.Errorf("busy %q, want repair", m.busy)
		}
		msg, ok := hasMsg[resultMsg](run(cmd))
		if !ok || len(b.repairs) != 1 || len(b.repairs[0].Ops) != 6 {
			t.Fatalf("repair not run: %v", b.repairs)
		}
		m, cmd = update(t, m, msg)
		if m.busy != "" || !strings.Contains(m.status, "repair: 6 applied, 0 skipped, 0 failed") || len(m.log.entries) != 1 {
			t.Errorf("after the result: busy %q, status %q, log %v", m.busy, m.status, m.log.entries)
		}
		if _, ok := hasMsg[scanMsg](run(cmd)); !ok {
			t.Error("no rescan after the repair")
		}
	}},
	{name: "Cancel", setup: openRepairDialog, check: func(t *testing.T, m Model, cmd tea.Cmd, b *fakeBackend) {
		wantOverlay(overlayNone)(t, m, nil, nil)
		if m.pending != nil || len(b.repairs) != 0 {
			t.Error("cancel did not cancel")
		}
	}},
	{name: "Down", setup: openRepairDialog, check: wantDialogOffset(func(o int) bool { return o == 1 })},
	{name: "Up", setup: func(t *testing.T, m Model, b *fakeBackend) Model {
		m = openRepairDialog(t, m, b)
		m, _ = press(t, m, "down", "down")
		return m
	}, check: wantDialogOffset(func(o int) bool { return o == 1 })},
	{name: "PageDown", setup: openRepairDialog, check: wantDialogOffset(func(o int) bool { return o > 1 })},
	{name: "PageUp", setup: func(t *testing.T, m Model, b *fakeBackend) Model {
		m = openRepairDialog(t, m, b)
		m, _ = press(t, m, "pgdown")
		return m
	}, check: wantDialogOffset(func(o int) bool { return o == 0 })},
}

func wantDialogFocus(f int) func(*testing.T, Model, tea.Cmd, *fakeBackend) {
	return func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		t.Helper()
		if m.overlay != overlayDialog || m.dialog.focus != f {
			t.Errorf("overlay %d, dialog focus %d; want focus %d", m.overlay, m.dialog.focus, f)
		}
	}
}

func wantDialogOffset(ok func(int) bool) func(*testing.T, Model, tea.Cmd, *fakeBackend) {
	return func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		t.Helper()
		if m.overlay != overlayDialog || !ok(m.dialog.vp.YOffset) {
			t.Errorf("dialog scrolled to %d", m.dialog.vp.YOffset)
		}
	}
}

// bindingFields lists the key.Binding fields of a key map.
func bindingFields(km any) []string {
	var out []string
	v := reflect.ValueOf(km)
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).Type == reflect.TypeOf(key.Binding{}) {
			out = append(out, v.Type().Field(i).Name)
		}
	}
	return out
}

// testKeyCases runs every case once for every key of its binding.
func testKeyCases(t *testing.T, km any, cases []keyCase, w, h int) {
	covered := map[string]bool{}
	for _, c := range cases {
		covered[bindingName(c)] = true
	}
	for _, f := range bindingFields(km) {
		if !covered[f] {
			t.Errorf("binding %s has no Update test", f)
		}
	}
	for _, c := range cases {
		b := reflect.ValueOf(km).FieldByName(bindingName(c)).Interface().(key.Binding)
		for _, k := range b.Keys() {
			t.Run(fmt.Sprintf("%s/key %q", c.name, k), func(t *testing.T) {
				fb := newFakeBackend(t)
				m := scanned(t, fb, testOptions(fb), w, h)
				if c.setup != nil {
					m = c.setup(t, m, fb)
				}
				m, cmd := press(t, m, k)
				c.check(t, m, cmd, fb)
			})
		}
	}
}

// TestKeyMap sends every key of every binding of the main screen to Update.
func TestKeyMap(t *testing.T) {
	testKeyCases(t, DefaultKeyMap(), mainKeyCases, 160, 45)
}

// TestDialogKeyMap sends every key of every dialog binding to Update, in a
// window small enough for the repair preview to scroll.
func TestDialogKeyMap(t *testing.T) {
	testKeyCases(t, DefaultDialogKeyMap(), dialogKeyCases, 80, 24)
}

// withoutStatus drops the status line (the second last) from a screen.
func withoutStatus(screen string) string {
	lines := strings.Split(screen, "\n")
	if len(lines) < 2 {
		return screen
	}
	return strings.Join(append(lines[:len(lines)-2:len(lines)-2], lines[len(lines)-1]), "\n")
}

// TestReadonlyKeys: under --readonly every action key leaves the state as
// it was and says why, and the help does not offer it.
func TestReadonlyKeys(t *testing.T) {
	km := DefaultKeyMap()
	for _, a := range km.actions() {
		for _, k := range a.b.Keys() {
			t.Run(fmt.Sprintf("%s/key %q", a.name, k), func(t *testing.T) {
				fb := newFakeBackend(t)
				opts := testOptions(fb)
				opts.Readonly = true
				fb.undoPlan = &engine.UndoPlan{}
				m := scanned(t, fb, opts, 160, 45)
				m = selectRow(t, m, paneTmux, keyExplore) // a leak: every action would act on it
				before := m.View()
				m, cmd := press(t, m, k)
				if cmd != nil || m.overlay != overlayNone || m.pending != nil || m.busy != "" || len(m.tags) != 0 || selected(m) != keyExplore {
					t.Errorf("%s changed the state: cmd %v, overlay %d, pending %v, busy %q, tags %v", a.name, cmd, m.overlay, m.pending, m.busy, m.tags)
				}
				want := "read-only session: " + a.name + " is disabled"
				if m.status != want {
					t.Errorf("status %q, want %q", m.status, want)
				}
				if after := m.View(); withoutStatus(after) != withoutStatus(before) || !strings.Contains(after, want) {
					t.Errorf("the screen changed beyond the status line:\n%s\n---\n%s", before, after)
				}
				help := m.help.FullHelpView(m.keys.FullHelp()) + m.hintLine()
				if desc := a.b.Help().Desc; strings.Contains(help, desc) {
					t.Errorf("the help offers %q under --readonly:\n%s", desc, help)
				}
			})
		}
	}
}
