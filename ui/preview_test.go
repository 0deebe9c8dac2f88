package ui

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"agentwatch/engine"
)

func init() {
	mainKeyCases = append(mainKeyCases, consoleKeyCases...)
}

// readPreview delivers the preview's settle tick and the read it starts,
// as the program would.
func readPreview(t *testing.T, m Model) Model {
	t.Helper()
	m, cmd := update(t, m, previewTickMsg{seq: m.preview.seq})
	if cmd == nil {
		t.Fatal("the preview's tick read nothing")
	}
	msg, ok := cmd().(previewMsg)
	if !ok {
		t.Fatalf("the preview's tick gave no preview read")
	}
	m, _ = update(t, m, msg)
	return m
}

func TestPreviewFollowsTheSelectionOnly(t *testing.T) {
	fb := newFakeBackend(t)
	fb.preview = engine.Preview{Pane: "$ make test\nok  agentwatch/ui\n\n\n", Log: "/x/impl_stream.jsonl",
		LogLines:    []string{`{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash","input":{"command":"go test ./..."}}]}}`},
		LogModified: testNow.Add(-3 * time.Second)}
	m := scanned(t, fb, testOptions(fb), 200, 50)
	if !m.previewShown() {
		t.Fatal("no preview at 200 columns")
	}
	first := m.preview.seq
	m = selectRow(t, m, paneRegistry, keyLint)
	m, _ = press(t, m, "j", "j", "j", "j", "j") // down to impl, through four rows
	if selected(m) != keyImpl {
		t.Fatalf("selected %s, want impl", selected(m))
	}
	// Ticks of the rows passed over read nothing.
	for seq := first; seq < m.preview.seq; seq++ {
		if _, cmd := update(t, m, previewTickMsg{seq: seq}); cmd != nil {
			t.Errorf("the tick of an earlier selection (%d) reads", seq)
		}
	}
	m = readPreview(t, m)
	if len(fb.previews) != 1 {
		t.Fatalf("%d reads, want 1: %+v", len(fb.previews), fb.previews)
	}
	req := fb.previews[0]
	wantLog := filepath.Join(testBase, testTaskA, "logs", "impl-214500-a1b2c3_stream.jsonl")
	if req.Pane != "%1" || req.Server != "-S "+testSock || !slices.Contains(req.Logs, wantLog) {
		t.Errorf("read %+v; want pane %%1 on -S %s and log %s", req, testSock, wantLog)
	}
	view := m.View()
	for _, want := range []string{"Preview: agent impl-214500-a1b2c3", "ok  agentwatch/ui", "→ Bash(go test ./...)", "changed 3s ago"} {
		if !strings.Contains(view, want) {
			t.Errorf("the preview lacks %q:\n%s", want, view)
		}
	}
	// While it stays selected it is read again, once per result.
	m, cmd := update(t, m, previewTickMsg{seq: m.preview.seq})
	if _, ok := cmd().(previewMsg); !ok || !m.preview.inflight {
		t.Fatal("the selected row is not read again")
	}
	if _, cmd := update(t, m, previewTickMsg{seq: m.preview.seq}); cmd != nil {
		t.Error("a second read starts while one is in flight")
	}
}

func TestPreviewToggleWhenNarrow(t *testing.T) {
	fb := newFakeBackend(t)
	fb.preview = engine.Preview{Pane: "hello from the pane"}
	m := scanned(t, fb, testOptions(fb), 120, 40)
	m = selectRow(t, m, paneRegistry, keyImpl)
	if m.previewShown() {
		t.Fatal("a preview at 120 columns before v")
	}
	if m2, cmd := update(t, m, previewTickMsg{seq: m.preview.seq}); cmd != nil || strings.Contains(m2.View(), "Preview") {
		t.Error("a hidden preview reads")
	}
	m, _ = press(t, m, "v")
	m = readPreview(t, m)
	if view := m.View(); !strings.Contains(view, "hello from the pane") || lipglossWidth(strings.Split(view, "\n")[20]) != 120 {
		t.Errorf("v shows no preview under the panes:\n%s", view)
	}
	m, _ = press(t, m, "v")
	if strings.Contains(m.View(), "hello from the pane") {
		t.Error("v again does not hide it")
	}
}

