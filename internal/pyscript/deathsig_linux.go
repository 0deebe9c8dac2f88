package pyscript

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the script when the test process dies,
// even by a timeout's panic, which runs no cleanup.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
