package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"agentwatch/registry/pyjson"
)

// JournalSuffix ends the name of the journal a transaction writes beside its
// registry: GLOBAL_REGISTRY.json.agentwatch-journal.
const JournalSuffix = ".agentwatch-journal"

// earlyJournalSuffix ends the temporary name of a journal written before
// the lock was taken (GLOBAL_REGISTRY.json.agentwatch-journal.<random>.tmp),
// until the transaction renames it to the journal's name. One left by a
// crash is removed by a later transaction on the registry.
const earlyJournalSuffix = ".tmp"

// retiredJournalSuffix ends the name a finished transaction's journal is
// renamed to (…agentwatch-journal.<pid>-<nanoseconds>.done) before it is
// removed once the lock is released.
const retiredJournalSuffix = ".done"

// A journal file is a header, the new bytes, and a trailer, so that a
// journal torn by a crash is told from a whole one:
//
//	agentwatch-journal 2
//	registry "/abs/path/GLOBAL_REGISTRY.json"
//	old <sha256 hex of the old bytes>
//	new <sha256 hex of the new bytes>
//	size <length of the new bytes>
//	<empty line>
//	<the new bytes>
//	<newline>
//	sum <sha256 hex of the header, its empty line included>
//
// The new bytes are checked by their size and their hash in the header, so
// the trailer sums the header only: the registry's bytes are hashed once per
// transaction, not twice, while the lock is held. Version 1, whose trailer
// summed everything before it, is still read.
const (
	journalMagic   = "agentwatch-journal 2"
	journalMagicV1 = "agentwatch-journal 1"
	journalTrailer = len("\nsum \n") + sha256HexLen
	sha256HexLen   = 64
)

// What journal recovery did, as Commit.Recovered says it.
const (
	recoveredTorn       = "discarded a torn journal: the registry had not been touched"
	recoveredDone       = "discarded the journal of a write that had completed"
	recoveredNotStarted = "discarded the journal of a write that had not started"
	recoveredFinished   = "finished agentwatch's interrupted write from the journal; the torn bytes are kept as a backup"
	recoveredForeign    = "discarded a stale journal: another writer has changed the registry since, and its version is kept"
	recoveredKept       = "kept the journal and wrote nothing: another writer tore the registry after agentwatch's interrupted write"
)

// errTornJournal is a journal that a crash cut short.
var errTornJournal = errors.New("torn journal")

// Journal is the intent of a transaction, written beside the registry
// before the registry is rewritten. A transaction finishes or discards a leftover
// one by itself; ReadJournal is for previews (restore).
type Journal struct {
	// Path is the journal file; Registry the registry it is for.
	Path, Registry string
	// OldHash and NewHash are the hashes of the registry before and after.
	OldHash, NewHash string
	// Data are the new bytes.
	Data []byte
}

// ReadJournal returns the journal left beside the registry at path by an
// interrupted transaction, or kept there because another writer tore the
// registry afterwards (see CorruptError.Journal). No journal is an error
// matching fs.ErrNotExist; a torn one is an error that says so.
func ReadJournal(ctx context.Context, path string) (*Journal, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	canon, err := resolve(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(canon)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	raw, err := readOwnJournal(journalPath(canon), ownerOf(fi))
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	j, err := decodeJournal(raw)
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", journalPath(canon), err)
	}
	j.Path = journalPath(canon)
	return j, nil
}

func journalPath(registry string) string { return registry + JournalSuffix }

// readOwnJournal reads the journal at path, never through a link, and only
// when it is a regular file of the registry's owner or of agentwatch's own
// user: one of anyone else's, or a link, is a *ForeignFileError, neither
// read nor followed.
func readOwnJournal(path string, registryOwner int) ([]byte, error) {
	f, err := openOwn("journal", path, registryOwner, os.Geteuid())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f)
}

// journalParts returns a journal's header and trailer; its new bytes go
// between them.
func journalParts(j *Journal, size int) (header, trailer []byte) {
	header = fmt.Appendf(nil, "%s\nregistry %s\nold %s\nnew %s\nsize %d\n\n",
		journalMagic, strconv.Quote(j.Registry), j.OldHash, j.NewHash, size)
	return header, fmt.Appendf(nil, "\nsum %s\n", HashBytes(header))
}

