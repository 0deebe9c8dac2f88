package reconcile

// The verdicts of DESIGN §2 for agents, sessions and processes, and the
// ages their reasons show.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"agentwatch/procscan"
	"agentwatch/registry"
)

// finished tells whether a terminal agent that still runs has truly
// finished, so that what runs of it is a leak. In a registry of the JSON
// era its status is taken at its word. In the SQLite era the orchestrator
// marks every agent failed when tmux does not answer it (its startup
// cleanup, its health daemon), and the agent's next progress report
// revives it: there the status is believed only with the stream log's
// word for it, a result line, or a log that has not grown for --stale.
// Otherwise why says what speaks against it.
func (l *live) finished(a *agentState) (ok bool, why string) {
	if a.row.Source != SourceState || l.lv.Evidence[a.row.ID] {
		return true, ""
	}
	mod, known := l.lv.LogModified[a.row.ID]
	switch {
	case !known:
		return false, "it still runs and its stream log shows no result"
	case l.in.Now.Sub(mod) > l.stale:
		return true, ""
	}
	l.expire(mod.Add(l.stale))
	l.expireAge(l.in.Now.Sub(mod))
	return false, fmt.Sprintf("it still runs and its stream log grew %s ago (the orchestrator may have failed it wrongly)", age(l.in.Now.Sub(mod)))
}

func (l *live) sessionRows() []SessionRow {
	var rows []SessionRow
	for i, s := range l.lv.Servers {
		if s.Snapshot == nil {
			continue
		}
		for _, sess := range s.Snapshot.Sessions() {
			r := SessionRow{Key: "s|" + s.Socket.String() + "|" + sess.Name, Server: s.Socket.String(), Name: sess.Name,
				Created: sess.Created, Attached: sess.Attached, PIDs: l.treeOfSession(i, sess.Name)}
			id := agentOfSession(sess.Name)
			a := l.agentByID(id)
			var o owner
			moved := false // the session proves itself another base's than its agent's
			if a != nil {
				if other, ok := l.sessionElsewhere(i, sess.Name, a); ok {
					moved, o = true, owner{base: other, how: "its pane tees the agent's stream log there"}
					a = l.agentIn(other, id) // that base's agent of the id, if any
				}
			}
			switch {
			case id == "":
				r.Verdict, r.Reason = VerdictOther, "not an agent session"
			case a == nil && s.Followed && !moved:
				r.AgentID = id
				r.Verdict, r.Reason = VerdictOther, "in no registry read here, on a server found through a claude's TMUX: perhaps another workspace's"
			case a == nil:
				created := l.in.Now.Sub(sess.Created)
				young := created < l.grace
				if young {
					l.expire(sess.Created.Add(l.grace))
					l.expireAge(created)
				}
				if !moved {
					o = l.sessionOwner(r.PIDs)
				}
				l.untracked(&r, id, o, young, created)
			case a.class == registry.StatusTerminal:
				r.AgentID = id
				if ok, why := l.finished(a); !ok {
					r.Verdict, r.Reason = VerdictOK, fmt.Sprintf("agent is %s, but %s: not a leak", a.row.Status, why)
					break
				}
				r.Verdict, r.Cause, r.Reason = VerdictLeak, CauseFinishedAgent, fmt.Sprintf("agent is %s, its session still runs", a.row.Status)
			case a.class == registry.StatusActive:
				r.AgentID = id
				r.Verdict, r.Reason = VerdictOK, "agent is "+a.row.Status
			default:
				r.AgentID = id
				r.Verdict, r.Reason = VerdictOK, fmt.Sprintf("agent status %q is unknown", a.row.Status)
			}
			rows = append(rows, r)
		}
	}
	return rows
}

