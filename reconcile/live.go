package reconcile

// The live analysis: the rows a report gives of the agents, sessions and
// processes, what the engine saw running, and the pass that joins the
// registries' agents with it (attribution.go, judge.go and livefindings.go
// do the rest).

import (
	"maps"
	"slices"
	"strings"
	"time"

	"agentwatch/procscan"
	"agentwatch/registry"
	"agentwatch/statedb"
	"agentwatch/tmux"
)

const (
	sessionPrefix = "agent_"
	defaultStale  = 30 * time.Minute
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
	// Unanswered holds the sessions asked about again that a server gave
	// no answer for: none of their agents is a ghost.
	Unanswered map[string]bool
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
// like ghosts (a first miss is only suspect) and the rows that were ghosts
// or leaks, with which (Verdicts, by row key), so that rows that just
// turned bad can stand out. It also keeps the analysis
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
	// elsewhere caches sessionElsewhere ("" for a session that is its
	// agent's), sameDirs sameDir.
	elsewhere map[elsewhereKey]string
	sameDirs  map[[2]string]bool
	// byTmuxName indexes order for agentByID: the first agent of each id
	// that tmux writes otherwise, as tmux writes it.
	byTmuxName map[string]*agentState
	// rows are the agents' rows, states their states (states[i].row is
	// &rows[i]), in the order they were first read; agents indexes both by
	// base, then id; order is the report's order. inOrder ends them.
	rows   []AgentRow
	states []agentState
	agents map[string]map[string]int32
	order  []*agentState
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

type agentState struct {
	row      *AgentRow
	at       int32 // row is &live.rows[at]
	ord      int32 // its place in live.order
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

	mem := &Memory{Suspects: map[string]bool{}, Verdicts: map[string]Verdict{}}
	if rows := l.inOrder(); len(rep.Agents) == 0 {
		rep.Agents = rows // the report's own: no copy
	} else {
		rep.Agents = append(rep.Agents, rows...)
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

// collectAgents merges each agent's global and task entries: the task
// entry's status wins, the global one fills in. A first pass gives every
// agent its place, so that the rows are made at once, in one slice that
// becomes the report's (see inOrder); the second fills them.
func (l *live) collectAgents() {
	// How many agents each base has, about: its largest registry (the
	// global one repeats the tasks' agents) and its database's rows.
	perBase := map[string]int{}
	entries, rows := 0, 0
	for _, f := range l.w.files {
		perBase[f.Base] = max(perBase[f.Base], len(f.agents), len(f.gagents))
		entries += len(f.agents) + len(f.gagents)
	}
	for name, b := range l.w.bases {
		if b.db != nil && b.db.Err == nil {
			perBase[name] += len(b.db.State.Agents)
			rows += len(b.db.State.Agents)
		}
	}
	n := 0
	for _, c := range perBase {
		n += c
	}
	l.agents = make(map[string]map[string]int32, len(perBase))
	keys := make([]string, 0, n)
	// at is the place of each entry the second pass reads, in its order.
	at := make([]int32, 0, entries)
	place := func(base, id string) (int32, bool) {
		ids := l.agents[base]
		if ids == nil {
			ids = make(map[string]int32, perBase[base])
			l.agents[base] = ids
		}
		i, ok := ids[id]
		if !ok {
			i = int32(len(keys))
			ids[id] = i
			keys = append(keys, base+"|"+id)
		}
		return i, !ok
	}
	l.eachJSONAgent(func(f *file, a *registry.Agent) {
		i, _ := place(f.Base, a.ID)
		at = append(at, i)
	})
	type stateAgent struct {
		i    int32
		base string
		db   *dbIndex
		a    *statedb.Agent
	}
	fromState := make([]stateAgent, 0, rows)
	for _, name := range slices.Sorted(maps.Keys(l.w.bases)) {
		db := l.w.bases[name].db
		if db == nil || db.Err != nil {
			continue
		}
		for k := range db.State.Agents {
			a := &db.State.Agents[k]
			if a.ID == "" {
				continue
			}
			// The primary key makes a second row impossible; a key seen
			// before keeps its first.
			if i, ok := place(name, a.ID); ok {
				fromState = append(fromState, stateAgent{i, name, db, a})
			}
		}
	}

	l.rows = make([]AgentRow, len(keys))
	l.states = make([]agentState, len(keys))
	l.order = make([]*agentState, len(keys))
	for i := range l.states {
		l.states[i].row, l.states[i].at = &l.rows[i], int32(i)
		l.order[i] = &l.states[i]
	}
	j := 0
	l.eachJSONAgent(func(f *file, a *registry.Agent) {
		i := at[j]
		j++
		r := &l.rows[i]
		if r.Key == "" {
			*r = AgentRow{Key: keys[i], ID: a.ID, Base: f.Base, Source: SourceJSON}
		}
		fromTask := f.Kind == KindTask
		if fromTask || r.Registry == "" {
			r.Registry = f.Path
		}
		if fromTask || (r.Status == "" && a.HasStatus) {
			if a.HasStatus || fromTask {
				r.Status = a.Status
			}
		}
		fill := func(dst *string, v string) {
			if v != "" && (fromTask || *dst == "") {
				*dst = v
			}
		}
		fill(&r.TaskID, a.TaskID)
		if fromTask && f.TaskID != "" {
			r.TaskID = f.TaskID
		}
		fill(&r.Type, a.Type)
		fill(&r.Session, a.TmuxSession)
		fill(&r.Started, a.StartedAt)
		fill(&r.Updated, a.LastUpdate)
	})
	for _, s := range fromState {
		a := s.a
		r := &l.rows[s.i]
		*r = AgentRow{Key: keys[s.i], ID: a.ID, TaskID: a.TaskID, Base: s.base, Registry: s.db.Path,
			Source: SourceState, Status: a.Status, Type: a.Type, Session: a.TmuxSession, Started: a.StartedAt,
			Updated: a.LastUpdate, Model: a.Model, Progress: a.Progress}
		if p, ok := s.db.progress[a.ID]; ok && p.TaskID == a.TaskID {
			r.Message, r.Reported = p.Message, p.Timestamp
		}
	}
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
	slices.SortStableFunc(l.order, func(x, y *agentState) int {
		if c := strings.Compare(x.row.TaskID, y.row.TaskID); c != 0 {
			return c
		}
		return strings.Compare(x.row.Started, y.row.Started)
	})
	for k, st := range l.order {
		st.ord = int32(k)
	}
}

// eachJSONAgent calls f with every agent entry of the registries, global
// then task in the files' order, that collectAgents merges: of a task or
// base that has not moved to its state database, with an id.
func (l *live) eachJSONAgent(f func(*file, *registry.Agent)) {
	for _, file := range l.w.files {
		var agents []registry.Agent
		b := l.w.bases[file.Base]
		switch {
		case file.task != nil:
			id := file.TaskID
			if id == "" {
				id = file.task.ID()
			}
			if !b.usesJSON(id) {
				continue
			}
			agents = file.agents
		case file.global != nil:
			agents = file.gagents
		default:
			continue
		}
		for k := range agents {
			a := &agents[k]
			if a.ID == "" || (file.global != nil && !b.usesJSON(a.TaskID)) {
				continue
			}
			f(file, a)
		}
	}
}

// inOrder puts the rows in the report's order, in place, and returns
// them; each state points at its row where it now is.
func (l *live) inOrder() []AgentRow {
	pos := make([]int32, len(l.order)) // pos[k]: where the k-th row now is
	for k, st := range l.order {
		pos[k] = st.at
	}
	// Follow each cycle of the permutation: rows[k] takes rows[pos[k]].
	for k := range pos {
		if pos[k] == int32(k) || pos[k] < 0 {
			continue
		}
		held := l.rows[k]
		for c := k; ; {
			from := pos[c]
			pos[c] = -1
			if int(from) == k {
				l.rows[c] = held
				break
			}
			l.rows[c] = l.rows[from]
			c = int(from)
		}
	}
	for k, st := range l.order {
		st.row, st.at = &l.rows[k], int32(k)
	}
	return l.rows
}

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false // a field the entry does not have
	}
	t, err := registry.ParseTimestamp(s)
	return t, err == nil
}
