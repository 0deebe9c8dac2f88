package ui

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// wheelStep is how many rows a turn of the wheel moves.
const wheelStep = 3

// onMouse selects the row clicked and scrolls the pane under the wheel;
// over an overlay the wheel scrolls it.
func (m Model) onMouse(msg tea.MouseMsg) (tea.Model, tea.Cmd) {
	wheel := 0
	switch msg.Button {
	case tea.MouseButtonWheelUp:
		wheel = -1
	case tea.MouseButtonWheelDown:
		wheel = 1
	case tea.MouseButtonLeft:
		if msg.Action != tea.MouseActionPress {
			return m, nil
		}
	default:
		return m, nil
	}
	if m.overlay != overlayNone {
		if wheel == 0 {
			return m, nil
		}
		km := m.keys.Down
		if wheel < 0 {
			km = m.keys.Up
		}
		k := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(km.Keys()[0])}
		for range wheelStep {
			switch m.overlay {
			case overlayDialog:
				m.dialog, _, _ = m.dialog.Update(k)
			default:
				m.viewer, _ = m.viewer.Update(k, m.keys)
			}
		}
		return m, nil
	}
	id, idx, ok := m.hit(msg.X, msg.Y)
	if !ok {
		return m, nil
	}
	if idx == tabsRow {
		m.focus = id
		return m, nil
	}
	m.focus = id
	t := &m.panes[id]
	if wheel != 0 {
		t.moveTo(t.cursor+wheel*wheelStep, wheel)
		return m, nil
	}
	if idx >= 0 && idx < len(t.rows) && t.rows[idx].selectable() {
		t.cursor = idx
		t.ensureVisible()
	}
	return m, nil
}

// tabsRow is hit's answer for a click on a narrow screen's tab bar.
const tabsRow = -2

// hit finds the pane at screen cell (x, y) and the index of the row drawn
// there (-1 on its border or column heads, tabsRow on a tab).
func (m Model) hit(x, y int) (paneID, int, bool) {
	y -= m.header().height(&m.styles)
	if y < 0 || y >= m.bodyHeight() {
		return 0, 0, false
	}
	row := func(id paneID, y int) (paneID, int, bool) {
		t := m.panes[id]
		if y < 0 || y >= t.height {
			return id, -1, false
		}
		if i := y - 2; i >= 0 && i < t.bodyHeight() { // the border and the column heads
			return id, t.offset + i, true
		}
		return id, -1, true
	}
	if m.width >= wideWidth {
		left := 0
		for id := range paneCount {
			w := m.panes[id].width
			if x >= left && x < left+w {
				return row(id, y)
			}
			left += w
		}
		return 0, 0, false
	}
	if y == 0 { // the tab bar: the same labels panesView draws
		left := 0
		for i := range m.panes {
			label := fmt.Sprintf("%s %d", paneNames[i], countSelectable(m.panes[i].rows))
			w := lipgloss.Width(m.styles.Tab.Render(" " + label + " "))
			if paneID(i) == m.focus {
				w = lipgloss.Width(m.styles.TabActive.Render("[" + label + "]"))
			}
			if x >= left && x < left+w {
				return paneID(i), tabsRow, true
			}
			left += w
		}
		return 0, 0, false
	}
	if x >= m.width {
		return 0, 0, false
	}
	return row(m.focus, y-1)
}
