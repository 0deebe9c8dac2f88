// A transaction on a registry: locked, re-derived from the bytes read under
// the lock, backed up, journaled, written in place.

package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"agentwatch/registry/pyjson"
)

// Transform runs one transaction on the registry at path (DESIGN §4):
//  1. take LOCK_EX on the registry itself, polling for up to LockTimeout
//     (then a *LockBusyError naming the holder);
//  2. finish or discard a journal left by an interrupted transaction, or
//     keep it when another writer tore the registry after that crash (see
//     recoverJournal): the registry then does not parse, and step 3's
//     *CorruptError names the kept journal;
//  3. read and parse the bytes under the lock (a registry that does not
//     parse is a *CorruptError) and call t;
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
func (s *Store) Transform(ctx context.Context, path string, t TransformFunc) (*Commit, error) {
	return s.update(ctx, path, txOptions{}, t, nil)
}

// TransformPrepared is Transform with work done before the lock (see
// Prepared): the lock is held that much shorter.
func (s *Store) TransformPrepared(ctx context.Context, path string, p *Prepared, t TransformFunc) (*Commit, error) {
	return s.update(ctx, path, txOptions{prepared: p}, t, nil)
}

// TransformCorrupt is Transform for a registry that may not parse: t sees
// it (its Snapshot has Root nil and ParseErr set) and may replace it, and a
// change it writes journals over a journal kept by step 2. Only restore and
// a forced undo use it; every repair leaves a corrupt registry alone.
func (s *Store) TransformCorrupt(ctx context.Context, path string, t TransformFunc) (*Commit, error) {
	return s.update(ctx, path, txOptions{allowCorrupt: true}, t, nil)
}

// txOptions are the switches of a transaction.
type txOptions struct {
	allowCorrupt bool
	prepared     *Prepared
}

// update is Transform with a seam for tests: beforeRetry runs when journal
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
func (s *Store) update(ctx context.Context, path string, opts txOptions, change TransformFunc, beforeRetry func()) (*Commit, error) {
	canon, err := resolve(path)
	if err != nil {
		return nil, err
	}
	var early *earlyBackup
	var earlyJ *earlyJournal
	aheadHash, aheadHeld := "", 0
	if p := opts.prepared; p == nil || p.Read == nil || p.Read.Root == nil {
		opts.prepared = nil // without the read it was derived from, it is nothing
	} else if p.Next.Size() > 0 {
		aheadHash, aheadHeld = hashSpliced(p.Next), p.Next.PrefixWith(p.Read.Data)
		early = s.backupAhead(canon, p.Read)
		earlyJ = journalAhead(canon, p.Read, p.Next, aheadHash)
		flushAhead(canon)
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
	var next Change
	var newHash string
	var read *Snapshot // what the transform sees under the lock: first the prepared read
	if opts.prepared != nil {
		read = opts.prepared.Read
	}
	for attempt := 1; ; attempt++ {
		var done bool
		cur, next, done, err = s.derive(ctx, h, path, canon, c, opts, read, aheadHash, change)
		read = nil // its Root may have been changed: never shown again
		if err != nil || done {
			return c, err
		}
		// A writer that takes no lock may have rewritten the file while
		// this one held it (a prepared change's transform still asks tmux
		// about ghosts): derive again from what is there now, rather than
		// write over its change. The new bytes are hashed meanwhile.
		hashed := make(chan string, 1)
		go func(ch Change) {
			if ch.prepared != nil {
				hashed <- aheadHash
				return
			}
			hashed <- hashSpliced(ch.next)
		}(next)
		same, rerr := sameContent(h.file, pyjson.SplicedOf(cur.Data))
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
	j := &Journal{Path: journalPath(canon), Registry: canon, OldHash: cur.Hash, NewHash: newHash}
	placed := next.prepared != nil && earlyJ.place(j)
	c.Ahead = placed
	if !placed {
		if err := writeJournal(j, next.next, h.perm, h.owner); err != nil {
			return c, fmt.Errorf("write journal: %w", err)
		}
	}
	held := aheadHeld
	if next.prepared == nil {
		held = next.next.PrefixWith(cur.Data)
	}
	overwritten := false
	from, err := writeInPlace(h.file, next.next, held, pause, func() {
		same, err := sameContent(h.file, next.next)
		overwritten = err == nil && !same
	})
	if err != nil {
		return c, fmt.Errorf("write registry (the next transaction recovers it from the journal): %w", err)
	}
	c.Changed, c.NewHash = true, j.NewHash
	if overwritten || from < held {
		// Someone wrote over this write while the lock was held, or put
		// bytes of its own among it before it was read back.
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

// derive reads the registry under the lock (as read, when its bytes are
// still read's) and asks change for the new bytes. done reports a
// transaction that ends here: nothing to write.
func (s *Store) derive(ctx context.Context, h *lockedFile, path, canon string, c *Commit, opts txOptions, read *Snapshot, aheadHash string, change TransformFunc) (cur *Snapshot, next Change, done bool, err error) {
	cur, err = h.snapshotLike(path, read)
	if err != nil {
		return nil, next, true, fmt.Errorf("read registry: %w", err)
	}
	c.OldHash, c.NewHash = cur.Hash, cur.Hash
	if cur.ParseErr != nil && !opts.allowCorrupt {
		ce := &CorruptError{Path: path, Err: cur.ParseErr}
		if c.Recovered == recoveredKept {
			ce.Journal = journalPath(canon)
		}
		return nil, next, true, fmt.Errorf("update registry: %w", ce)
	}
	if err := ctx.Err(); err != nil {
		return nil, next, true, fmt.Errorf("update registry: %w", err)
	}
	next, err = change(cur)
	if err != nil {
		return nil, next, true, fmt.Errorf("update registry: %w", err)
	}
	if next.prepared != nil {
		if next.prepared != opts.prepared || cur.Hash != opts.prepared.Read.Hash {
			return nil, next, true, errors.New("update registry: the prepared change was derived from other bytes than those under the lock")
		}
		if next.next.Size() == 0 {
			return cur, next, true, nil // it changes nothing
		}
		if aheadHash == cur.Hash {
			return cur, next, true, nil
		}
	} else if next.next == nil || next.next.Equal(cur.Data) {
		return cur, next, true, nil
	}
	if !next.encoded {
		if _, err := pyjson.Parse(next.next.Bytes()); err != nil {
			return nil, next, true, fmt.Errorf("update registry: new content does not parse: %w", err)
		}
	}
	return cur, next, false, nil
}
