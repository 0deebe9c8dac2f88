package ui

// The mark (t) and repair (R) actions: the plan each one previews.

import (
	"fmt"
	"strings"

	"agentwatch/reconcile"
)

// openMark previews marking the selected ghost terminated (or completed,
// when its stream log shows it finished): its own operations, and the
// recounts of the registries they touch.
func (m *Model) openMark() {
	if m.refuseBusy() {
		return
	}
	r, ok := m.panes[m.focus].Selected()
	if !ok || r.kind != rowAgent {
		m.setStatus("t marks a ghost terminated: select one in the Registry pane")
		return
	}
	a := r.agent
	switch a.Verdict {
	case reconcile.VerdictGhost:
	case reconcile.VerdictSuspect:
		m.setStatus(fmt.Sprintf("agent %s is only a suspect: a ghost is called one on the next scan's second look", escape(a.ID)))
		return
	default:
		m.setStatus(fmt.Sprintf("agent %s is %s, not a ghost: t marks only ghosts", escape(a.ID), escape(string(a.Verdict))))
		return
	}
	op, word := a.GhostRepair()
	full := reconcile.MakePlan(m.snap.Input, []reconcile.StatusChange{{Base: a.Base, TaskID: a.TaskID, AgentID: a.ID,
		Session: a.Session, Op: op, Reason: string(a.Cause), Why: "marked from the TUI"}})
	plan := markPlan(full, a.ID)
	if len(plan.Ops) == 0 {
		m.setStatus(fmt.Sprintf("nothing to change: no registry holds %s as active any more", escape(a.ID)))
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Agent %s is a ghost: %s\n", escape(a.ID), escape(a.Reason))
	switch {
	case op == reconcile.OpComplete:
		b.WriteString("Its stream log ends with a result line: it is marked completed.\n")
	case a.Source == reconcile.SourceState:
		fmt.Fprintf(&b, "Its row in the state database is marked %s, as the orchestrator marks an agent whose session died.\n", word)
	default:
		fmt.Fprintf(&b, "It is marked terminated, termination_reason %q.\n", escape(string(a.Cause)))
	}
	if a.Source == reconcile.SourceState {
		b.WriteString("The session is asked for once more just before one short transaction, guarded by the status seen.\n\n")
	} else {
		b.WriteString("Each registry re-checks the session under its lock first, and skips the change if it is alive.\n\n")
	}
	writeOps(&b, plan.Ops)
	b.WriteString("\nJournaled and backed up: u undoes it.")
	m.openDialog(fmt.Sprintf("Mark %s %s", escape(a.ID), word), b.String(), "Mark "+word, &pendingAction{kind: actionMark, snap: m.snap, plan: plan})
}

// markPlan keeps, of a plan, the operations on one agent and the recounts
// of the registries they touch (which follow from them), in plan order.
func markPlan(full reconcile.Plan, agentID string) reconcile.Plan {
	touched := map[string]bool{}
	for _, o := range full.Ops {
		if o.AgentID == agentID {
			touched[o.Registry] = true
		}
	}
	var plan reconcile.Plan
	for _, o := range full.Ops {
		if o.AgentID == agentID || (o.Op == reconcile.OpRecount && touched[o.Registry]) {
			plan.Ops = append(plan.Ops, o)
		}
	}
	return plan
}

// openRepair previews the whole repair plan: registry repairs and ghosts,
// no kills.
func (m *Model) openRepair() {
	if m.refuseBusy() {
		return
	}
	plan := reconcile.PlanRepair(m.snap.Input, m.rep, false)
	if len(plan.Ops) == 0 {
		m.setStatus("nothing to repair: the registries agree with what runs")
		return
	}
	var b strings.Builder
	writeOps(&b, plan.Ops)
	if n := m.rep.Summary()[reconcile.FindLeak]; n > 0 {
		if n == 1 {
			b.WriteString("\nThe leak is not killed here: select it and press x.")
		} else {
			fmt.Fprintf(&b, "\nThe %d leaks are not killed here: select them and press x.", n)
		}
	}
	b.WriteString("\nEach registry is changed in its own locked, journaled transaction: u undoes it.")
	regs := len(plan.Registries())
	m.openDialog(fmt.Sprintf("Repair plan: %d change%s in %d registr%s", len(plan.Ops), plural(len(plan.Ops)), regs, map[bool]string{true: "y", false: "ies"}[regs == 1]),
		b.String(), "Apply", &pendingAction{kind: actionRepair, snap: m.snap, plan: plan})
}

// writeOps lists a plan's operations by registry, each with why.
func writeOps(b *strings.Builder, ops []reconcile.Op) {
	last := ""
	for _, op := range ops {
		if op.Registry != last {
			last = op.Registry
			fmt.Fprintf(b, "%s\n", registryPath(op.Registry))
		}
		fmt.Fprintf(b, "  %s\n", opChange(op))
		if op.Why != "" && op.Op != reconcile.OpRecount {
			fmt.Fprintf(b, "      %s\n", escape(op.Why))
		}
	}
}
