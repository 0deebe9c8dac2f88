package reconcile

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"agentwatch/procscan"
	"agentwatch/registry"
	"agentwatch/tmux"
)

const (
	sessionPrefix          = "agent_"
	defaultStale           = 30 * time.Minute
	maxAttributionAncestry = 64
)

// Server is one tmux server as scanned.
type Server struct {
	Socket   tmux.Socket
	Snapshot *tmux.Snapshot
	Err      error
	// Why says why this server was scanned: the flag that named it, or the
	// claude process whose TMUX variable did.
	Why string
	// Followed marks a server scanned only because a claude's TMUX names
	// it: it may belong to another workspace, so its sessions that no
	// registry here records are not judged (never leaks, never killed).
	Followed bool
}

// Live is what runs: the tmux servers, the process table, and what the
// engine read for the agents whose liveness is in doubt.
type Live struct {
	Servers []Server
	Procs   *procscan.Table
	// Claude holds the PIDs the claude matcher accepted.
	Claude map[int32]bool
	// Evidence holds the agents whose stream log ends with a result line.
	Evidence map[string]bool
	// Confirm holds the answer of has-session -t =NAME for sessions asked
	// about again before a ghost is reported: true means it exists.
	Confirm map[string]bool
	// EvidenceError holds the agents whose result line says is_error: a
	// repair of such a ghost in a state database sets failed.
	EvidenceError map[string]bool
	// LogModified holds when an agent's stream log last changed, for the
	// agents whose log was looked at.
	LogModified map[string]time.Time
	// Cwd holds the working directory of the panes' processes, where it
	// could be read: it ties a pane to its project's workspace base.
	Cwd map[int32]string
	// Grace: an active agent started this recently is starting, and an
	// agent session this new that no registry records yet is not a leak
	// (the orchestrator creates the session before it writes the entry).
	Grace time.Duration
	// Stale: an alive agent without an update for this long is stale;
	// zero means 30 minutes.
	Stale time.Duration
}

// Memory is what one analysis hands to the next: the agents that looked
// like ghosts (a first miss is only suspect) and every row's verdict, so
// that rows that just turned bad can stand out. It also keeps the analysis
// it came from, which the next Observe gives again when nothing it reads
// has changed (see reuse). A Memory is never changed once returned.
type Memory struct {
	Suspects map[string]bool
	Verdicts map[string]Verdict
	last     *analysis
}

// Where an agent row comes from.
const (
	// SourceJSON: a task registry (or the global one) in JSON.
	SourceJSON = "json"
	// SourceState: a row of a base's state database (the SQLite era).
	SourceState = "sqlite"
)

// AgentRow is one agent as the registries and reality together show it.
type AgentRow struct {
	Key    string // base + "|" + id
	ID     string
	TaskID string
	Base   string
	// Registry is the task registry, else the global one; for an agent of
	// the SQLite era, the state database.
	Registry string
	// Source is SourceJSON or SourceState.
	Source string
	Status string
	// Model, Progress and Message come with an agent of the SQLite era:
	// its model, its progress (0–100) and its last progress message.
	Model    string
	Progress int
	Message  string
	Type     string
	Session  string
	Started  string
	Updated  string
	Judgement
	// Reported is when the agent's last progress report was made (SQLite
	// era: agent_progress_latest's timestamp).
	Reported string
	// LastSign is the agent's last sign of life: the latest of its
	// last_update, its last progress report and the last change of its
	// stream log (agents that never report still write their stream);
	// zero when none is known. LastSignFrom names which one it is.
	LastSign     time.Time
	LastSignFrom string
	// CompletedEvidence: the stream log ends with a result line;
	// ResultError: that line says is_error.
	CompletedEvidence, ResultError bool
	PIDs                           []int32
}

// SessionRow is one tmux session.
type SessionRow struct {
	Key      string
	Server   string
	Name     string
	AgentID  string
	Created  time.Time
	Attached bool
	Judgement
	PIDs []int32
}

// ProcRow is one process: a claude, its ancestors up to the pane, its
// descendants.
type ProcRow struct {
	Key     string
	PID     int32
	PPID    int32
	SID     int32
	Start   int64
	Comm    string
	Cmdline string
	Claude  bool
	// Depth is the row's depth in the tree as shown: 0 for a root.
	Depth   int
	Session string // tmux session it belongs to, if any
	Server  string
	AgentID string
	Judgement
}

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

