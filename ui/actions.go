package ui

// What every action shares: the confirmation dialog and the pending action
// it confirms, running it, and reporting its result (kill.go, repair.go and
// undo.go hold the actions themselves).

import (
	"errors"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

// pendingAction is what a confirmation dialog will do: planned against the
// snapshot on screen when the dialog opened.
type pendingAction struct {
	kind    actionKind
	snap    *engine.Snapshot
	ops     []reconcile.Op // kill
	targets []string       // kill: PIDs and session names
	force   bool           // kill: targets that are not leaks
	forceOK bool           // kill: the second confirmation was given
	why     string         // kill: why force is needed
	plan    reconcile.Plan // mark, repair
	undo    *engine.UndoPlan
	// signal: kill chosen with X: "TERM" (the kill x does) or one of
	// engine.Signals, sent once.
	signal string
}

// refuseBusy says so when an action is already running.
func (m *Model) refuseBusy() bool {
	switch {
	case m.busy != "":
		m.setStatus(fmt.Sprintf("busy: %s is running; wait for its result", m.busy))
		return true
	case m.snap == nil:
		m.setStatus("no scan yet")
		return true
	}
	return false
}

func (m *Model) openDialog(title, body, confirm string, p *pendingAction) {
	m.pending = p
	m.dialog = newDialog(title, body, confirm, m.dkeys)
	m.overlay = overlayDialog
	m.layout()
}

func (m Model) onDialogKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	var res dialogResult
	var cmd tea.Cmd
	m.dialog, res, cmd = m.dialog.Update(msg)
	switch res {
	case dialogCancelled:
		m.overlay, m.pending = overlayNone, nil
		m.setStatus("cancelled: nothing was changed")
		return m, nil
	case dialogConfirmed:
		p := m.pending
		if p != nil && len(m.dialog.choices) > 0 {
			p.signal = strings.TrimPrefix(m.dialog.choice(), "SIG")
		}
		m.overlay, m.pending = overlayNone, nil
		return m, m.run(p)
	}
	return m, cmd
}

// run starts a confirmed action.
func (m *Model) run(p *pendingAction) tea.Cmd {
	if p == nil {
		return nil
	}
	if p.kind == actionKill && p.force && !p.forceOK {
		p.forceOK = true
		if p.signal != "" {
			m.openDialog("Really send SIG"+p.signal+"?", forceBody(p), "Send SIG"+p.signal, p)
			return nil
		}
		m.openDialog("Really kill what is not a leak?", forceBody(p), "Kill anyway", p)
		return nil
	}
	if p.kind == actionKill && p.signal != "" && p.signal != "TERM" {
		m.busy = p.kind
		m.setStatus(fmt.Sprintf("sending SIG%s to %s…", p.signal, strings.Join(escapeAll(p.targets), ", ")))
		m.tags = map[string]bool{}
		return signalCmd(m.opts.Backend, p.snap, p.ops, p.signal, p.targets)
	}
	m.busy = p.kind
	kopts := engine.KillOptions{TermTimeout: m.opts.TermTimeout, Force: p.force}
	switch p.kind {
	case actionKill:
		m.setStatus(fmt.Sprintf("killing %s…", strings.Join(escapeAll(p.targets), ", ")))
		m.tags = map[string]bool{}
		return killCmd(m.opts.Backend, p.snap, p.ops, kopts, p.targets)
	case actionMark, actionRepair:
		m.setStatus(string(p.kind) + ": applying…")
		return repairCmd(m.opts.Backend, p.kind, p.snap, p.plan, m.opts.Now(), kopts)
	case actionUndo:
		m.setStatus("undo: putting the registries back…")
		return undoCmd(m.opts.Backend, p.undo)
	}
	m.busy = ""
	return nil
}

func escapeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = escape(s)
	}
	return out
}

// refuse says why an action was not even offered, and logs it.
func (m *Model) refuse(kind actionKind, targets []string, err error) {
	m.log.add(logEntry{at: m.opts.Now(), action: string(kind), summary: "refused: " + escape(err.Error()),
		lines: []string{"targets: " + strings.Join(escapeAll(targets), ", ")}, failed: true})
	m.setError(string(kind) + " refused: " + escape(err.Error()))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pluralES(n int) string {
	if n == 1 {
		return ""
	}
	return "es"
}

func (m Model) onResult(msg resultMsg) (tea.Model, tea.Cmd) {
	m.busy = ""
	e := logEntry{at: m.opts.Now(), action: string(msg.kind)}
	if len(msg.targets) > 0 {
		e.lines = append(e.lines, "targets: "+strings.Join(escapeAll(msg.targets), ", "))
	}
	if msg.res == nil {
		e.summary, e.failed = "failed: "+escape(errText(msg.err)), true
		m.log.add(e)
		m.setError(string(msg.kind) + " " + e.summary)
		return m, m.requestScan(true)
	}
	r := msg.res
	e.summary = fmt.Sprintf("%d applied, %d skipped, %d failed", len(r.Applied), len(r.Skipped), len(r.Failed))
	e.lines = append(e.lines, resultLines(r)...)
	e.failed = len(r.Failed) > 0
	if msg.err != nil {
		e.lines = append(e.lines, "audit log: "+escape(msg.err.Error()))
	}
	m.log.add(e)
	text := string(msg.kind) + ": " + e.summary
	if msg.err != nil {
		text += "; not in the audit log: " + escape(msg.err.Error())
	}
	if len(r.Failed) > 0 {
		text += " — first failure: " + escape(r.Failed[0].Why) + " (@ shows all)"
		m.setError(text)
	} else {
		m.setStatus(text + " (@ shows the log)")
	}
	return m, m.requestScan(true)
}

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	if errors.Is(err, engine.ErrNothingToUndo) {
		return "nothing to undo"
	}
	return err.Error()
}
