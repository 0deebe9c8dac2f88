package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
)

// viewer is a full-size, scrollable overlay: the detail view, the action
// log and the help.
type viewer struct {
	title   string
	content string
	vp      viewport.Model
	width   int
	height  int
}

func newViewer(title, content string) viewer {
	return viewer{title: title, content: content, vp: viewport.New(0, 0)}
}

// SetSize fits the viewer to the area it covers.
func (v *viewer) SetSize(w, h int) {
	v.width, v.height = w, h
	v.vp.Width, v.vp.Height = max(w-4, 1), max(h-2, 1)
	v.vp.SetContent(wrapText(v.content, v.vp.Width))
}

// SetContent replaces what the viewer shows, keeping the scroll position.
func (v *viewer) SetContent(content string) {
	v.content = content
	v.vp.SetContent(wrapText(content, v.vp.Width))
}

// Update scrolls.
func (v viewer) Update(msg tea.Msg, keys KeyMap) (viewer, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return v, nil
	}
	switch {
	case key.Matches(km, keys.Up):
		v.vp.ScrollUp(1)
	case key.Matches(km, keys.Down):
		v.vp.ScrollDown(1)
	case key.Matches(km, keys.PageUp):
		v.vp.PageUp()
	case key.Matches(km, keys.PageDown):
		v.vp.PageDown()
	case key.Matches(km, keys.Top):
		v.vp.GotoTop()
	case key.Matches(km, keys.Bottom):
		v.vp.GotoBottom()
	}
	return v, nil
}

// View draws the viewer's box.
func (v viewer) View(s *Styles) string {
	title := v.title
	if !(v.vp.AtTop() && v.vp.AtBottom()) {
		title += fmt.Sprintf(" — %d%%", int(v.vp.ScrollPercent()*100))
	}
	lines := strings.Split(v.vp.View(), "\n")
	for i, l := range lines {
		lines[i] = " " + l
	}
	return box(s.Box, s.BoxTitle, title, lines, v.width, v.height)
}
