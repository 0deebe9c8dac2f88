//go:build !linux

package pyscript

import "os/exec"

// dieWithParent does nothing where the kernel has no death signal: the
// test's cleanup kills the script.
func dieWithParent(*exec.Cmd) {}