// live is the state of one live analysis.
type live struct {
	w        *world
	in       Input
	lv       *Live
	grace    time.Duration
	stale    time.Duration
	paneOf   map[int32]paneRef   // pane pid → pane
	paneByID []map[string]string // per server: pane id → session name
	sessions map[string][]int    // session name → servers holding it
	attr     map[int32]attribution
	// claudeBySession and claudeByAgent index the attributed claude
	// processes, built once attr is complete (see indexClaude).
	claudeBySession map[paneKey][]int32
	claudeByAgent   map[string][]int32
	// byID and byTmuxName index order for agentByID: the first agent of
	// each id, and of each id as tmux writes it.
	byID, byTmuxName map[string]*agentState
	agents           map[string]*agentState // by id (all bases)
	order            []*agentState
	// until is the first time at which a verdict or a reason of this
	// analysis would read differently; zero when none would.
	until time.Time
}

// expire notes that a verdict or reason changes at t.
func (l *live) expire(t time.Time) {
	if l.until.IsZero() || t.Before(l.until) {
		l.until = t
	}
}

// expireAge notes a reason that shows age(d), d measured at the
// analysis's time: it reads differently from the next tick of age.
func (l *live) expireAge(d time.Duration) {
	l.expire(l.in.Now.Add(ageTick(d)))
}

type paneRef struct {
	server  int
	session string
	pane    tmux.Pane
}

type agentState struct {
	row      AgentRow
	class    registry.StatusClass
	startedT time.Time
	started  bool
	updatedT time.Time
	updated  bool
}

func (l *live) serverName(i int) string {
	if i < 0 || i >= len(l.lv.Servers) {
		return ""
	}
	return l.lv.Servers[i].Socket.String()
}

