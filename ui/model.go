// Package ui is agentwatch's terminal screen: the registry, the tmux
// sessions and the claude process tree side by side, live, with a verdict
// and its reason on every row, and one-key repairs and kills that go
// through the same engine as the command line.
//
// Every scan and every action runs in a tea.Cmd with its own timeout;
// Update never waits on the engine. Scans are re-armed only when the
// previous one returns, and a registry change rescans at once.
package ui

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"agentwatch/engine"
	"agentwatch/reconcile"
	"agentwatch/registry"
)

// Backend is what the screen needs from the engine; *engine.Engine
// satisfies it.
type Backend interface {
	Observe(ctx context.Context, now time.Time, prev *reconcile.Memory) (*engine.Snapshot, reconcile.Report, *reconcile.Memory, error)
	Watch(ctx context.Context) (<-chan struct{}, error)
	Repair(ctx context.Context, snap *engine.Snapshot, plan reconcile.Plan, now time.Time, kill engine.KillOptions) (*engine.Result, error)
	KillAudited(ctx context.Context, snap *engine.Snapshot, ops []reconcile.Op, opts engine.KillOptions, targets []string) (*engine.Result, error)
	PlanUndo(ctx context.Context) (*engine.UndoPlan, error)
	Undo(ctx context.Context, up *engine.UndoPlan, force bool) ([]engine.UndoOutcome, error)
	Audit() *engine.Audit
	Bases() []registry.Base
	// Preview reads the pane text and stream log tail of the selected row.
	Preview(ctx context.Context, snap *engine.Snapshot, req engine.PreviewRequest) *engine.Preview
	// SwitchClient moves agentwatch's own tmux client to a session, or
	// returns engine.ErrNotInside; AttachCommand is then the command that
	// attaches the terminal to it.
	SwitchClient(ctx context.Context, snap *engine.Snapshot, req engine.AttachRequest) error
	AttachCommand(snap *engine.Snapshot, req engine.AttachRequest) (*exec.Cmd, error)
	// CopyToTmux puts text into the paste buffer of the tmux server the
	// TMUX value names.
	CopyToTmux(ctx context.Context, tmuxEnv, text string) error
	// SignalAudited sends one signal to the processes of a kill plan.
	SignalAudited(ctx context.Context, snap *engine.Snapshot, ops []reconcile.Op, signal string, targets []string) (*engine.Result, error)
}

var _ Backend = (*engine.Engine)(nil)

// Options configure the screen.
type Options struct {
	Backend  Backend
	Readonly bool
	// NoColor gives a monochrome screen: glyphs and words carry every verdict.
	NoColor bool
	// Force allows killing foreign and healthy targets, after a second
	// confirmation.
	Force bool
	// Interval is the time between scans; default 2s.
	Interval time.Duration
	// TermTimeout is how long a kill waits after SIGTERM before SIGKILL;
	// default 5s.
	TermTimeout time.Duration
	// Title is shown in the header, e.g. "demo".
	Title string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// TMUX and TMUXPane are agentwatch's own TMUX and TMUX_PANE, which say
	// whether attach can switch the client it runs in; default from the
	// environment.
	TMUX, TMUXPane string
	// Clipboard is where a copy's OSC 52 sequence is written: the
	// terminal; default standard output.
	Clipboard io.Writer
}

// Defaults of Options.
const (
	DefaultInterval    = 2 * time.Second
	DefaultTermTimeout = 5 * time.Second
)

// wideWidth is the width from which the three panes stand side by side;
// below it they are tabs.
const wideWidth = 120

// statusRescanning is the status while a scan asked for with ctrl+r runs;
// the scan's result clears it.
const statusRescanning = "rescanning…"

// Minimum usable size.
const (
	minWidth  = 40
	minHeight = 12
)

type overlayKind int

const (
	overlayNone overlayKind = iota
	overlayDetail
	overlayDialog
	overlayLog
	overlayHelp
)

