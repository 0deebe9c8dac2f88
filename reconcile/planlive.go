package reconcile

import (
	"fmt"
	"slices"

	"agentwatch/procscan"
)

// GhostChanges turns the report's ghosts into status changes: completed
// when the stream log shows the agent finished, terminated otherwise, with
// the ghost's cause as the termination reason.
func GhostChanges(rep Report) []StatusChange {
	var out []StatusChange
	for _, a := range rep.Agents {
		if a.Verdict != VerdictGhost {
			continue
		}
		op, _ := a.GhostRepair()
		out = append(out, StatusChange{Base: a.Base, TaskID: a.TaskID, AgentID: a.ID, Session: a.Session, Op: op, Reason: string(a.Cause),
			Why: "ghost: " + a.Reason})
	}
	return out
}

// GhostRepair says what a repair of the agent as a ghost does, and the
// status it writes: completed when its stream log shows it finished;
// otherwise terminated in a JSON registry, failed in a state database (the
// SQLite-era orchestrator's word for an agent whose session died;
// terminated is its word for a deliberate kill). A result that is an error
// completes nothing there: its own completion notifier sets failed for it.
func (a AgentRow) GhostRepair() (OpKind, string) {
	switch {
	case a.Source == SourceState && a.CompletedEvidence && !a.ResultError:
		return OpComplete, StateCompleted
	case a.Source == SourceState:
		return OpTerminate, StateFailed
	case a.CompletedEvidence:
		return OpComplete, "completed"
	}
	return OpTerminate, "terminated"
}

// PlanRepair plans every repair of a report: the registry repairs, the
// ghosts' status changes and, with killLeaks, the kills of leaked process
// trees and sessions.
func PlanRepair(in Input, rep Report, killLeaks bool) Plan {
	plan := MakePlan(in, GhostChanges(rep))
	if killLeaks && in.Live != nil {
		plan.Ops = append(plan.Ops, LeakOps(rep, in.Live.Procs)...)
	}
	return plan
}

// LeakOps plans the kill of every leak: each process of the leaked tree,
// identified by PID and start time, then the leaked session itself.
func LeakOps(rep Report, procs *procscan.Table) []Op {
	var ops []Op
	for _, f := range rep.Findings {
		if f.Kind != FindLeak {
			continue
		}
		why := fmt.Sprintf("leak (%s)", f.Cause)
		switch f.Cause {
		case CauseUntrackedSession:
			why = fmt.Sprintf("session %s is in no registry", f.TmuxSession)
		case CauseFinishedAgent:
			why = fmt.Sprintf("agent %s is finished, its session %s still runs", f.AgentID, f.TmuxSession)
		case CauseOrphanProcess:
			why = "orphaned process of agent " + f.AgentID + ", its session is gone"
			if f.AgentID == "" {
				why = "orphaned process whose tmux pane is gone"
			}
		}
		for _, pid := range KillSet(procs, f.PIDs) {
			p := procs.Procs[pid]
			ops = append(ops, Op{Op: OpKillProcess, AgentID: f.AgentID, PID: int(pid), Start: p.Start, Comm: p.Comm,
				Session: f.TmuxSession, Server: f.Server, Why: why})
		}
		if f.Cause != CauseOrphanProcess && f.TmuxSession != "" {
			ops = append(ops, Op{Op: OpKillSession, AgentID: f.AgentID, Session: f.TmuxSession, Server: f.Server, Why: why})
		}
	}
	return ops
}

// KillSet expands processes to what killing them means: each one, its
// descendants, and every process sharing the session id it leads. The
// result is sorted; processes no longer in the table are left out.
func KillSet(procs *procscan.Table, pids []int) []int32 {
	if procs == nil {
		return nil
	}
	seen := map[int32]bool{}
	var out []int32
	var add func(pid int32)
	add = func(pid int32) {
		p := procs.Procs[pid]
		if p == nil || seen[pid] || pid <= 1 {
			return
		}
		seen[pid] = true
		out = append(out, pid)
		for _, d := range procs.Descendants(pid) {
			add(d)
		}
		if p.SID == pid {
			for _, s := range procs.InSession(pid) {
				add(s)
			}
		}
	}
	for _, pid := range pids {
		add(int32(pid))
	}
	slices.Sort(out)
	return out
}
