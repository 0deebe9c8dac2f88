//go:build !linux

package main

import "syscall"

// sleepAttr puts an extra process in the sleeps' process group (pgid 0:
// its own, for the first). Without Linux's parent-death signal, a scene
// killed without its teardown leaves them to bench/run.sh's trap.
func sleepAttr(pgid int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pgid: pgid}
}