// TestPreviewEscapes: a pane capture or a stream log holding escape
// sequences cannot move the cursor or retitle the terminal.
func TestPreviewEscapes(t *testing.T) {
	fb := newFakeBackend(t)
	fb.preview = engine.Preview{Pane: "top\x1b[2J\x1b[Hwiped\r\n", Log: "/x/l",
		LogLines: []string{`{"type":"assistant","message":{"content":"hi\u001b]0;owned\u0007 there"}}`, "raw \x1b[5A up"}}
	m := scanned(t, fb, testOptions(fb), 200, 50)
	m = selectRow(t, m, paneRegistry, keyImpl)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 200, Height: 50})
	m, _ = m.syncPreview()
	m = readPreview(t, m)
	view := m.View()
	if strings.ContainsAny(view, "\x1b\x07\r") {
		t.Errorf("an escape sequence reached the screen: %q", view)
	}
	for _, want := range []string{`top\x1b[2J\x1b[Hwiped`, `hi\x1b]0;owned\x07 there`, `raw \x1b[5A up`} {
		if !strings.Contains(view, want) {
			t.Errorf("the preview lacks %q escaped:\n%s", want, view)
		}
	}
}

func TestRenderStream(t *testing.T) {
	tests := []struct {
		name, line string
		want       []string
	}{
		{"assistant text", `{"type":"assistant","message":{"content":[{"type":"text","text":"Reading the tests.\nThen more."}]}}`, []string{"● Reading the tests. …"}},
		{"assistant string", `{"type":"assistant","message":{"content":"step 3"}}`, []string{"● step 3"}},
		{"tool call", `{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Read","input":{"file_path":"/src/a.go"}}]}}`, []string{"→ Read(/src/a.go)"}},
		{"tool result", `{"type":"user","message":{"content":[{"type":"tool_result","content":"PASS"}]}}`, []string{"  ← PASS"}},
		{"failed tool", `{"type":"user","message":{"content":[{"type":"tool_result","is_error":true,"content":[{"type":"text","text":"exit 1"}]}]}}`, []string{"  ✗ exit 1"}},
		{"result", `{"type":"result","subtype":"success","is_error":false,"num_turns":4,"total_cost_usd":0.125,"result":"Done."}`, []string{"✓ result: success, 4 turns, $0.12", "  Done."}},
		{"error result", `{"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":1}`, []string{"✗ result: error_max_turns, is_error true, 1 turn"}},
		{"init", `{"type":"system","subtype":"init","model":"opus"}`, []string{"· init (model opus)"}},
		{"not JSON", "Error: something\tbroke", []string{`  Error: something\tbroke`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderStream([]string{tt.line}); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

var consoleKeyCases = []keyCase{
	{name: "Preview", setup: at(paneRegistry, keyImpl), check: func(t *testing.T, m Model, cmd tea.Cmd, _ *fakeBackend) {
		if !m.previewShown() || m.preview.key != keyImpl {
			t.Errorf("preview shown %v for %q; want shown for impl", m.previewShown(), m.preview.key)
		}
		if _, ok := hasMsg[previewTickMsg](run(cmd)); !ok {
			t.Error("showing the preview does not arm its read")
		}
	}},
	{name: "Attach", setup: at(paneRegistry, keyImpl), check: func(t *testing.T, m Model, cmd tea.Cmd, b *fakeBackend) {
		msg, ok := hasMsg[attachExecMsg](run(cmd))
		if !ok || msg.session != "agent_impl-214500-a1b2c3" {
			t.Fatalf("outside tmux, a does not hand the terminal to tmux attach: %v", msg)
		}
		if len(b.attaches) != 1 || b.attaches[0].Server != "-S "+testSock {
			t.Errorf("attach asked %+v", b.attaches)
		}
		if _, cmd := update(t, m, msg); cmd == nil {
			t.Error("the attach command is not run")
		}
		m, _ = update(t, m, attachDoneMsg{session: msg.session})
		if !strings.Contains(m.status, "back from agent_impl-214500-a1b2c3") {
			t.Errorf("status %q after the detach", m.status)
		}
	}},
	{name: "Attach/inside tmux switches the client", setup: func(t *testing.T, m Model, b *fakeBackend) Model {
		b.inside = true
		m.opts.TMUX, m.opts.TMUXPane = testSock+",50,0", "%7"
		return selectRow(t, m, paneTmux, keyExplore)
	}, check: func(t *testing.T, m Model, cmd tea.Cmd, b *fakeBackend) {
		msg, ok := hasMsg[attachMsg](run(cmd))
		if !ok || len(b.switches) != 1 || b.switches[0].TMUXPane != "%7" || b.switches[0].Session != "agent_explore-205000-445566" {
			t.Fatalf("switch-client asked %+v (message %v)", b.switches, msg)
		}
		m, _ = update(t, m, msg)
		if !strings.Contains(m.status, "switched") {
			t.Errorf("status %q", m.status)
		}
	}},
	{name: "Attach/a row without a session", setup: at(paneRegistry, keyPlan), check: func(t *testing.T, m Model, cmd tea.Cmd, _ *fakeBackend) {
		if cmd != nil || !strings.Contains(m.status, "no live tmux session") {
			t.Errorf("status %q, cmd %v", m.status, cmd != nil)
		}
	}},
}
