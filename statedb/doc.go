// Package statedb reads and repairs the orchestrator's 2026 state database,
// <base>/registry/state.sqlite3, and reads the global index
// ~/.claude-orchestrator/global_registry.sqlite3.
//
// Every call opens its own connection and closes it before it returns, so
// nothing pins the orchestrator's write-ahead log between scans. A read is
// one short read transaction on a read-only (mode=ro) connection; a repair
// is one short BEGIN IMMEDIATE transaction for one agent row, guarded by the
// status the caller saw, and an undo is the reverse UPDATE guarded by the
// values the repair wrote. Nothing here changes the journal mode,
// checkpoints, vacuums, creates a database or deletes a row.
//
// A read-only open still creates the -wal and -shm files of a WAL database
// when they are missing. Created by another user, they would break every
// write of the orchestrator, so a database owned by another user whose -shm
// (or, unless agentwatch runs as root, whose -wal) is absent is not opened
// at all (ForeignOwnerError).
//
// The driver is modernc.org/sqlite, a pure-Go SQLite: no cgo.
package statedb