// Model is the screen. It implements tea.Model.
type Model struct {
	opts   Options
	keys   KeyMap
	dkeys  DialogKeyMap
	styles Styles
	bases  []registry.Base

	width, height int

	// The last good scan.
	snap   *engine.Snapshot
	rep    reconcile.Report
	tally  *tally
	mem    *reconcile.Memory
	locks  []lockBadge
	locked map[string]bool // registry paths whose lock was busy

	scanning      bool // a scan is in flight
	rescanPending bool // rescan as soon as it returns
	paused        bool
	tickSeq       int
	watch         <-chan struct{}
	stopWatch     context.CancelFunc

	panes      [paneCount]table
	focus      paneID
	tags       map[string]bool
	filter     textinput.Model
	filtering  bool
	faultsOnly bool
	hideDone   bool
	collapsed  map[string]bool // task ids folded in the Registry pane

	// preview shows the selected row's pane and stream log: beside the
	// panes from previewWideWidth, under them when v asks for it.
	preview        preview
	previewToggled bool

	overlay overlayKind
	viewer  viewer
	dialog  dialog
	pending *pendingAction
	log     actionLog
	help    help.Model

	busy      actionKind // an action in flight
	status    string
	statusErr bool
}

// New returns the screen for opts.
func New(opts Options) Model {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.TermTimeout <= 0 {
		opts.TermTimeout = DefaultTermTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Clipboard == nil {
		opts.Clipboard = os.Stdout
	}
	if opts.TMUX == "" && opts.TMUXPane == "" {
		opts.TMUX, opts.TMUXPane = os.Getenv("TMUX"), os.Getenv("TMUX_PANE")
	}
	keys := DefaultKeyMap()
	keys.SetReadonly(opts.Readonly)
	styles := DefaultStyles(DefaultTheme(), opts.NoColor)
	fi := textinput.New()
	fi.Prompt = "/ "
	fi.Placeholder = "id, session, command or PID"
	fi.Cursor.SetMode(cursor.CursorStatic)
	h := help.New()
	h.Styles = styles.Help
	m := Model{
		opts:     opts,
		keys:     keys,
		dkeys:    DefaultDialogKeyMap(),
		styles:   styles,
		bases:    opts.Backend.Bases(),
		tags:     map[string]bool{},
		locked:   map[string]bool{},
		filter:   fi,
		help:     h,
		scanning: true, // Init starts the first scan
	}
	for i := range m.panes {
		m.panes[i] = newTable(paneID(i))
	}
	if opts.Readonly {
		m.status = "read-only session: actions are off"
	}
	return m
}

// Init starts the first scan and the registry watch.
func (m Model) Init() tea.Cmd {
	return tea.Batch(scanCmd(m.opts.Backend, m.opts.Now(), nil, nil, true), watchCmd(m.opts.Backend))
}

// Close stops the registry watch. Run calls it when the program ends.
func (m Model) Close() {
	if m.stopWatch != nil {
		m.stopWatch()
	}
}

// Update handles one message, and then lets the preview follow the
// selection.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := m.update(msg)
	nm, ok := next.(Model)
	if !ok {
		return next, cmd
	}
	nm, pcmd := nm.syncPreview()
	if pcmd == nil {
		return nm, cmd
	}
	return nm, tea.Batch(cmd, pcmd)
}

func (m Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case previewMsg:
		return m.onPreview(msg)
	case previewTickMsg:
		return m.onPreviewTick(msg)
	case attachExecMsg:
		return m, tea.ExecProcess(msg.cmd, func(err error) tea.Msg { return attachDoneMsg{session: msg.session, err: err} })
	case attachDoneMsg:
		return m.onAttachDone(msg)
	case attachMsg:
		return m.onAttach(msg)
	case copiedMsg:
		return m.onCopied(msg)
	case tea.MouseMsg:
		return m.onMouse(msg)
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case scanMsg:
		return m.onScan(msg)
	case scanErrMsg:
		m.scanning = false
		m.setError(msg.Error() + " (the last good scan stays on screen)")
		return m, m.afterScan()
	case tickMsg:
		if msg.seq != m.tickSeq || m.paused {
			return m, nil
		}
		return m, m.requestScan(false)
	case watchStartedMsg:
		m.watch, m.stopWatch = msg.ch, msg.stop
		return m, waitWatchCmd(msg.ch)
	case watchErrMsg:
		m.setError(msg.Error() + "; scanning every " + m.opts.Interval.String())
		return m, nil
	case watchMsg:
		if m.paused {
			return m, waitWatchCmd(m.watch)
		}
		return m, tea.Batch(waitWatchCmd(m.watch), m.requestScan(true))
	case watchClosedMsg:
		m.watch = nil
		return m, nil
	case resultMsg:
		return m.onResult(msg)
	case undoPlanMsg:
		return m.onUndoPlan(msg)
	case undoPlanErrMsg:
		m.busy = ""
		m.setError(msg.Error())
		return m, nil
	case undoDoneMsg:
		return m.onUndoDone(msg)
	case auditMsg:
		m.log.audit, m.log.auditErr, m.log.loaded = msg.entries, nil, true
		m.refreshLog()
		return m, nil
	case auditErrMsg:
		m.log.auditErr, m.log.loaded = msg, true
		m.refreshLog()
		return m, nil
	case tea.KeyMsg:
		return m.onKey(msg)
	}
	return m, nil
}

