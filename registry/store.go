package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"agentwatch/registry/pyjson"
)

// Default waits of a zero Store.
const (
	defaultLockTimeout = 10 * time.Second
	defaultReadTimeout = 250 * time.Millisecond
	// tornReadRetry is how long Read waits before it parses a second time:
	// a writer that holds no lock may be between its truncate and its write.
	tornReadRetry = 50 * time.Millisecond
	// lockPollMax caps the interval between two tries of a lock.
	lockPollMax = 5 * time.Millisecond
)

// Store reads and rewrites registry files as the orchestrator's careful
// writers do: under flock(2) on the registry file itself, in place. Every
// change is one transaction (DESIGN §4): locked, re-derived from the bytes
// read under the lock, backed up, journaled, written in place. The zero Store
// is ready to use.
type Store struct {
	// StateDir is agentwatch's state directory; backups go under
	// StateDir/backups/. Empty means DefaultStateDir().
	StateDir string
	// LockTimeout bounds the wait for the exclusive lock; 0 means 10s.
	LockTimeout time.Duration
	// ReadTimeout bounds Read's wait for the shared lock; 0 means 250ms.
	ReadTimeout time.Duration
}

// Snapshot is a registry's bytes as read under its lock.
type Snapshot struct {
	// Path is the registry's path as the caller gave it.
	Path string
	// Data are the bytes read. Root shares their memory: they must never
	// be modified.
	Data []byte
	// Root is the parsed document, nil when the bytes do not parse.
	Root *pyjson.Value
	// ParseErr is the *SyntaxError of bytes that do not parse.
	ParseErr error
	// Hash is HashBytes(Data); a lean read's is of another kind (see
	// ReadLean).
	Hash    string
	ModTime time.Time
	// Lean says Root is a lean read's projection (see ReadLean): Data is
	// nil, and Root must never be encoded or written.
	Lean bool
	// Rows are a lean read's agents and tasks, typed; Root's "agents"
	// and "tasks" are then empty. Nil for other reads (see NewTaskView).
	Rows *Rows
}

// Prepared is the work of a transaction done before its lock: a read of
// the registry and the change derived from it. Given to TransformPrepared,
// its backup and its journal are written, and Next hashed, before the lock
// is taken; under the lock, while the registry's bytes are still Read's,
// the transform sees Read itself (its Root as the caller left it) and can
// answer Use, and the lock is held only to put the journal in place.
type Prepared struct {
	// Read is a read of the registry made before the lock; nobody else
	// holds its Root.
	Read *Snapshot
	// Next are the new bytes derived from Read, pyjson.EncodeSpliced's
	// output (sharing Read.Data); nil or empty when it changes nothing.
	Next *pyjson.Spliced
}

// Use is the prepared change, for a transform to answer while the
// registry's bytes are still those of p.Read.
func (p *Prepared) Use() Change { return Change{next: p.Next, encoded: true, prepared: p} }

// A Change is a transform's answer: the registry's new bytes, or Keep.
type Change struct {
	next     *pyjson.Spliced // nil: keep
	encoded  bool            // pyjson.Encode's output: valid by construction
	prepared *Prepared       // Prepared.Use: hashed and journaled before the lock
}

// Keep leaves the registry as it is; so does the zero Change.
func Keep() Change { return Change{} }

// Write replaces the registry's bytes with b, which are parsed under the
// lock before anything is written: bytes that do not parse are refused.
func Write(b []byte) Change {
	if b == nil {
		return Keep()
	}
	return Change{next: pyjson.SplicedOf(b)}
}

// WriteEncoded replaces the registry's bytes with b, which pyjson.Encode
// wrote: valid by construction, they are not parsed again under the lock.
func WriteEncoded(b []byte) Change {
	if b == nil {
		return Keep()
	}
	return Change{next: pyjson.SplicedOf(b), encoded: true}
}

// WriteSpliced is WriteEncoded for pyjson.EncodeSpliced's output, which
// shares the memory of the bytes the transform was given: the new bytes
// are hashed, journaled and written from its parts, never copied whole.
func WriteSpliced(s *pyjson.Spliced) Change {
	if s == nil {
		return Keep()
	}
	return Change{next: s, encoded: true}
}

// TransformFunc derives a registry's new bytes from its current ones. A
// transaction calls it under the exclusive lock with the bytes it read
// under that lock (again, if a writer that takes no lock changed them
// meanwhile). An error aborts the transaction with nothing written.
type TransformFunc func(cur *Snapshot) (Change, error)

// Commit reports one transaction.
type Commit struct {
	// Path is the registry's path as the caller gave it.
	Path string
	// Changed reports whether the registry was rewritten.
	Changed bool
	// OldHash and NewHash are the hashes of the bytes before and after;
	// equal when nothing changed.
	OldHash, NewHash string
	// Backup is the file holding the old bytes, "" when nothing changed.
	Backup string
	// Recovered says what was done with a journal left by an interrupted
	// transaction, "" when there was none.
	Recovered string
	// LockWait is how long the lock took; LockHeld how long it was held.
	LockWait, LockHeld time.Duration
	// UnlockedWrite reports that the registry's bytes changed while the
	// lock was held: some writer takes no lock.
	UnlockedWrite bool
	// Ahead reports that the transform answered Prepared.Use and that its
	// journal, written before the lock was taken, was used.
	Ahead bool
}

// HashBytes returns the hex SHA-256 of b, the hash that snapshots, commits,
// journals, backups and the audit log use.
func HashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// hashSpliced is HashBytes of s's bytes, read from its parts.
func hashSpliced(s *pyjson.Spliced) string {
	h := sha256.New()
	_ = s.Each(0, s.Size(), func(_ int, b []byte) error {
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

// DefaultStateDir returns $XDG_STATE_HOME/agentwatch, or
// ~/.local/state/agentwatch when XDG_STATE_HOME is unset or not absolute.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "agentwatch")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "agentwatch")
	}
	return filepath.Join(os.TempDir(), "agentwatch-state-"+strconv.Itoa(os.Getuid()))
}

func (s *Store) stateDir() string {
	if s.StateDir != "" {
		return s.StateDir
	}
	return DefaultStateDir()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// resolve returns the registry's absolute path with symlinks followed, so
// that every agentwatch process puts one file's journal and backups in the
// same place. A missing registry is an error matching fs.ErrNotExist.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("open registry: %w", err)
	}
	canon, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("open registry: %w", &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist})
	}
	if err != nil {
		return "", fmt.Errorf("open registry: %w", err)
	}
	return canon, nil
}

// Test hooks, nothing else: the crash tests run the test binary as a child
// that sets pauseAt to one step of a transaction, wait for it to write the
// file pauseMarker names, and SIGKILL it there; atStep, when set, runs at
// every step (a writer that takes no lock, landing there). Only a _test.go
// file sets them: the shipped binary reads nothing from its environment
// for this, so it never stops at a step.
var (
	pauseAt, pauseMarker string
	atStep               func(step string)
)

func pause(step string) {
	if atStep != nil {
		atStep(step)
	}
	if pauseAt != step {
		return
	}
	if pauseMarker != "" {
		_ = os.WriteFile(pauseMarker, []byte(step), 0o600)
	}
	for {
		time.Sleep(time.Hour)
	}
}
