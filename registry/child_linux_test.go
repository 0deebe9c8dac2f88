package registry

import (
	"os"
	"os/exec"
	"syscall"
)

// testChild is a child run of this test binary that the kernel kills when
// the test process dies, even by a timeout's panic, which runs no cleanup.
func testChild(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}
