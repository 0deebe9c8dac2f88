package engine

import (
	"context"
	"os"
	"sync"
	"time"

	"agentwatch/registry"
)

// racyWindow is how long a registry must have been left alone before its
// cached read is trusted: far longer than the granularity of any file
// system's modification times.
const racyWindow = time.Second

// readCache keeps the last good read of each registry and serves it again
// while the file is unchanged: a 10,000-agent task registry is some 20 MB
// to read, hash and parse, and the TUI scans every second or two.
//
// A file is unchanged when it is the same file (device and inode) with the
// same size and modification time as when it was read, and that
// modification time was more than racyWindow older than the read's start.
// The last condition is git's rule for "racily clean" files: a write that
// lands during or after the read stamps a modification time no earlier
// than the read's start less the clock's granularity, so it cannot leave
// the time the file had; a file written just before the read is read again
// on every scan until it has been quiet for racyWindow. The orchestrator
// rewrites registries in place, which always moves the modification time.
//
// A file whose lock is held exclusively is read as before (and a busy lock
// reported as before), not served from the cache: a registry stuck under a
// writer's lock is worth a badge even when its bytes are old.
//
// A cached document is shared by the snapshots that read it: no one may
// modify a snapshot's Root (repairs parse their own copy under the lock).
type readCache struct {
	mu      sync.Mutex
	entries map[string]cachedRead
}

type cachedRead struct {
	info  os.FileInfo
	start time.Time
	snap  *registry.Snapshot
}

func newReadCache() *readCache { return &readCache{entries: map[string]cachedRead{}} }

// read returns the registry's snapshot: the cached one when the file is
// unchanged, else a fresh store.Read, cached when it parsed.
// With lean, a fresh read is store.ReadLean.
func (c *readCache) read(ctx context.Context, store *registry.Store, path string, lean bool) (*registry.Snapshot, error) {
	info, statErr := os.Stat(path)
	c.mu.Lock()
	e, ok := c.entries[path]
	c.mu.Unlock()
	if statErr == nil && ok && (lean || !e.snap.Lean) && e.unchanged(info) && !registry.LockedExclusive(path) {
		return e.snap, nil
	}
	start := time.Now()
	read := store.Read
	if lean {
		read = store.ReadLean
	}
	s, err := read(ctx, path)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || s == nil || s.Root == nil || statErr != nil {
		delete(c.entries, path)
		return s, err
	}
	kept := *s
	kept.Data = nil // the document is all a scan needs; the bytes can go
	c.entries[path] = cachedRead{info: info, start: start, snap: &kept}
	return &kept, nil
}

func (e cachedRead) unchanged(info os.FileInfo) bool {
	return os.SameFile(e.info, info) && e.info.Size() == info.Size() && e.info.ModTime().Equal(info.ModTime()) &&
		e.info.ModTime().Before(e.start.Add(-racyWindow))
}
