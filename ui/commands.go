package ui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

// Time limits of the commands. Bubble Tea cannot cancel a command, so each
// carries its own.
const (
	scanTimeout   = 15 * time.Second
	repairTimeout = 2 * time.Minute
	auditTimeout  = 5 * time.Second
	auditLines    = 50
)

// scanCmd runs one scan. A registry whose lock was busy keeps the last good
// document of prev (see engine.Engine.Rescan), so that its agents stay on
// screen while someone holds the lock.
func scanCmd(b Backend, now time.Time, prev *engine.Snapshot, mem *reconcile.Memory, manual bool) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), scanTimeout)
		defer cancel()
		sc, err := b.Rescan(ctx, now, prev, mem)
		if err != nil {
			return scanErrMsg{err: err, manual: manual}
		}
		return scanMsg{snap: sc.Snap, rep: sc.Report, mem: sc.Memory, carried: sc.Carried, manual: manual}
	}
}

// tickCmd arms the next scan after d.
func tickCmd(d time.Duration, seq int) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return tickMsg{seq: seq} })
}

// watchCmd starts the registry watch. It lives until the model stops it
// (when the program ends), so its context has no deadline.
func watchCmd(b Backend) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := b.Watch(ctx)
		if err != nil {
			cancel()
			return watchErrMsg{err: err}
		}
		return watchStartedMsg{ch: ch, stop: cancel}
	}
}

// waitWatchCmd waits for the next change to the registries.
func waitWatchCmd(ch <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		if _, ok := <-ch; !ok {
			return watchClosedMsg{}
		}
		return watchMsg{}
	}
}

// killCmd kills through the engine, as `agentwatch kill` does.
func killCmd(b Backend, snap *engine.Snapshot, ops []reconcile.Op, opts engine.KillOptions, targets []string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), opts.TermTimeout+time.Minute)
		defer cancel()
		res, err := b.KillAudited(ctx, snap, ops, opts, targets)
		return resultMsg{kind: actionKill, targets: targets, res: res, err: err}
	}
}

// repairCmd applies a plan through the engine, as `agentwatch repair` does.
func repairCmd(b Backend, kind actionKind, snap *engine.Snapshot, plan reconcile.Plan, now time.Time, opts engine.KillOptions) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), repairTimeout)
		defer cancel()
		res, err := b.Repair(ctx, snap, plan, now, opts)
		return resultMsg{kind: kind, res: res, err: err}
	}
}

// planUndoCmd asks what an undo would do.
func planUndoCmd(b Backend) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), repairTimeout)
		defer cancel()
		up, err := b.PlanUndo(ctx)
		if err != nil {
			return undoPlanErrMsg{err: err}
		}
		return undoPlanMsg{plan: up}
	}
}

// undoCmd puts the files of an undo plan back.
func undoCmd(b Backend, up *engine.UndoPlan) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), repairTimeout)
		defer cancel()
		outs, err := b.Undo(ctx, up, false)
		return undoDoneMsg{outcomes: outs, err: err}
	}
}

// auditCmd reads the audit log's last entries.
func auditCmd(b Backend) tea.Cmd {
	return func() tea.Msg {
		a := b.Audit()
		if a == nil {
			return auditMsg{}
		}
		ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
		defer cancel()
		entries, err := a.Entries(ctx)
		if err != nil {
			return auditErrMsg{err: err}
		}
		if len(entries) > auditLines {
			entries = entries[len(entries)-auditLines:]
		}
		return auditMsg{entries: entries}
	}
}
