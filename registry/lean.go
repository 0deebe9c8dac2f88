package registry

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"unsafe"
)

// A lean read keeps of a registry only what the analysis reads: the
// fields of the views (Agent, Task, TaskFile.ID and Status) and the
// counters. It copies the file's bytes under the shared lock into an
// anonymous in-memory file, lets go, and reads the copy once, in chunks,
// checking it as Parse would and copying the kept members' source text,
// then parses that text. The registry's bytes are never held whole in
// this process's memory: a 200 MB registry costs its projection, not
// itself. The result is a document like Parse's, less the members it
// leaves out; it is never encoded or written (repairs read the whole
// document again, under the lock).

// projection says what a lean read keeps of a value. A nil projection
// keeps nothing (the value is checked and skipped); whole keeps the value
// as it is. fields keeps those members of an object; each keeps every
// element of an array, or every member of an object keyed by id, each
// through each. A value whose kind the projection does not describe is
// kept whole, so that the views' format errors name it as Parse's would.
type projection struct {
	whole  bool
	fields map[string]*projection
	each   *projection
}

var (
	keepWhole = &projection{whole: true}
	// leanRoot is what a lean read keeps of a registry, task or global.
	leanRoot = &projection{fields: map[string]*projection{
		"task_id": keepWhole, "status": keepWhole,
		// the counters of both kinds (reconcile's TaskCounters and
		// GlobalCounters)
		"active_count": keepWhole, "total_spawned": keepWhole, "completed_count": keepWhole,
		"active_agents": keepWhole, "total_agents_spawned": keepWhole, "total_tasks": keepWhole, "active_tasks": keepWhole,
		"agents": {each: &projection{fields: fieldsOf("id", "task_id", "type", "parent", "status", "tmux_session", "started_at", "last_update")}},
		"tasks":  {each: &projection{fields: fieldsOf("description", "status", "created_at")}},
	}}
)

func fieldsOf(names ...string) map[string]*projection {
	m := make(map[string]*projection, len(names))
	for _, n := range names {
		m[n] = keepWhole
	}
	return m
}

// LeanKeeps reports whether a lean read keeps a top-level field.
func LeanKeeps(field string) bool { return leanRoot.fields[field] != nil }

// ReadLean reads the registry as Read does, but keeps only what the
// analysis reads (see projection): the Snapshot's Root is that projection,
// Lean is set, and Data is nil. Its Hash is the whole file's, but not
// Read's SHA-256 (see leanHash): it compares with other lean reads only. A
// registry the lean pass cannot take — it does not parse, or parses only
// after a torn write's retry — is read by Read, which says why.
func (s *Store) ReadLean(ctx context.Context, path string) (*Snapshot, error) {
	canon, err := resolve(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(journalPath(canon)); err == nil {
		return s.Read(ctx, path) // recovery first, as Read does it
	}
	h, _, err := openLocked(ctx, path, canon, false, orDefault(s.ReadTimeout, defaultReadTimeout))
	if err != nil {
		return nil, err
	}
	fi, err := h.file.Stat()
	if err != nil {
		h.close()
		return nil, fmt.Errorf("read registry: %w", err)
	}
	// The bytes are copied out under the lock, and scanned once it is let
	// go: the orchestrator's writers wait for a read, not for the scan.
	// Where there is nothing to copy them into, they are scanned under
	// the lock, as they are read.
	src := h.file
	if c, err := copyOut(h.file); err == nil {
		h.close()
		src = c
		defer c.Close()
		pause("read-scan")
	} else if !errors.Is(err, errors.ErrUnsupported) {
		h.close()
		return nil, fmt.Errorf("read registry: %w", err)
	} else {
		defer h.close()
	}
	l := leanScanner{f: src, buf: make([]byte, leanChunk)}
	l.hash.SetSeed(leanSeed)
	l.p.quiet = true
	// Room for most of the projection from the start (it keeps a tenth to
	// a half of a registry): fewer copies as it grows.
	l.out = make([]byte, 0, fi.Size()/8+64)
	text, scanErr := l.document()
	if scanErr != nil {
		var ioErr *leanIOError
		if errors.As(scanErr, &ioErr) {
			return nil, fmt.Errorf("read registry: %w", ioErr.err)
		}
		return s.Read(ctx, path)
	}
	pause("read-parse")
	root, err := parseShared(text)
	if err != nil {
		return s.Read(ctx, path)
	}
	return &Snapshot{Path: path, Root: root, Hash: leanHash(l.hash.Sum64(), l.off), ModTime: fi.ModTime(), Lean: true}, nil
}

// leanSeed seeds the hashes of lean reads: the same for every read of this
// process, so that two reads of the same bytes have the same hash.
var leanSeed = maphash.MakeSeed()

// leanHash is a lean read's Hash: the bytes' maphash and length. It tells
// whether two lean reads of this process read the same bytes, as a scan
// that keeps its previous report asks; it is never a SHA-256, so it never
// equals the hash of a Read, a backup or a journal.
func leanHash(sum uint64, size int64) string {
	return fmt.Sprintf("lean:%016x:%d", sum, size)
}

// leanChunk is how much a lean read reads at a time (tests make it small).
var leanChunk = 1 << 20

// leanIOError is a read that failed, as opposed to bytes that do not parse.
type leanIOError struct{ err error }

func (e *leanIOError) Error() string { return e.err.Error() }

var errLean = errors.New("not a document the lean read takes")

func isPlainBytes(b []byte) bool { return isPlain(unsafe.String(unsafe.SliceData(b), len(b))) }
