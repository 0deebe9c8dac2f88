package reconcile

// Attribution: which pane, session or agent every process belongs to, and
// the indexes of panes, sessions and claude processes the verdicts look up.

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"agentwatch/procscan"
	"agentwatch/tmux"
)

// maxAttributionAncestry bounds the walk up from a process to its pane.
const maxAttributionAncestry = 64

// attribution is what a process belongs to.
type attribution struct {
	server  int // index into servers, -1 when unknown
	session string
	agentID string
	how     string
	// deadPane: the process names a pane of a live server that no longer
	// exists: it escaped a session that is gone.
	deadPane bool
}

type paneRef struct {
	server  int
	session string
	pane    tmux.Pane
}

type paneKey struct {
	server  int
	session string
}

func (l *live) indexPanes() {
	l.paneByID = make([]map[string]string, len(l.lv.Servers))
	for i, s := range l.lv.Servers {
		l.paneByID[i] = map[string]string{}
		if s.Snapshot == nil {
			continue
		}
		for _, p := range s.Snapshot.Panes {
			l.paneOf[int32(p.PanePID)] = paneRef{server: i, session: p.Session, pane: p}
			l.paneByID[i][p.PaneID] = p.Session
			if !slices.Contains(l.sessions[p.Session], i) {
				l.sessions[p.Session] = append(l.sessions[p.Session], i)
			}
		}
	}
}

