package procscan

import "syscall"

// orphansComeHere: on macOS orphans go to launchd, which reaps them.
const orphansComeHere = false

// becomeSubreaper does nothing on macOS, which has no subreapers.
func becomeSubreaper() {}

// childAttr returns the attributes of a fake: run as uid when it is
// nonzero.
func childAttr(uid uint32) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{}
	if uid != 0 {
		a.Credential = &syscall.Credential{Uid: uid, Gid: uid}
	}
	return a
}
