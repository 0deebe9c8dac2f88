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
	"slices"
	"strconv"
	"strings"
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
	// Data are the bytes read. Root shares their memory: they must never
	// be modified.
	Data []byte
	// Root is the parsed document, nil when the bytes do not parse.
	Root *Value
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
	if _, err := os.Lstat(journalPath(canon)); err == nil {
		if err := s.recoverFirst(ctx, path, canon); err != nil {
			return nil, fmt.Errorf("read registry: %w", err)
		}
	}
	snap, err := s.readShared(ctx, path, canon)
	if err != nil {
		return nil, err
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
		if snap, err = s.readShared(ctx, path, canon); err != nil {
			return nil, err
		}
	}
	if snap.ParseErr != nil {
		return snap, fmt.Errorf("read registry: %w", &CorruptError{Path: path, Err: snap.ParseErr})
	}
	return snap, nil
}

// recoverFirst finishes or discards the journal beside the registry before
// it is read: whatever an interrupted transaction left is dealt with
// before anything else looks at the registry, so that no scan, and no
// repair planned from one, sees a torn write that its journal would mend.
// It takes the exclusive lock, waiting as long as a read waits. A user who
// may not write the registry cannot recover it: the read goes on and shows
// what is there (a torn write does not parse, and is reported corrupt).
func (s *Store) recoverFirst(ctx context.Context, path, canon string) error {
	h, _, err := openLocked(ctx, path, canon, true, orDefault(s.ReadTimeout, defaultReadTimeout))
	if errors.Is(err, fs.ErrPermission) {
		return nil
	}
	if err != nil {
		return err
	}
	defer h.close()
	defer removeLeftoverJournals(canon, h.owner)
	if _, err := s.recoverJournal(ctx, h.file, canon, nil); err != nil {
		return fmt.Errorf("recover journal: %w", err)
	}
	return nil
}

// readShared reads the registry's bytes under its shared lock and parses
// them once the lock is let go: the orchestrator's writers wait for the
// lock only while the bytes are read, never while a big registry parses.
func (s *Store) readShared(ctx context.Context, path, canon string) (*Snapshot, error) {
	h, _, err := openLocked(ctx, path, canon, false, orDefault(s.ReadTimeout, defaultReadTimeout))
	if err != nil {
		return nil, err
	}
	data, err := readAll(h.file)
	var fi os.FileInfo
	if err == nil {
		fi, err = h.file.Stat()
	}
	h.close()
	if err != nil {
		return nil, fmt.Errorf("read registry: %w", err)
	}
	pause("read-parse")
	return newSnapshot(path, data, fi.ModTime()), nil
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

// earlyJournal is a journal written before the lock was taken, under a
// temporary name beside the registry, for the change derived ahead from a
// Prepared read's bytes. Its file stays open, under an exclusive flock,
// until it is placed or discarded: that lock is how a later transaction
// tells a temporary journal in use from one a crash left behind
// (removeLeftoverJournals).
type earlyJournal struct {
	tmp              string // "" when there is none, or once it is placed
	file             *os.File
	oldHash, newHash string
	owners           []int // the registry's owner and agentwatch's user
}

// journalAhead writes, and makes durable, the journal of the change
// derived ahead from prepared's bytes, ahead, whose hash is hash. It
// returns nil when the write fails: the journal is then written under the
// lock.
func journalAhead(canon string, prepared *Snapshot, ahead []byte, hash string) *earlyJournal {
	fi, err := os.Stat(canon)
	if err != nil {
		return nil
	}
	j := &Journal{Registry: canon, OldHash: prepared.Hash, NewHash: hash, Data: ahead}
	// CreateTemp opens with O_CREAT|O_EXCL: it never opens what is already
	// at the name it picks, a planted link included.
	f, err := os.CreateTemp(filepath.Dir(canon), filepath.Base(canon)+JournalSuffix+".*"+earlyJournalSuffix)
	if err != nil {
		return nil
	}
	e := &earlyJournal{tmp: f.Name(), file: f, oldHash: j.OldHash, newHash: j.NewHash, owners: []int{ownerOf(fi), os.Geteuid()}}
	if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		if err = f.Chmod(fi.Mode().Perm()); err == nil {
			err = writeJournalTo(f, j)
		}
	}
	if err != nil {
		e.discard()
		return nil
	}
	pause("journal-ahead")
	return e
}

// place renames the early journal to j's path when it is j's journal (the
// same old and new bytes, by their hashes), and makes the name durable.
// It reports whether j's journal is now in place; when not, the caller
// writes it. It renames only the file it wrote (still at its temporary
// name) and only over nothing, or over a journal of the registry's owner
// or of agentwatch's user: never over a link or another user's file.
func (e *earlyJournal) place(j *Journal) bool {
	if e == nil || e.tmp == "" || e.oldHash != j.OldHash || e.newHash != j.NewHash {
		return false
	}
	mine, err1 := e.file.Stat()
	at, err2 := os.Lstat(e.tmp)
	if err1 != nil || err2 != nil || !os.SameFile(mine, at) {
		return false
	}
	if _, err := os.Lstat(j.Path); !errors.Is(err, fs.ErrNotExist) && !isOwn(j.Path, e.owners...) {
		return false
	}
	if err := os.Rename(e.tmp, j.Path); err != nil {
		return false
	}
	e.tmp = ""
	e.file.Close()
	if err := syncDir(filepath.Dir(j.Path)); err != nil {
		os.Remove(j.Path) // not durable: write it again, the slow way
		return false
	}
	pause("journal-written")
	return true
}

