package reconcile

// The words a report is written in: the verdict of every row, the cause of
// a ghost or a leak, and the kind of every finding. The JSON output and the
// screen use exactly these words (DESIGN §2).

// Verdict is what a row is: healthy, or which way it is not.
type Verdict string

// Verdict words, as the JSON output and the screen show them.
const (
	VerdictOK       Verdict = "ok"
	VerdictStarting Verdict = "starting"
	VerdictSuspect  Verdict = "suspect"
	VerdictGhost    Verdict = "ghost"
	VerdictStale    Verdict = "stale"
	VerdictDone     Verdict = "done"
	VerdictLeak     Verdict = "leak"
	VerdictUnknown  Verdict = "unknown"
	VerdictOther    Verdict = "other"
	VerdictForeign  Verdict = "foreign"
)

// Verdicts lists every verdict, healthy first, in the order the help
// screen shows them.
var Verdicts = []Verdict{VerdictOK, VerdictStarting, VerdictSuspect, VerdictGhost, VerdictStale, VerdictDone,
	VerdictLeak, VerdictUnknown, VerdictOther, VerdictForeign}

// Cause says why a row is a ghost or a leak.
type Cause string

// Causes of ghosts and leaks.
const (
	CauseSessionNotFound  Cause = "session_not_found"
	CauseNoAgentProcess   Cause = "no_agent_process"
	CauseUntrackedSession Cause = "untracked_session"
	CauseFinishedAgent    Cause = "finished_agent"
	CauseOrphanProcess    Cause = "orphan_process"
)

// Causes lists every cause: a ghost's two, then a leak's three.
var Causes = []Cause{CauseSessionNotFound, CauseNoAgentProcess, CauseUntrackedSession, CauseFinishedAgent, CauseOrphanProcess}

// FindingKind is what a finding is about.
type FindingKind string

// Finding kinds: the words the JSON output and the screen use.
const (
	FindGhost     FindingKind = "ghost"
	FindLeak      FindingKind = "leak"
	FindDrift     FindingKind = "drift"
	FindDuplicate FindingKind = "duplicate"
	FindDivergent FindingKind = "divergent"
	FindCorrupt   FindingKind = "corrupt"
	FindStale     FindingKind = "stale"
	// FindUnreadable: a database or file that could not be read; nothing
	// it would own is judged.
	FindUnreadable FindingKind = "unreadable"
	// FindUnknown: an agent row whose status is in neither set (SQLite era).
	FindUnknown FindingKind = "unknown"
	// FindSpawnBlocked: ghost rows that hold a task's spawns back (SQLite era).
	FindSpawnBlocked FindingKind = "spawn_blocked"
	// FindOrphanRow: a progress or hierarchy row whose agent row is missing.
	FindOrphanRow FindingKind = "orphan_row"
)

// FindingKinds lists every finding kind in the order reports show them.
var FindingKinds = []FindingKind{FindCorrupt, FindUnreadable, FindGhost, FindLeak, FindSpawnBlocked, FindDrift, FindDuplicate,
	FindDivergent, FindUnknown, FindStale, FindOrphanRow}

// Judgement is what the analysis says of one agent, session or process
// row; AgentRow, SessionRow and ProcRow embed it.
type Judgement struct {
	Verdict Verdict
	Cause   Cause
	Reason  string
	// New marks a row that turned ghost or leak since the last analysis.
	New bool
}
