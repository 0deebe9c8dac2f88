package engine

import (
	"fmt"
	"strconv"
	"strings"

	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/tmux"
)

// KillPlan resolves kill targets against a report — a PID, or a tmux
// session's exact name — into kill operations: each process as a tree (its
// descendants and the session it leads), then the session. Only leaks are
// planned; a foreign or healthy target needs force. The command line and
// the TUI both kill through this.
func KillPlan(snap *Snapshot, rep reconcile.Report, targets []string, force bool) ([]reconcile.Op, error) {
	ts := make([]KillTarget, 0, len(targets))
	for _, t := range targets {
		if pid, err := strconv.Atoi(t); err == nil {
			ts = append(ts, KillTarget{PID: pid})
		} else {
			ts = append(ts, KillTarget{Session: t})
		}
	}
	return KillPlanTargets(snap, rep, ts, force)
}

// KillTarget is one thing to kill: a PID, or a session by its exact name,
// on one tmux server when Server names it (a name can exist on several).
type KillTarget struct {
	PID     int
	Session string
	Server  string
}

func (t KillTarget) String() string {
	switch {
	case t.PID > 0:
		return strconv.Itoa(t.PID)
	case t.Server != "":
		return t.Session + " on tmux " + t.Server
	}
	return t.Session
}

// KillPlanTargets is KillPlan for typed targets.
func KillPlanTargets(snap *Snapshot, rep reconcile.Report, targets []KillTarget, force bool) ([]reconcile.Op, error) {
	var ops []reconcile.Op
	seen := map[string]bool{}
	for _, target := range targets {
		t, err := killTarget(snap, rep, target, force)
		if err != nil {
			return nil, err
		}
		for _, op := range t {
			key := fmt.Sprintf("%s|%d|%s|%s", op.Op, op.PID, op.Server, op.Session)
			if !seen[key] {
				seen[key] = true
				ops = append(ops, op)
			}
		}
	}
	return ops, nil
}

func killTarget(snap *Snapshot, rep reconcile.Report, target KillTarget, force bool) ([]reconcile.Op, error) {
	if snap == nil || snap.Input.Live == nil || snap.Input.Live.Procs == nil {
		return nil, fmt.Errorf("kill %s: no process table was scanned", target)
	}
	if pid := target.PID; pid > 0 {
		for _, p := range rep.Processes {
			if int(p.PID) != pid {
				continue
			}
			if p.Verdict != reconcile.VerdictLeak && !force {
				return nil, fmt.Errorf("PID %d is %s (%s): only leaks are killed; --force kills it anyway", pid, p.Verdict, p.Reason)
			}
			return killOps(snap, []int{pid}, p.AgentID, p.Session, p.Server, fmt.Sprintf("%s: %s", p.Verdict, p.Reason), force), nil
		}
		p := snap.Input.Live.Procs.Procs[int32(pid)]
		switch {
		case p == nil:
			return nil, fmt.Errorf("no process has PID %d", pid)
		case pid <= 1:
			return nil, fmt.Errorf("PID %d is never killed", pid)
		case force:
			return killOps(snap, []int{pid}, "", "", "", "named as a target, with --force", force), nil
		}
		return nil, fmt.Errorf("PID %d is not a claude process or part of an agent's tree; --force kills any process by PID", pid)
	}
	var found []reconcile.SessionRow
	for _, s := range rep.Sessions {
		if s.Name == target.Session && (target.Server == "" || s.Server == target.Server) {
			found = append(found, s)
		}
	}
	if len(found) > 1 {
		// A server the operator named (--tmux-socket, --tmux-socket-path)
		// is the one meant over servers only followed through a claude's
		// TMUX.
		var named []reconcile.SessionRow
		for _, s := range found {
			if serverWhy(snap, s.Server) == "given" {
				named = append(named, s)
			}
		}
		if len(named) == 1 {
			found = named
		}
	}
	switch {
	case len(found) == 0:
		var names []string
		for _, s := range snap.Input.Live.Servers {
			names = append(names, s.Socket.String())
		}
		return nil, fmt.Errorf("no tmux session is named exactly %q on the servers scanned (%s)", target.Session, strings.Join(names, ", "))
	case len(found) > 1:
		var servers []string
		for _, s := range found {
			servers = append(servers, s.Server)
		}
		return nil, fmt.Errorf("session %q exists on several servers (%s); name one with --tmux-socket or --tmux-socket-path", target.Session, strings.Join(servers, ", "))
	}
	s := found[0]
	if s.Verdict != reconcile.VerdictLeak && !force {
		return nil, fmt.Errorf("session %s is %s (%s): only leaks are killed; --force kills it anyway", s.Name, s.Verdict, s.Reason)
	}
	why := fmt.Sprintf("%s: %s", s.Verdict, s.Reason)
	pids := make([]int, len(s.PIDs))
	for i, p := range s.PIDs {
		pids[i] = int(p)
	}
	ops := killOps(snap, pids, s.AgentID, s.Name, s.Server, why, force)
	return append(ops, reconcile.Op{Op: reconcile.OpKillSession, AgentID: s.AgentID, Session: s.Name, Server: s.Server, Why: why}), nil
}

