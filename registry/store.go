package registry

import (
	"bytes"
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
}

// UpdateOptions are the rarely needed switches of Update.
type UpdateOptions struct {
	// AllowCorrupt lets the change see, and replace, a registry that does
	// not parse (its Snapshot has Root nil and ParseErr set). Only restore
	// sets it; every repair leaves a corrupt registry alone.
	AllowCorrupt bool
	// Prepared is a read of the same registry made before the lock was
	// taken, whose Root nobody else holds: when the bytes read under the
	// lock are the same, its parse and hash stand for theirs (the change
	// gets its Root as it is, changes made before the lock included), its
	// backup is written before the lock is taken, and the lock is held that
	// much shorter.
	Prepared *Snapshot
	// Ahead is the change's result derived before the lock from Prepared's
	// bytes: nil or empty when it changes nothing. It is hashed, and its
	// backup and journal are written, before the lock is taken. When the
	// bytes under the lock are Prepared's and the change returns Ahead
	// itself (the same slice), the journal is renamed into place and
	// nothing is hashed or compared while the lock is held.
	Ahead []byte
	// Encoded says the change returns registry.Encode's output, valid JSON
	// by construction, so the new bytes are not parsed again under the lock.
	Encoded bool
}

// isAhead reports whether b is the Ahead result itself, the same slice.
func (o UpdateOptions) isAhead(b []byte) bool {
	a := o.Ahead
	return len(b) > 0 && len(b) == len(a) && &b[0] == &a[0]
}

// ChangeFunc derives a registry's new bytes from its current ones. Update
// calls it under the exclusive lock with the bytes it read under that lock;
// it returns the new bytes, or nil (or the same bytes) for "no change". The
// new bytes must parse. An error aborts the transaction with nothing written.
type ChangeFunc func(cur *Snapshot) ([]byte, error)

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
	// Ahead reports that the change returned UpdateOptions.Ahead and that
	// its journal, written before the lock was taken, was used.
	Ahead bool
}

// HashBytes returns the hex SHA-256 of b, the hash that snapshots, commits,
// journals, backups and the audit log use.
func HashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
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

// Update runs one transaction on the registry at path (DESIGN §4):
//  1. take LOCK_EX on the registry itself, polling for up to LockTimeout
//     (then a *LockBusyError naming the holder);
//  2. finish or discard a journal left by an interrupted transaction, or
//     keep it when another writer tore the registry after that crash (see
//     recoverJournal): the registry then does not parse, and step 3's
//     *CorruptError names the kept journal. With AllowCorrupt (restore) the
//     change sees the torn bytes, and a change it writes journals over the
//     kept journal;
//  3. read and parse the bytes under the lock (a registry that does not
//     parse is a *CorruptError, unless opts.AllowCorrupt) and call change;
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
func (s *Store) Update(ctx context.Context, path string, opts UpdateOptions, change ChangeFunc) (*Commit, error) {
	return s.update(ctx, path, opts, change, nil)
}

// update is Update with a seam for tests: beforeRetry runs when journal
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
func (s *Store) update(ctx context.Context, path string, opts UpdateOptions, change ChangeFunc, beforeRetry func()) (*Commit, error) {
	canon, err := resolve(path)
	if err != nil {
		return nil, err
	}
	var early *earlyBackup
	var earlyJ *earlyJournal
	aheadHash := ""
	if opts.Prepared != nil && opts.Prepared.Root != nil && len(opts.Ahead) > 0 {
		aheadHash = HashBytes(opts.Ahead)
		early = s.backupAhead(canon, opts.Prepared)
		earlyJ = journalAhead(canon, opts.Prepared, opts.Ahead, aheadHash)
	} else {
		opts.Ahead = nil // without the read it was derived from, it is nothing
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
	var next []byte
	var newHash string
	for attempt := 1; ; attempt++ {
		var done bool
		cur, next, done, err = s.derive(ctx, h, path, canon, c, opts, aheadHash, change)
		opts.Prepared = nil // its Root may have been changed: never reused
		if err != nil || done {
			return c, err
		}
		// A writer that takes no lock may have rewritten the file while
		// this one held it: derive again from what is there now, rather
		// than write over its change. The new bytes are hashed meanwhile.
		hashed := make(chan string, 1)
		go func(b []byte) {
			if opts.isAhead(b) {
				hashed <- aheadHash
				return
			}
			hashed <- HashBytes(b)
		}(next)
		same, rerr := sameContent(h.file, cur.Data)
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
	j := &Journal{Path: journalPath(canon), Registry: canon, OldHash: cur.Hash, NewHash: newHash, Data: next}
	placed := earlyJ.place(j)
	c.Ahead = placed && opts.isAhead(next)
	if !placed {
		if err := writeJournal(j, h.perm, h.owner); err != nil {
			return c, fmt.Errorf("write journal: %w", err)
		}
	}
	overwritten := false
	if err := writeInPlace(h.file, next, pause, func() {
		same, err := sameContent(h.file, next)
		overwritten = err == nil && !same
	}); err != nil {
		return c, fmt.Errorf("write registry (the next transaction recovers it from the journal): %w", err)
	}
	c.Changed, c.NewHash = true, j.NewHash
	if overwritten {
		// Someone wrote over this write while the lock was held.
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

// derive reads the registry under the lock and asks change for the new
// bytes. done reports a transaction that ends here: nothing to write.
func (s *Store) derive(ctx context.Context, h *lockedFile, path, canon string, c *Commit, opts UpdateOptions, aheadHash string, change ChangeFunc) (cur *Snapshot, next []byte, done bool, err error) {
	cur, err = h.snapshotLike(path, opts.Prepared)
	if err != nil {
		return nil, nil, true, fmt.Errorf("read registry: %w", err)
	}
	c.OldHash, c.NewHash = cur.Hash, cur.Hash
	if cur.ParseErr != nil && !opts.AllowCorrupt {
		ce := &CorruptError{Path: path, Err: cur.ParseErr}
		if c.Recovered == recoveredKept {
			ce.Journal = journalPath(canon)
		}
		return nil, nil, true, fmt.Errorf("update registry: %w", ce)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, true, fmt.Errorf("update registry: %w", err)
	}
	next, err = change(cur)
	if err != nil {
		return nil, nil, true, fmt.Errorf("update registry: %w", err)
	}
	unchanged := next == nil
	if opts.isAhead(next) {
		unchanged = unchanged || aheadHash == cur.Hash
	} else {
		unchanged = unchanged || bytes.Equal(next, cur.Data)
	}
	if unchanged {
		return cur, nil, true, nil
	}
	if !opts.Encoded {
		if _, err := pyjson.Parse(next); err != nil {
			return nil, nil, true, fmt.Errorf("update registry: new content does not parse: %w", err)
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

// Test hook, nothing else: the crash tests run the test binary as a child
// that sets pauseAt to one step of a transaction, wait for it to write the
// file pauseMarker names, and SIGKILL it there. Only a _test.go file sets
// them: the shipped binary reads nothing from its environment for this, so
// it never stops at a step.
var pauseAt, pauseMarker string

func pause(step string) {
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