// discard removes an early journal that was not placed.
func (e *earlyJournal) discard() {
	if e == nil || e.tmp == "" {
		return
	}
	if mine, err := e.file.Stat(); err == nil {
		if at, err := os.Lstat(e.tmp); err == nil && os.SameFile(mine, at) {
			os.Remove(e.tmp)
		}
	}
	e.file.Close()
	e.tmp = ""
}

// retireJournal takes the journal's name away, as removing it would, but by
// a rename: freeing the blocks of a big journal takes milliseconds, and is
// left until the lock is released (the caller removes the retired file).
// It returns the retired file's path, "" when it had to remove the journal
// at once.
func retireJournal(path string) (string, error) {
	retired := fmt.Sprintf("%s.%d-%d%s", path, os.Getpid(), time.Now().UnixNano(), retiredJournalSuffix)
	if err := os.Rename(path, retired); err == nil {
		return retired, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return "", nil
}

// removeLeftoverJournals removes, beside the registry, the temporary
// journals (…agentwatch-journal.<digits>.tmp) that crashed transactions
// left behind, and the retired ones (….done), which are never needed
// again. A file is removed only when its name has one of those patterns,
// it is a regular file (never a link, which is not followed) of the
// registry's owner or of agentwatch's user, and, for a temporary journal,
// no process holds its flock: a transaction that wrote it ahead of the
// lock holds that until it is placed or discarded. It is best effort.
func removeLeftoverJournals(canon string, registryOwner int) {
	dir := filepath.Dir(canon)
	prefix := filepath.Base(canon) + JournalSuffix + "."
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	owners := []int{registryOwner, os.Geteuid()}
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, name)
		if strings.HasSuffix(rest, retiredJournalSuffix) {
			if isOwn(path, owners...) {
				os.Remove(path)
			}
			continue
		}
		digits, ok := strings.CutSuffix(rest, earlyJournalSuffix)
		if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
			continue
		}
		removeUnheld(path, owners)
	}
}

// removeUnheld removes the temporary journal at path when it is a regular
// file of one of owners that no process holds a flock on. It takes that
// flock itself, so that no transaction can be between its creation and
// its use, and removes the name only while it still names the file
// checked.
func removeUnheld(path string, owners []int) {
	f, err := openOwn("temporary journal", path, owners...)
	if err != nil {
		return
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return // in use
	}
	mine, err1 := f.Stat()
	at, err2 := os.Lstat(path)
	if err1 == nil && err2 == nil && os.SameFile(mine, at) {
		os.Remove(path)
	}
}

// earlyBackup is a backup written before the lock was taken, of the bytes
// a Prepared read saw.
type earlyBackup struct {
	path, hash string
}

// backupAhead writes the backup of a Prepared read's bytes. It returns nil
// when the write fails: the backup is then written under the lock.
func (s *Store) backupAhead(canon string, prepared *Snapshot) *earlyBackup {
	path, err := s.writeBackup(canon, prepared.Data, prepared.Hash, time.Now())
	if err != nil {
		return nil
	}
	return &earlyBackup{path: path, hash: prepared.Hash}
}

// usable reports whether the early backup is the backup of bytes whose
// hash is hash, and is still there: another transaction's pruning may have
// removed it while this one waited for the lock.
func (b *earlyBackup) usable(hash string) bool {
	if b == nil || b.hash != hash {
		return false
	}
	_, err := os.Stat(b.path)
	return err == nil
}

// discard removes an early backup that the transaction did not use: the
// bytes under the lock were others, or nothing was written.
func (b *earlyBackup) discard() {
	if b != nil {
		os.Remove(b.path)
	}
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
	// owner is the registry's owner (uid): a journal beside it may be the
	// owner's or agentwatch's own user's, and no one else's.
	owner int
}

