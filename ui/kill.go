package ui

// The kill action (x): its targets, the engine's plan for them, and the
// dialog that names every target and signal (forcekill.go has X).

import (
	"fmt"
	"strconv"
	"strings"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

// killTarget is one thing to kill: a PID or an exact session name, as
// `agentwatch kill` takes them, and the line that names it in the dialog.
type killTarget struct {
	arg     string
	session *reconcile.SessionRow // when the target is a session
	label   string
}

// killTargets are the tagged rows, or else the selected one.
func (m Model) killTargets() []killTarget {
	var out []killTarget
	add := func(r row) {
		switch r.kind {
		case rowSession:
			out = append(out, killTarget{arg: r.session.Name, session: r.session,
				label: r.name() + " — " + verdictLabel(r.verdict()) + ": " + escape(r.reason())})
		case rowProc:
			out = append(out, killTarget{arg: strconv.Itoa(int(r.proc.PID)),
				label: r.name() + " — " + verdictLabel(r.verdict()) + ": " + escape(r.reason())})
		case rowAgent:
			// An agent is killed by its session, else by its processes.
			for i := range m.rep.Sessions {
				if s := &m.rep.Sessions[i]; s.Name == r.agent.Session {
					out = append(out, killTarget{arg: s.Name, session: s,
						label: r.name() + " by its session " + escape(s.Name) + " — " + verdictLabel(string(s.Verdict)) + ": " + escape(s.Reason)})
					return
				}
			}
			for i, p := range r.agent.PIDs {
				t := killTarget{arg: strconv.Itoa(int(p))}
				if i == 0 {
					t.label = r.name() + " by its processes " + joinPIDs(r.agent.PIDs) + " — " + verdictLabel(r.verdict()) + ": " + escape(r.reason())
				}
				out = append(out, t)
			}
		}
	}
	for _, id := range []paneID{paneTmux, paneProcs} {
		for _, r := range m.panes[id].all {
			if m.tags[r.key] {
				add(r)
			}
		}
	}
	if len(out) == 0 {
		if r, ok := m.panes[m.focus].Selected(); ok {
			add(r)
		}
	}
	return out
}

// planKill resolves the targets into kill operations with the engine's
// planner, as `agentwatch kill` does; a session is named with its server,
// since the same name can exist on several.
func (m Model) planKill(ts []killTarget, force bool) ([]reconcile.Op, error) {
	targets := make([]reconcile.KillTarget, 0, len(ts))
	for _, t := range ts {
		if t.session != nil {
			targets = append(targets, reconcile.KillTarget{Session: t.session.Name, Server: t.session.Server})
			continue
		}
		pid, err := strconv.Atoi(t.arg)
		if err != nil {
			return nil, fmt.Errorf("kill %q: not a PID", t.arg)
		}
		targets = append(targets, reconcile.KillTarget{PID: pid})
	}
	return engine.KillPlan(m.snap, m.rep, targets, force)
}

func (m *Model) openKill() {
	if m.refuseBusy() {
		return
	}
	ts := m.killTargets()
	if len(ts) == 0 {
		m.setStatus("x kills a leaked session or process: select one, or tag several with space")
		return
	}
	var targets, labels []string
	for _, t := range ts {
		name := t.arg
		if t.session != nil && m.snap != nil && m.snap.Input.Live != nil && len(m.snap.Input.Live.Servers) > 1 {
			name += " on tmux " + t.session.Server
		}
		targets = append(targets, name)
		if t.label != "" {
			labels = append(labels, t.label)
		}
	}
	ops, err := m.planKill(ts, false)
	p := &pendingAction{kind: actionKill, snap: m.snap, targets: targets}
	if err != nil {
		if !m.opts.Force {
			if _, ferr := m.planKill(ts, true); ferr == nil && !m.opts.Readonly {
				// The operator need not quit for --force: X is here.
				why, _, _ := strings.Cut(err.Error(), "; --force")
				err = fmt.Errorf("%s; X force-kills it here, after a second confirmation, with the signal you choose", why)
			}
			m.refuse(actionKill, targets, err)
			return
		}
		forced, ferr := m.planKill(ts, true)
		if ferr != nil {
			m.refuse(actionKill, targets, ferr)
			return
		}
		ops, p.force, p.why = forced, true, err.Error()
	}
	if len(ops) == 0 {
		m.setStatus("nothing to kill: the targets' processes are gone")
		return
	}
	p.ops = ops
	title := fmt.Sprintf("Kill %d target%s", len(labels), plural(len(labels)))
	m.openDialog(title, m.killBody(labels, ops, p), "Kill", p)
}

func (m Model) killBody(labels []string, ops []reconcile.Op, p *pendingAction) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Targets (%d):\n", len(labels))
	for _, l := range labels {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	procs := 0
	for _, op := range ops {
		if op.Op == reconcile.OpKillProcess {
			procs++
		}
	}
	fmt.Fprintf(&b, "\nSignal plan: %d process%s as a tree, each checked by PID and start time before every signal:\n", procs, pluralES(procs))
	signals := fmt.Sprintf("SIGTERM, then SIGKILL after %s", m.opts.TermTimeout)
	sw := 0
	for _, op := range ops {
		if op.Op == reconcile.OpKillProcess && op.Session != "" {
			sw = max(sw, min(len("session ")+len(escape(op.Session)), 44))
		}
	}
	for _, op := range ops {
		switch op.Op {
		case reconcile.OpKillProcess:
			session := ""
			if op.Session != "" {
				session = "session " + escape(op.Session)
			}
			fmt.Fprintf(&b, "  PID %-7d %s %s  %s\n", op.PID, fit(escape(op.Comm), 15), fit(session, sw), signals)
		case reconcile.OpKillSession:
			fmt.Fprintf(&b, "  then kill-session -t =%s   (tmux %s)\n", escape(op.Session), escape(op.Server))
		}
	}
	if p.force {
		fmt.Fprintf(&b, "\n⚠ --force: not every target is a leak: %s\n  A second confirmation follows.\n", escape(p.why))
	}
	for _, l := range m.locks {
		if !l.carried {
			fmt.Fprintf(&b, "\n⚠ %s is locked and was not read: agents it records may show as untracked.\n", l.name)
		}
	}
	b.WriteString("\nEvery kill goes to the audit log.")
	return b.String()
}

func forceBody(p *pendingAction) string {
	var b strings.Builder
	b.WriteString("These targets are not leaks (--force is set):\n  ")
	b.WriteString(escape(p.why))
	b.WriteString("\n\nKilling a healthy or foreign claude ends someone's work. Targets:\n")
	for _, t := range p.targets {
		fmt.Fprintf(&b, "  %s\n", escape(t))
	}
	return strings.TrimRight(b.String(), "\n")
}
