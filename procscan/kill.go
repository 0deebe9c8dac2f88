package procscan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultTermTimeout is how long Kill waits after SIGTERM before it sends
// SIGKILL, when the request names no TermTimeout.
const DefaultTermTimeout = 5 * time.Second

// killWait is how long Kill waits for a process to go after SIGKILL before
// it reports it survived (a process in uninterruptible sleep can take a
// while, and one stuck in the kernel may never go).
const killWait = 2 * time.Second

// pollInterval is how often Kill looks whether its targets are gone.
const pollInterval = 20 * time.Millisecond

// The results of a KillOutcome.
const (
	// KillGone: the process exited after SIGTERM.
	KillGone = "gone"
	// KillKilled: the process outlived TermTimeout and exited after SIGKILL.
	KillKilled = "killed"
	// KillAlreadyGone: the process was gone (or a zombie) before any signal.
	KillAlreadyGone = "already_gone"
	// KillReused: the PID names another process now; it was not signaled.
	KillReused = "reused"
	// KillRefused: the target may not be killed; it was not signaled.
	KillRefused = "refused"
	// KillSurvived: the process still ran after SIGKILL, or could not be
	// signaled or verified.
	KillSurvived = "survived"
)

// errNoProcess says no process has the PID.
var errNoProcess = errors.New("no such process")

// procState is what Kill and Alive need to know of the process a PID names.
type procState struct {
	PPID  int32
	Start int64
	State string // the ps(1) letter, as in Proc.State
}

func (s procState) zombie() bool { return s.State == "Z" || s.State == "X" }

// KillRequest says which processes Kill kills and how.
type KillRequest struct {
	// Targets are the processes to kill, each by PID and start time.
	Targets []Identity
	// TermTimeout is how long to wait after SIGTERM before SIGKILL;
	// DefaultTermTimeout when zero or negative.
	TermTimeout time.Duration
	// Protect lists PIDs never to signal (the caller passes the tmux
	// servers' PIDs).
	Protect []int32
	// Force allows killing other users' processes when running as root.
	Force bool
	// Trees, when set, holds one number per target: the targets of one
	// number were planned as one tree, one process and what killing it
	// sweeps in. A refused target protects its tree: a target of the same
	// number that descends from it, or belongs to the session or process
	// group it leads, is refused too. Targets of other numbers are judged
	// on their own. When Trees is nil, the targets are one tree.
	Trees []int
}

// KillOutcome is what happened to one target.
type KillOutcome struct {
	Identity
	// Result is one of KillGone, KillKilled, KillAlreadyGone, KillReused,
	// KillRefused, KillSurvived.
	Result string
	// Reason says why, in a few words.
	Reason string
}

// target is one distinct target Kill is working on.
type target struct {
	i int // index into the outcomes
	h *handle
}

