package procscan

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// orphansComeHere: the test process is a child subreaper, so orphaned
// descendants of its fakes are reparented to it and it reaps them. The
// machine's init may not reap orphans (some container inits do not), and
// the tests must leave no zombies behind.
const orphansComeHere = true

// becomeSubreaper makes the test process the reaper of its orphaned
// descendants.
func becomeSubreaper() {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "prctl(PR_SET_CHILD_SUBREAPER):", err)
	}
}

// childAttr returns the attributes of a fake: killed if the test binary
// dies, and run as uid when it is nonzero.
func childAttr(uid uint32) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if uid != 0 {
		a.Credential = &syscall.Credential{Uid: uid, Gid: uid}
	}
	return a
}