// serverWhy says why the server named name was scanned: "given" for one the
// operator named, "default" for tmux's default server when none was named,
// or how a claude's TMUX led to it.
func serverWhy(snap *Snapshot, name string) string {
	for _, s := range snap.Input.Live.Servers {
		if s.Socket.String() == name {
			return s.Why
		}
	}
	return ""
}

// refusedWhy begins the Why of a target the planner already knows is never
// killed; see PlannedRefusal.
const refusedWhy = "never killed: "

// PlannedRefusal tells whether op is a process the planner found is never
// killed — PID 1, agentwatch or an ancestor of it, a tmux server, another
// user's process — and why. Such a target is planned alone, without its
// tree, so that the kill refuses it and says so, and signals nothing of
// what killing it would have swept in.
func PlannedRefusal(op reconcile.Op) (string, bool) {
	if op.Op != reconcile.OpKillProcess {
		return "", false
	}
	return strings.CutPrefix(op.Why, refusedWhy)
}

// killOps plans the processes pids name, each as a tree; a process that is
// never killed is planned alone (see PlannedRefusal).
func killOps(snap *Snapshot, pids []int, agentID, session, server, why string, force bool) []reconcile.Op {
	table := snap.Input.Live.Procs
	servers := serverPIDs(snap)
	var ops []reconcile.Op
	var roots []int
	for _, pid := range pids {
		p := table.Procs[int32(pid)]
		never := procscan.Refusal(table, int32(pid), servers, force)
		if p == nil || never == "" {
			roots = append(roots, pid)
			continue
		}
		ops = append(ops, reconcile.Op{Op: reconcile.OpKillProcess, AgentID: agentID, PID: pid, Start: p.Start, Comm: p.Comm,
			Session: session, Server: server, Why: refusedWhy + never + "; nothing of its tree is signaled"})
	}
	for _, pid := range reconcile.KillSet(table, roots) {
		p := table.Procs[pid]
		ops = append(ops, reconcile.Op{Op: reconcile.OpKillProcess, AgentID: agentID, PID: int(pid), Start: p.Start, Comm: p.Comm,
			Session: session, Server: server, Why: why})
	}
	return ops
}

// plannedSession finds the session named name on the server named server
// as snap saw it: its id and creation time identify it.
func plannedSession(snap *Snapshot, server, name string) (tmux.Session, bool) {
	if snap == nil || snap.Input.Live == nil {
		return tmux.Session{}, false
	}
	for _, s := range snap.Input.Live.Servers {
		if s.Socket.String() != server || s.Snapshot == nil {
			continue
		}
		for _, sess := range s.Snapshot.Sessions() {
			if sess.Name == name {
				return sess, true
			}
		}
	}
	return tmux.Session{}, false
}
