// The work done before the lock, so that the lock is held only for a
// compare and a write: the journal written under a temporary name and the
// backup, both fsynced, placed or discarded once the lock is held.

package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"agentwatch/registry/pyjson"
)

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
func journalAhead(canon string, prepared *Snapshot, ahead *pyjson.Spliced, hash string) *earlyJournal {
	fi, err := os.Stat(canon)
	if err != nil {
		return nil
	}
	j := &Journal{Registry: canon, OldHash: prepared.Hash, NewHash: hash}
	// CreateTemp opens with O_CREAT|O_EXCL: it never opens what is already
	// at the name it picks, a planted link included.
	f, err := os.CreateTemp(filepath.Dir(canon), filepath.Base(canon)+JournalSuffix+".*"+earlyJournalSuffix)
	if err != nil {
		return nil
	}
	e := &earlyJournal{tmp: f.Name(), file: f, oldHash: j.OldHash, newHash: j.NewHash, owners: []int{ownerOf(fi), os.Geteuid()}}
	if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		if err = f.Chmod(fi.Mode().Perm()); err == nil {
			err = writeJournalTo(f, j, ahead)
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
