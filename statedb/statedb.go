package statedb

import (
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"
	"time"
)

// FileName is the state database's name in <base>/registry/.
const FileName = "state.sqlite3"

// IndexFileName is the global index's name in ~/.claude-orchestrator/.
const IndexFileName = "global_registry.sqlite3"

// DefaultBusyTimeout is how long a read waits for a locked database when
// ReadOptions.BusyTimeout is zero.
const DefaultBusyTimeout = 2 * time.Second

// PathOf returns the state database of a workspace base:
// <base>/registry/state.sqlite3.
func PathOf(base string) string { return filepath.Join(base, "registry", FileName) }

// IndexPath returns the global index of a home directory:
// <home>/.claude-orchestrator/global_registry.sqlite3.
func IndexPath(home string) string {
	return filepath.Join(home, ".claude-orchestrator", IndexFileName)
}

// ErrBusy is matched by errors.Is when the database stayed locked for longer
// than the caller would wait. The CLI exits 75.
var ErrBusy = errors.New("state database busy")

// ErrNotDatabase is matched by errors.Is when the file is not an SQLite
// database: not a regular file, empty, truncated, malformed or something
// else altogether.
var ErrNotDatabase = errors.New("not an SQLite database")

// ErrNoAgentsTable is matched by errors.Is when an SQLite database has no
// agents table of the orchestrator's shape (the table, or one of its
// agent_id, task_id and status columns, is missing).
var ErrNoAgentsTable = errors.New("no orchestrator agents table")

// ErrChanged is matched by errors.Is when Apply found the agent's row gone,
// or its status no longer the one the caller saw: nothing was written, and
// the caller should scan again before it plans a repair.
var ErrChanged = errors.New("agent row changed since it was read")

// ForeignOwnerError reports a database that belongs to another user and
// lacks a sidecar file: opening it, even read-only, would create the -shm
// (and the -wal) owned by agentwatch's user, which the orchestrator's user
// could not write, and every write of the orchestrator would fail. Nothing
// was opened.
//
// The -shm must exist for every user but the owner, root included. The
// -wal must exist too unless agentwatch runs as root: SQLite run by root
// hands a -wal it creates to the database's owner, and cannot otherwise.
type ForeignOwnerError struct {
	// Path is the database file.
	Path string
	// Owner is the uid owning the database file.
	Owner int
	// User is agentwatch's effective uid.
	User int
	// Missing is the absent sidecar's suffix: "-shm" or "-wal".
	Missing string
}

func (e *ForeignOwnerError) Error() string {
	missing := e.Missing
	if missing == "" {
		missing = "-shm"
	}
	return fmt.Sprintf("database %s belongs to %s, not to %s, and has no %s%s file: "+
		"opening it would create one that the orchestrator could not write, breaking its writes, "+
		"so it was not opened; run agentwatch as %s",
		e.Path, describeUID(e.Owner), describeUID(e.User), filepath.Base(e.Path), missing, describeUID(e.Owner))
}

// describeUID names a uid as "user NAME (uid N)", or "uid N" when the name
// is unknown.
func describeUID(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return fmt.Sprintf("user %s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// Agent is a row of the agents table. A column the database lacks, or a
// NULL, reads as "" or 0.
type Agent struct {
	ID, TaskID, Type, Model, TmuxSession, Parent string
	Depth                                        int
	Status                                       string
	Progress                                     int
	// StartedAt, LastUpdate and CompletedAt are "" when NULL.
	StartedAt, LastUpdate, CompletedAt string
}

// Progress is a row of agent_progress_latest: the last report of an agent,
// whose status may differ from the agents row's.
type Progress struct {
	TaskID, AgentID, Timestamp, Status string
	Progress                           int
	Message                            string
}

// Task is a row of tasks with its task_config caps.
type Task struct {
	ID, Status, UpdatedAt string
	// MaxAgents and MaxConcurrent come from task_config; HasConfig is false
	// when the task has no task_config row (they are then 0).
	MaxAgents, MaxConcurrent int
	HasConfig                bool
}

// Link is a row of agent_hierarchy: Child was spawned by Parent.
type Link struct{ TaskID, Parent, Child string }

// State is what one read of a state database saw.
type State struct {
	// Path is the database file read.
	Path  string
	Tasks []Task
	// Agents are ordered by task_id, started_at, agent_id.
	Agents    []Agent
	Progress  []Progress
	Hierarchy []Link
	// Version is the hex SHA-256 of every value read (and of which columns
	// and tables were present): two reads with the same Version saw the same
	// data, so the caller may skip analysing the second. It is computed from
	// the rows rather than from file sizes and times, which a WAL write
	// does not always change within the clock's resolution.
	Version string
}

// ReadOptions tunes Read and KnownWorkspaces.
type ReadOptions struct {
	// BusyTimeout is how long to wait for a locked database; 0 means
	// DefaultBusyTimeout.
	BusyTimeout time.Duration
}

func (o ReadOptions) busyTimeout() time.Duration {
	if o.BusyTimeout <= 0 {
		return DefaultBusyTimeout
	}
	return o.BusyTimeout
}
