//go:build !linux

package registry

import (
	"os"
	"os/exec"
)

// testChild is a child run of this test binary; the t.Cleanup of its test
// ends it.
func testChild(args ...string) *exec.Cmd { return exec.Command(os.Args[0], args...) }
