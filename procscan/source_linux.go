//go:build linux

package procscan

// On Linux the table is read from /proc directly rather than through
// gopsutil's Process. gopsutil re-reads and re-parses /proc/PID/stat in each
// getter (Ppid, CreateTime, Times, Terminal), its Terminal also globs /dev
// on every call, Status reads /proc/PID/status, and NewProcess checks the
// PID exists first: some eight file reads per process per scan, where one
// read of /proc/PID/stat carries every field that changes during a
// process's life. gopsutil still provides the boot time (cached, see
// bootTime), and start times are computed with its formula, so Proc.Start
// equals what gopsutil's CreateTime returns.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/shirou/gopsutil/v4/host"
	"golang.org/x/sys/unix"
)

// procSource reads /proc.
type procSource struct {
	buf      []byte // reused for every read; scans are serialised
	pageSize uint64
}

func newSystemSource() source {
	return &procSource{buf: make([]byte, 4096), pageSize: uint64(os.Getpagesize())}
}

var enableBootTimeCache sync.Once

// bootTime returns the boot time in seconds since the epoch. gopsutil
// caches it once asked to: uncached, inside a container it derives the boot
// time from /proc/uptime and the clock, so it can move by a second between
// two calls, and with it every process's start time.
func bootTime(ctx context.Context) (uint64, error) {
	enableBootTimeCache.Do(func() { host.EnableBootTimeCache(true) })
	bt, err := host.BootTimeWithContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("read boot time: %w", err)
	}
	return bt, nil
}

// clockTicks is the unit of the times in /proc/PID/stat (USER_HZ), which the
// kernel passes to every program in its auxiliary vector.
var clockTicks = sync.OnceValue(func() uint64 {
	const atClkTck = 17 // AT_CLKTCK in <elf.h>
	if auxv, err := unix.Auxv(); err == nil {
		for _, kv := range auxv {
			if kv[0] == atClkTck && kv[1] > 0 {
				return uint64(kv[1])
			}
		}
	}
	return 100
})

// startMillis converts a start time in clock ticks since boot to
// milliseconds since the epoch, exactly as gopsutil v4 does.
func startMillis(ticks, boot uint64) int64 {
	return int64(ticks*1000/clockTicks() + boot*1000)
}

func (s *procSource) samples(ctx context.Context) ([]sample, error) {
	boot, err := bootTime(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return nil, err
	}
	out := make([]sample, 0, len(names))
	path := make([]byte, 0, 32)
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		path = append(append(append(path[:0], "/proc/"...), name...), "/stat"...)
		b, err := readFile(-1, string(path), &s.buf)
		switch {
		case err == nil:
		case gone(err), errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
			// Exited since the directory was listed, or hidden from this
			// user (/proc mounted with hidepid).
			continue
		default:
			return nil, fmt.Errorf("read /proc: %w", err)
		}
		st, err := parseStat(b)
		if err != nil {
			continue
		}
		out = append(out, sample{
			PID: st.pid, PPID: st.ppid, PGID: st.pgrp, SID: st.session,
			Comm:       st.comm,
			Start:      startMillis(st.start, boot),
			TTY:        ttyName(st.ttyNr),
			State:      string(st.state),
			RSS:        st.rssPages * s.pageSize,
			CPUSeconds: float64(st.utime+st.stime) / float64(clockTicks()),
		})
	}
	return out, nil
}

// details reads the fixed fields through a descriptor of the /proc/PID
// directory. That descriptor stays bound to the process it was opened for:
// once that process is gone, reads through it fail even if the PID has
// been reused. So checking the start time through it once proves that
// everything else read through it belongs to the same process.
func (s *procSource) details(ctx context.Context, pid int32, start int64) (details, error) {
	boot, err := bootTime(ctx)
	if err != nil {
		return details{}, err
	}
	dfd, err := unix.Open("/proc/"+strconv.Itoa(int(pid)), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return details{}, vanishedOr(err)
	}
	defer unix.Close(dfd)

	b, err := readFile(dfd, "stat", &s.buf)
	if err != nil {
		return details{}, vanishedOr(err)
	}
	st, err := parseStat(b)
	if err != nil || startMillis(st.start, boot) != start {
		return details{}, errVanished
	}

	// A read that fails with ENOENT or ESRCH may mean the process is gone,
	// or only that it has no memory to read (a kernel thread, a zombie):
	// stat, read again through the same descriptor, tells which.
	var d details
	failed := false
	if b, err := readFile(dfd, "status", &s.buf); err == nil {
		d.UID = parseUID(b)
	} else {
		failed = failed || gone(err)
	}
	if b, err := readFile(dfd, "cmdline", &s.buf); err == nil {
		d.Argv = splitNUL(b)
	} else {
		failed = failed || gone(err)
	}
	// environ is readable only by the process's owner (and root); it is the
	// environment the process was started with, fixed until it execs.
	if b, err := readFile(dfd, "environ", &s.buf); err == nil {
		d.EnvReadable = true
		d.TMUX, d.TMUXPane = environTMUX(b)
	} else {
		failed = failed || gone(err)
	}
	if failed {
		if _, err := readFile(dfd, "stat", &s.buf); err != nil {
			return details{}, vanishedOr(err)
		}
	}
	return d, nil
}

