package ui

// Drawing: each component's size, and the screen they make together.

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
)

// layout gives every component its size, from the window's size and the
// header's height.
func (m *Model) layout() {
	if m.width == 0 {
		return
	}
	bodyH := m.bodyHeight()
	fullH, avail, panesH := bodyH, m.width, bodyH
	if m.previewShown() {
		if m.width >= previewWideWidth {
			pw := max(m.width-150, m.width/4)
			avail -= pw
			m.preview.SetSize(pw, bodyH)
		} else {
			ph := bodyH / 2
			panesH -= ph
			m.preview.SetSize(m.width, ph)
		}
	}
	if m.width >= wideWidth {
		// Registry and Tmux as wide as their longest row, within bounds;
		// Processes, whose command lines are long, takes the rest.
		w1 := min(max(m.panes[paneRegistry].needWidth(), avail*25/100), avail*32/100)
		w2 := min(max(m.panes[paneTmux].needWidth(), avail*20/100), avail*28/100)
		m.panes[paneRegistry].SetSize(w1, panesH)
		m.panes[paneTmux].SetSize(w2, panesH)
		m.panes[paneProcs].SetSize(avail-w1-w2, panesH)
	} else {
		for i := range m.panes {
			m.panes[i].SetSize(m.width, panesH-1) // a line for the tabs
		}
	}
	bodyH = fullH
	m.viewer.SetSize(m.width, bodyH)
	m.dialog.SetSize(m.width, bodyH)
	m.help.Width = m.width
	m.filter.Width = max(m.width-len(m.filter.Prompt)-2, 1)
}

const footerHeight = 3 // detail line, status line, key hints

func (m Model) header() header {
	return header{title: m.opts.Title, bases: m.bases, snap: m.snap, tally: m.tally, locks: m.locks, paused: m.paused,
		readonly: m.opts.Readonly, scanning: m.scanning, width: m.width}
}

func (m Model) bodyHeight() int {
	return max(m.height-m.header().height(&m.styles)-footerHeight, 4)
}

// View draws the screen.
func (m Model) View() string {
	if m.width == 0 {
		return ""
	}
	if m.width < minWidth || m.height < minHeight {
		return fmt.Sprintf("agentwatch needs at least %d×%d; this terminal is %d×%d", minWidth, minHeight, m.width, m.height)
	}
	head := strings.Join(m.header().lines(&m.styles), "\n")
	bodyH := m.bodyHeight()
	var body string
	switch m.overlay {
	case overlayDialog:
		body = lipgloss.Place(m.width, bodyH, lipgloss.Center, lipgloss.Center, m.dialog.View(&m.styles))
	case overlayDetail, overlayLog, overlayHelp:
		body = m.viewer.View(&m.styles)
	default:
		body = m.panesView()
	}
	screen := lipgloss.JoinVertical(lipgloss.Left, head, body, m.detailLine(), m.statusLine(), m.hintLine())
	return frame(screen, m.width, m.height)
}

