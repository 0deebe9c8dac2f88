//go:build !linux

package registry

// lockHolder cannot name the holder of a lock here: only Linux lists locks
// with their PIDs (/proc/locks). A *LockBusyError then says "holder unknown".
func lockHolder(path string) (pid int, comm string) { return 0, "" }
