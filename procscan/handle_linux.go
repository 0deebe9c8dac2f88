package procscan

import (
	"context"
	"errors"
	"strconv"

	"golang.org/x/sys/unix"
)

// One process, as Kill and the guard ask about it: its state now, its
// owner, and a handle that signals the process it was opened on.

// probe reads the state of the process pid now has, for Kill and Alive. It
// returns errNoProcess when there is none.
func probe(ctx context.Context, pid int32) (procState, error) {
	boot, err := bootTime(ctx)
	if err != nil {
		return procState{}, err
	}
	buf := make([]byte, 512)
	b, err := readFile("/proc/"+strconv.Itoa(int(pid))+"/stat", &buf)
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
	b, err := readFile("/proc/"+strconv.Itoa(int(pid))+"/status", &buf)
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