// analyzeLive adds the verdicts of DESIGN §2 to a registry-level report.
func analyzeLive(w *world, in Input, prev *Memory, rep *Report) (*Memory, time.Time) {
	l := &live{w: w, in: in, lv: in.Live, grace: in.Live.Grace, stale: in.Live.Stale,
		paneOf: map[int32]paneRef{}, sessions: map[string][]int{}, attr: map[int32]attribution{}}
	if l.stale <= 0 {
		l.stale = defaultStale
	}
	l.indexPanes()
	l.collectAgents()
	l.attribute()
	sessionRows := l.sessionRows()
	l.agentVerdicts(prev)
	procRows := l.procRows(sessionRows)

	mem := &Memory{Suspects: map[string]bool{}, Verdicts: make(map[string]Verdict, len(l.order)+len(sessionRows)+len(procRows))}
	rep.Agents = slices.Grow(rep.Agents, len(l.order))
	for _, a := range l.order {
		rep.Agents = append(rep.Agents, a.row)
	}
	rep.Sessions = sessionRows
	rep.Processes = procRows
	markNew(rep, prev, mem)
	rep.Findings = append(rep.Findings, l.findings(rep)...)
	for _, a := range rep.Agents {
		if a.Verdict == VerdictSuspect || a.Verdict == VerdictGhost {
			mem.Suspects[a.Key] = true
		}
		if a.Verdict == VerdictSuspect {
			l.expire(in.Now) // the next look calls it a ghost
		}
	}
	return mem, l.until
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

// collectAgents merges each agent's global and task entries: the task
// entry's status wins, the global one fills in.
func (l *live) collectAgents() {
	n := 0 // the largest registry: the global one repeats the tasks' agents
	for _, f := range l.w.files {
		n = max(n, len(f.agents), len(f.gagents))
	}
	l.agents = make(map[string]*agentState, n)
	l.order = make([]*agentState, 0, n)
	for _, f := range l.w.files {
		var agents []registry.Agent
		b := l.w.bases[f.Base]
		switch {
		case f.task != nil:
			id := f.TaskID
			if id == "" {
				id = f.task.ID()
			}
			if !b.usesJSON(id) {
				continue
			}
			agents = f.agents
		case f.global != nil:
			agents = f.gagents
		default:
			continue
		}
		for _, a := range agents {
			if a.ID == "" || (f.global != nil && !b.usesJSON(a.TaskID)) {
				continue
			}
			key := f.Base + "|" + a.ID
			st := l.agents[key]
			if st == nil {
				st = &agentState{row: AgentRow{Key: key, ID: a.ID, Base: f.Base, Source: SourceJSON}}
				l.agents[key] = st
				l.order = append(l.order, st)
			}
			fromTask := f.Kind == KindTask
			if fromTask || st.row.Registry == "" {
				st.row.Registry = f.Path
			}
			if fromTask || (st.row.Status == "" && a.HasStatus) {
				if a.HasStatus || fromTask {
					st.row.Status = a.Status
				}
			}
			fill := func(dst *string, v string) {
				if v != "" && (fromTask || *dst == "") {
					*dst = v
				}
			}
			fill(&st.row.TaskID, a.TaskID)
			if fromTask && f.TaskID != "" {
				st.row.TaskID = f.TaskID
			}
			fill(&st.row.Type, a.Type)
			fill(&st.row.Session, a.TmuxSession)
			fill(&st.row.Started, a.StartedAt)
			fill(&st.row.Updated, a.LastUpdate)
		}
	}
	l.collectStateAgents()
	for _, st := range l.order {
		if st.row.Session == "" {
			st.row.Session = sessionPrefix + st.row.ID
		}
		// tmux stores '.' and ':' in a new session's name as '_': the
		// session is found under the name tmux gave it.
		st.row.Session = TmuxName(st.row.Session)
		st.class = l.w.sets.Classify(st.row.Status)
		st.startedT, st.started = parseTime(st.row.Started)
		st.updatedT, st.updated = parseTime(st.row.Updated)
		if st.updated {
			st.row.LastSign, st.row.LastSignFrom = st.updatedT, "last_update"
		}
		if t, ok := parseTime(st.row.Reported); ok && t.After(st.row.LastSign) {
			st.row.LastSign, st.row.LastSignFrom = t, "progress report"
		}
		if mod, ok := l.lv.LogModified[st.row.ID]; ok && mod.After(st.row.LastSign) {
			st.row.LastSign, st.row.LastSignFrom = mod, "stream log"
		}
	}
	sort.SliceStable(l.order, func(i, j int) bool {
		a, b := l.order[i].row, l.order[j].row
		if a.TaskID != b.TaskID {
			return a.TaskID < b.TaskID
		}
		return a.Started < b.Started
	})
}

// collectStateAgents adds the agents of every readable state database:
// in a base of the SQLite era its rows are the truth about its tasks.
func (l *live) collectStateAgents() {
	for _, name := range slices.Sorted(maps.Keys(l.w.bases)) {
		db := l.w.bases[name].db
		if db == nil || db.Err != nil {
			continue
		}
		for _, a := range db.State.Agents {
			if a.ID == "" {
				continue
			}
			key := name + "|" + a.ID
			if l.agents[key] != nil {
				continue // the primary key makes a second row impossible; keep the first
			}
			st := &agentState{row: AgentRow{Key: key, ID: a.ID, TaskID: a.TaskID, Base: name, Registry: db.Path,
				Source: SourceState, Status: a.Status, Type: a.Type, Session: a.TmuxSession, Started: a.StartedAt,
				Updated: a.LastUpdate, Model: a.Model, Progress: a.Progress}}
			if p, ok := db.progress[a.ID]; ok && p.TaskID == a.TaskID {
				st.row.Message, st.row.Reported = p.Message, p.Timestamp
			}
			l.agents[key] = st
			l.order = append(l.order, st)
		}
	}
}

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

func parseTime(s string) (time.Time, bool) {
	t, err := registry.ParseTimestamp(s)
	return t, err == nil
}

// agentByID finds an agent by id in any base; an id taken from a session
// name matches in the form tmux gave it.
func (l *live) agentByID(id string) *agentState {
	if l.byID == nil { // collectAgents is done: index the agents once
		l.byID, l.byTmuxName = make(map[string]*agentState, len(l.order)), make(map[string]*agentState, len(l.order))
		for _, a := range l.order {
			if l.byID[a.row.ID] == nil {
				l.byID[a.row.ID] = a
			}
			if n := TmuxName(a.row.ID); l.byTmuxName[n] == nil {
				l.byTmuxName[n] = a
			}
		}
	}
	if a := l.byID[id]; a != nil {
		return a
	}
	return l.byTmuxName[id]
}

var tmuxNamer = strings.NewReplacer(".", "_", ":", "_")

// TmuxName is the name tmux gives a new session asked for by name: it
// replaces '.' and ':', which its target syntax reserves, with '_'.
func TmuxName(name string) string {
	return tmuxNamer.Replace(name)
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

func (l *live) attributeOne(p *procscan.Proc) (attribution, bool) {
	t := l.lv.Procs
	// The pane itself or an ancestor of it.
	cur := p
	for i := 0; cur != nil && i < maxAttributionAncestry; i++ {
		if ref, ok := l.paneOf[cur.PID]; ok {
			how := "pane " + ref.pane.PaneID
			if cur.PID != p.PID {
				how = fmt.Sprintf("descends from pane %s (PID %d)", ref.pane.PaneID, cur.PID)
			}
			return attribution{server: ref.server, session: ref.session, agentID: agentOfSession(ref.session), how: how}, true
		}
		if cur.PPID <= 1 {
			break
		}
		cur = t.Procs[cur.PPID]
	}
	// The pane shell is its session's leader: a child reparented to init
	// keeps the session id unless it called setsid.
	if ref, ok := l.paneOf[p.SID]; ok {
		return attribution{server: ref.server, session: ref.session, agentID: agentOfSession(ref.session),
			how: fmt.Sprintf("in the session of pane %s (SID %d)", ref.pane.PaneID, p.SID)}, true
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
			switch a := l.agentByID(id); {
			case id == "":
				r.Verdict, r.Reason = VerdictOther, "not an agent session"
			case a == nil && s.Followed:
				r.AgentID = id
				r.Verdict, r.Reason = VerdictOther, "in no registry read here, on a server found through a claude's TMUX: perhaps another workspace's"
			case a == nil:
				created := l.in.Now.Sub(sess.Created)
				young := created < l.grace
				if young {
					l.expire(sess.Created.Add(l.grace))
					l.expireAge(created)
				}
				l.untracked(&r, id, l.sessionOwner(r.PIDs), young, created)
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

type paneKey struct {
	server  int
	session string
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

func (l *live) agentVerdicts(prev *Memory) {
	l.indexClaude()
	for _, a := range l.order {
		r := &a.row
		servers := l.sessions[r.Session]
		sessionAlive := len(servers) > 0 || l.lv.Confirm[r.Session]
		var claude []int32
		for _, s := range servers {
			claude = append(claude, l.claudeOf(s, r.Session, "")...)
		}
		for _, pid := range l.claudeOf(-2, "", r.ID) {
			if !slices.Contains(claude, pid) {
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
				if prev != nil && prev.Suspects[r.Key] {
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
	rank := func(pid int32) int {
		v := l.procRow(t.Procs[pid], 0, sessionVerdict).Verdict
		switch v {
		case VerdictLeak:
			return 0
		case VerdictOK:
			return 1
		}
		return 2
	}
	slices.SortFunc(roots, func(a, b int32) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return int(a) - int(b)
	})
	var rows []ProcRow
	var walk func(pid int32, depth int)
	walk = func(pid int32, depth int) {
		p := t.Procs[pid]
		rows = append(rows, l.procRow(p, depth, sessionVerdict))
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

func (l *live) isServer(pid int32) bool {
	for _, s := range l.lv.Servers {
		if s.Snapshot != nil && int32(s.Snapshot.ServerPID) == pid {
			return true
		}
	}
	return false
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
	for i := range rep.Agents {
		r := &rep.Agents[i]
		r.New = prev != nil && bad(r.Verdict) && was(r.Key) != r.Verdict
		mem.Verdicts[r.Key] = r.Verdict
	}
	for i := range rep.Sessions {
		r := &rep.Sessions[i]
		r.New = prev != nil && bad(r.Verdict) && was(r.Key) != r.Verdict
		mem.Verdicts[r.Key] = r.Verdict
	}
	for i := range rep.Processes {
		r := &rep.Processes[i]
		r.New = prev != nil && bad(r.Verdict) && was(r.Key) != r.Verdict
		mem.Verdicts[r.Key] = r.Verdict
	}
}

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