// requestScan starts a scan, or, when one is in flight, asks for another
// as soon as it returns: scans never overlap.
func (m *Model) requestScan(manual bool) tea.Cmd {
	if m.scanning {
		m.rescanPending = m.rescanPending || manual
		return nil
	}
	m.scanning = true
	return scanCmd(m.opts.Backend, m.opts.Now(), m.snap, m.mem, manual)
}

// afterScan arms what follows a scan: a scan asked for meanwhile, or the
// next tick.
func (m *Model) afterScan() tea.Cmd {
	if m.rescanPending {
		m.rescanPending = false
		return m.requestScan(true)
	}
	if m.paused {
		return nil
	}
	m.tickSeq++
	return tickCmd(m.opts.Interval, m.tickSeq)
}

func (m Model) onScan(msg scanMsg) (tea.Model, tea.Cmd) {
	m.scanning = false
	if m.paused && !msg.manual {
		return m, m.afterScan() // paused: rows do not move
	}
	if m.tally == nil || !sameReport(m.rep, msg.rep) {
		m.tally = newTally(msg.snap.Input.Sets, &msg.rep, followedServers(msg.snap))
	}
	m.snap, m.rep, m.mem = msg.snap, msg.rep, msg.mem
	if n := len(msg.snap.Input.Bases); n > len(m.bases) {
		// The scan found bases that live agent panes name: show them.
		m.bases = m.opts.Backend.Bases()
	}
	m.updateLocks(msg)
	m.refreshRows()
	m.pruneTags()
	if (m.statusErr && strings.HasPrefix(m.status, "scan:")) || m.status == statusRescanning {
		m.status, m.statusErr = "", false
	}
	m.layout()
	return m, m.afterScan()
}

// sameReport reports whether two reports hold the very same rows, as when
// reconcile gives its previous report again because nothing changed.
func sameReport(a, b reconcile.Report) bool {
	return sameArray(a.Agents, b.Agents) && sameArray(a.Sessions, b.Sessions) &&
		sameArray(a.Processes, b.Processes) && sameArray(a.Findings, b.Findings)
}

// sameArray reports whether a and b are the same elements of the same array.
func sameArray[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// updateLocks keeps, for every registry whose lock was busy, since when
// it has been.
func (m *Model) updateLocks(msg scanMsg) {
	prev := map[string]time.Time{}
	for _, l := range m.locks {
		prev[l.path] = l.since
	}
	m.locks = nil
	m.locked = map[string]bool{}
	add := func(r reconcile.Registry, carried bool) {
		if m.locked[r.Path] {
			return
		}
		m.locked[r.Path] = true
		since, ok := prev[r.Path]
		if !ok {
			since = msg.snap.Time
		}
		pid, command, _ := engine.LockHolder(r.Err)
		m.locks = append(m.locks, lockBadge{path: r.Path, name: registryName(r.Path), pid: pid, command: command, since: since, carried: carried})
	}
	for _, r := range msg.carried {
		add(r, true)
	}
	for _, r := range msg.snap.Locked() {
		add(r, false)
	}
}

// refreshRows rebuilds the panes' rows from the report, the filter and
// "faults only".
func (m *Model) refreshRows() {
	all := buildRows(m.snap, &m.rep, m.locked)
	for i := range m.panes {
		m.panes[i].SetRows(all[i], m.rowFilter())
	}
}

// pruneTags drops the tags of rows that are gone.
func (m *Model) pruneTags() {
	if len(m.tags) == 0 {
		return
	}
	present := map[string]bool{}
	for _, p := range m.panes {
		for _, r := range p.all {
			present[r.key] = true
		}
	}
	for k := range m.tags {
		if !present[k] {
			delete(m.tags, k)
		}
	}
}

// setStatus and setError put a message on the status line. Messages carry
// paths and errors that can hold any byte: they are escaped here, once for
// all (escaping is idempotent: it leaves backslashes alone).
func (m *Model) setStatus(s string) { m.status, m.statusErr = escape(s), false }
func (m *Model) setError(s string)  { m.status, m.statusErr = escape(s), true }

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
