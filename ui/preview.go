package ui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

// Preview timings: a new selection is read once it has settled, and the
// selected row is read again while it stays selected, at most a few times
// a second and never while its last read is in flight.
const (
	previewSettle  = 120 * time.Millisecond
	previewRefresh = 500 * time.Millisecond
	previewTimeout = 3 * time.Second
	previewLines   = 40
)

// previewWideWidth is the width from which the preview is a fourth pane
// beside the three; below it, v shows it under them.
const previewWideWidth = 180

// previewMsg is what was read for the preview of one selection.
type previewMsg struct {
	seq  int
	data *engine.Preview
	at   time.Time
}

// previewTickMsg asks to read the selection of seq again.
type previewTickMsg struct{ seq int }

// preview shows what the selected agent, session or process is doing: its
// last progress report, the text of its tmux pane, and the end of its
// stream log rendered for a person. Only the selected row is ever read.
type preview struct {
	key      string // the row it shows; "" when none
	name     string
	req      engine.PreviewRequest
	report   string // an agent's last progress report
	life     string // an agent's last sign of life, "active 12s ago"
	data     *engine.Preview
	at       time.Time
	seq      int
	inflight bool
	width    int
	height   int
}

// SetSize sets the preview's outer size, borders included.
func (p *preview) SetSize(w, h int) { p.width, p.height = w, h }

// previewCmd reads a preview through the backend.
func previewCmd(b Backend, snap *engine.Snapshot, req engine.PreviewRequest, seq int, now func() time.Time) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), previewTimeout)
		defer cancel()
		return previewMsg{seq: seq, data: b.Preview(ctx, snap, req), at: now()}
	}
}

func previewTick(d time.Duration, seq int) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return previewTickMsg{seq: seq} })
}

// previewShown reports whether the layout has room for the preview: a
// wide screen shows it unless v hid it, a narrow one when v asked for it.
func (m Model) previewShown() bool { return (m.width >= previewWideWidth) != m.previewToggled }

// previewVisible reports whether the preview is on screen now: no overlay
// covers it. Only then is anything read for it.
func (m Model) previewVisible() bool { return m.overlay == overlayNone && m.previewShown() }

// syncPreview follows the selection: when the selected row changed, the
// preview forgets the old one and reads the new one once it settles.
func (m Model) syncPreview() (Model, tea.Cmd) {
	if !m.previewVisible() {
		return m, nil
	}
	r, ok := m.panes[m.focus].Selected()
	if !ok {
		if m.preview.key != "" {
			m.preview.seq++
			m.preview.key, m.preview.data, m.preview.name = "", nil, ""
		}
		return m, nil
	}
	if r.key == m.preview.key {
		m.preview.report, m.preview.life = m.agentReport(r)
		return m, nil
	}
	m.preview.seq++
	m.preview.key, m.preview.name, m.preview.data = r.key, r.name(), nil
	m.preview.req = m.previewRequest(r)
	m.preview.report, m.preview.life = m.agentReport(r)
	return m, previewTick(previewSettle, m.preview.seq)
}

// onPreviewTick reads the selection again, unless a read is in flight (its
// result re-arms the tick).
func (m Model) onPreviewTick(msg previewTickMsg) (tea.Model, tea.Cmd) {
	if msg.seq != m.preview.seq || !m.previewVisible() || m.preview.key == "" || m.preview.inflight {
		return m, nil
	}
	m.preview.inflight = true
	return m, previewCmd(m.opts.Backend, m.snap, m.preview.req, m.preview.seq, m.opts.Now)
}

func (m Model) onPreview(msg previewMsg) (tea.Model, tea.Cmd) {
	m.preview.inflight = false
	if msg.seq != m.preview.seq {
		// Read for a row no longer selected: read the one that is.
		if m.previewVisible() && m.preview.key != "" {
			m.preview.inflight = true
			return m, previewCmd(m.opts.Backend, m.snap, m.preview.req, m.preview.seq, m.opts.Now)
		}
		return m, nil
	}
	m.preview.data, m.preview.at = msg.data, msg.at
	return m, previewTick(previewRefresh, m.preview.seq)
}

// previewRequest says what to read for a row: the first pane of its
// session, and its agent's stream log.
func (m Model) previewRequest(r row) engine.PreviewRequest {
	req := engine.PreviewRequest{Lines: previewLines}
	var session, server, agentID string
	switch r.kind {
	case rowAgent:
		session, agentID = r.agent.Session, r.agent.ID
		req.Logs = streamLogs(r.agent)
	case rowSession:
		session, server, agentID = r.session.Name, r.session.Server, r.session.AgentID
	case rowProc:
		session, server, agentID = r.proc.Session, r.proc.Server, r.proc.AgentID
	}
	if req.Logs == nil && agentID != "" {
		if a := m.agentByID(agentID); a != nil {
			req.Logs = streamLogs(a)
		}
	}
	req.Server, req.Pane = paneOf(m.snap, server, session)
	return req
}

