package ui

import (
	"os"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// keyMsg makes the key message whose String() is s.
func keyMsg(t testing.TB, s string) tea.KeyMsg {
	t.Helper()
	types := map[string]tea.KeyType{
		"tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab, "enter": tea.KeyEnter, "esc": tea.KeyEsc,
		"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
		"pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown, "home": tea.KeyHome, "end": tea.KeyEnd,
		"ctrl+r": tea.KeyCtrlR, "ctrl+c": tea.KeyCtrlC, "ctrl+u": tea.KeyCtrlU, "ctrl+d": tea.KeyCtrlD,
		" ": tea.KeySpace, "backspace": tea.KeyBackspace,
	}
	var msg tea.KeyMsg
	if kt, ok := types[s]; ok {
		msg = tea.KeyMsg{Type: kt}
		if kt == tea.KeySpace {
			msg.Runes = []rune{' '}
		}
	} else {
		msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
	}
	if msg.String() != s {
		t.Fatalf("keyMsg(%q) gives %q", s, msg.String())
	}
	return msg
}

// update runs one message through the model.
func update(t testing.TB, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	next, cmd := m.Update(msg)
	nm, ok := next.(Model)
	if !ok {
		t.Fatalf("Update returned %T", next)
	}
	return nm, cmd
}

// press sends keys one after another and returns the last command.
func press(t testing.TB, m Model, keys ...string) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, k := range keys {
		m, cmd = update(t, m, keyMsg(t, k))
	}
	return m, cmd
}

// scanned is a model of size w×h that has applied one scan of b.
func scanned(t testing.TB, b Backend, opts Options, w, h int) Model {
	t.Helper()
	m := New(opts)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	m, _ = update(t, m, scanCmd(b, testNow, nil, nil, true)())
	return m
}

// selectRow moves the cursor of pane id onto the row with key k.
func selectRow(t testing.TB, m Model, id paneID, k string) Model {
	t.Helper()
	m.focus = id
	for i, r := range m.panes[id].rows {
		if r.key == k {
			m.panes[id].cursor = i
			m.panes[id].ensureVisible()
			return m
		}
	}
	t.Fatalf("no row %q in pane %s", k, paneNames[id])
	return m
}

func lipglossWidth(s string) int { return lipgloss.Width(s) }
