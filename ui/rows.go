package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"agentwatch/engine"
	"agentwatch/procscan"
	"agentwatch/reconcile"
)

// paneID names the three panes.
type paneID int

const (
	paneRegistry paneID = iota
	paneTmux
	paneProcs
	paneCount
)

var paneNames = [paneCount]string{"Registry", "Tmux", "Processes"}

type rowKind int

const (
	rowHeading rowKind = iota // a task's heading in the Registry pane
	rowAgent
	rowSession
	rowProc
	rowFinding // a registry-level finding, in the Registry pane
)

// row is one line of a pane: an agent, a session, a process or a task
// heading. It points into the report it was built from, which no one
// changes after the scan.
type row struct {
	kind    rowKind
	key     string
	heading string // the task id of a heading
	count   int    // a heading's agents
	locked  bool   // a heading whose registry's lock was busy
	agent   *reconcile.AgentRow
	session *reconcile.SessionRow
	proc    *reconcile.ProcRow
	finding *reconcile.Finding
	stats   *procscan.Proc // CPU and RSS of a process row, when scanned
	tree    string         // tree connectors before a process's command
	server  string         // "#2 " before a session's name, when several servers are scanned
	// cpu and rss of a session: the sum over its processes, for sorting.
	cpu float64
	rss uint64
	// collapsed: a task heading whose agents are hidden; it can then be
	// selected, to open it again.
	collapsed bool
}

func (r row) selectable() bool { return r.kind != rowHeading || r.collapsed }

// judgement is what reconcile said of a row; agents, sessions and processes
// all carry it.
type judgement struct {
	verdict, cause, reason string
	isNew                  bool
}

// judgedAs is reconcile's judgement in the screen's words: a finding row's
// verdict is its kind, so the words are plain strings here.
func judgedAs(j reconcile.Judgement) judgement {
	return judgement{string(j.Verdict), string(j.Cause), j.Reason, j.New}
}

func (r row) judged() judgement {
	switch r.kind {
	case rowAgent:
		return judgedAs(r.agent.Judgement)
	case rowSession:
		return judgedAs(r.session.Judgement)
	case rowProc:
		return judgedAs(r.proc.Judgement)
	case rowFinding:
		return judgement{verdict: string(r.finding.Kind), reason: findingText(r.finding)}
	}
	return judgement{}
}

func (r row) verdict() string { return r.judged().verdict }
func (r row) reason() string  { return r.judged().reason }
func (r row) cause() string   { return r.judged().cause }
func (r row) isNew() bool     { return r.judged().isNew }

// name is how the row is named on the detail line and in dialogs.
func (r row) name() string {
	switch r.kind {
	case rowAgent:
		return "agent " + escape(r.agent.ID)
	case rowSession:
		if r.server != "" {
			return "session " + escape(r.session.Name) + " on tmux " + escape(r.session.Server)
		}
		return "session " + escape(r.session.Name)
	case rowProc:
		return fmt.Sprintf("PID %d %s", r.proc.PID, escape(r.proc.Comm))
	case rowFinding:
		return escape(string(r.finding.Kind) + " " + findingText(r.finding))
	}
	return escape(r.heading)
}

