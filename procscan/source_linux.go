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
//
// A scan costs a process seen before one read of its stat; a new process
// its uid (a pidfd query, see uid), its cmdline and its stat, about what
// ps(1) reads. Its environment, which costs more than the rest together,
// only on request (environ).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/shirou/gopsutil/v4/host"
	"golang.org/x/sys/unix"
)

// procSource reads /proc.
type procSource struct {
	// buf, path and dents are reused for every read; scans are serialised.
	buf, path, dents []byte
	pageSize         uint64
	ttys             map[uint64]string // terminal names by device number
	// helpers read parts of a big table beside this source, each with
	// buffers of its own.
	helpers []*procSource
}

// parallelFrom is the table size from which a read is shared among the
// processors: below it, starting the helpers costs more than they save. A
// variable, so that tests can share any table.
var parallelFrom = 512

func newSystemSource() source {
	return &procSource{buf: make([]byte, 4096), path: make([]byte, 0, 32), dents: make([]byte, 32<<10),
		pageSize: uint64(os.Getpagesize()), ttys: map[uint64]string{}}
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

func (s *procSource) read(ctx context.Context, known held, owners bool) ([]record, error) {
	boot, err := bootTime(ctx)
	if err != nil {
		return nil, err
	}
	since := bootTicks()
	pids, err := s.list()
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	workers := min(runtime.GOMAXPROCS(0), 4, len(pids)/(parallelFrom/2))
	if workers < 2 {
		return s.readPIDs(ctx, pids, known, owners, boot, since)
	}
	// Each reads a run of the PIDs; their records are put together in
	// /proc's order. A worker that finds its part done early does not
	// take another's: the parts are even, and the kernel's time per
	// process is too.
	for len(s.helpers) < workers-1 {
		s.helpers = append(s.helpers, newSystemSource().(*procSource))
	}
	parts := make([][]record, workers)
	errs := make([]error, workers)
	per := (len(pids) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		src := s
		if w > 0 {
			src = s.helpers[w-1]
		}
		part := pids[min(w*per, len(pids)):min((w+1)*per, len(pids))]
		wg.Go(func() { parts[w], errs[w] = src.readPIDs(ctx, part, known, owners, boot, since) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	out := make([]record, 0, len(pids))
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}

// readPIDs reads the processes pids name, in their order.
func (s *procSource) readPIDs(ctx context.Context, pids []int32, known held, owners bool, boot, since uint64) ([]record, error) {
	out := make([]record, 0, len(pids))
	for i, pid := range pids {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var prior *procStat
		if start, comm, ok := known(pid); ok {
			st, err := s.stat(pid)
			if err != nil {
				if errors.Is(err, errVanished) || skippable(err) {
					continue
				}
				return nil, fmt.Errorf("read /proc: %w", err)
			}
			if startMillis(st.start, boot) == start && st.comm == comm {
				out = append(out, record{sample: s.sampleOf(&st, boot)})
				continue
			}
			prior = &st
		}
		st, d, err := s.fresh(pid, since, prior, owners)
		switch {
		case err == nil:
		case errors.Is(err, errVanished), skippable(err):
			continue
		default:
			return nil, fmt.Errorf("read /proc: %w", err)
		}
		out = append(out, record{sample: s.sampleOf(&st, boot), details: d, fresh: true})
	}
	return out, nil
}

// fresh reads a process's details (its owner only with owners), then its
// stat. The stat read last tells
// whether the details belong to the process it describes: they do when
// that process held the PID since before they were read, as it did when it
// was born before the scan began (since, in clock ticks since boot) or
// when a stat read before them (prior) saw it already. A process too young
// for either is read again, with the stat just read as prior.
func (s *procSource) fresh(pid int32, since uint64, prior *procStat, owners bool) (procStat, details, error) {
	for range 3 {
		d := details{OwnerUnknown: true}
		// What cannot be read stays empty; the stat read says whether the
		// process is gone.
		if owners {
			uid, err := s.uid(pid)
			d.UID, d.OwnerUnknown = uid, err != nil
		}
		if b, err := s.readProc(pid, "cmdline"); err == nil {
			d.Argv = splitNUL(b)
		}
		st, err := s.stat(pid)
		if err != nil {
			return procStat{}, details{}, err
		}
		if st.start+1 < since || (prior != nil && prior.start == st.start) {
			return st, d, nil
		}
		prior = &st
	}
	return procStat{}, details{}, errVanished
}

// environ reads the tmux variables of a process's environment, then its
// stat: the scan saw pid started at start before, and if it still does, the
// same process held pid in between, when its environment was read.
func (s *procSource) environ(ctx context.Context, pid int32, start int64) (envVars, error) {
	boot, err := bootTime(ctx)
	if err != nil {
		return envVars{}, err
	}
	var env envVars
	// environ is readable only by the process's owner (and root); it is
	// the environment the process was started with, fixed until it execs.
	if b, err := s.readProc(pid, "environ"); err == nil {
		env.Readable = true
		env.TMUX, env.TMUXPane = environTMUX(b)
	}
	st, err := s.stat(pid)
	switch {
	case errors.Is(err, errVanished), err != nil && skippable(err):
		return envVars{}, errVanished
	case err != nil:
		return envVars{}, fmt.Errorf("read /proc: %w", err)
	}
	if startMillis(st.start, boot) != start {
		return envVars{}, errVanished
	}
	return env, nil
}

// sampleOf makes a sample of a stat read.
func (s *procSource) sampleOf(st *procStat, boot uint64) sample {
	tty, ok := s.ttys[st.ttyNr]
	if !ok {
		tty = ttyName(st.ttyNr)
		s.ttys[st.ttyNr] = tty
	}
	return sample{
		PID: st.pid, PPID: st.ppid, PGID: st.pgrp, SID: st.session,
		Comm:       st.comm,
		Start:      startMillis(st.start, boot),
		TTY:        tty,
		State:      string(st.state),
		RSS:        st.rssPages * s.pageSize,
		CPUSeconds: float64(st.utime+st.stime) / float64(clockTicks()),
	}
}

// stat reads and parses /proc/PID/stat.
func (s *procSource) stat(pid int32) (procStat, error) {
	b, err := s.readProc(pid, "stat")
	if err != nil {
		return procStat{}, err
	}
	st, err := parseStat(b)
	if err != nil || st.pid != pid {
		return procStat{}, errVanished
	}
	return st, nil
}

// uid reads the effective uid of the process pid names: through a pidfd
// where the kernel tells credentials that way (Linux 6.13), a fixed-size
// answer, else from /proc/PID/status, a page of text.
func (s *procSource) uid(pid int32) (uint32, error) {
	if pidfdCreds() {
		return pidfdUID(pid)
	}
	b, err := s.readProc(pid, "status")
	if err != nil {
		return 0, err
	}
	return parseUID(b), nil
}

// pidfdCreds tells whether PIDFD_GET_INFO gives credentials here, and
// whether /proc numbers processes as pidfd_open does (a /proc of another
// PID namespace names other processes by the same numbers). A variable, so
// that tests can take the other way.
var pidfdCreds = sync.OnceValue(func() bool {
	if self, err := os.Readlink("/proc/self"); err != nil || self != strconv.Itoa(os.Getpid()) {
		return false
	}
	_, err := pidfdUID(int32(os.Getpid()))
	return err == nil
})

// pidfdUID asks the kernel for the effective uid of the process pid names.
func pidfdUID(pid int32) (uint32, error) {
	fd, err := unix.PidfdOpen(int(pid), 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_CREDS}
	if err := unix.IoctlPidfdInfo(fd, &info); err != nil {
		return 0, err
	}
	if info.Mask&unix.PIDFD_INFO_CREDS == 0 {
		return 0, unix.ENOTSUP
	}
	return info.Euid, nil
}

// readProc reads /proc/PID/name into the source's buffer.
func (s *procSource) readProc(pid int32, name string) ([]byte, error) {
	s.path = append(strconv.AppendInt(append(s.path[:0], "/proc/"...), int64(pid), 10), '/')
	s.path = append(s.path, name...)
	return readFile(string(s.path), &s.buf)
}

// list returns the PIDs /proc lists, in its order.
func (s *procSource) list() ([]int32, error) {
	fd, err := unix.Open("/proc", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var pids []int32
	for {
		n, err := unix.Getdents(fd, s.dents)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return pids, nil
		}
		pids = appendPIDs(pids, s.dents[:n])
	}
}

// bootTicks returns the time since boot in clock ticks, the unit of a
// start time in /proc/PID/stat, or 0 (no process born before it) when the
// clock cannot be read.
func bootTicks() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return uint64(ts.Nano()) / (1_000_000_000 / clockTicks())
}

// skippable tells whether a failed read of a process's stat just means the
// scan cannot see it: it exited since the directory was listed, or /proc
// hides it from this user (mounted with hidepid).
func skippable(err error) bool {
	return gone(err) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)
}

// gone tells whether a /proc read failed because the process is gone.
func gone(err error) bool { return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) }

// readFile reads a whole /proc file into *buf, growing it as needed, and
// returns the bytes read. The files it reads (stat, status, cmdline,
// environ) fill the buffer as far as they go in one read: a short read is
// the end, which saves the read that would return 0.
func readFile(path string, buf *[]byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
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
		n += m
		if n < len(b) {
			return b[:n], nil
		}
	}
}
