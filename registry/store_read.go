// Reading a registry: a leftover journal recovered first, the shared lock
// held only while the bytes are read, the parse after it.

package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"agentwatch/registry/pyjson"
)

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

// ReadForEdit is Read for a change derived from the read: its Root is
// pyjson.ParseForEdit's, for one goroutine to edit and encode with
// pyjson.EncodeSpliced, at a fraction of a full parse's memory.
func (s *Store) ReadForEdit(ctx context.Context, path string) (*Snapshot, error) {
	return s.readParsed(ctx, path, nil, pyjson.ParseForEdit)
}

// read is Read with a seam for tests: beforeRetry runs between the first
// parse failure and the second read.
func (s *Store) read(ctx context.Context, path string, beforeRetry func()) (*Snapshot, error) {
	return s.readParsed(ctx, path, beforeRetry, pyjson.ParseShared)
}

// readParsed is read with the bytes parsed by parse.
func (s *Store) readParsed(ctx context.Context, path string, beforeRetry func(), parse func([]byte) (*pyjson.Value, error)) (*Snapshot, error) {
	canon, err := resolve(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(journalPath(canon)); err == nil {
		if err := s.recoverFirst(ctx, path, canon); err != nil {
			return nil, fmt.Errorf("read registry: %w", err)
		}
	}
	snap, err := s.readShared(ctx, path, canon, parse)
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
		if snap, err = s.readShared(ctx, path, canon, parse); err != nil {
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
func (s *Store) readShared(ctx context.Context, path, canon string, parse func([]byte) (*pyjson.Value, error)) (*Snapshot, error) {
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
	return newSnapshotParsed(path, data, fi.ModTime(), parse), nil
}
