//go:build !linux

package registry

import (
	"os"

	"golang.org/x/sys/unix"
)

// recordLock checks that no record lock (fcntl.lockf, F_SETLK) of another
// process conflicts with the flock agentwatch holds: such a writer takes a
// lock flock cannot see. Here it is only detected (a process-wide record
// lock of agentwatch's own would be dropped by any close of the file), so
// agentwatch waits while one is held.
func recordLock(f *os.File, exclusive bool) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: 0, Start: 0, Len: 0}
	if exclusive {
		lk.Type = unix.F_WRLCK
	}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return true, nil // no record locks here: the flock alone counts
	}
	return lk.Type == unix.F_UNLCK, nil
}
