//go:build darwin

package procscan

// On macOS one sysctl (kern.proc.all) returns every process's kinfo_proc:
// PID, parent, process group, uid, comm, start time, state and terminal.
// gopsutil's Pids makes the same call, but its Process then asks the kernel
// again for every field of every process (and its Status forks ps(1) once
// per process), so the table comes from that one call, and gopsutil reads
// only what kinfo_proc lacks: argv and environment (kern.procargs2), RSS and
// CPU time (proc_pidinfo, which it calls through purego: no cgo). Start
// times are computed as gopsutil's CreateTime computes them.

import (
	"context"
	"errors"
	"fmt"

	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"
)

// kinfoSource reads the kernel's process list.
type kinfoSource struct{}

func newSystemSource() source { return kinfoSource{} }

func (src kinfoSource) read(ctx context.Context, known held, _ bool) ([]record, error) {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, err
	}
	out := make([]record, 0, len(kps))
	for i := range kps {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		k := &kps[i]
		pid := k.Proc.P_pid
		r := record{sample: sample{
			PID: pid, PPID: k.Eproc.Ppid, PGID: k.Eproc.Pgid,
			Comm:  unix.ByteSliceToString(k.Proc.P_comm[:]),
			Start: kinfoStart(k),
			TTY:   ttyName(k.Eproc.Tdev),
			State: stateLetter(k.Proc.P_stat),
		}}
		if pid > 0 { // getsid(0) would name the calling process
			if sid, err := unix.Getsid(int(pid)); err == nil {
				r.SID = int32(sid)
			}
		}
		if r.State != "Z" && pid > 0 {
			gp := &process.Process{Pid: pid}
			if mem, err := gp.MemoryInfoWithContext(ctx); err == nil {
				r.RSS = mem.RSS
			}
			if t, err := gp.TimesWithContext(ctx); err == nil {
				r.CPUSeconds = t.User + t.System
			}
		}
		if start, comm, ok := known(pid); !ok || start != r.Start || comm != r.Comm {
			d, err := src.details(ctx, pid, r.Start)
			if errors.Is(err, errVanished) {
				continue
			}
			if err != nil {
				return nil, err
			}
			r.details, r.fresh = d, true
		}
		out = append(out, r)
	}
	return out, nil
}

// details reads argv between two checks of the start time: if both find
// the same start time, the PID named the same process throughout, so what
// was read belongs to it.
func (kinfoSource) details(ctx context.Context, pid int32, start int64) (details, error) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", int(pid))
	if err != nil || kinfoStart(k) != start {
		return details{}, errVanished
	}
	d := details{UID: k.Eproc.Ucred.Uid}
	gp := &process.Process{Pid: pid}
	if argv, err := gp.CmdlineSliceWithContext(ctx); err == nil {
		d.Argv = argv
	}
	k, err = unix.SysctlKinfoProc("kern.proc.pid", int(pid))
	if err != nil || kinfoStart(k) != start {
		return details{}, errVanished
	}
	return d, nil
}

// environ reads the environment's tmux variables after a check of the
// start time, which the scan saw before: the PID named the same process
// throughout.
func (kinfoSource) environ(ctx context.Context, pid int32, start int64) (envVars, error) {
	var env envVars
	gp := &process.Process{Pid: pid}
	if vars, err := gp.EnvironWithContext(ctx); err == nil {
		env.Readable = true
		env.TMUX, env.TMUXPane = tmuxVars(vars)
	}
	k, err := unix.SysctlKinfoProc("kern.proc.pid", int(pid))
	if err != nil || kinfoStart(k) != start {
		return envVars{}, errVanished
	}
	return env, nil
}

// kinfoStart returns the start time in milliseconds since the epoch, as
// gopsutil v4 computes it.
func kinfoStart(k *unix.KinfoProc) int64 {
	return k.Proc.P_starttime.Sec*1000 + int64(k.Proc.P_starttime.Usec)/1000
}

// stateLetter maps p_stat (<sys/proc.h>) to a ps(1) letter.
func stateLetter(stat int8) string {
	switch stat {
	case 1: // SIDL, being created
		return "I"
	case 2: // SRUN
		return "R"
	case 3: // SSLEEP
		return "S"
	case 4: // SSTOP
		return "T"
	case 5: // SZOMB
		return "Z"
	}
	return "?"
}

// ttyName names a terminal from its device number: the pseudo-terminals
// (major 16) as ttysNNN, anything else as "major:minor".
func ttyName(dev int32) string {
	if dev == -1 { // NODEV
		return ""
	}
	d := uint64(uint32(dev))
	maj, mnr := unix.Major(d), unix.Minor(d)
	switch {
	case maj == 16:
		return fmt.Sprintf("ttys%03d", mnr)
	case maj == 0 && mnr == 0:
		return "console"
	}
	return fmt.Sprintf("%d:%d", maj, mnr)
}

// kinfo returns pid's kinfo_proc, or errNoProcess.
func kinfo(pid int32) (*unix.KinfoProc, error) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", int(pid))
	if errors.Is(err, unix.EIO) || errors.Is(err, unix.ESRCH) {
		// The sysctl returns no record (EIO here) for a PID no process has.
		return nil, errNoProcess
	}
	return k, err
}

// probe reads the state of the process pid now has, for Kill and Alive. It
// returns errNoProcess when there is none.
func probe(_ context.Context, pid int32) (procState, error) {
	k, err := kinfo(pid)
	if err != nil {
		return procState{}, err
	}
	return procState{PPID: k.Eproc.Ppid, Start: kinfoStart(k), State: stateLetter(k.Proc.P_stat)}, nil
}

// owner returns the effective uid of the process pid now has.
func owner(pid int32) (uint32, error) {
	k, err := kinfo(pid)
	if err != nil {
		return 0, err
	}
	return k.Eproc.Ucred.Uid, nil
}

// handle is a target of Kill. macOS has no pidfd: a signal goes by PID
// right after the identity check, which leaves a window of microseconds in
// which the PID would have to be freed and reused.
type handle struct{ pid int32 }

// openHandle opens a handle on the process pid has now, or returns
// errNoProcess.
func openHandle(pid int32) (*handle, error) {
	if err := unix.Kill(int(pid), 0); errors.Is(err, unix.ESRCH) {
		return nil, errNoProcess
	}
	return &handle{pid: pid}, nil
}

// signal sends sig to the handle's process.
func (h *handle) signal(sig unix.Signal) error { return unix.Kill(int(h.pid), sig) }

// close releases the handle.
func (*handle) close() {}
