package reconcile

// The kill planner: what a kill of a PID or of a session's exact name ends,
// as kill operations, and which of it is never killed.

import (
	"fmt"
	"strconv"
	"strings"

	"agentwatch/procscan"
)

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

// ParseKillTargets reads targets as the command line names them: a number
// is a PID, anything else a session's exact name on any server.
func ParseKillTargets(args []string) []KillTarget {
	ts := make([]KillTarget, 0, len(args))
	for _, a := range args {
		if pid, err := strconv.Atoi(a); err == nil {
			ts = append(ts, KillTarget{PID: pid})
		} else {
			ts = append(ts, KillTarget{Session: a})
		}
	}
	return ts
}

// KillGuard is what a kill plan knows of the process that plans it, to
// refuse what is never killed: that process itself, its ancestors in the
// scanned table, and, by its effective user id, another user's processes.
// The engine builds it once from the running process; a test builds one by
// hand.
type KillGuard struct {
	// Self is the planning process's PID.
	Self int32
	// EUID is its effective user id. Another user's process is refused,
	// unless EUID is root (0) and the plan is forced.
	EUID uint32
}

// PlanKill resolves kill targets against a report into kill operations:
// each process as a tree (its descendants and the session it leads), then
// the session. Only leaks are planned; a foreign or healthy target needs
// force, and even then the plan is no wider than the target's tree. A
// process that is never killed is planned alone (see PlannedRefusal). An
// operation two targets share is planned once. The command line and the
// TUI both kill through this.
func PlanKill(live *Live, rep Report, targets []KillTarget, force bool, g KillGuard) ([]Op, error) {
	var ops []Op
	seen := map[string]bool{}
	for _, target := range targets {
		t, err := planTarget(live, rep, target, force, g)
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

func planTarget(live *Live, rep Report, target KillTarget, force bool, g KillGuard) ([]Op, error) {
	if live == nil || live.Procs == nil {
		return nil, fmt.Errorf("kill %s: no process table was scanned", target)
	}
	if pid := target.PID; pid > 0 {
		for _, p := range rep.Processes {
			if int(p.PID) != pid {
				continue
			}
			if p.Verdict != VerdictLeak && !force {
				return nil, fmt.Errorf("PID %d is %s (%s): only leaks are killed; --force kills it anyway", pid, p.Verdict, p.Reason)
			}
			return killOps(live, g, []int{pid}, p.AgentID, p.Session, p.Server, fmt.Sprintf("%s: %s", p.Verdict, p.Reason), force), nil
		}
		p := live.Procs.Procs[int32(pid)]
		switch {
		case p == nil:
			return nil, fmt.Errorf("no process has PID %d", pid)
		case pid <= 1:
			return nil, fmt.Errorf("PID %d is never killed", pid)
		case force:
			return killOps(live, g, []int{pid}, "", "", "", "named as a target, with --force", force), nil
		}
		return nil, fmt.Errorf("PID %d is not a claude process or part of an agent's tree; --force kills any process by PID", pid)
	}
	var found []SessionRow
	for _, s := range rep.Sessions {
		if s.Name == target.Session && (target.Server == "" || s.Server == target.Server) {
			found = append(found, s)
		}
	}
	if len(found) > 1 {
		// A server the operator named (--tmux-socket, --tmux-socket-path)
		// is the one meant over servers only followed through a claude's
		// TMUX.
		var named []SessionRow
		for _, s := range found {
			if live.serverWhy(s.Server) == "given" {
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
		for _, s := range live.Servers {
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
	if s.Verdict != VerdictLeak && !force {
		return nil, fmt.Errorf("session %s is %s (%s): only leaks are killed; --force kills it anyway", s.Name, s.Verdict, s.Reason)
	}
	why := fmt.Sprintf("%s: %s", s.Verdict, s.Reason)
	pids := make([]int, len(s.PIDs))
	for i, p := range s.PIDs {
		pids[i] = int(p)
	}
	ops := killOps(live, g, pids, s.AgentID, s.Name, s.Server, why, force)
	return append(ops, Op{Op: OpKillSession, AgentID: s.AgentID, Session: s.Name, Server: s.Server, Why: why}), nil
}

// serverWhy says why the server named name was scanned: "given" for one the
// operator named, "default" for tmux's default server when none was named,
// or how a claude's TMUX led to it.
func (l *Live) serverWhy(name string) string {
	for _, s := range l.Servers {
		if s.Socket.String() == name {
			return s.Why
		}
	}
	return ""
}

// ServerPIDs are the PIDs of the tmux servers scanned: never to be
// signaled. It is nil for a nil Live.
func (l *Live) ServerPIDs() []int32 {
	if l == nil {
		return nil
	}
	var out []int32
	for _, s := range l.Servers {
		if s.Snapshot != nil && s.Snapshot.ServerPID > 0 {
			out = append(out, int32(s.Snapshot.ServerPID))
		}
	}
	return out
}

// refusedWhy begins the Why of a target the planner already knows is never
// killed; see PlannedRefusal.
const refusedWhy = "never killed: "

// PlannedRefusal tells whether op is a process the planner found is never
// killed — PID 1, agentwatch or an ancestor of it, a tmux server, another
// user's process — and why. Such a target is planned alone, without its
// tree, so that the kill refuses it and says so, and signals nothing of
// what killing it would have swept in.
func PlannedRefusal(op Op) (string, bool) {
	if op.Op != OpKillProcess {
		return "", false
	}
	return strings.CutPrefix(op.Why, refusedWhy)
}

// killOps plans the processes pids name, each as a tree; a process that is
// never killed is planned alone (see PlannedRefusal). The rules are the
// ones procscan.Kill applies again when it signals.
func killOps(live *Live, g KillGuard, pids []int, agentID, session, server, why string, force bool) []Op {
	table := live.Procs
	servers := live.ServerPIDs()
	var ops []Op
	var roots []int
	for _, pid := range pids {
		p := table.Procs[int32(pid)]
		never := procscan.Refusal(table, int32(pid), g.Self, g.EUID, servers, force)
		if p == nil || never == "" {
			roots = append(roots, pid)
			continue
		}
		ops = append(ops, Op{Op: OpKillProcess, AgentID: agentID, PID: pid, Start: p.Start, Comm: p.Comm,
			Session: session, Server: server, Why: refusedWhy + never + "; nothing of its tree is signaled"})
	}
	for _, pid := range KillSet(table, roots) {
		p := table.Procs[pid]
		ops = append(ops, Op{Op: OpKillProcess, AgentID: agentID, PID: int(pid), Start: p.Start, Comm: p.Comm,
			Session: session, Server: server, Why: why})
	}
	return ops
}
