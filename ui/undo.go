package ui

// The undo action (u): the plan read from the audit log, its preview, and
// what it put back.

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"agentwatch/engine"
)

func (m Model) startUndo() (tea.Model, tea.Cmd) {
	if m.busy != "" {
		m.setStatus(fmt.Sprintf("busy: %s is running; wait for its result", m.busy))
		return m, nil
	}
	m.busy = actionUndo
	m.setStatus("undo: reading the audit log…")
	return m, planUndoCmd(m.opts.Backend)
}

func (m Model) onUndoPlan(msg undoPlanMsg) (tea.Model, tea.Cmd) {
	m.busy = ""
	up := msg.plan
	var b strings.Builder
	fmt.Fprintf(&b, "Put back %d registr%s as they were before the %s of %s:\n", len(up.Files), map[bool]string{true: "y", false: "ies"}[len(up.Files) == 1],
		escape(up.Entry.Action), up.Entry.Time.Format("2006-01-02 15:04:05"))
	refused, forceable := 0, 0
	for _, f := range up.Files {
		name := registryName(f.Path)
		fmt.Fprintf(&b, "\n%s  %s\n", name, escape(f.Path))
		if f.Conflict != "" {
			refused++
			fmt.Fprintf(&b, "  ✗ refused: %s\n", escape(f.Conflict))
			if f.Restore == nil {
				continue
			}
			forceable++ // changed since: the diff shows what --force would undo
		}
		if d := engine.Diff(name+" (now)", name+" (after undo)", f.Current, f.Restore); d != "" {
			b.WriteString(escapeLines(strings.TrimRight(d, "\n")) + "\n")
		} else {
			b.WriteString("  already as it was\n")
		}
	}
	for _, r := range up.Rows {
		fmt.Fprintf(&b, "\n%s\n  agent %s: back to %s, if it still holds %s (last_update %s)\n", escape(r.Database),
			escape(r.Before.AgentID), escape(r.Before.Status), escape(r.After.Status), escape(r.After.LastUpdate))
	}
	title := "Undo the last " + escape(up.Entry.Action)
	if refused > 0 {
		// Undo is all or nothing: here it would put nothing back.
		fmt.Fprintf(&b, "\nNothing can be put back: undo is all or nothing, and %d file%s cannot be put back safely.", refused, plural(refused))
		if forceable == refused {
			fmt.Fprintf(&b, " `agentwatch undo --force%s` overrides a change made since.", m.workspaceFlags())
		} else {
			b.WriteString(" Not even --force can: agentwatch never recreates a file or writes bytes it has no backup of.")
		}
		m.openDialog(title, strings.TrimRight(b.String(), "\n"), "", nil)
		m.setStatus("undo: refused, nothing was changed")
		return m, nil
	}
	m.openDialog(title, strings.TrimRight(b.String(), "\n"), "Undo", &pendingAction{kind: actionUndo, undo: up})
	m.setStatus("undo: review it, then Undo or Cancel")
	return m, nil
}

// workspaceFlags are the --workspace flags that point a command at this
// screen's workspaces.
func (m Model) workspaceFlags() string {
	var b strings.Builder
	for _, base := range m.bases {
		b.WriteString(" --workspace " + escape(base.Dir))
	}
	return b.String()
}

func (m Model) onUndoDone(msg undoDoneMsg) (tea.Model, tea.Cmd) {
	m.busy = ""
	e := logEntry{at: m.opts.Now(), action: string(actionUndo)}
	done, refused := 0, 0
	for _, o := range msg.outcomes {
		if o.Done {
			done++
			e.lines = append(e.lines, "put back "+escape(o.Path)+" "+escape(o.Reason))
		} else {
			refused++
			e.lines = append(e.lines, "REFUSED  "+escape(o.Path)+" — "+escape(o.Reason))
		}
	}
	e.summary = fmt.Sprintf("%d put back, %d refused", done, refused)
	if msg.err != nil {
		e.lines = append(e.lines, "audit log: "+escape(msg.err.Error()))
	}
	e.failed = refused > 0 || msg.err != nil
	m.log.add(e)
	if e.failed {
		m.setError("undo: " + e.summary + " (@ shows why)")
	} else {
		m.setStatus("undo: " + e.summary)
	}
	return m, m.requestScan(true)
}