// matches reports whether the filter text q (lower case) is in one of the
// row's fields: id, task, session, status, command, PID or verdict.
func (r row) matches(q string) bool {
	if q == "" {
		return true
	}
	var fields []string
	switch r.kind {
	case rowAgent:
		a := r.agent
		fields = []string{a.ID, a.TaskID, a.Session, a.Status, a.Type}
	case rowSession:
		s := r.session
		fields = []string{s.Name, s.AgentID}
	case rowProc:
		p := r.proc
		fields = []string{strconv.Itoa(int(p.PID)), p.Comm, p.Cmdline, p.Session, p.AgentID}
	case rowFinding:
		fields = []string{findingText(r.finding), r.finding.Registry}
	default:
		return false
	}
	// The verdict word too: "/ghost", "/leak". (Not the cause: "session"
	// would then match every ghost, session_not_found.)
	fields = append(fields, r.verdict())
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// buildRows turns a report into the three panes' rows: agents under their
// task's heading, sessions, and the process forest with its connectors.
func buildRows(snap *engine.Snapshot, rep *reconcile.Report, locked map[string]bool) [paneCount][]row {
	var out [paneCount][]row
	lockedTask := map[string]bool{}
	if snap != nil {
		for _, r := range snap.Input.Registries {
			if locked[r.Path] && r.Kind == reconcile.KindTask {
				lockedTask[r.TaskID] = true
			}
		}
	}
	head := -1 // index of the last heading
	for i := range rep.Agents {
		a := &rep.Agents[i]
		if head < 0 || out[paneRegistry][head].heading != a.TaskID {
			head = len(out[paneRegistry])
			out[paneRegistry] = append(out[paneRegistry], row{kind: rowHeading, key: "t|" + a.TaskID, heading: a.TaskID, locked: lockedTask[a.TaskID]})
		}
		out[paneRegistry][head].count++
		out[paneRegistry] = append(out[paneRegistry], row{kind: rowAgent, key: a.Key, agent: a})
	}
	out[paneRegistry] = append(out[paneRegistry], findingRows(rep)...)
	servers := serverNumbers(snap)
	for i := range rep.Sessions {
		s := &rep.Sessions[i]
		r := row{kind: rowSession, key: s.Key, session: s}
		if snap != nil && snap.Input.Live != nil && snap.Input.Live.Procs != nil {
			for _, pid := range s.PIDs {
				if p := snap.Input.Live.Procs.Procs[pid]; p != nil {
					r.cpu += p.CPU
					r.rss += p.RSS
				}
			}
		}
		if n, ok := servers[s.Server]; ok {
			r.server = fmt.Sprintf("#%d ", n)
		}
		out[paneTmux] = append(out[paneTmux], r)
	}
	var procs map[int32]*procscan.Proc
	if snap != nil && snap.Input.Live != nil && snap.Input.Live.Procs != nil {
		procs = snap.Input.Live.Procs.Procs
	}
	trees := treeConnectors(rep.Processes)
	for i := range rep.Processes {
		p := &rep.Processes[i]
		out[paneProcs] = append(out[paneProcs], row{kind: rowProc, key: p.Key, proc: p, stats: procs[p.PID], tree: trees[i]})
	}
	return out
}

// serverNumbers numbers the tmux servers of a snapshot from 1, in the
// header's order, when there are several: the same session name can be on
// two of them. Nil for one server.
func serverNumbers(snap *engine.Snapshot) map[string]int {
	if snap == nil || snap.Input.Live == nil || len(snap.Input.Live.Servers) < 2 {
		return nil
	}
	out := map[string]int{}
	for i, s := range snap.Input.Live.Servers {
		out[s.Socket.String()] = i + 1
	}
	return out
}

// treeConnectors draws the process forest's branches ("├─", "└─", "│ ")
// from the rows' depths, which come in depth-first order.
func treeConnectors(ps []reconcile.ProcRow) []string {
	out := make([]string, len(ps))
	// hasNextSibling: a later row at the same depth before any shallower one.
	hasNextSibling := func(i int) bool {
		d := ps[i].Depth
		for j := i + 1; j < len(ps); j++ {
			switch {
			case ps[j].Depth < d:
				return false
			case ps[j].Depth == d:
				return true
			}
		}
		return false
	}
	var open []bool // per depth: the ancestor at that depth has a later sibling
	for i, p := range ps {
		if p.Depth == 0 {
			open = open[:0]
			open = append(open, hasNextSibling(i))
			continue
		}
		for len(open) > p.Depth {
			open = open[:len(open)-1]
		}
		for len(open) < p.Depth {
			open = append(open, false)
		}
		var b strings.Builder
		for d := 1; d < p.Depth; d++ {
			if open[d] {
				b.WriteString("│ ")
			} else {
				b.WriteString("  ")
			}
		}
		next := hasNextSibling(i)
		if next {
			b.WriteString("├─")
		} else {
			b.WriteString("└─")
		}
		out[i] = b.String()
		open = append(open, next)
	}
	return out
}

// rowFilter is what a pane shows of its rows: the filter text, "faults
// only", finished agents hidden, collapsed tasks.
type rowFilter struct {
	text       string
	faultsOnly bool
	hideDone   bool
	collapsed  map[string]bool // task ids
}

func (f rowFilter) none() bool {
	return f.text == "" && !f.faultsOnly && !f.hideDone && len(f.collapsed) == 0
}

// visibleRows applies a filter to a pane's rows; a heading stays when one
// of its agents does, and a collapsed task shows its heading alone.
func visibleRows(all []row, f rowFilter) []row {
	if f.none() {
		return all // rows are never changed once built: the slice can be shared
	}
	q := strings.ToLower(f.text)
	keep := func(r row) bool {
		return r.matches(q) && (!f.faultsOnly || faulty(r.verdict())) &&
			(!f.hideDone || r.verdict() != string(reconcile.VerdictDone))
	}
	var out []row
	pending := -1 // index in all of a heading not yet emitted
	head := -1    // index in out of the last heading emitted
	folded := false
	for i, r := range all {
		if r.kind == rowHeading {
			pending, folded = i, f.collapsed[r.heading]
			if folded {
				h := r
				h.count, h.collapsed = 0, true
				head = len(out)
				out = append(out, h)
				pending = -1
			}
			continue
		}
		if !keep(r) {
			continue
		}
		if folded {
			out[head].count++
			continue
		}
		if pending >= 0 {
			h := all[pending]
			h.count = 0
			head = len(out)
			out = append(out, h)
			pending = -1
		}
		if (r.kind == rowAgent || r.kind == rowFinding) && head >= 0 {
			out[head].count++
		}
		out = append(out, r)
	}
	return out
}

// link is what a selected row is joined by: its agent, its session, its
// processes.
type link struct {
	from    paneID
	agentID string
	session string
	server  string
	pids    map[int32]bool
}

func linkOf(r row, from paneID) link {
	l := link{from: from, pids: map[int32]bool{}}
	switch r.kind {
	case rowFinding:
		l.agentID = r.finding.AgentID
	case rowAgent:
		l.agentID, l.session = r.agent.ID, r.agent.Session
		for _, p := range r.agent.PIDs {
			l.pids[p] = true
		}
	case rowSession:
		l.agentID, l.session, l.server = r.session.AgentID, r.session.Name, r.session.Server
		for _, p := range r.session.PIDs {
			l.pids[p] = true
		}
	case rowProc:
		l.agentID, l.session, l.server = r.proc.AgentID, r.proc.Session, r.proc.Server
		l.pids[r.proc.PID] = true
	}
	return l
}

// joined reports whether a row of another pane is joined to the selection.
func (r row) joined(l link) bool {
	eq := func(a, b string) bool { return a != "" && a == b }
	switch r.kind {
	case rowAgent:
		return eq(r.agent.ID, l.agentID) || eq(r.agent.Session, l.session)
	case rowSession:
		if l.from == paneRegistry {
			return eq(r.session.AgentID, l.agentID) || eq(r.session.Name, l.session)
		}
		return eq(r.session.Name, l.session) && r.session.Server == l.server
	case rowProc:
		switch l.from {
		case paneRegistry:
			return eq(r.proc.AgentID, l.agentID) || eq(r.proc.Session, l.session) || l.pids[r.proc.PID]
		case paneTmux:
			return (eq(r.proc.Session, l.session) && r.proc.Server == l.server) || l.pids[r.proc.PID]
		}
	}
	return false
}

// Cell formats.

func fmtAge(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

func fmtCPU(p *procscan.Proc) string {
	if p == nil {
		return "-"
	}
	if p.CPU >= 99.5 {
		return fmt.Sprintf("%.0f%%", p.CPU)
	}
	return fmt.Sprintf("%.1f%%", p.CPU)
}

func fmtRSS(p *procscan.Proc) string {
	if p == nil {
		return "-"
	}
	const k, m, g = 1 << 10, 1 << 20, 1 << 30
	b := p.RSS
	switch {
	case b >= 10*g:
		return fmt.Sprintf("%dG", b/g)
	case b >= g:
		return fmt.Sprintf("%.1fG", float64(b)/g)
	case b >= m:
		return fmt.Sprintf("%dM", b/m)
	}
	return fmt.Sprintf("%dK", b/k)
}
