package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// keepBackups is how many backups of one registry are kept.
const keepBackups = 20

// A backup's name is its time (UTC, fixed width, so that names sort in time
// order) and the hash of its bytes: 20251017T215642.112319000Z-<sha256>.json.
const backupTimeLayout = "20060102T150405.000000000Z"

// backupRecordName is the file in each registry's backup directory that
// records which registry the backups are of.
const backupRecordName = "registry"

// Backup is a registry's bytes as they were before a transaction changed
// them; undo puts them back.
type Backup struct {
	// Path is the backup file.
	Path string
	// Registry is the registry it was taken of (absolute, symlinks followed).
	Registry string
	// Time is when it was taken.
	Time time.Time
	// Hash is HashBytes of its bytes: the OldHash of the transaction that
	// took it.
	Hash string
}

// Backups lists the backups of the registry at path, newest first. A
// registry without backups has none, which is not an error; neither is a
// registry that no longer exists.
func (s *Store) Backups(ctx context.Context, path string) ([]Backup, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	canon, err := resolve(path)
	if errors.Is(err, fs.ErrNotExist) {
		canon, err = filepath.Abs(path)
	}
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	dir := s.backupDir(canon)
	names, err := backupNames(dir)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	out := make([]Backup, 0, len(names))
	for _, name := range names {
		stamp, hash, _ := strings.Cut(strings.TrimSuffix(name, ".json"), "-")
		t, err := time.Parse(backupTimeLayout, stamp)
		if err != nil {
			continue
		}
		out = append(out, Backup{Path: filepath.Join(dir, name), Registry: canon, Time: t, Hash: hash})
	}
	return out, nil
}

// backupOf returns the bytes of a backup of the registry whose hash is hash;
// ok is false when there is none (never taken, pruned, or taken under another
// state directory). A backup whose bytes do not match its name is no backup.
func (s *Store) backupOf(canon, hash string) (data []byte, ok bool, err error) {
	dir := s.backupDir(canon)
	names, err := backupNames(dir)
	if err != nil {
		return nil, false, err
	}
	for _, name := range names {
		if !strings.HasSuffix(name, "-"+hash+".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // gone since the listing
		}
		if err != nil {
			return nil, false, err
		}
		if HashBytes(data) == hash {
			return data, true, nil
		}
	}
	return nil, false, nil
}

// backupDir is the directory of one registry's backups: a readable name (the
// registry's parent directory and base name, which tells task registries
// apart) and a short hash of its absolute path, which makes it unique.
func (s *Store) backupDir(canon string) string {
	readable := filepath.Base(filepath.Dir(canon)) + "_" + filepath.Base(canon)
	readable = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		}
		return '_'
	}, readable)
	if len(readable) > 80 {
		readable = readable[:80]
	}
	return filepath.Join(s.stateDir(), "backups", readable+"-"+HashBytes([]byte(canon))[:12])
}

// saveBackup stores data as the newest backup of the registry and prunes the
// oldest beyond keepBackups. The caller holds the registry's exclusive lock,
// which also serialises the pruning. It returns the backup's path.
func (s *Store) saveBackup(canon string, data []byte, now time.Time) (string, error) {
	path, err := s.writeBackup(canon, data, HashBytes(data), now)
	if err != nil {
		return "", err
	}
	pruneBackups(filepath.Dir(path))
	return path, nil
}

// writeBackup stores data, whose hash is hash, as a backup of the registry,
// durably, and returns its path. It needs no lock: a backup is a file of
// agentwatch's own, and its name is unique.
func (s *Store) writeBackup(canon string, data []byte, hash string, now time.Time) (string, error) {
	dir, err := s.makeBackupDir(canon)
	if err != nil {
		return "", err
	}
	record := filepath.Join(dir, backupRecordName)
	if _, err := os.Stat(record); errors.Is(err, fs.ErrNotExist) {
		if err := writeFileSynced(dir, backupRecordName, []byte(canon+"\n")); err != nil {
			return "", err
		}
	}
	name := now.UTC().Format(backupTimeLayout) + "-" + hash + ".json"
	if err := writeFileSynced(dir, name, data); err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// makeBackupDir creates the registry's backup directory, and the state
// directory above it, each 0700 and each refused when it is a link or
// another user's (privateDir). The state directory's parents are created
// as needed, as any program's would be.
func (s *Store) makeBackupDir(canon string) (string, error) {
	state := s.stateDir()
	if err := os.MkdirAll(filepath.Dir(state), 0o700); err != nil {
		return "", err
	}
	dir := s.backupDir(canon)
	for _, d := range []string{state, filepath.Dir(dir), dir} {
		if err := privateDir(d); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// writeFileSynced writes a file of agentwatch's own state whole or not at
// all: a temporary file, fsynced, renamed into place, the directory fsynced.
// (Renaming is right here, and only here: no one else opens these files.)
func writeFileSynced(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return syncDir(dir)
}

// backupBudget bounds the bytes of one registry's backups: with keepBackups
// copies of a 200 MB task registry, backups alone would take 4 GB. Past it
// the oldest backups go first, down to the newest, which is always kept
// (the last action's undo needs it), however big it is.
const backupBudget = 256 << 20

// pruneBackups keeps the newest keepBackups backups within backupBudget
// bytes, and removes the rest, oldest first.
func pruneBackups(dir string) { pruneBackupsTo(dir, keepBackups, backupBudget) }

// pruneBackupsTo keeps, newest first, at most keep backups and, after the
// newest, only as many as fit in budget bytes together with it; the newest
// is always kept. It is best effort: a backup that cannot be removed now
// is removed by a later transaction, and is no reason to refuse this one.
func pruneBackupsTo(dir string, keep int, budget int64) {
	names, err := backupNames(dir)
	if err != nil {
		return
	}
	total := int64(0)
	for i, name := range names {
		path := filepath.Join(dir, name)
		fi, err := os.Lstat(path)
		if err != nil {
			continue
		}
		total += fi.Size()
		if i > 0 && (i >= keep || total > budget) {
			os.Remove(path)
		}
	}
}

// backupNames lists the backup files in dir, newest first. A missing
// directory has none.
func backupNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if isBackupName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	return names, nil
}

func isBackupName(name string) bool {
	want := len(backupTimeLayout) + 1 + sha256HexLen + len(".json")
	if len(name) != want || !strings.HasSuffix(name, ".json") || name[len(backupTimeLayout)] != '-' {
		return false
	}
	for _, r := range name[len(backupTimeLayout)+1 : len(backupTimeLayout)+1+sha256HexLen] {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
