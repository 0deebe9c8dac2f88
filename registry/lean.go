package registry

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"

	"agentwatch/registry/pyjson"
)

// A lean read keeps of a registry only what the analysis reads: the
// fields of the views (Agent, Task, TaskFile.ID and Status) and the
// counters. It copies the file's bytes under the shared lock into an
// anonymous in-memory file, lets go, and reads the copy once, in chunks,
// checking it as Parse would. Each agent and task entry is turned into a
// typed row as it streams past (Rows); the rest it keeps is a small
// document of the top-level fields, its "agents" and "tasks" empty. The
// registry's bytes are never held whole in this process's memory, nor a
// document of its entries: a 200 MB registry costs its rows. The result is
// never encoded or written (repairs read the whole document again, under
// the lock).

// leanRoot is what a lean read keeps of a registry, task or global.
var leanRoot = pyjson.Fields(map[string]*pyjson.Projection{
	"task_id": pyjson.Whole, "status": pyjson.Whole,
	// the counters of both kinds (reconcile's TaskCounters and
	// GlobalCounters)
	"active_count": pyjson.Whole, "total_spawned": pyjson.Whole, "completed_count": pyjson.Whole,
	"active_agents": pyjson.Whole, "total_agents_spawned": pyjson.Whole, "total_tasks": pyjson.Whole, "active_tasks": pyjson.Whole,
	"agents": pyjson.Stream("agents", pyjson.WholeFields("id", "task_id", "type", "parent", "status", "tmux_session", "started_at", "last_update")),
	"tasks":  pyjson.Stream("tasks", pyjson.WholeFields("description", "status", "created_at")),
})

// LeanKeeps reports whether a lean read keeps a top-level field.
func LeanKeeps(field string) bool { return leanRoot.Keeps(field) }

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
	hr := &hashingReader{r: src}
	hr.hash.SetSeed(leanSeed)
	// The window is the file's size for a small registry: most of a
	// workspace's are a few hundred bytes, and a scan reads a dozen.
	chunk := leanChunk
	if fi.Size() < int64(chunk) {
		chunk = int(fi.Size()) + 1
	}
	rows := rowReader{size: fi.Size()}
	root, err := pyjson.ProjectStream(hr, leanRoot, chunk, fi.Size()/64, rows.handle)
	if errors.Is(err, pyjson.ErrNotProjected) || errors.Is(err, pyjson.ErrStreamRepeated) || errors.Is(err, errReadWhole) {
		return s.Read(ctx, path)
	} else if err != nil {
		return nil, fmt.Errorf("read registry: %w", err)
	}
	return &Snapshot{Path: path, Root: root, Rows: rows.finish(root), Hash: leanHash(hr.hash.Sum64(), hr.n), ModTime: fi.ModTime(), Lean: true}, nil
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
var leanChunk = 128 << 10

// hashingReader hashes what it reads and counts it.
type hashingReader struct {
	r    io.Reader
	hash maphash.Hash
	n    int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.hash.Write(p[:n])
	h.n += int64(n)
	return n, err
}
