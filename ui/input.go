package ui

// Keys: what each key does in the panes, the filter and the overlays
// (mouse.go has the mouse, actions.go the dialogs).

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

func (m Model) onKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if key.Matches(msg, m.keys.Interrupt) {
		return m, tea.Quit
	}
	if m.filtering {
		return m.onFilterKey(msg)
	}
	// Keys typed faster than the screen reads them (key repeat, a burst)
	// arrive as one message of several runes: take them one by one, as
	// they were pressed. A paste is not a burst of commands.
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
		var cmds []tea.Cmd
		var next tea.Model = m
		for _, r := range msg.Runes {
			var cmd tea.Cmd
			next, cmd = next.(Model).onKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
			cmds = append(cmds, cmd)
		}
		return next, tea.Batch(cmds...)
	}
	switch m.overlay {
	case overlayDialog:
		return m.onDialogKey(msg)
	case overlayDetail, overlayLog, overlayHelp:
		toggle := map[overlayKind]key.Binding{overlayDetail: m.keys.Detail, overlayLog: m.keys.Log, overlayHelp: m.keys.Help}[m.overlay]
		if key.Matches(msg, m.keys.Back, m.keys.Quit, toggle) {
			m.overlay = overlayNone
			return m, nil
		}
		var cmd tea.Cmd
		m.viewer, cmd = m.viewer.Update(msg, m.keys)
		return m, cmd
	}
	if name, ok := m.keys.disabledAction(msg); ok {
		m.setStatus("read-only session: " + name + " is disabled")
		return m, nil
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.NextPane):
		m.focus = (m.focus + 1) % paneCount
	case key.Matches(msg, k.PrevPane):
		m.focus = (m.focus + paneCount - 1) % paneCount
	case key.Matches(msg, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom):
		m.panes[m.focus], _ = m.panes[m.focus].Update(msg, k)
	case key.Matches(msg, k.Filter):
		m.filtering = true
		return m, m.filter.Focus()
	case key.Matches(msg, k.Back):
		if m.filter.Value() != "" {
			m.filter.Reset()
			m.refreshRows()
			m.setStatus("filter cleared")
		}
	case key.Matches(msg, k.Detail):
		m.openDetail()
	case key.Matches(msg, k.FaultsOnly):
		m.faultsOnly = !m.faultsOnly
		m.refreshRows()
		if m.faultsOnly {
			m.setStatus("faults only: ok, starting, done and other rows are hidden")
		} else {
			m.setStatus("showing every row")
		}
	case key.Matches(msg, k.Tag):
		m.toggleTag()
	case key.Matches(msg, k.Kill):
		m.openKill()
	case key.Matches(msg, k.ForceKill):
		m.openForceKill()
	case key.Matches(msg, k.Mark):
		m.openMark()
	case key.Matches(msg, k.Repair):
		m.openRepair()
	case key.Matches(msg, k.Undo):
		return m.startUndo()
	case key.Matches(msg, k.Pause):
		m.paused = !m.paused
		if m.paused {
			m.setStatus("paused: rows stay as they are; p resumes, ctrl+r scans once")
			return m, nil
		}
		m.setStatus("resumed")
		return m, m.requestScan(true)
	case key.Matches(msg, k.Rescan):
		m.setStatus(statusRescanning)
		return m, m.requestScan(true)
	case key.Matches(msg, k.Log):
		m.openViewer(overlayLog, "Action log", m.log.content())
		return m, auditCmd(m.opts.Backend)
	case key.Matches(msg, k.Help):
		m.openViewer(overlayHelp, "Help", m.helpContent())
	case key.Matches(msg, k.Preview):
		m.previewToggled = !m.previewToggled
		m.layout()
		if m.previewShown() {
			m.setStatus("preview: the selected row's pane and stream log, read while it is selected (v hides it)")
		} else {
			m.setStatus("preview hidden (v shows it)")
		}
	case key.Matches(msg, k.Attach):
		return m.attach()
	case key.Matches(msg, k.Sort):
		m.cycleSort()
	case key.Matches(msg, k.NextFault):
		m.jumpFault(1)
	case key.Matches(msg, k.PrevFault):
		m.jumpFault(-1)
	case key.Matches(msg, k.Collapse):
		m.toggleCollapse()
	case key.Matches(msg, k.HideDone):
		m.toggleHideDone()
	case key.Matches(msg, k.CopyID):
		return m.copySelected(false)
	case key.Matches(msg, k.CopyPath):
		return m.copySelected(true)
	}
	return m, nil
}

func (m Model) onFilterKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.Back):
		m.filtering = false
		m.filter.Blur()
		m.filter.Reset()
		m.refreshRows()
		m.setStatus("filter cleared")
		return m, nil
	case key.Matches(msg, m.keys.Detail):
		m.filtering = false
		m.filter.Blur()
		if v := m.filter.Value(); v != "" {
			m.setStatus("filter: " + escape(v) + " (esc clears)")
		}
		return m, nil
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	m.refreshRows()
	return m, cmd
}

func (m *Model) toggleTag() {
	if m.focus == paneRegistry {
		m.setStatus("space tags sessions and processes: switch to the Tmux or Processes pane with tab")
		return
	}
	r, ok := m.panes[m.focus].Selected()
	if !ok {
		return
	}
	if m.tags[r.key] {
		delete(m.tags, r.key)
	} else {
		m.tags[r.key] = true
	}
	m.panes[m.focus].moveTo(m.panes[m.focus].cursor+1, 1)
	switch n := len(m.tags); n {
	case 0:
		m.setStatus("nothing tagged")
	case 1:
		m.setStatus("1 tagged: x kills it")
	default:
		m.setStatus(fmt.Sprintf("%d tagged: x kills them", n))
	}
}

func (m *Model) openDetail() {
	r, ok := m.panes[m.focus].Selected()
	if !ok {
		m.setStatus("nothing selected")
		return
	}
	m.openViewer(overlayDetail, detailTitle(r), detailContent(r, m.snap, &m.rep, m.opts.TermTimeout))
}

func (m *Model) openViewer(kind overlayKind, title, content string) {
	m.overlay = kind
	m.viewer = newViewer(title, content)
	m.layout()
}

func (m *Model) refreshLog() {
	if m.overlay == overlayLog {
		m.viewer.SetContent(m.log.content())
	}
}
