//go:build linux

package registry

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// recordLock takes, beside the flock, an open-file-description record lock
// on the whole registry (read for shared, write for exclusive). A writer
// that locks with fcntl.lockf (POSIX record locks) rather than flock holds
// a lock flock cannot see: this one conflicts with it, so agentwatch waits
// for such a writer as for any other, and keeps it out while agentwatch
// writes. The lock goes with f's last close. It reports false when a
// record lock of someone else's stands in the way. A file system that has
// no record locks (ENOLCK, EINVAL) leaves the flock alone in charge.
func recordLock(f *os.File, exclusive bool) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: 0, Start: 0, Len: 0}
	if exclusive {
		lk.Type = unix.F_WRLCK
	}
	for {
		err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EACCES):
			return false, nil
		case errors.Is(err, unix.ENOLCK), errors.Is(err, unix.EINVAL), errors.Is(err, unix.EOPNOTSUPP):
			return true, nil
		}
		return false, err
	}
}
