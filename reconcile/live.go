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
	slices.SortStableFunc(l.order, func(x, y *agentState) int {
		if c := strings.Compare(x.row.TaskID, y.row.TaskID); c != 0 {
			return c
		}
		return strings.Compare(x.row.Started, y.row.Started)
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

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false // a field the entry does not have
	}
	t, err := registry.ParseTimestamp(s)
	return t, err == nil
}
