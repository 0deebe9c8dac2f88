package ui

// The messages actions send back: their results, the undo plan and the
// audit log (scan.go has the scan's).

import (
	"fmt"

	"agentwatch/engine"
)

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
