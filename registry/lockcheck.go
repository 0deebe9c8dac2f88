package registry

import (
	"os"

	"golang.org/x/sys/unix"
)

// LockedExclusive reports whether another process holds the registry at
// path exclusively — by flock, or by a record lock (fcntl.lockf) — so that
// a shared lock cannot be had at once. It never waits. A file that cannot
// be opened counts as locked: the real read then says what is wrong.
func LockedExclusive(path string) bool {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return true
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return true
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	free, err := recordLock(f, false)
	return err != nil || !free
}
