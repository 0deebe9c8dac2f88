package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// ErrLockBusy is what every lock timeout is: another process held the
// registry's lock for longer than the store would wait. The CLI exits 75.
var ErrLockBusy = errors.New("registry lock busy")

// ErrUnlockedWriter means a registry kept changing while agentwatch held its
// lock: a writer that takes no lock is rewriting it, and agentwatch would
// only write over its changes.
var ErrUnlockedWriter = errors.New("the registry kept changing while agentwatch held its lock (a writer that takes no lock is active); nothing written, try again")

// ErrCorrupt is what every registry that does not parse is.
var ErrCorrupt = errors.New("registry does not parse")

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

// LockBusyError reports that the registry stayed locked for the whole wait.
// It matches ErrLockBusy with errors.Is.
type LockBusyError struct {
	Path string
	// PID is the process holding the lock, from /proc/locks on Linux; 0 when
	// it is unknown (another OS, or the holder let go in the meantime).
	PID int
	// Command is the holder's command name (/proc/PID/comm), "" if unknown.
	Command string
	// Waited is how long the store tried.
	Waited time.Duration

	// shared is set for Read's shared lock, which --lock-timeout does not govern.
	shared bool
}

func (e *LockBusyError) Error() string {
	holder := "(holder unknown)"
	switch {
	case e.PID > 0 && e.Command != "":
		holder = fmt.Sprintf("by PID %d (%s)", e.PID, e.Command)
	case e.PID > 0:
		holder = fmt.Sprintf("by PID %d", e.PID)
	}
	hint := "try again, or raise --lock-timeout"
	if e.shared {
		hint = "try again"
	}
	return fmt.Sprintf("registry %s is locked %s: waited %s; %s", e.Path, holder, roundWait(e.Waited), hint)
}

// Is makes errors.Is(err, ErrLockBusy) true.
func (e *LockBusyError) Is(target error) bool { return target == ErrLockBusy }

// roundWait shortens a measured wait for a message: "10s", not "10.000184s".
func roundWait(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// CorruptError reports a registry that does not parse. It matches ErrCorrupt
// with errors.Is; Err is the parser's *SyntaxError, with line and column.
type CorruptError struct {
	Path string
	Err  error
	// Journal is set when agentwatch's own write to the registry was
	// interrupted and another writer then tore the file: neither the
	// journal's bytes nor the torn ones are known to be right, so nothing
	// was written and the journal is kept, at this path, for restore to
	// offer. "" otherwise.
	Journal string
}

func (e *CorruptError) Error() string {
	if e.Journal != "" {
		return fmt.Sprintf("registry %s does not parse: %v; another writer tore it after agentwatch's interrupted write, "+
			"so agentwatch wrote nothing and kept its journal %s: run `agentwatch restore --registry %s` "+
			"to preview the journal's bytes, a salvage or a backup, and choose one (--from journal|salvage|backup)",
			e.Path, e.Err, e.Journal, e.Path)
	}
	return fmt.Sprintf("registry %s does not parse: %v", e.Path, e.Err)
}

// Unwrap returns the syntax error.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

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
	Data []byte
	// Root is the parsed document, nil when the bytes do not parse.
	Root *Value
	// ParseErr is the *SyntaxError of bytes that do not parse.
	ParseErr error
	// Hash is HashBytes(Data).
	Hash    string
	ModTime time.Time
}

