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
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"agentwatch/engine"
	"agentwatch/reconcile"
	"agentwatch/registry"
)

// Backend is what the screen needs from the engine; *engine.Engine
// satisfies it.
type Backend interface {
	// Rescan scans; a registry whose lock is busy keeps its document in
	// prev.
	Rescan(ctx context.Context, now time.Time, prev *engine.Snapshot, mem *reconcile.Memory) (engine.Scan, error)
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

// setStatus and setError put a message on the status line. Messages carry
// paths and errors that can hold any byte: they are escaped here, once for
// all (escaping is idempotent: it leaves backslashes alone).
func (m *Model) setStatus(s string) { m.status, m.statusErr = escape(s), false }
func (m *Model) setError(s string)  { m.status, m.statusErr = escape(s), true }