// openLocked takes the registry's lock, exclusive or shared, polling until
// timeout, and opens the second descriptor. It never creates the file.
func openLocked(ctx context.Context, shown, canon string, exclusive bool, timeout time.Duration) (*lockedFile, time.Duration, error) {
	flag := os.O_RDONLY
	if exclusive {
		flag = os.O_RDWR
	}
	lk := flock.New(canon, flock.SetFlag(flag))
	tryFlock := lk.TryRLock
	if exclusive {
		tryFlock = lk.TryLock
	}
	// The flock, then the record lock on the second descriptor (see
	// recordLock): a writer holding either keeps agentwatch waiting.
	var file *os.File
	try := func() (bool, error) {
		if ok, err := tryFlock(); !ok || err != nil {
			return ok, err
		}
		f, err := os.OpenFile(canon, flag, 0)
		if err != nil {
			lk.Unlock()
			return false, fmt.Errorf("open registry: %w", err)
		}
		if free, err := recordLock(f, exclusive); !free || err != nil {
			f.Close()
			lk.Unlock()
			return false, err
		}
		file = f
		return true, nil
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
	h := &lockedFile{lock: lk, file: file}
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
	h.perm, h.owner = fi.Mode().Perm(), ownerOf(fi)
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
	return newSnapshot(shown, data, fi.ModTime()), nil
}

// newSnapshot hashes and parses bytes read under the lock.
func newSnapshot(shown string, data []byte, modTime time.Time) *Snapshot {
	snap := &Snapshot{Path: shown, Data: data, Hash: HashBytes(data), ModTime: modTime}
	snap.Root, snap.ParseErr = parseShared(data)
	if snap.ParseErr != nil {
		snap.Root = nil
	}
	return snap
}

// snapshotLike reads the file and, when its bytes are those of a read
// made before the lock, takes that read's parse and hash instead of
// computing them again.
func (h *lockedFile) snapshotLike(shown string, prepared *Snapshot) (*Snapshot, error) {
	if prepared == nil || prepared.Root == nil {
		return h.snapshot(shown)
	}
	same, err := sameContent(h.file, prepared.Data)
	if err != nil {
		return nil, err
	}
	if !same {
		return h.snapshot(shown)
	}
	fi, err := h.file.Stat()
	if err != nil {
		return nil, err
	}
	return &Snapshot{Path: shown, Data: prepared.Data, Hash: prepared.Hash, ModTime: fi.ModTime(), Root: prepared.Root}, nil
}

// sameContent reports whether the file's bytes are want. It reads the file
// in chunks through one small buffer, stopping at the first difference:
// under the lock, a big registry is compared without being copied whole
// into new memory.
func sameContent(f *os.File, want []byte) (bool, error) {
	buf := make([]byte, min(len(want)+1, 1<<20))
	for off := 0; ; {
		n, err := f.ReadAt(buf, int64(off))
		if n > len(want)-off || !bytes.Equal(buf[:n], want[off:off+n]) {
			return false, nil
		}
		off += n
		if err == io.EOF {
			return off == len(want), nil
		}
		if err != nil {
			return false, err
		}
	}
}

// readAll reads the whole file from offset 0. The buffer is sized from
// fstat, with room to see a file that grew since, so a big registry is read
// in one pass rather than through a buffer grown and copied a dozen times.
func readAll(f *os.File) ([]byte, error) {
	size := int64(0)
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	return readAllFrom(f, size)
}

// readAllFrom is readAll with the size it expects given: a file longer than
// that is still read whole.
func readAllFrom(f *os.File, size int64) ([]byte, error) {
	buf := make([]byte, 0, size+512)
	for {
		n, err := f.ReadAt(buf[len(buf):cap(buf)], int64(len(buf)))
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
	}
}

// tornMark is the byte writeInPlace puts first while it rewrites a
// registry. No JSON document starts with it (it is neither whitespace nor
// the start of a value), and no reader, Python's json included, parses a
// file that does; no other writer writes it.
const tornMark = 0x00

// writeInPlace replaces the file's content through f with data, keeping
// its inode. step marks the points the crash tests stop at. beside, when
// set, runs during the last fsync, which mostly waits on the disk: the
// write is whole in the page cache by then, and can be read back.
//
// The invariant: until data is whole and durable, the file does not parse.
// A write cut short (SIGKILL, a full disk, a power cut) can never leave a
// document that parses and is neither the old one nor the new one, such as
// one agent's fields spliced into another's (a reader would take it for
// the truth, and the orchestrator's next write would make it so). The
// steps:
//  1. write tornMark over the first byte and fsync: from here the file is
//     unparseable, on disk too;
//  2. write data[1:] from offset 1, truncate to len(data), fsync: the file
//     is the mark and the rest of data, still unparseable whatever part of
//     this step a crash lets through;
//  3. write data's first byte, fsync: only now can the file parse, and it
//     is data.
//
// A SIGKILL needs no fsync to keep this order (the page cache is one for
// every process); the fsyncs keep it across a power cut. A file left
// marked is recovered from the journal (recoverJournal's markedTornWrite).
func writeInPlace(f *os.File, data []byte, step func(string), beside func()) error {
	if len(data) == 0 {
		if err := f.Truncate(0); err != nil {
			return err
		}
		return f.Sync()
	}
	if _, err := f.WriteAt([]byte{tornMark}, 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	step("registry-marked")
	half := max(1, len(data)/2)
	if _, err := f.WriteAt(data[1:half], 1); err != nil {
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
	if err := f.Sync(); err != nil {
		return err
	}
	step("truncated")
	if _, err := f.WriteAt(data[:1], 0); err != nil {
		return err
	}
	step("first-byte")
	var wg sync.WaitGroup
	if beside != nil {
		wg.Go(beside)
	}
	err := f.Sync()
	wg.Wait()
	if err != nil {
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