// UpdateOptions are the rarely needed switches of Update.
type UpdateOptions struct {
	// AllowCorrupt lets the change see, and replace, a registry that does
	// not parse (its Snapshot has Root nil and ParseErr set). Only restore
	// sets it; every repair leaves a corrupt registry alone.
	AllowCorrupt bool
	// Prepared is a read of the same registry made before the lock was
	// taken, whose Root nobody else holds: when the bytes read under the
	// lock are the same, its parse and hash stand for theirs, and the lock
	// is held that much shorter. The change may modify its Root.
	Prepared *Snapshot
	// Encoded says the change returns registry.Encode's output, valid JSON
	// by construction, so the new bytes are not parsed again under the lock.
	Encoded bool
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

// Read returns the registry's current bytes, read under a shared lock
// (LOCK_SH) so that no careful writer is half way through. When the lock
// stays taken for ReadTimeout it returns a *LockBusyError. Bytes that do not
// parse are read again once after 50ms, in case a writer that takes no lock
// was caught between truncate and write; if they still do not parse, Read
// returns the Snapshot (ParseErr set) together with a *CorruptError. A
// missing registry is an error matching fs.ErrNotExist, and is not created.
func (s *Store) Read(ctx context.Context, path string) (*Snapshot, error) {
	return s.read(ctx, path, nil)
}

// read is Read with a seam for tests: beforeRetry runs between the first
// parse failure and the second read.
func (s *Store) read(ctx context.Context, path string, beforeRetry func()) (*Snapshot, error) {
	canon, err := resolve(path)
	if err != nil {
		return nil, err
	}
	h, _, err := openLocked(ctx, path, canon, false, orDefault(s.ReadTimeout, defaultReadTimeout))
	if err != nil {
		return nil, err
	}
	defer h.close()
	snap, err := h.snapshot(path)
	if err != nil {
		return nil, fmt.Errorf("read registry: %w", err)
	}
	if snap.ParseErr != nil {
		if beforeRetry != nil {
			beforeRetry()
		}
		select {
		case <-ctx.Done():
			return snap, fmt.Errorf("read registry: %w", ctx.Err())
		case <-time.After(tornReadRetry):
		}
		if snap, err = h.snapshot(path); err != nil {
			return nil, fmt.Errorf("read registry: %w", err)
		}
	}
	if snap.ParseErr != nil {
		return snap, fmt.Errorf("read registry: %w", &CorruptError{Path: path, Err: snap.ParseErr})
	}
	return snap, nil
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
//  8. remove the journal, fsync the directory, unlock.
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
func (s *Store) update(ctx context.Context, path string, opts UpdateOptions, change ChangeFunc, beforeRetry func()) (*Commit, error) {
	canon, err := resolve(path)
	if err != nil {
		return nil, err
	}
	h, waited, err := openLocked(ctx, path, canon, true, orDefault(s.LockTimeout, defaultLockTimeout))
	if err != nil {
		return nil, err
	}
	locked := time.Now()
	c := &Commit{Path: path, LockWait: waited}
	defer func() {
		h.close()
		c.LockHeld = time.Since(locked)
	}()
	pause("locked")

	if c.Recovered, err = s.recoverJournal(ctx, h.file, canon, beforeRetry); err != nil {
		return c, fmt.Errorf("recover journal: %w", err)
	}
	var cur *Snapshot
	var next []byte
	for attempt := 1; ; attempt++ {
		var done bool
		cur, next, done, err = s.derive(ctx, h, path, canon, c, opts, change)
		opts.Prepared = nil // its Root may have been changed: never reused
		if err != nil || done {
			return c, err
		}
		// A writer that takes no lock may have rewritten the file while
		// this one held it: derive again from what is there now, rather
		// than write over its change.
		again, rerr := readAll(h.file)
		if rerr != nil {
			return c, fmt.Errorf("read registry: %w", rerr)
		}
		if bytes.Equal(again, cur.Data) {
			break
		}
		c.UnlockedWrite = true
		if attempt == 3 {
			return c, fmt.Errorf("update registry: %w", ErrUnlockedWriter)
		}
	}

	if c.Backup, err = s.saveBackup(canon, cur.Data, time.Now()); err != nil {
		return c, fmt.Errorf("back up registry: %w", err)
	}
	pause("backup-written")
	j := &Journal{Path: journalPath(canon), Registry: canon, OldHash: cur.Hash, NewHash: HashBytes(next), Data: next}
	if err := writeJournal(j, h.perm); err != nil {
		return c, fmt.Errorf("write journal: %w", err)
	}
	if err := writeInPlace(h.file, next, pause); err != nil {
		return c, fmt.Errorf("write registry (the next transaction recovers it from the journal): %w", err)
	}
	c.Changed, c.NewHash = true, j.NewHash
	if after, err := readAll(h.file); err == nil && !bytes.Equal(after, next) {
		// Someone wrote over this write while the lock was held.
		c.UnlockedWrite = true
	}
	if err := removeJournal(j.Path); err != nil {
		return c, fmt.Errorf("remove journal: %w", err)
	}
	pause("journal-removed")
	return c, nil
}

// derive reads the registry under the lock and asks change for the new
// bytes. done reports a transaction that ends here: nothing to write.
func (s *Store) derive(ctx context.Context, h *lockedFile, path, canon string, c *Commit, opts UpdateOptions, change ChangeFunc) (cur *Snapshot, next []byte, done bool, err error) {
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
	if next == nil || bytes.Equal(next, cur.Data) {
		return cur, nil, true, nil
	}
	if !opts.Encoded {
		if _, err := Parse(next); err != nil {
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

// lockedFile is a registry under flock: lock holds the locked descriptor
// (gofrs/flock's own), file a second descriptor, on the same inode, that
// reads and writes it.
type lockedFile struct {
	lock *flock.Flock
	file *os.File
	perm fs.FileMode
}

// openLocked takes the registry's lock, exclusive or shared, polling until
// timeout, and opens the second descriptor. It never creates the file.
func openLocked(ctx context.Context, shown, canon string, exclusive bool, timeout time.Duration) (*lockedFile, time.Duration, error) {
	flag := os.O_RDONLY
	if exclusive {
		flag = os.O_RDWR
	}
	lk := flock.New(canon, flock.SetFlag(flag))
	try := lk.TryRLock
	if exclusive {
		try = lk.TryLock
	}
	start := time.Now()
	ok, err := pollLock(ctx, timeout, try)
	waited := time.Since(start)
	if err != nil {
		return nil, waited, fmt.Errorf("lock registry: %w", err)
	}
	if !ok {
		pid, comm := lockHolder(canon)
		return nil, waited, fmt.Errorf("lock registry: %w",
			&LockBusyError{Path: shown, PID: pid, Command: comm, Waited: waited, shared: !exclusive})
	}
	h := &lockedFile{lock: lk}
	if h.file, err = os.OpenFile(canon, flag, 0); err != nil {
		h.close()
		return nil, waited, fmt.Errorf("open registry: %w", err)
	}
	li, err := lk.Stat()
	if err != nil {
		h.close()
		return nil, waited, fmt.Errorf("open registry: %w", err)
	}
	fi, err := h.file.Stat()
	if err != nil {
		h.close()
		return nil, waited, fmt.Errorf("open registry: %w", err)
	}
	if !os.SameFile(li, fi) {
		h.close()
		return nil, waited, fmt.Errorf("open registry: %s was replaced while it was being locked "+
			"(some program renamed a new file over it); try again", shown)
	}
	h.perm = fi.Mode().Perm()
	return h, waited, nil
}

// pollLock calls try until it takes the lock, fails, ctx ends, or timeout
// passes (then false, nil). The interval starts at 1ms and doubles up to
// lockPollMax: a short interval keeps our chances against Python writers
// that block in flock(2) and are woken the moment the lock is free.
func pollLock(ctx context.Context, timeout time.Duration, try func() (bool, error)) (bool, error) {
	deadline := time.Now().Add(timeout)
	delay := time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if ok, err := try(); ok || err != nil {
			return ok, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		t := time.NewTimer(min(delay, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, lockPollMax)
	}
}

func (h *lockedFile) close() {
	// Closing the second descriptor does not drop a flock(2) lock, which
	// belongs to the locked descriptor; Unlock closes that one.
	if h.file != nil {
		h.file.Close()
	}
	h.lock.Unlock()
}

// snapshot reads the whole registry from offset 0 and parses it.
func (h *lockedFile) snapshot(shown string) (*Snapshot, error) {
	data, err := readAll(h.file)
	if err != nil {
		return nil, err
	}
	return h.snapshotOf(shown, data)
}

func (h *lockedFile) snapshotOf(shown string, data []byte) (*Snapshot, error) {
	fi, err := h.file.Stat()
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Path: shown, Data: data, Hash: HashBytes(data), ModTime: fi.ModTime()}
	snap.Root, snap.ParseErr = Parse(data)
	if snap.ParseErr != nil {
		snap.Root = nil
	}
	return snap, nil
}

// snapshotLike reads the file and, when its bytes are those of a read
// made before the lock, takes that read's parse and hash instead of
// computing them again.
func (h *lockedFile) snapshotLike(shown string, prepared *Snapshot) (*Snapshot, error) {
	if prepared == nil || prepared.Root == nil {
		return h.snapshot(shown)
	}
	data, err := readAll(h.file)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(data, prepared.Data) {
		return h.snapshotOf(shown, data)
	}
	fi, err := h.file.Stat()
	if err != nil {
		return nil, err
	}
	return &Snapshot{Path: shown, Data: data, Hash: prepared.Hash, ModTime: fi.ModTime(), Root: prepared.Root}, nil
}

func readAll(f *os.File) ([]byte, error) {
	return io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
}

// writeInPlace replaces the file's content through f, keeping its inode:
// write at offset 0, truncate to the new length, fsync. step marks the
// points the crash tests stop at.
func writeInPlace(f *os.File, data []byte, step func(string)) error {
	half := len(data) / 2
	if _, err := f.WriteAt(data[:half], 0); err != nil {
		return err
	}
	step("registry-partial")
	if _, err := f.WriteAt(data[half:], int64(half)); err != nil {
		return err
	}
	step("registry-written")
	if err := f.Truncate(int64(len(data))); err != nil {
		return err
	}
	step("truncated")
	if err := f.Sync(); err != nil {
		return err
	}
	step("synced")
	return nil
}

// syncDir makes a directory's entries (a journal created or removed, a
// backup renamed in) durable. File systems that cannot fsync a directory
// say EINVAL; there is nothing more to do on them.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}

// Test hook, nothing else: the crash tests run a child that sets
// AGENTWATCH_TEST_PAUSE_AT to one step of a transaction, wait for it to write
// AGENTWATCH_TEST_PAUSE_MARKER, and SIGKILL it there.
var pauseAt = sync.OnceValue(func() string { return os.Getenv("AGENTWATCH_TEST_PAUSE_AT") })

func pause(step string) {
	if pauseAt() != step {
		return
	}
	if marker := os.Getenv("AGENTWATCH_TEST_PAUSE_MARKER"); marker != "" {
		_ = os.WriteFile(marker, []byte(step), 0o600)
	}
	for {
		time.Sleep(time.Hour)
	}
}