func (l *live) agentVerdicts(prev *Memory) {
	l.indexClaude()
	// A server whose scan failed (stopped, wedged, a tmux of another
	// version) may hold any session: an agent whose session is on no
	// server that answered is not a ghost then.
	var silent []string
	for i, s := range l.lv.Servers {
		if s.Err != nil {
			silent = append(silent, l.serverName(i))
		}
	}
	for _, a := range l.order {
		r := a.row
		// Its sessions and claudes, but for those that prove themselves
		// another base's.
		var servers []int
		for _, s := range l.sessions[r.Session] {
			if _, other := l.sessionElsewhere(s, r.Session, a); !other {
				servers = append(servers, s)
			}
		}
		sessionAlive := len(servers) > 0 || l.lv.Confirm[r.Session]
		var claude []int32
		for _, s := range servers {
			claude = append(claude, l.claudeOf(s, r.Session, "")...)
		}
		for _, pid := range l.claudeOf(-2, "", r.ID) {
			if _, other := l.procElsewhere(pid, a); !other && !slices.Contains(claude, pid) {
				claude = append(claude, pid)
			}
		}
		slices.Sort(claude)
		r.PIDs = claude
		switch a.class {
		case registry.StatusActive:
			switch {
			case a.started && l.in.Now.Sub(a.startedT) < l.grace:
				r.Verdict, r.Reason = VerdictStarting, fmt.Sprintf("started %s ago (grace %s)", age(l.in.Now.Sub(a.startedT)), l.grace)
				l.expire(a.startedT.Add(l.grace))
				l.expireAge(l.in.Now.Sub(a.startedT))
			case len(claude) > 0:
				r.Verdict = VerdictOK
				if sessionAlive {
					r.Reason = fmt.Sprintf("session %s runs claude PID %d", r.Session, claude[0])
				} else {
					r.Reason = fmt.Sprintf("session %s is gone, but claude PID %d still runs", r.Session, claude[0])
				}
				// Stale is measured from the last sign of life, so a silent
				// agent whose stream still grows is not stale.
				switch {
				case !r.LastSign.IsZero() && l.in.Now.Sub(r.LastSign) > l.stale:
					r.Verdict, r.Reason = VerdictStale, fmt.Sprintf("alive, but no sign of life for %s (its %s)", age(l.in.Now.Sub(r.LastSign)), r.LastSignFrom)
					l.expireAge(l.in.Now.Sub(r.LastSign))
				case !r.LastSign.IsZero():
					l.expire(r.LastSign.Add(l.stale))
				}
			default:
				r.Cause, r.Reason = CauseSessionNotFound, fmt.Sprintf("%s, session %s is not on any server", r.Status, r.Session)
				if sessionAlive {
					r.Cause, r.Reason = CauseNoAgentProcess, fmt.Sprintf("%s, session %s runs no claude", r.Status, r.Session)
				}
				r.CompletedEvidence = l.lv.Evidence[r.ID]
				r.ResultError = r.CompletedEvidence && l.lv.EvidenceError[r.ID]
				switch {
				case r.ResultError:
					r.Reason += "; its stream log ends with a result that is an error"
				case r.CompletedEvidence:
					r.Reason += "; its stream log ends with a result"
				}
				r.Verdict = VerdictSuspect
				switch {
				case !sessionAlive && len(silent) > 0:
					r.Reason = strings.Replace(r.Reason, "is not on any server", "is on no server that answered", 1) +
						fmt.Sprintf("; tmux server %s gave no answer, and may hold it", strings.Join(silent, ", "))
				case !sessionAlive && l.lv.Unanswered[r.Session]:
					r.Reason += "; a tmux server did not answer when asked for it again"
				case prev != nil && prev.Suspects[r.Key]:
					r.Verdict = VerdictGhost
				}
			}
		case registry.StatusTerminal:
			if ok, why := l.finished(a); (sessionAlive || len(claude) > 0) && !ok {
				r.Verdict, r.Reason = VerdictOK, fmt.Sprintf("%s, but %s: not a leak", r.Status, why)
			} else if sessionAlive || len(claude) > 0 {
				r.Verdict, r.Cause = VerdictLeak, CauseFinishedAgent
				r.Reason = fmt.Sprintf("%s, but its session still runs", r.Status)
				if !sessionAlive {
					r.Reason = fmt.Sprintf("%s, but claude PID %d still runs", r.Status, claude[0])
				}
			} else {
				r.Verdict, r.Reason = VerdictDone, r.Status
			}
		default:
			r.Verdict, r.Reason = VerdictUnknown, fmt.Sprintf("status %q is neither active nor terminal", r.Status)
		}
	}
}

