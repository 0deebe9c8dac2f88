package reconcile

import (
	"maps"
	"slices"
	"time"

	"agentwatch/procscan"
	"agentwatch/registry"
	"agentwatch/tmux"
)

// An analysis of 10,000 agents takes tens of milliseconds, and the screen
// scans every second or two, most often to find that nothing changed. So
// a Memory keeps the analysis it came from, and Observe gives that report
// again when the new input is the same in every part the analysis reads:
// the same registry documents (by hash), the same tmux panes, the same
// processes where the analysis looks (see relevantProcs; in identity,
// parent, session, command line, TMUX variables), the same claude matches,
// stream-log evidence and confirmations, the same settings; stream logs
// that only grew for active agents that are ok (see grownLogs). Time is the one input that always moves: the report is given
// again only before its until, the first moment at which a verdict or a
// reason would read differently (a --grace or --stale threshold, an age
// shown in a reason), and never while a suspect waits for its second look.

// analysis is one analysis as its memory keeps it.
type analysis struct {
	in  Input
	rep Report
	// procs are in's relevant processes (see relevantProcs).
	procs map[int32]bool
	// until is when rep stops being what the analysis of in would give:
	// zero when time changes nothing in it.
	until time.Time
}

// reuse returns the report that Observe would give for in, when it is the
// previous one: in reads the same as the input m came from, at a time
// from that input's up to the report's until. The rows' New marks are
// cleared, as a second analysis with m would clear them.
func (m *Memory) reuse(in Input) (Report, *Memory, bool) {
	if m == nil || m.last == nil {
		return Report{}, nil, false
	}
	last := m.last
	if in.Now.Before(last.in.Now) || (!last.until.IsZero() && !in.Now.Before(last.until)) || !sameInput(last.in, in) {
		return Report{}, nil, false
	}
	procs := relevantProcs(in.Live)
	if in.Live != nil && !sameProcs(last.in.Live.Procs, in.Live.Procs, last.procs, procs) {
		return Report{}, nil, false
	}
	rep := clearNew(last.rep)
	if in.Live != nil {
		var ok bool
		if rep, ok = grownLogs(rep, last.in, in); !ok {
			return Report{}, nil, false
		}
	}
	// The new memory keeps the new input, so the previous process table and
	// panes can go.
	return rep, &Memory{Suspects: m.Suspects, Verdicts: m.Verdicts, last: &analysis{in: in, rep: rep, until: last.until, procs: procs}}, true
}

// clearNew returns rep with no row marked New, copying only the rows that
// need it: a report's rows are shared, never changed.
func clearNew(rep Report) Report {
	if slices.ContainsFunc(rep.Agents, func(r AgentRow) bool { return r.New }) {
		rep.Agents = slices.Clone(rep.Agents)
		for i := range rep.Agents {
			rep.Agents[i].New = false
		}
	}
	if slices.ContainsFunc(rep.Sessions, func(r SessionRow) bool { return r.New }) {
		rep.Sessions = slices.Clone(rep.Sessions)
		for i := range rep.Sessions {
			rep.Sessions[i].New = false
		}
	}
	if slices.ContainsFunc(rep.Processes, func(r ProcRow) bool { return r.New }) {
		rep.Processes = slices.Clone(rep.Processes)
		for i := range rep.Processes {
			rep.Processes[i].New = false
		}
	}
	return rep
}

// sameInput reports whether an analysis reads a and b alike, their times
// and their process tables aside.
func sameInput(a, b Input) bool {
	if !sameSets(a, b) || len(a.Registries) != len(b.Registries) || (a.Live == nil) != (b.Live == nil) {
		return false
	}
	for i := range a.Registries {
		if !sameRegistry(a.Registries[i], b.Registries[i]) {
			return false
		}
	}
	if !slices.Equal(a.Bases, b.Bases) || !slices.EqualFunc(a.Databases, b.Databases, sameDatabase) {
		return false
	}
	return a.Live == nil || sameLive(a.Live, b.Live)
}

// sameDatabase compares two reads of a state database: the rows are known
// to be the same only by the reads' versions.
func sameDatabase(a, b Database) bool {
	if a.Path != b.Path || a.Base != b.Base || a.Locked != b.Locked || a.Unreadable != b.Unreadable || errText(a.Err) != errText(b.Err) ||
		(a.State == nil) != (b.State == nil) {
		return false
	}
	return a.State == nil || (a.State.Version != "" && a.State.Version == b.State.Version)
}

func sameSets(a, b Input) bool {
	return slices.Equal(a.Sets.Active, b.Sets.Active) && slices.Equal(a.Sets.Terminal, b.Sets.Terminal) &&
		slices.Equal(a.Sets.TaskTerminal, b.Sets.TaskTerminal)
}