func decodeJournal(raw []byte) (*Journal, error) {
	torn := func(why string) error { return fmt.Errorf("%w: %s", errTornJournal, why) }
	if len(raw) < journalTrailer {
		return nil, torn("too short")
	}
	body, trailer := raw[:len(raw)-journalTrailer], string(raw[len(raw)-journalTrailer:])
	if !strings.HasPrefix(trailer, "\nsum ") || !strings.HasSuffix(trailer, "\n") {
		return nil, torn("no checksum line")
	}
	sum := trailer[len("\nsum ") : len(trailer)-1]
	header, data, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return nil, torn("no end of header")
	}
	lines := strings.Split(string(header), "\n")
	switch {
	case len(lines) != 5:
		return nil, torn("unknown header")
	case lines[0] == journalMagic:
		if sum != HashBytes(body[:len(header)+2]) {
			return nil, torn("checksum does not match")
		}
	case lines[0] == journalMagicV1:
		if sum != HashBytes(body) {
			return nil, torn("checksum does not match")
		}
	default:
		return nil, torn("unknown header")
	}
	field := func(line, name string) (string, bool) {
		return strings.CutPrefix(line, name+" ")
	}
	quoted, ok1 := field(lines[1], "registry")
	oldHash, ok2 := field(lines[2], "old")
	newHash, ok3 := field(lines[3], "new")
	size, ok4 := field(lines[4], "size")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, torn("unknown header")
	}
	j := &Journal{OldHash: oldHash, NewHash: newHash, Data: data}
	var err error
	if j.Registry, err = strconv.Unquote(quoted); err != nil {
		return nil, torn("bad registry path")
	}
	if n, err := strconv.Atoi(size); err != nil || n != len(data) {
		return nil, torn("size does not match")
	}
	if len(j.OldHash) != sha256HexLen || HashBytes(data) != j.NewHash {
		return nil, torn("hash does not match")
	}
	return j, nil
}

// writeJournal creates the journal, writes it, and makes it and its
// directory entry durable before the registry is touched. It only ever
// writes a file it has just created (createOwn): a regular file of the
// registry's owner or of agentwatch's user already at the journal's name
// (the journal recovery kept for restore) is removed first; anything else
// there (a link planted in a directory another user can write) is a
// *ForeignFileError, and nothing is written.
func writeJournal(j *Journal, next *pyjson.Spliced, perm fs.FileMode, registryOwner int) error {
	var f *os.File
	var err error
	for range 3 {
		if f, err = createOwn(j.Path, perm); !errors.Is(err, fs.ErrExist) {
			break
		}
		fi, lerr := os.Lstat(j.Path)
		if errors.Is(lerr, fs.ErrNotExist) {
			continue
		}
		if lerr != nil {
			return lerr
		}
		if why := foreign(fi, false, registryOwner, os.Geteuid()); why != "" {
			return &ForeignFileError{What: "journal", Path: j.Path, Why: why}
		}
		if rerr := os.Remove(j.Path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return rerr
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return &ForeignFileError{What: "journal", Path: j.Path, Why: "another process keeps creating it"}
	}
	if err != nil {
		return err
	}
	err = writeJournalTo(f, j, next)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(j.Path))
	}
	if err != nil {
		return err
	}
	pause("journal-written")
	return nil
}

// writeJournalTo writes j, with next as its new bytes, into the new file
// f and fsyncs it. The new bytes are written from their parts, where they
// are, not copied into one buffer with the rest.
func writeJournalTo(f *os.File, j *Journal, next *pyjson.Spliced) error {
	header, trailer := journalParts(j, next.Size())
	half := next.Size() / 2
	write := func(_ int, b []byte) error {
		_, err := f.Write(b)
		return err
	}
	_, err := f.Write(header)
	if err == nil {
		err = next.Each(0, half, write)
	}
	if err == nil {
		pause("journal-partial")
		err = next.Each(half, next.Size(), write)
	}
	if err == nil {
		_, err = f.Write(trailer)
	}
	if err == nil {
		err = f.Sync()
	}
	return err
}

