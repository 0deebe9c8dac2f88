package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

// forceSignals are the choices of a force kill, the kill x does first.
var forceSignals = []string{"SIGTERM", "SIGKILL", "SIGHUP", "SIGINT"}

// openForceKill offers to kill the selected or tagged rows whatever their
// verdict, as `agentwatch kill --force` would (the engine's kill plan with
// force: never wider), with the signal the operator chooses and a second
// confirmation.
func (m *Model) openForceKill() {
	if m.refuseBusy() {
		return
	}
	ts := m.killTargets()
	if len(ts) == 0 {
		m.setStatus("X force-kills a session or process: select one, or tag several with space")
		return
	}
	var targets, labels []string
	for _, t := range ts {
		targets = append(targets, t.arg)
		if t.label != "" {
			labels = append(labels, t.label)
		}
	}
	ops, err := m.planKill(ts, true)
	if err != nil {
		m.refuse(actionKill, targets, err)
		return
	}
	if len(ops) == 0 {
		m.setStatus("nothing to kill: the targets' processes are gone")
		return
	}
	p := &pendingAction{kind: actionKill, snap: m.snap, ops: ops, targets: targets, force: true, why: "chosen with X"}
	if _, err := m.planKill(ts, false); err != nil {
		p.why = err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Targets (%d):\n", len(labels))
	for _, l := range labels {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	b.WriteString("\nProcesses, each checked by PID and start time before its signal:\n")
	for _, op := range ops {
		switch op.Op {
		case reconcile.OpKillProcess:
			fmt.Fprintf(&b, "  PID %-7d %s\n", op.PID, escape(op.Comm))
		case reconcile.OpKillSession:
			fmt.Fprintf(&b, "  session %s (tmux %s)\n", escape(op.Session), escape(op.Server))
		}
	}
	fmt.Fprintf(&b, "\nChoose the signal:\n"+
		"  SIGTERM  as x does: SIGTERM, SIGKILL after %s, then kill-session\n"+
		"  SIGKILL  at once, no chance to clean up; the session goes with its last process\n"+
		"  SIGHUP   what tmux kill-session sends (a claude that ignores it survives)\n"+
		"  SIGINT   as ctrl+c in its pane\n"+
		"A second confirmation follows. Every kill goes to the audit log.", m.opts.TermTimeout)
	m.pending = p
	m.dialog = newChoiceDialog(fmt.Sprintf("Force kill %d target%s", len(labels), plural(len(labels))), b.String(), forceSignals, m.dkeys)
	m.overlay = overlayDialog
	m.layout()
}

// signalCmd sends one signal through the engine.
func signalCmd(b Backend, snap *engine.Snapshot, ops []reconcile.Op, signal string, targets []string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := b.SignalAudited(ctx, snap, ops, signal, append([]string(nil), targets...))
		return resultMsg{kind: actionKill, targets: targets, res: res, err: err}
	}
}
