package ui

import (
	"context"
	"fmt"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

// scanMsg is one scan's result.
type scanMsg struct {
	snap *engine.Snapshot
	rep  reconcile.Report
	mem  *reconcile.Memory
	// carried are the registries whose lock was busy and whose last good
	// document was kept from the previous snapshot.
	carried []reconcile.Registry
	// manual: asked for (ctrl+r, an action, a registry change), so it is
	// applied even while paused.
	manual bool
}

// scanErrMsg is a scan that failed; the last good data stays on screen.
type scanErrMsg struct {
	err    error
	manual bool
}

func (e scanErrMsg) Error() string { return "scan: " + e.err.Error() }
func (e scanErrMsg) Unwrap() error { return e.err }

// tickMsg arms the next scan. seq tells a current tick from a stale one.
type tickMsg struct{ seq int }

// watchStartedMsg carries the registry watch's channel, and the function
// that stops it when the program ends.
type watchStartedMsg struct {
	ch   <-chan struct{}
	stop context.CancelFunc
}

// watchErrMsg is a watch that could not start: scans go on by interval.
type watchErrMsg struct{ err error }

func (e watchErrMsg) Error() string { return "watch registries: " + e.err.Error() }
func (e watchErrMsg) Unwrap() error { return e.err }

// watchMsg is a change to the registries.
type watchMsg struct{}

// watchClosedMsg is the end of the watch channel.
type watchClosedMsg struct{}

// actionKind names what an action does.
type actionKind string

const (
	actionKill   actionKind = "kill"
	actionMark   actionKind = "mark"
	actionRepair actionKind = "repair"
	actionUndo   actionKind = "undo"
)

// resultMsg is the outcome of a kill, mark or repair. err, when set, is an
// error beside the result (the audit log could not be written); a nil
// result means the action failed as a whole.
type resultMsg struct {
	kind    actionKind
	targets []string
	res     *engine.Result
	err     error
}

// undoPlanMsg is what an undo would do.
type undoPlanMsg struct{ plan *engine.UndoPlan }

// undoPlanErrMsg is an undo that cannot be planned (nothing to undo, among
// others).
type undoPlanErrMsg struct{ err error }

func (e undoPlanErrMsg) Error() string { return "undo: " + e.err.Error() }
func (e undoPlanErrMsg) Unwrap() error { return e.err }

// undoDoneMsg is what an undo did to each file.
type undoDoneMsg struct {
	outcomes []engine.UndoOutcome
	err      error
}

// auditMsg is the audit log's recent entries.
type auditMsg struct{ entries []engine.Entry }

// auditErrMsg is an audit log that could not be read.
type auditErrMsg struct{ err error }

func (e auditErrMsg) Error() string { return fmt.Sprintf("read audit log: %v", e.err) }
func (e auditErrMsg) Unwrap() error { return e.err }
