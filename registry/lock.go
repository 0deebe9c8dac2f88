// Taking a registry's lock: flock on the file itself, with a record lock
// beside it, polled until the timeout; the second descriptor that reads and
// writes it.

package registry

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/gofrs/flock"
)

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