// gone tells whether a /proc read failed because the process is gone.
func gone(err error) bool { return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) }

// vanishedOr maps "the process is gone" to errVanished and wraps anything
// else (running out of descriptors must not silently empty the table).
func vanishedOr(err error) error {
	if gone(err) {
		return errVanished
	}
	return fmt.Errorf("read /proc: %w", err)
}

// readFile reads a whole /proc file into *buf, growing it as needed, and
// returns the bytes read. With dirfd -1 the name is a full path; otherwise
// it is opened relative to the directory dirfd.
func readFile(dirfd int, name string, buf *[]byte) ([]byte, error) {
	if dirfd < 0 {
		dirfd = unix.AT_FDCWD
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	// The kernel writes all of stat or status in one read when the buffer
	// has room (they are single seq_files): a short read is the end, which
	// saves the read that would return 0.
	base := name[strings.LastIndexByte(name, '/')+1:]
	oneShot := base == "stat" || base == "status"
	b := *buf
	n := 0
	for {
		if n == len(b) {
			b = append(b, make([]byte, len(b))...)
			*buf = b
		}
		m, err := unix.Read(fd, b[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return b[:n], nil
		}
		n += m
		if oneShot && n < len(b) {
			return b[:n], nil
		}
	}
}

// probe reads the state of the process pid now has, for Kill and Alive. It
// returns errNoProcess when there is none.
func probe(ctx context.Context, pid int32) (procState, error) {
	boot, err := bootTime(ctx)
	if err != nil {
		return procState{}, err
	}
	buf := make([]byte, 512)
	b, err := readFile(-1, "/proc/"+strconv.Itoa(int(pid))+"/stat", &buf)
	if err != nil {
		if gone(err) {
			return procState{}, errNoProcess
		}
		return procState{}, err
	}
	st, err := parseStat(b)
	if err != nil {
		return procState{}, err
	}
	return procState{PPID: st.ppid, Start: startMillis(st.start, boot), State: string(st.state)}, nil
}

// owner returns the effective uid of the process pid now has.
func owner(pid int32) (uint32, error) {
	buf := make([]byte, 2048)
	b, err := readFile(-1, "/proc/"+strconv.Itoa(int(pid))+"/status", &buf)
	if err != nil {
		if gone(err) {
			return 0, errNoProcess
		}
		return 0, err
	}
	return parseUID(b), nil
}

// handle is a target of Kill. On Linux it holds a pidfd, which stays bound
// to the process that had the PID when it was opened: a signal sent
// through it can never reach a process that reused the PID later, even in
// the instant between the identity check and the signal.
type handle struct {
	pid int32
	fd  int // -1 where pidfd_open is not available (before Linux 5.3, or filtered)
}

// openHandle opens a handle on the process pid has now. Kill opens it
// before it checks the identity, so a check that passes proves the handle
// is bound to the target. It returns errNoProcess when there is none.
func openHandle(pid int32) (*handle, error) {
	fd, err := unix.PidfdOpen(int(pid), 0)
	switch {
	case err == nil:
		return &handle{pid: pid, fd: fd}, nil
	case errors.Is(err, unix.ESRCH):
		return nil, errNoProcess
	default:
		return &handle{pid: pid, fd: -1}, nil
	}
}

// signal sends sig to the handle's process.
func (h *handle) signal(sig unix.Signal) error {
	if h.fd >= 0 {
		return unix.PidfdSendSignal(h.fd, sig, nil, 0)
	}
	return unix.Kill(int(h.pid), sig)
}

// close releases the handle.
func (h *handle) close() {
	if h.fd >= 0 {
		unix.Close(h.fd)
		h.fd = -1
	}
}

// environTMUX is tmuxVars over the contents of /proc/PID/environ, without
// making a string of every variable: a first scan reads the environment of
// every process on the machine.
func environTMUX(b []byte) (tmux, pane string) {
	for len(b) > 0 {
		var kv []byte
		kv, b, _ = bytes.Cut(b, []byte{0})
		switch {
		case len(kv) > len("TMUX=") && string(kv[:len("TMUX=")]) == "TMUX=":
			tmux = string(kv[len("TMUX="):])
		case len(kv) > len("TMUX_PANE=") && string(kv[:len("TMUX_PANE=")]) == "TMUX_PANE=":
			pane = string(kv[len("TMUX_PANE="):])
		}
	}
	return tmux, pane
}