func removeJournal(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// recoverJournal finishes or discards the journal an interrupted transaction
// left beside the registry; the caller holds the exclusive lock and f is the
// registry's second descriptor. It decides from what our own write can leave
// behind: writeInPlace first marks the file unparseable (tornMark at offset
// 0), then writes the new bytes from offset 1, truncates, and writes the
// first byte last, so cut short it leaves a marked file (markedTornWrite).
// Agentwatch before the mark wrote the new bytes at offset 0 and then
// truncated, leaving the new bytes' first k followed by the old bytes from
// k on (ourTornWrite). The rules, in order:
//   - a torn journal was never complete, so the registry was never touched:
//     delete it;
//   - the registry's hash is the journal's new one (the write completed) or
//     its old one (it had not begun): delete it;
//   - the registry is provably our interrupted write: marked, or judged
//     against the new bytes and the old ones as backed up before the journal
//     was written: keep the torn bytes as a backup, write the new bytes in
//     place, delete the journal;
//   - anything else was written by another writer after the crash. If it
//     parses, delete the journal and keep the file, never rolling the other
//     writer back. If it does not parse, write nothing and keep the journal:
//     neither the journal's bytes nor the torn ones are known to be right,
//     and restore lets a person choose (a transaction reports a *CorruptError).
//
// Without a backup of the old bytes (pruned, or taken under another state
// directory) an unmarked torn write cannot be proven ours, and the fourth
// rule applies. A registry that does not parse is read again once after
// tornReadRetry before the last two rules are weighed, in case an unlocked
// writer was caught mid-write; beforeRetry, if set, runs just before that
// wait.
//
// It returns what it did (one of the recovered* texts), "" when there was
// no journal.
func (s *Store) recoverJournal(ctx context.Context, f *os.File, canon string, beforeRetry func()) (string, error) {
	jpath := journalPath(canon)
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	raw, err := readOwnJournal(jpath, ownerOf(fi))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	// discard deletes the journal; what is only said once it is gone.
	discard := func(what string) (string, error) {
		if err := removeJournal(jpath); err != nil {
			return "", err
		}
		return what, nil
	}
	j, err := decodeJournal(raw)
	if err != nil {
		return discard(recoveredTorn)
	}
	cur, err := readAll(f)
	if err != nil {
		return "", err
	}
	parses := false
	for retried := false; ; retried = true {
		switch HashBytes(cur) {
		case j.NewHash:
			// The crash may have come before the fsync.
			if err := f.Sync(); err != nil {
				return "", err
			}
			return discard(recoveredDone)
		case j.OldHash:
			return discard(recoveredNotStarted)
		}
		_, perr := pyjson.Parse(cur)
		if parses = perr == nil; parses || retried {
			break
		}
		if beforeRetry != nil {
			beforeRetry()
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(tornReadRetry):
		}
		if cur, err = readAll(f); err != nil {
			return "", err
		}
	}

	old, haveOld, err := s.backupOf(canon, j.OldHash)
	if err != nil {
		return "", fmt.Errorf("read backup of the old bytes: %w", err)
	}
	switch {
	case markedTornWrite(cur), haveOld && ourTornWrite(cur, old, j.Data):
		// Keep even half-written bytes: nothing is ever lost.
		if _, err := s.saveBackup(canon, cur, time.Now()); err != nil {
			return "", fmt.Errorf("back up torn registry: %w", err)
		}
		if _, err := writeInPlace(f, pyjson.SplicedOf(j.Data), 0, func(string) {}, nil); err != nil {
			return "", fmt.Errorf("finish write: %w", err)
		}
		// The write is done even if the journal cannot be removed (the
		// next transaction then finds the new hash), so say so either way.
		return recoveredFinished, removeJournal(jpath)
	case parses:
		return discard(recoveredForeign)
	default:
		return recoveredKept, nil
	}
}

// markedTornWrite reports whether cur is what writeInPlace, cut short, can
// leave: a file that starts with tornMark. Past the mark it holds some of
// the new bytes from offset 1 and then the old ones, in proportions no one
// needs to check: no other writer writes the mark, and no careful writer
// rewrites a file that does not parse, so a marked file beside a journal
// is that journal's interrupted write, provable without a backup of the
// old bytes.
func markedTornWrite(cur []byte) bool {
	return len(cur) > 0 && cur[0] == tornMark
}

// ourTornWrite reports whether cur is what writeInPlace, writing next over
// old and cut short, can leave: next[:k] followed by old[k:] for some
// k <= len(next), where old[k:] is empty once k >= len(old). (k = len(next)
// is the write done but not yet truncated.)
func ourTornWrite(cur, old, next []byte) bool {
	if len(cur) < len(old) || len(cur) > max(len(old), len(next)) {
		return false
	}
	// k can be no more than the length of the prefix cur shares with next.
	k := 0
	for k < len(cur) && k < len(next) && cur[k] == next[k] {
		k++
	}
	if len(cur) > len(old) {
		// Past the old end: all of cur is new bytes.
		return k == len(cur)
	}
	// Same length as old: cur must be old's from some point at or before k.
	from := len(cur)
	for from > 0 && cur[from-1] == old[from-1] {
		from--
	}
	return from <= k
}
