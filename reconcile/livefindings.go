package reconcile

// The findings of a live analysis: ghosts, stale agents, leaked sessions
// and orphaned process trees.

import (
	"slices"
	"strings"
)

func (l *live) findings(rep *Report) []Finding {
	var out []Finding
	for _, a := range rep.Agents {
		switch a.Verdict {
		case VerdictGhost:
			out = append(out, Finding{Kind: FindGhost, AgentID: a.ID, TaskID: a.TaskID, Registry: a.Registry, Status: a.Status,
				TmuxSession: a.Session, Cause: a.Cause, CompletedEvidence: a.CompletedEvidence})
		case VerdictStale:
			out = append(out, Finding{Kind: FindStale, AgentID: a.ID, TaskID: a.TaskID, LastUpdate: a.Updated})
		}
	}
	out = append(out, spawnBlocked(l.w, rep.Agents)...)
	for _, s := range rep.Sessions {
		if s.Verdict == VerdictLeak {
			out = append(out, Finding{Kind: FindLeak, Cause: s.Cause, AgentID: s.AgentID, TmuxSession: s.Name, PIDs: ints(s.PIDs), Server: s.Server})
		}
	}
	// Orphans: leaked processes outside any live session, one finding per
	// agent (or per gone pane), each listing its whole tree.
	groups := map[string][]int32{}
	var keys []string
	for _, p := range rep.Processes {
		if p.Verdict != VerdictLeak || p.Cause != CauseOrphanProcess {
			continue
		}
		k := p.AgentID
		if k == "" {
			k = "#" + p.Server
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], p.PID)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := Finding{Kind: FindLeak, Cause: CauseOrphanProcess, PIDs: ints(groups[k])}
		if !strings.HasPrefix(k, "#") {
			f.AgentID = k
			if a := l.agentByID(k); a != nil {
				f.TmuxSession = a.row.Session
			}
		}
		out = append(out, f)
	}
	return out
}

func ints(pids []int32) []int {
	out := make([]int, len(pids))
	for i, p := range pids {
		out[i] = int(p)
	}
	slices.Sort(out)
	return out
}