// agentByID finds an agent row of the report by its id.
func (m Model) agentByID(id string) *reconcile.AgentRow {
	for i := range m.rep.Agents {
		if m.rep.Agents[i].ID == id {
			return &m.rep.Agents[i]
		}
	}
	return nil
}

// streamLogs are where an agent's stream log may be: beside its task
// registry under logs/, or in archive/ where the orchestrator moves it
// once the agent is done.
func streamLogs(a *reconcile.AgentRow) []string {
	if a.Base == "" || a.TaskID == "" {
		return nil
	}
	dir := filepath.Join(a.Base, a.TaskID)
	if a.Source == reconcile.SourceJSON && filepath.Base(a.Registry) == "AGENT_REGISTRY.json" {
		dir = filepath.Dir(a.Registry)
	}
	return []string{
		filepath.Join(dir, "logs", a.ID+"_stream.jsonl"),
		filepath.Join(dir, "archive", a.ID+"_stream.jsonl"),
	}
}

// paneOf finds the first pane of a session: on server when it is named,
// else on the first server that holds it.
func paneOf(snap *engine.Snapshot, server, session string) (string, string) {
	if snap == nil || snap.Input.Live == nil || session == "" {
		return "", ""
	}
	for _, sv := range snap.Input.Live.Servers {
		if sv.Snapshot == nil || (server != "" && sv.Socket.String() != server) {
			continue
		}
		for _, p := range sv.Snapshot.Panes {
			if p.Session == session {
				return sv.Socket.String(), p.PaneID
			}
		}
	}
	return "", ""
}

// agentReport is the last progress report and the last sign of life of
// the agent a row belongs to.
func (m Model) agentReport(r row) (report, life string) {
	var a *reconcile.AgentRow
	switch r.kind {
	case rowAgent:
		a = r.agent
	case rowSession:
		a = m.agentByID(r.session.AgentID)
	case rowProc:
		a = m.agentByID(r.proc.AgentID)
	}
	if a == nil {
		return "", ""
	}
	if a.Message != "" {
		report = fmt.Sprintf("%d%% %s", a.Progress, a.Message)
	}
	return report, lifeText(a, m.scanTime())
}

// View draws the preview.
func (p preview) View(s *Styles, now time.Time) string {
	inner := p.width - 2
	h := p.height - 2
	if inner < 4 || h < 1 {
		return blank(p.width, p.height)
	}
	title := "Preview"
	if p.name != "" {
		title += ": " + p.name
	}
	var body []string
	if p.key == "" {
		return box(s.Pane, s.PaneTitle, title, []string{s.Dim.Render("  select a row to preview it")}, p.width, p.height)
	}
	if p.life != "" {
		body = append(body, s.Label.Render("life   ")+p.life)
	}
	if p.report != "" {
		body = append(body, s.Label.Render("report ")+escape(p.report))
	}
	if p.data == nil {
		body = append(body, s.Dim.Render("reading…"))
		return p.box(s, title, body)
	}
	d := p.data
	rest := h - len(body)
	paneH := max((rest-2)/2, 1)
	rule := func(t string) string { return s.Label.Render(fit("── "+t+" ", inner-1)) }
	switch {
	case p.req.Pane == "":
		body = append(body, rule("no tmux pane"))
	case d.PaneErr != nil:
		body = append(body, rule("pane "+escape(p.req.Pane)), s.Warning.Render(escape(d.PaneErr.Error())))
	default:
		body = append(body, rule("pane "+escape(p.req.Pane)+" · "+p.at.Format("15:04:05")))
		lines := paneLines(d.Pane)
		if len(lines) > paneH {
			lines = lines[len(lines)-paneH:]
		}
		body = append(body, lines...)
	}
	switch {
	case d.Log == "":
		body = append(body, rule("no stream log"))
	case d.LogErr != nil:
		body = append(body, rule("stream log "+escape(filepath.Base(d.Log))), s.Warning.Render(escape(d.LogErr.Error())))
	default:
		body = append(body, rule("stream log · changed "+fmtAge(now.Sub(d.LogModified))+" ago · "+escape(filepath.Base(d.Log))))
		events := renderStream(d.LogLines)
		if left := h - len(body); len(events) > left {
			events = events[len(events)-max(left, 0):]
		}
		body = append(body, events...)
	}
	return p.box(s, title, body)
}

// box draws the preview's border around body; a line never touches it.
func (p preview) box(s *Styles, title string, body []string) string {
	for i, l := range body {
		body[i] = " " + l
	}
	return box(s.Pane, s.PaneTitle, title, body, p.width, p.height)
}

// paneLines is a pane's text as lines to draw: tabs expanded, every
// control character escaped, the blank lines at its end dropped.
func paneLines(text string) []string {
	lines := strings.Split(strings.ReplaceAll(text, "\t", "    "), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = escape(strings.TrimRight(l, " "))
	}
	return lines
}
