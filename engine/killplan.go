package engine

import (
	"os"

	"agentwatch/reconcile"
	"agentwatch/tmux"
)

// killGuard is what the kill planner refuses by, read once from the
// running process: its PID and effective user id.
var killGuard = reconcile.KillGuard{Self: int32(os.Getpid()), EUID: uint32(os.Geteuid())}

// KillPlan plans the kill of targets against the report snap was analysed
// into (see reconcile.PlanKill), guarded by agentwatch's own process. The
// command line and the TUI both kill through this.
func KillPlan(snap *Snapshot, rep reconcile.Report, targets []reconcile.KillTarget, force bool) ([]reconcile.Op, error) {
	var live *reconcile.Live
	if snap != nil {
		live = snap.Input.Live
	}
	return reconcile.PlanKill(live, rep, targets, force, killGuard)
}

// plannedSession finds the session named name on the server named server
// as snap saw it: its id and creation time identify it.
func plannedSession(snap *Snapshot, server, name string) (tmux.Session, bool) {
	if snap == nil || snap.Input.Live == nil {
		return tmux.Session{}, false
	}
	for _, s := range snap.Input.Live.Servers {
		if s.Socket.String() != server || s.Snapshot == nil {
			continue
		}
		for _, sess := range s.Snapshot.Sessions() {
			if sess.Name == name {
				return sess, true
			}
		}
	}
	return tmux.Session{}, false
}