// Kill kills the processes req names, safely (DESIGN §5), and returns one
// outcome per target, in the order of req.Targets.
//
// It refuses PID 1 and below, the calling process, its ancestors, the
// PIDs in req.Protect, and another user's process (unless it runs as root
// and req.Force is set). A refused target protects its tree (see
// req.Trees): every target is judged before any is signaled. Every other
// target is checked to still be the process it names — same PID, same
// start time — immediately before each signal: it gets SIGTERM (and
// SIGCONT when it is stopped, so that it can act on the SIGTERM); whatever
// is left after req.TermTimeout gets SIGKILL; then each is verified gone.
// A zombie counts as gone: one that is a child of the calling process is
// reaped first; one of another parent holds nothing but its table entry.
// On Linux the signals go through a pidfd opened before the check, so not
// even a PID reused in the instant between check and signal can be hit.
//
// When ctx ends before every target is verified, Kill returns the outcomes
// so far, the unverified ones as KillSurvived, and ctx's error.
func Kill(ctx context.Context, req KillRequest) ([]KillOutcome, error) {
	timeout := req.TermTimeout
	if timeout <= 0 {
		timeout = DefaultTermTimeout
	}
	g := guard{self: int32(os.Getpid()), euid: uint32(os.Geteuid()), force: req.Force,
		ancestors: selfAncestors(ctx), protected: make(map[int32]bool, len(req.Protect))}
	for _, pid := range req.Protect {
		g.protected[pid] = true
	}

	out := make([]KillOutcome, len(req.Targets))
	first := make(map[Identity]int, len(req.Targets))
	dupOf := make(map[int]int)
	var distinct []int
	for i, id := range req.Targets {
		out[i].Identity = id
		if j, ok := first[id]; ok {
			dupOf[i] = j
			continue
		}
		first[id] = i
		distinct = append(distinct, i)
		if why := g.refusal(ctx, id); why != "" {
			out[i].Result, out[i].Reason = KillRefused, why
		}
	}
	spareTrees(ctx, req, out, distinct)

	var pending []target
	defer func() {
		for _, t := range pending {
			t.h.close()
		}
	}()
	for _, i := range distinct {
		if out[i].Result != "" {
			continue
		}
		if h := term(ctx, &out[i], g.self, g.euid, req.Force); h != nil {
			pending = append(pending, target{i: i, h: h})
		}
	}

	err := awaitGone(ctx, &pending, out, time.Now().Add(timeout), g.self, KillGone, "exited after SIGTERM")
	if err == nil && len(pending) > 0 {
		pending = sigkill(ctx, pending, out, g.self)
		err = awaitGone(ctx, &pending, out, time.Now().Add(killWait), g.self, KillKilled, "exited after SIGKILL")
		if err == nil {
			for _, t := range pending {
				id := out[t.i].Identity
				out[t.i].Result = KillSurvived
				out[t.i].Reason = fmt.Sprintf("still running %s after SIGKILL", killWait)
				if st, perr := probe(ctx, id.PID); perr == nil && st.Start == id.Start {
					out[t.i].Reason += fmt.Sprintf(" (state %s)", st.State)
				}
			}
		}
	}
	if err != nil {
		for _, t := range pending {
			out[t.i].Result, out[t.i].Reason = KillSurvived, "not verified gone: "+err.Error()
		}
	}
	for i, j := range dupOf {
		out[i].Result, out[i].Reason = out[j].Result, out[j].Reason
	}
	if err != nil {
		return out, fmt.Errorf("kill processes: %w", err)
	}
	return out, nil
}

// term checks o's target and sends it SIGTERM. It returns the target's
// handle when the signal went out; otherwise it fills in o's result.
func term(ctx context.Context, o *KillOutcome, self int32, euid uint32, force bool) *handle {
	id := o.Identity
	// The handle is opened before the check: if the check then finds the
	// target's start time, the handle is bound to the target.
	h, err := openHandle(id.PID)
	if errors.Is(err, errNoProcess) {
		o.Result, o.Reason = KillAlreadyGone, "no process has this PID"
		return nil
	}
	st, err := probe(ctx, id.PID)
	switch {
	case errors.Is(err, errNoProcess):
		o.Result, o.Reason = KillAlreadyGone, "no process has this PID"
	case err != nil:
		o.Result, o.Reason = KillRefused, "cannot read the process: "+err.Error()
	case st.Start != id.Start:
		o.Result = KillReused
		o.Reason = fmt.Sprintf("PID %d now names another process (started %s)", id.PID,
			time.UnixMilli(st.Start).Format(time.RFC3339Nano))
	case st.zombie():
		reapIfChild(id.PID, st, self)
		o.Result, o.Reason = KillAlreadyGone, "exited (zombie)"
	default:
		uid, err := owner(id.PID)
		switch {
		case errors.Is(err, errNoProcess):
			o.Result, o.Reason = KillAlreadyGone, "exited before SIGTERM"
		case err != nil:
			o.Result, o.Reason = KillRefused, "cannot read the process's owner: "+err.Error()
		case ownerRefusal(uid, euid, force) != "":
			o.Result, o.Reason = KillRefused, ownerRefusal(uid, euid, force)
		default:
			// Check again right before the signal: reading the owner took time.
			if _, ok := settled(ctx, id, self); ok {
				o.Result, o.Reason = KillAlreadyGone, "exited before SIGTERM"
				break
			}
			err := h.signal(unix.SIGTERM)
			switch {
			case err == nil:
				// A stopped process acts on SIGTERM only once continued.
				if st.State == "T" || st.State == "t" {
					if _, ok := settled(ctx, id, self); !ok {
						_ = h.signal(unix.SIGCONT)
					}
				}
				return h
			case errors.Is(err, unix.ESRCH):
				o.Result, o.Reason = KillAlreadyGone, "exited before SIGTERM"
			default:
				o.Result, o.Reason = KillRefused, "SIGTERM failed: "+err.Error()
			}
		}
	}
	h.close()
	return nil
}