// procRows lists every claude process with its ancestors up to the pane and
// its descendants, as a forest in tree order.
func (l *live) procRows(sessions []SessionRow) []ProcRow {
	t := l.lv.Procs
	if t == nil {
		return nil
	}
	show := map[int32]bool{}
	for pid := range l.lv.Claude {
		if t.Procs[pid] == nil {
			continue
		}
		show[pid] = true
		for _, d := range t.Descendants(pid) {
			show[d] = true
		}
		// Its ancestors up to its pane; none when no pane is above it
		// (the chain up to init is the operator's own shell).
		var chain []int32
		for _, anc := range t.Ancestors(pid) {
			if anc <= 1 || l.isServer(anc) {
				chain = nil
				break
			}
			chain = append(chain, anc)
			if _, isPane := l.paneOf[anc]; isPane {
				break
			}
		}
		if len(chain) > 0 {
			if _, isPane := l.paneOf[chain[len(chain)-1]]; isPane {
				for _, anc := range chain {
					show[anc] = true
				}
			}
		}
	}
	sessionVerdict := map[string]SessionRow{}
	for _, s := range sessions {
		sessionVerdict[s.Server+"|"+s.Name] = s
	}
	var roots []int32
	for pid := range show {
		if !show[t.Procs[pid].PPID] {
			roots = append(roots, pid)
		}
	}
	// Leaked trees first, then the agents', the foreign ones last: the
	// operator looks for what is wrong, then for the agents' processes.
	// Each root's row is built once: its verdict ranks it, and it is the
	// first row of its tree.
	rootRow := make(map[int32]ProcRow, len(roots))
	rank := make(map[int32]int, len(roots))
	for _, pid := range roots {
		row := l.procRow(t.Procs[pid], 0, sessionVerdict)
		rootRow[pid] = row
		switch row.Verdict {
		case VerdictLeak:
			rank[pid] = 0
		case VerdictOK:
			rank[pid] = 1
		default:
			rank[pid] = 2
		}
	}
	slices.SortFunc(roots, func(a, b int32) int {
		if ra, rb := rank[a], rank[b]; ra != rb {
			return ra - rb
		}
		return int(a) - int(b)
	})
	rows := make([]ProcRow, 0, len(show))
	var walk func(pid int32, depth int)
	walk = func(pid int32, depth int) {
		if row, ok := rootRow[pid]; ok && depth == 0 {
			rows = append(rows, row)
		} else {
			rows = append(rows, l.procRow(t.Procs[pid], depth, sessionVerdict))
		}
		for _, c := range t.Children[pid] {
			if show[c] {
				walk(c, depth+1)
			}
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return rows
}

func (l *live) procRow(p *procscan.Proc, depth int, sessions map[string]SessionRow) ProcRow {
	r := ProcRow{Key: fmt.Sprintf("p|%d|%d", p.PID, p.Start), PID: p.PID, PPID: p.PPID, SID: p.SID, Start: p.Start,
		Comm: p.Comm, Cmdline: p.Cmdline(), Claude: l.lv.Claude[p.PID], Depth: depth}
	a, ok := l.attr[p.PID]
	if !ok {
		r.Verdict, r.Reason = VerdictForeign, "not in any tmux pane and names no agent"
		return r
	}
	r.AgentID, r.Session, r.Server = a.agentID, a.session, l.serverName(a.server)
	switch {
	case a.session != "":
		s := sessions[r.Server+"|"+a.session]
		switch s.Verdict {
		case VerdictOther:
			r.Verdict, r.Reason = VerdictForeign, fmt.Sprintf("in tmux session %s, which is %s (%s)", a.session, s.Reason, a.how)
		case VerdictLeak:
			r.Verdict, r.Cause, r.Reason = VerdictLeak, s.Cause, fmt.Sprintf("in leaked session %s: %s", a.session, s.Reason)
		default:
			r.Verdict, r.Reason = VerdictOK, fmt.Sprintf("in session %s (%s)", a.session, a.how)
			if ag := l.agentByID(a.agentID); ag != nil && ag.row.Verdict != VerdictOK && ag.row.Verdict != VerdictStarting && ag.row.Verdict != VerdictStale {
				r.Reason += "; agent is " + string(ag.row.Verdict)
			}
		}
	case a.agentID != "":
		ag := l.agentByID(a.agentID)
		if ag != nil {
			if other, ok := l.procElsewhere(p.PID, ag); ok {
				ag = l.agentIn(other, ag.row.ID) // another base's agent of the same id, if any
			}
		}
		switch {
		case ag != nil && (ag.row.Verdict == VerdictOK || ag.row.Verdict == VerdictStarting || ag.row.Verdict == VerdictStale):
			r.Verdict, r.Reason = VerdictOK, fmt.Sprintf("agent %s is %s (%s)", a.agentID, ag.row.Status, a.how)
		case ag == nil:
			// No registry read here records the agent: perhaps another
			// workspace's, never killed without --force.
			r.Verdict, r.Reason = VerdictForeign, fmt.Sprintf("%s, which no registry read here records", a.how)
		default:
			r.Verdict, r.Cause, r.Reason = VerdictLeak, CauseOrphanProcess, fmt.Sprintf("%s, whose session %s is gone (agent %s)", a.how, ag.row.Session, ag.row.Status)
		}
	default:
		// Its pane is gone and it names no agent of these registries:
		// perhaps another workspace's, never killed without --force.
		r.Verdict, r.Reason = VerdictForeign, a.how+", and it names no agent of the registries read"
	}
	return r
}

// markNew flags rows that turned ghost or leak since the previous analysis
// and records every verdict for the next.
func markNew(rep *Report, prev *Memory, mem *Memory) {
	bad := func(v Verdict) bool { return v == VerdictGhost || v == VerdictLeak }
	was := func(key string) Verdict {
		if prev == nil {
			return ""
		}
		return prev.Verdicts[key]
	}
	// Only a bad verdict can make a row new, and only a different one
	// before it can keep it from being new: the memory keeps the bad ones.
	mark := func(key string, v Verdict) bool {
		if !bad(v) {
			return false
		}
		mem.Verdicts[key] = v
		return prev != nil && was(key) != v
	}
	for i := range rep.Agents {
		r := &rep.Agents[i]
		r.New = mark(r.Key, r.Verdict)
	}
	for i := range rep.Sessions {
		r := &rep.Sessions[i]
		r.New = mark(r.Key, r.Verdict)
	}
	for i := range rep.Processes {
		r := &rep.Processes[i]
		r.New = mark(r.Key, r.Verdict)
	}
}

func age(d time.Duration) string {
	return d.Round(ageUnit(d)).String()
}

// ageUnit is what age rounds d to.
func ageUnit(d time.Duration) time.Duration {
	switch {
	case d < time.Minute:
		return time.Second
	case d < time.Hour:
		return time.Minute
	}
	return time.Hour
}

// ageTick is how long after d age may first read differently: when d
// passes the next half unit (Round moves up there) or the next unit's
// bound. Zero for a negative d (a clock that went back): it is not worth
// working out.
func ageTick(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	unit := ageUnit(d)
	next := (d+unit/2)/unit*unit + unit/2
	for _, bound := range []time.Duration{time.Minute, time.Hour} {
		if d < bound {
			next = min(next, bound)
		}
	}
	return next - d
}
