// Package reconcile joins what the registries say with what runs, and says
// for every row whether it is healthy and why not: the verdicts, the
// findings, the repair plan and the kill plan. It is pure: snapshots, the
// time and agentwatch's own identity come in as values, a report and a plan
// go out, and nothing here reads a file, a clock or a process.
package reconcile

import (
	"time"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
	"agentwatch/statedb"
)

// Registry kinds as the JSON output names them.
const (
	KindGlobal = "global"
	KindTask   = "task"
)

// Registry is one registry file as read: its parsed document, or the error
// that kept it from parsing.
type Registry struct {
	Path string
	Kind string // KindGlobal or KindTask
	// Base is the workspace base the file belongs to; a global registry
	// counts the task registries of its own base.
	Base string
	// TaskID is the task a task registry belongs to, from its directory.
	TaskID string
	Root   *pyjson.Value
	// Rows are a lean read's agents and tasks (registry.Snapshot.Rows):
	// Root's are then empty. Nil for a whole read.
	Rows *registry.Rows
	// Hash is the hash of the bytes Root was parsed from, when known: two
	// inputs whose registries have the same hashes hold the same documents,
	// which lets Observe give its previous report again (see reuse).
	Hash string
	Err  error
	// Locked says Err is a lock that stayed busy: the file is not known to
	// be corrupt, only unread.
	Locked bool
	// Unreadable says Err kept the file from being read at all
	// (permissions, I/O): not known to be corrupt either.
	Unreadable bool
}

// Database is one workspace base's state database (the orchestrator's
// SQLite era) as read: its rows, or the error that kept them from being read.
type Database struct {
	Path string
	// Base is the workspace base whose registry/ holds the database.
	Base  string
	State *statedb.State
	Err   error
	// Locked says Err is a lock that stayed busy; Unreadable that the
	// database could not be opened at all (permissions, another owner).
	// Neither is known to be corrupt.
	Locked, Unreadable bool
}

// Input is everything one analysis looks at.
type Input struct {
	Now  time.Time
	Sets registry.StatusSets
	// Bases are the workspace bases that were scanned: a session or a
	// process is judged only against a base in this list (see owner.go).
	Bases      []string
	Registries []Registry
	// Databases are the state databases of the bases that have one; such
	// a base is of the SQLite era.
	Databases []Database
	// Live is what runs; nil for an analysis of the registries alone.
	Live *Live
}