// sameRegistry compares two reads of a registry. A document is known to
// be the same only by its hash: without one, it is taken as changed.
func sameRegistry(a, b Registry) bool {
	if a.Path != b.Path || a.Kind != b.Kind || a.Base != b.Base || a.TaskID != b.TaskID ||
		a.Locked != b.Locked || a.Unreadable != b.Unreadable || errText(a.Err) != errText(b.Err) {
		return false
	}
	if a.Root == nil && b.Root == nil {
		return true // the same error, or no document either time
	}
	return a.Root != nil && b.Root != nil && a.Hash != "" && a.Hash == b.Hash
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func sameLive(a, b *Live) bool {
	if a.Grace != b.Grace || a.Stale != b.Stale || len(a.Servers) != len(b.Servers) ||
		!maps.Equal(a.Claude, b.Claude) || !maps.Equal(a.Evidence, b.Evidence) || !maps.Equal(a.Confirm, b.Confirm) ||
		!maps.Equal(a.Unanswered, b.Unanswered) ||
		!maps.Equal(a.EvidenceError, b.EvidenceError) || !maps.Equal(a.Cwd, b.Cwd) || len(a.LogModified) != len(b.LogModified) {
		return false // a stream log that grew is grownLogs' to judge
	}
	for i := range a.Servers {
		if !sameServer(a.Servers[i], b.Servers[i]) {
			return false
		}
	}
	return (a.Procs == nil) == (b.Procs == nil)
}

// grownLogs is rep for b, whose stream logs are a's but for some that grew
// since: an active agent's log grows every few seconds, and the analysis
// reads its time only as the agent's last sign of life. A log that grew
// moves that sign forward, which changes nothing else in the row of an
// active agent that is starting or ok (it cannot make it stale; the
// report's until, set by the older sign, comes no later than a new
// analysis's would). So those rows get the new sign, and any other change
// — a log that appeared, went or went back, or grew for another row —
// leaves the report to a new analysis: ok is false.
func grownLogs(rep Report, a, b Input) (Report, bool) {
	var grown map[string]time.Time
	for id, t := range b.Live.LogModified {
		was, ok := a.Live.LogModified[id]
		switch {
		case !ok || t.Before(was):
			return rep, false
		case t.After(was):
			if grown == nil {
				grown = map[string]time.Time{}
			}
			grown[id] = t
		}
	}
	if grown == nil {
		return rep, true
	}
	agents := slices.Clone(rep.Agents)
	for i := range agents {
		r := &agents[i]
		t, ok := grown[r.ID]
		if !ok {
			continue
		}
		if (r.Verdict != VerdictOK && r.Verdict != VerdictStarting) || b.Sets.Classify(r.Status) != registry.StatusActive {
			return rep, false
		}
		if t.After(r.LastSign) {
			r.LastSign, r.LastSignFrom = t, "stream log"
		}
	}
	rep.Agents = agents
	return rep, true
}

func sameServer(a, b Server) bool {
	if a.Socket != b.Socket || a.Why != b.Why || a.Followed != b.Followed || errText(a.Err) != errText(b.Err) ||
		(a.Snapshot == nil) != (b.Snapshot == nil) {
		return false
	}
	if a.Snapshot == nil {
		return true
	}
	x, y := a.Snapshot, b.Snapshot
	return x.Socket == y.Socket && x.Running == y.Running && x.ServerPID == y.ServerPID &&
		slices.EqualFunc(x.Panes, y.Panes, samePane)
}

func samePane(a, b tmux.Pane) bool {
	return a.Session == b.Session && a.SessionID == b.SessionID && a.SessionCreated.Equal(b.SessionCreated) &&
		a.Attached == b.Attached && a.PaneID == b.PaneID && a.PanePID == b.PanePID && a.Dead == b.Dead && a.Command == b.Command
}

// relevantProcs are the processes an analysis of lv looks at one by one:
// every claude and its ancestors, and every process below a claude or a
// pane, or in a pane's session, or below one that is. No other process
// changes a verdict, a row or a reason (the machine's other processes come
// and go all the time); nil when lv has no process table.
func relevantProcs(lv *Live) map[int32]bool {
	if lv == nil || lv.Procs == nil {
		return nil
	}
	t := lv.Procs
	panes := map[int32]bool{}
	for _, s := range lv.Servers {
		if s.Snapshot != nil {
			for _, p := range s.Snapshot.Panes {
				panes[int32(p.PanePID)] = true
			}
		}
	}
	out := map[int32]bool{}
	for pid, p := range t.Procs {
		if lv.Claude[pid] {
			for _, anc := range t.Ancestors(pid) {
				out[anc] = true
			}
		}
		// Up the parents; a table read while processes exit can hold a
		// cycle, hence the bound.
		for cur, n := p, 0; cur != nil && n <= len(t.Procs); n++ {
			if lv.Claude[cur.PID] || panes[cur.PID] || panes[cur.SID] {
				out[pid] = true
				break
			}
			if cur.PPID == cur.PID {
				break
			}
			cur = t.Procs[cur.PPID]
		}
	}
	return out
}

// sameProcs compares two process tables in their relevant processes (ra
// of a, rb of b), in the fields the analysis reads; CPU, RSS and state are
// read by the screen from the table itself.
func sameProcs(a, b *procscan.Table, ra, rb map[int32]bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(ra) != len(rb) {
		return false
	}
	for pid := range ra {
		p, q := a.Procs[pid], b.Procs[pid]
		if !rb[pid] || q == nil || p.PPID != q.PPID || p.SID != q.SID || p.Start != q.Start || p.Comm != q.Comm ||
			p.TMUX != q.TMUX || p.TMUXPane != q.TMUXPane || !slices.Equal(p.Argv, q.Argv) {
			return false
		}
	}
	return true
}
