package main

import "syscall"

// sleepAttr puts an extra process in the sleeps' process group (pgid 0:
// its own, for the first), and has the kernel kill it should this command
// die without its teardown.
func sleepAttr(pgid int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pgid: pgid, Pdeathsig: syscall.SIGKILL}
}
