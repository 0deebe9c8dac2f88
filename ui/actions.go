package ui

import (
	"errors"
	"fmt"
	"strconv"
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
	targets := make([]engine.KillTarget, 0, len(ts))
	for _, t := range ts {
		if t.session != nil {
			targets = append(targets, engine.KillTarget{Session: t.session.Name, Server: t.session.Server})
			continue
		}
		pid, err := strconv.Atoi(t.arg)
		if err != nil {
			return nil, fmt.Errorf("kill %q: not a PID", t.arg)
		}
		targets = append(targets, engine.KillTarget{PID: pid})
	}
	return engine.KillPlanTargets(m.snap, m.rep, targets, force)
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

// refuse says why an action was not even offered, and logs it.
func (m *Model) refuse(kind actionKind, targets []string, err error) {
	m.log.add(logEntry{at: m.opts.Now(), action: string(kind), summary: "refused: " + escape(err.Error()),
		lines: []string{"targets: " + strings.Join(escapeAll(targets), ", ")}, failed: true})
	m.setError(string(kind) + " refused: " + escape(err.Error()))
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

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	if errors.Is(err, engine.ErrNothingToUndo) {
		return "nothing to undo"
	}
	return err.Error()
}
