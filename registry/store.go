package registry

import (
	"context"
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

// Transform runs one transaction on the registry at path (DESIGN §4):
//  1. take LOCK_EX on the registry itself, polling for up to LockTimeout
//     (then a *LockBusyError naming the holder);
//  2. finish or discard a journal left by an interrupted transaction, or
//     keep it when another writer tore the registry after that crash (see
//     recoverJournal): the registry then does not parse, and step 3's
//     *CorruptError names the kept journal;
//  3. read and parse the bytes under the lock (a registry that does not
//     parse is a *CorruptError) and call t;
//  4. no change: write nothing;
//  5. save the old bytes as a backup (the last 20 are kept);
//  6. write the journal beside the registry, fsync it and the directory;
//  7. rewrite the registry in place: write, truncate, fsync;
//  8. remove the journal, unlock, fsync the directory.
//
// The registry is never created, renamed or replaced: its inode stays, so
// Python writers that flock it keep excluding us and we them. Once the lock
// is taken the Commit is returned even with an error, so that what journal
// recovery did is never lost; before that it is nil.
func (s *Store) Transform(ctx context.Context, path string, t TransformFunc) (*Commit, error) {
	return s.update(ctx, path, txOptions{}, t, nil)
}

// TransformPrepared is Transform with work done before the lock (see
// Prepared): the lock is held that much shorter.
func (s *Store) TransformPrepared(ctx context.Context, path string, p *Prepared, t TransformFunc) (*Commit, error) {
	return s.update(ctx, path, txOptions{prepared: p}, t, nil)
}

// TransformCorrupt is Transform for a registry that may not parse: t sees
// it (its Snapshot has Root nil and ParseErr set) and may replace it, and a
// change it writes journals over a journal kept by step 2. Only restore and
// a forced undo use it; every repair leaves a corrupt registry alone.
func (s *Store) TransformCorrupt(ctx context.Context, path string, t TransformFunc) (*Commit, error) {
	return s.update(ctx, path, txOptions{allowCorrupt: true}, t, nil)
}

// txOptions are the switches of a transaction.
type txOptions struct {
	allowCorrupt bool
	prepared     *Prepared
}

// update is Transform with a seam for tests: beforeRetry runs when journal
// recovery found a registry that does not parse, before it reads it again.
//
// Work that needs no lock is kept out of it, so that the orchestrator's
// writers wait as little as possible. With a Prepared read and the change
// derived from it (Ahead), the change is hashed, and its backup and its
// journal (under a temporary name) written durably, before the lock is
// taken; under the lock they are used when the bytes are the read's and
// the change returns Ahead. The journal is retired by a rename whose
// directory entry is made durable under the lock; freeing its blocks and
// pruning old backups come after the lock is released.
func (s *Store) update(ctx context.Context, path string, opts txOptions, change TransformFunc, beforeRetry func()) (*Commit, error) {
	canon, err := resolve(path)
	if err != nil {
		return nil, err
	}
	var early *earlyBackup
	var earlyJ *earlyJournal
	aheadHash, aheadHeld := "", 0
	if p := opts.prepared; p == nil || p.Read == nil || p.Read.Root == nil {
		opts.prepared = nil // without the read it was derived from, it is nothing
	} else if p.Next.Size() > 0 {
		aheadHash, aheadHeld = hashSpliced(p.Next), p.Next.PrefixWith(p.Read.Data)
		early = s.backupAhead(canon, p.Read)
		earlyJ = journalAhead(canon, p.Read, p.Next, aheadHash)
		flushAhead(canon)
	}
	h, waited, err := openLocked(ctx, path, canon, true, orDefault(s.LockTimeout, defaultLockTimeout))
	if err != nil {
		early.discard()
		earlyJ.discard()
		return nil, err
	}
	locked := time.Now()
	c := &Commit{Path: path, LockWait: waited}
	retired := ""
	defer func() {
		h.close()
		c.LockHeld = time.Since(locked)
		if retired != "" {
			os.Remove(retired)
		}
		if early != nil && c.Backup != early.path {
			early.discard()
		}
		earlyJ.discard()
		removeLeftoverJournals(canon, h.owner)
		if c.Backup != "" {
			pruneBackups(filepath.Dir(c.Backup))
		}
	}()
	pause("locked")

	if c.Recovered, err = s.recoverJournal(ctx, h.file, canon, beforeRetry); err != nil {
		return c, fmt.Errorf("recover journal: %w", err)
	}
	var cur *Snapshot
	var next Change
	var newHash string
	var read *Snapshot // what the transform sees under the lock: first the prepared read
	if opts.prepared != nil {
		read = opts.prepared.Read
	}
	for attempt := 1; ; attempt++ {
		var done bool
		cur, next, done, err = s.derive(ctx, h, path, canon, c, opts, read, aheadHash, change)
		read = nil // its Root may have been changed: never shown again
		if err != nil || done {
			return c, err
		}
		// A writer that takes no lock may have rewritten the file while
		// this one held it (a prepared change's transform still asks tmux
		// about ghosts): derive again from what is there now, rather than
		// write over its change. The new bytes are hashed meanwhile.
		hashed := make(chan string, 1)
		go func(ch Change) {
			if ch.prepared != nil {
				hashed <- aheadHash
				return
			}
			hashed <- hashSpliced(ch.next)
		}(next)
		same, rerr := sameContent(h.file, pyjson.SplicedOf(cur.Data))
		newHash = <-hashed
		if rerr != nil {
			return c, fmt.Errorf("read registry: %w", rerr)
		}
		if same {
			break
		}
		c.UnlockedWrite = true
		if attempt == 3 {
			return c, fmt.Errorf("update registry: %w", ErrUnlockedWriter)
		}
	}

	if early.usable(cur.Hash) {
		c.Backup = early.path
	} else if c.Backup, err = s.writeBackup(canon, cur.Data, cur.Hash, time.Now()); err != nil {
		return c, fmt.Errorf("back up registry: %w", err)
	}
	pause("backup-written")
	j := &Journal{Path: journalPath(canon), Registry: canon, OldHash: cur.Hash, NewHash: newHash}
	placed := next.prepared != nil && earlyJ.place(j)
	c.Ahead = placed
	if !placed {
		if err := writeJournal(j, next.next, h.perm, h.owner); err != nil {
			return c, fmt.Errorf("write journal: %w", err)
		}
	}
	held := aheadHeld
	if next.prepared == nil {
		held = next.next.PrefixWith(cur.Data)
	}
	overwritten := false
	from, err := writeInPlace(h.file, next.next, held, pause, func() {
		same, err := sameContent(h.file, next.next)
		overwritten = err == nil && !same
	})
	if err != nil {
		return c, fmt.Errorf("write registry (the next transaction recovers it from the journal): %w", err)
	}
	c.Changed, c.NewHash = true, j.NewHash
	if overwritten || from < held {
		// Someone wrote over this write while the lock was held, or put
		// bytes of its own among it before it was read back.
		c.UnlockedWrite = true
	}
	if retired, err = retireJournal(j.Path); err != nil {
		return c, fmt.Errorf("remove journal: %w", err)
	}
	// The journal's name must be gone for good before the lock goes: after
	// another writer's change, a journal brought back by a power cut could
	// be taken for a torn write of ours.
	if err := syncDir(filepath.Dir(canon)); err != nil {
		return c, fmt.Errorf("remove journal: %w", err)
	}
	pause("journal-removed")
	return c, nil
}

// derive reads the registry under the lock (as read, when its bytes are
// still read's) and asks change for the new bytes. done reports a
// transaction that ends here: nothing to write.
func (s *Store) derive(ctx context.Context, h *lockedFile, path, canon string, c *Commit, opts txOptions, read *Snapshot, aheadHash string, change TransformFunc) (cur *Snapshot, next Change, done bool, err error) {
	cur, err = h.snapshotLike(path, read)
	if err != nil {
		return nil, next, true, fmt.Errorf("read registry: %w", err)
	}
	c.OldHash, c.NewHash = cur.Hash, cur.Hash
	if cur.ParseErr != nil && !opts.allowCorrupt {
		ce := &CorruptError{Path: path, Err: cur.ParseErr}
		if c.Recovered == recoveredKept {
			ce.Journal = journalPath(canon)
		}
		return nil, next, true, fmt.Errorf("update registry: %w", ce)
	}
	if err := ctx.Err(); err != nil {
		return nil, next, true, fmt.Errorf("update registry: %w", err)
	}
	next, err = change(cur)
	if err != nil {
		return nil, next, true, fmt.Errorf("update registry: %w", err)
	}
	if next.prepared != nil {
		if next.prepared != opts.prepared || cur.Hash != opts.prepared.Read.Hash {
			return nil, next, true, errors.New("update registry: the prepared change was derived from other bytes than those under the lock")
		}
		if next.next.Size() == 0 {
			return cur, next, true, nil // it changes nothing
		}
		if aheadHash == cur.Hash {
			return cur, next, true, nil
		}
	} else if next.next == nil || next.next.Equal(cur.Data) {
		return cur, next, true, nil
	}
	if !next.encoded {
		if _, err := pyjson.Parse(next.next.Bytes()); err != nil {
			return nil, next, true, fmt.Errorf("update registry: new content does not parse: %w", err)
		}
	}
	return cur, next, false, nil
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