// panesView draws the three panes side by side, or, when narrow, the tabs
// and the focused pane.
func (m Model) panesView() string {
	var sel *link
	if r, ok := m.panes[m.focus].Selected(); ok {
		l := linkOf(r, m.focus)
		sel = &l
	}
	view := func(id paneID) string {
		empty := "no rows"
		switch {
		case m.snap == nil:
			empty = "waiting for the first scan…"
		case m.faultsOnly && m.filter.Value() == "":
			empty = "no faults here: every row is healthy"
		case m.filter.Value() != "" || m.faultsOnly:
			empty = "no row matches the filter"
		}
		return m.panes[id].View(paneView{styles: &m.styles, now: m.scanTime(), focused: id == m.focus, link: sel, tags: m.tags, empty: empty})
	}
	withPreview := func(panes string) string {
		if !m.previewShown() {
			return panes
		}
		pv := m.preview.View(&m.styles, m.scanTime())
		if m.width >= previewWideWidth {
			return lipgloss.JoinHorizontal(lipgloss.Top, panes, pv)
		}
		return lipgloss.JoinVertical(lipgloss.Left, panes, pv)
	}
	if m.width >= wideWidth {
		return withPreview(lipgloss.JoinHorizontal(lipgloss.Top, view(paneRegistry), view(paneTmux), view(paneProcs)))
	}
	var tabs []string
	for i := range m.panes {
		label := fmt.Sprintf("%s %d", paneNames[i], countSelectable(m.panes[i].rows))
		if paneID(i) == m.focus {
			tabs = append(tabs, m.styles.TabActive.Render("["+label+"]"))
		} else {
			tabs = append(tabs, m.styles.Tab.Render(" "+label+" "))
		}
	}
	bar := fit(lipgloss.JoinHorizontal(lipgloss.Top, tabs...)+m.styles.Dim.Render("  tab ⇥"), m.width)
	return withPreview(lipgloss.JoinVertical(lipgloss.Left, clipLine(bar, m.width), view(m.focus)))
}

func (m Model) scanTime() time.Time {
	if m.snap == nil {
		return m.opts.Now()
	}
	return m.snap.Time
}

// detailLine is the selected row's reason, or the filter being typed.
func (m Model) detailLine() string {
	if m.filtering {
		return clipLine(m.filter.View(), m.width)
	}
	if m.overlay != overlayNone {
		return ""
	}
	r, ok := m.panes[m.focus].Selected()
	if !ok {
		return ""
	}
	text := r.name() + ": " + verdictLabel(r.verdict()) + " — " + escape(r.reason())
	if c := r.cause(); c != "" {
		text += " (" + escape(c) + ")"
	}
	return m.styles.Detail.Render(fit("▶ "+text, m.width))
}

// statusLine is the last message, and on the right what is in effect.
func (m Model) statusLine() string {
	var right []string
	if m.busy != "" {
		right = append(right, string(m.busy)+" running…")
	}
	if n := len(m.tags); n > 0 {
		right = append(right, fmt.Sprintf("%d tagged", n))
	}
	if m.faultsOnly {
		right = append(right, "faults only")
	}
	if v := m.filter.Value(); v != "" && !m.filtering {
		right = append(right, "filter "+escape(v))
	}
	style := m.styles.Status
	if m.statusErr {
		style = m.styles.StatusError
	}
	return spread(style.Render(m.status), m.styles.Label.Render(strings.Join(right, " · ")), m.width)
}

// hintLine is the key-hint bar of what has the keys.
func (m Model) hintLine() string {
	h := m.help
	h.ShowAll = false
	switch {
	case m.filtering:
		return clipLine(h.ShortHelpView([]key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		}), m.width)
	case m.overlay == overlayDialog:
		return clipLine(h.ShortHelpView(m.dkeys.ShortHelp()), m.width)
	case m.overlay != overlayNone:
		return clipLine(h.ShortHelpView([]key.Binding{m.keys.Down, m.keys.Up, m.keys.PageDown, m.keys.Back}), m.width)
	}
	return clipLine(h.View(m.keys), m.width)
}

func (m Model) helpContent() string {
	h := m.help
	h.ShowAll = true
	var b strings.Builder
	b.WriteString(h.FullHelpView(m.keys.FullHelp()))
	b.WriteString("\n\nIn a dialog:\n")
	b.WriteString(h.FullHelpView(m.dkeys.FullHelp()))
	b.WriteString("\n\nVerdicts: ")
	b.WriteString(verdictLegend())
	b.WriteString("\nMarks:    ▶ cursor   ▷ cursor of another pane   • joined to the selection   * tagged   NEW just turned ghost or leak")
	if m.opts.Readonly {
		b.WriteString("\n\nRead-only session: tag, kill, mark, repair and undo are off.")
	}
	return b.String()
}
