//go:build linux

package registry

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// lockHolder names the process holding a lock on the file at path, from
// /proc/locks, and its command name from /proc/PID/comm. It returns 0 when
// no holder is listed (it may have let go in the meantime).
func lockHolder(path string) (pid int, comm string) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, ""
	}
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0, ""
	}
	pid = holderInLocks(locks, unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), uint64(st.Ino))
	if pid == 0 {
		return 0, ""
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil {
		comm = strings.TrimSpace(string(b))
	}
	return pid, comm
}

// holderInLocks finds the holder of a lock on one inode in the text of
// /proc/locks, whose lines read
//
//	1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF
//	1: -> FLOCK  ADVISORY  WRITE 4243 fd:01:1234567 0 EOF
//
// (device major and minor in hex, inode in decimal). "->" lines are
// processes waiting for the lock, not holding it, and are skipped. A flock
// holder (the kind Python's fcntl.flock takes, and ours) is preferred to a
// POSIX or OFD one; OFD locks list PID -1, which names nobody.
func holderInLocks(locks []byte, major, minor uint32, ino uint64) int {
	other := 0
	sc := bufio.NewScanner(bytes.NewReader(locks))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[1] == "->" {
			continue
		}
		dev := strings.Split(f[5], ":")
		if len(dev) != 3 {
			continue
		}
		maj, err1 := strconv.ParseUint(dev[0], 16, 32)
		min, err2 := strconv.ParseUint(dev[1], 16, 32)
		in, err3 := strconv.ParseUint(dev[2], 10, 64)
		pid, err4 := strconv.Atoi(f[4])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || pid <= 0 {
			continue
		}
		if uint32(maj) != major || uint32(min) != minor || in != ino {
			continue
		}
		if f[1] == "FLOCK" {
			return pid
		}
		if other == 0 {
			other = pid
		}
	}
	return other
}