// sigkill sends SIGKILL to each pending target that is still the process
// it names, and returns those it went to. The others get their outcome,
// and their handles are closed.
func sigkill(ctx context.Context, pending []target, out []KillOutcome, self int32) []target {
	live := pending[:0]
	for _, t := range pending {
		o := &out[t.i]
		st, ok := settled(ctx, o.Identity, self)
		if !ok {
			err := t.h.signal(unix.SIGKILL)
			if err == nil {
				live = append(live, t)
				continue
			}
			if !errors.Is(err, unix.ESRCH) {
				o.Result, o.Reason = KillSurvived, fmt.Sprintf("SIGKILL failed: %v (state %s)", err, st.State)
				t.h.close()
				continue
			}
		}
		o.Result, o.Reason = KillGone, "exited after SIGTERM"
		t.h.close()
	}
	return live
}

// awaitGone polls the pending targets until each is gone, the deadline
// passes, or ctx ends (whose error it returns). Each target found gone gets
// result and reason, its handle is closed, and it leaves *pending.
func awaitGone(ctx context.Context, pending *[]target, out []KillOutcome, deadline time.Time, self int32, result, reason string) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		live := (*pending)[:0]
		for _, t := range *pending {
			if _, ok := settled(ctx, out[t.i].Identity, self); ok {
				out[t.i].Result, out[t.i].Reason = result, reason
				t.h.close()
				continue
			}
			live = append(live, t)
		}
		*pending = live
		if len(live) == 0 || !time.Now().Before(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// settled tells whether id is gone: no process has its PID, another
// process does, or it is a zombie (reaped first when it is a child of
// self). When it is not gone it also returns its state.
func settled(ctx context.Context, id Identity, self int32) (procState, bool) {
	st, err := probe(ctx, id.PID)
	switch {
	case errors.Is(err, errNoProcess):
		return st, true
	case err != nil:
		return st, false
	case st.Start != id.Start:
		return st, true
	case st.zombie():
		reapIfChild(id.PID, st, self)
		return st, true
	}
	return st, false
}

// reapIfChild reaps pid when it is a zombie child of self. Until it is
// reaped the PID cannot be reused, so the wait cannot reap another process.
// If something else in this program waits for it (os/exec), whichever
// waits first gets it; the other sees ECHILD.
func reapIfChild(pid int32, st procState, self int32) {
	if st.PPID != self || !st.zombie() {
		return
	}
	var ws unix.WaitStatus
	// The runtime's preemption signals interrupt system calls: a wait
	// cut short by one is made again. A leader thread that exited before
	// the process's other threads shows as a zombie, but it can be waited
	// for only once they are gone too, which takes them a moment (the
	// wait finds nothing to reap until then); the wait gives up after a
	// second, for a leader that left its threads running.
	deadline := time.Now().Add(time.Second)
	for {
		got, err := unix.Wait4(int(pid), &ws, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR:
		case err != nil || got != 0 || time.Now().After(deadline):
			return
		default:
			time.Sleep(time.Millisecond)
		}
	}
}

// Alive tells whether a process with id's PID and start time exists and
// has not exited (a zombie is not alive).
func Alive(id Identity) bool {
	if id.PID <= 0 {
		return false
	}
	st, err := probe(context.Background(), id.PID)
	return err == nil && st.Start == id.Start && !st.zombie()
}