// attribute decides, for every process, which pane, session or agent it
// belongs to: by pane ancestry, by the pane's session id, by TMUX_PANE, or
// by its command line naming an agent.
func (l *live) attribute() {
	t := l.lv.Procs
	if t == nil {
		return
	}
	pids := make([]int32, 0, len(t.Procs))
	for pid := range t.Procs {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	for _, pid := range pids {
		if a, ok := l.attributeOne(t.Procs[pid]); ok {
			l.attr[pid] = a
		}
	}
	// A child of an attributed process (an escaped claude's MCP server)
	// belongs where its parent does.
	for _, pid := range pids {
		if _, ok := l.attr[pid]; ok {
			continue
		}
		for _, anc := range t.Ancestors(pid) {
			if a, ok := l.attr[anc]; ok && anc > 1 {
				a.how = fmt.Sprintf("child of PID %d, which is %s", anc, a.how)
				l.attr[pid] = a
				break
			}
		}
	}
}

// EnvNeeded lists, in ascending order, the processes whose TMUX variables
// the analysis may use, so that a scan reads no other environment: the
// claude processes (the PIDs claude holds), their descendants and their
// ancestors. Attribution asks every process's TMUX_PANE, but only these
// processes' attributions are ever used: a claude's, to find an agent's
// processes; a process row's (the rows are the claudes, their descendants
// and their ancestors up to the pane), which the screen shows with the
// row's TMUX variables; and, for a row that nothing else attributes, its
// nearest attributed ancestor's, which is one of these again.
func EnvNeeded(t *procscan.Table, claude map[int32]bool) []int32 {
	if t == nil {
		return nil
	}
	need := map[int32]bool{}
	for pid := range claude {
		if t.Procs[pid] == nil {
			continue
		}
		need[pid] = true
		for _, d := range t.Descendants(pid) {
			need[d] = true
		}
		for _, a := range t.Ancestors(pid) {
			need[a] = true
		}
	}
	return slices.Sorted(maps.Keys(need))
}

// paneOfProc finds the pane a process belongs to without its environment:
// the pane itself or an ancestor of it (pane set), else its session's
// leader (bySID set: a child reparented to init keeps the session id of
// the pane shell unless it called setsid).
func paneOfProc(t *procscan.Table, p *procscan.Proc, isPane func(int32) bool) (pane int32, bySID bool, ok bool) {
	cur := p
	for i := 0; cur != nil && i < maxAttributionAncestry; i++ {
		if isPane(cur.PID) {
			return cur.PID, false, true
		}
		if cur.PPID <= 1 {
			break
		}
		cur = t.Procs[cur.PPID]
	}
	if isPane(p.SID) {
		return p.SID, true, true
	}
	return 0, false, false
}

// BeyondPanes keeps, of pids, the processes whose pane only their
// environment can tell (paneOfProc finds none on the servers of lv): a
// reader that shows no TMUX variables needs no other environment.
func BeyondPanes(lv *Live, pids []int32) []int32 {
	panes := map[int32]bool{}
	for _, s := range lv.Servers {
		if s.Snapshot != nil {
			for _, p := range s.Snapshot.Panes {
				panes[int32(p.PanePID)] = true
			}
		}
	}
	isPane := func(pid int32) bool { return panes[pid] }
	return slices.DeleteFunc(pids, func(pid int32) bool {
		p := lv.Procs.Procs[pid]
		if p == nil {
			return true
		}
		_, _, ok := paneOfProc(lv.Procs, p, isPane)
		return ok
	})
}

func (l *live) attributeOne(p *procscan.Proc) (attribution, bool) {
	if pid, bySID, ok := paneOfProc(l.lv.Procs, p, func(pid int32) bool { _, ok := l.paneOf[pid]; return ok }); ok {
		ref := l.paneOf[pid]
		how := "pane " + ref.pane.PaneID
		switch {
		case bySID:
			how = fmt.Sprintf("in the session of pane %s (SID %d)", ref.pane.PaneID, p.SID)
		case pid != p.PID:
			how = fmt.Sprintf("descends from pane %s (PID %d)", ref.pane.PaneID, pid)
		}
		return attribution{server: ref.server, session: ref.session, agentID: agentOfSession(ref.session), how: how}, true
	}
	if p.TMUXPane != "" && p.TMUX != "" {
		sock, _, ok := tmux.SocketFromEnv(p.TMUX)
		if ok {
			for i, s := range l.lv.Servers {
				if s.Snapshot == nil || !sameSocket(s.Socket, sock.Path) {
					continue
				}
				if name, ok := l.paneByID[i][p.TMUXPane]; ok {
					return attribution{server: i, session: name, agentID: agentOfSession(name), how: "TMUX_PANE=" + p.TMUXPane}, true
				}
				a := attribution{server: i, deadPane: true, how: fmt.Sprintf("TMUX_PANE=%s names a pane that is gone", p.TMUXPane)}
				if id := l.agentInCmdline(p); id != "" {
					a.agentID = id
				}
				return a, true
			}
		}
	}
	if id := l.agentInCmdline(p); id != "" {
		return attribution{server: -1, agentID: id, how: "its command line names agent " + id}, true
	}
	return attribution{}, false
}

// agentInCmdline finds a known agent id in a claude's command line (its
// prompt or its stream log path), for claude processes only.
func (l *live) agentInCmdline(p *procscan.Proc) string {
	if !l.lv.Claude[p.PID] {
		return ""
	}
	cmd := p.Cmdline()
	best := ""
	for _, a := range l.order {
		if len(a.row.ID) > len(best) && strings.Contains(cmd, a.row.ID) {
			best = a.row.ID
		}
	}
	return best
}

func agentOfSession(name string) string {
	if id, ok := strings.CutPrefix(name, sessionPrefix); ok {
		return id
	}
	return ""
}

// sameSocket reports whether a socket path from a TMUX variable is the
// server the client talks to.
func sameSocket(s tmux.Socket, path string) bool {
	switch {
	case s.Path != "":
		return filepath.Clean(s.Path) == filepath.Clean(path)
	case s.Name != "":
		return filepath.Base(path) == s.Name && strings.HasPrefix(filepath.Base(filepath.Dir(path)), "tmux-")
	}
	return filepath.Base(path) == "default" && strings.HasPrefix(filepath.Base(filepath.Dir(path)), "tmux-")
}

// agentByID finds an agent by id in any base; an id taken from a session
// name matches in the form tmux gave it.
func (l *live) agentByID(id string) *agentState {
	var first *agentState // in the report's order
	for _, ids := range l.agents {
		if i, ok := ids[id]; ok && (first == nil || l.states[i].ord < first.ord) {
			first = &l.states[i]
		}
	}
	if first != nil {
		return first
	}
	if l.byTmuxName == nil { // collectAgents is done: index the agents once
		l.byTmuxName = map[string]*agentState{}
		for _, a := range l.order {
			// An id tmux writes as it is was found above, if at all.
			if n := TmuxName(a.row.ID); n != a.row.ID && l.byTmuxName[n] == nil {
				l.byTmuxName[n] = a
			}
		}
	}
	return l.byTmuxName[id]
}

var tmuxNamer = strings.NewReplacer(".", "_", ":", "_")

// TmuxName is the name tmux gives a new session asked for by name: it
// replaces '.' and ':', which its target syntax reserves, with '_'.
func TmuxName(name string) string {
	return tmuxNamer.Replace(name)
}

// indexClaude indexes the attributed claude processes by session and by
// agent id, so that each agent's lookup costs its own processes, not the
// whole table.
func (l *live) indexClaude() {
	l.claudeBySession, l.claudeByAgent = map[paneKey][]int32{}, map[string][]int32{}
	for pid, a := range l.attr {
		if !l.lv.Claude[pid] {
			continue
		}
		if a.session != "" {
			k := paneKey{a.server, a.session}
			l.claudeBySession[k] = append(l.claudeBySession[k], pid)
		}
		if a.agentID != "" {
			l.claudeByAgent[a.agentID] = append(l.claudeByAgent[a.agentID], pid)
		}
	}
	for _, v := range l.claudeBySession {
		slices.Sort(v)
	}
	for _, v := range l.claudeByAgent {
		slices.Sort(v)
	}
}

// claudeIn lists the live claude processes attributed to a session on a
// server, or to an agent id.
func (l *live) claudeOf(server int, session, agentID string) []int32 {
	if l.claudeByAgent != nil {
		var out []int32
		if session != "" {
			out = append(out, l.claudeBySession[paneKey{server, session}]...)
		}
		if agentID != "" {
			for _, pid := range l.claudeByAgent[agentID] {
				if !slices.Contains(out, pid) {
					out = append(out, pid)
				}
			}
			slices.Sort(out)
		}
		return out
	}
	var out []int32
	for pid, a := range l.attr {
		if !l.lv.Claude[pid] {
			continue
		}
		if (session != "" && a.session == session && a.server == server) || (agentID != "" && a.agentID == agentID) {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// treeOfSession is every process of a session's panes: the panes, their
// descendants, and every process in the panes' session ids.
func (l *live) treeOfSession(server int, name string) []int32 {
	t := l.lv.Procs
	seen := map[int32]bool{}
	var out []int32
	add := func(pid int32) {
		if !seen[pid] {
			seen[pid] = true
			out = append(out, pid)
		}
	}
	for pid, ref := range l.paneOf {
		if ref.server != server || ref.session != name {
			continue
		}
		add(pid)
		if t != nil {
			for _, d := range t.Descendants(pid) {
				add(d)
			}
			for _, s := range t.InSession(pid) {
				add(s)
				for _, d := range t.Descendants(s) {
					add(d)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func (l *live) isServer(pid int32) bool {
	for _, s := range l.lv.Servers {
		if s.Snapshot != nil && int32(s.Snapshot.ServerPID) == pid {
			return true
		}
	}
	return false
}
