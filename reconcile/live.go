package reconcile

// The live analysis: the rows a report gives of the agents, sessions and
// processes, what the engine saw running, and the pass that joins the
// registries' agents with it (attribution.go, judge.go and livefindings.go
// do the rest).

import (
	"time"

	"agentwatch/procscan"
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
	rep.Agents = l.inOrder() // the rows themselves: no copy
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
