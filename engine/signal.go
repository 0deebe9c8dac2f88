package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"syscall"

	"agentwatch/procscan"
	"agentwatch/reconcile"
)

// Signals the screen's force kill offers besides the kill of Kill
// (SIGTERM, then SIGKILL after the term timeout).
var Signals = map[string]syscall.Signal{"KILL": syscall.SIGKILL, "HUP": syscall.SIGHUP, "INT": syscall.SIGINT}

// SignalAudited sends one signal, once, to each process of a kill plan
// (made by KillPlan, so never wider than a kill), each checked by
// PID and start time just before; it waits for nothing and kills no
// session. It appends the action to the audit log.
func (e *Engine) SignalAudited(ctx context.Context, snap *Snapshot, ops []reconcile.Op, signal string, targets []string) (*Result, error) {
	sig, ok := Signals[signal]
	if !ok {
		return nil, fmt.Errorf("signal %q: not one of KILL, HUP, INT", signal)
	}
	res := &Result{}
	protect := serverPIDs(snap)
	for _, op := range ops {
		if op.Op != reconcile.OpKillProcess {
			continue
		}
		pid := int32(op.PID)
		switch {
		case ctx.Err() != nil:
			op.Why = ctx.Err().Error()
			res.Failed = append(res.Failed, Item{Op: op})
		case pid <= 1 || pid == killGuard.Self || slices.Contains(protect, pid):
			op.Why = "refused: PID 1, agentwatch itself or a tmux server"
			res.Failed = append(res.Failed, Item{Op: op})
		case !procscan.Alive(procscan.Identity{PID: pid, Start: op.Start}):
			op.Why = "already_gone: not running, or its PID now names another process"
			res.Skipped = append(res.Skipped, Item{Op: op})
		default:
			if err := syscall.Kill(int(pid), sig); err != nil {
				op.Why = fmt.Sprintf("SIG%s: %v", signal, err)
				res.Failed = append(res.Failed, Item{Op: op})
				continue
			}
			op.New = json.RawMessage(`"SIG` + signal + `"`)
			res.Applied = append(res.Applied, Item{Op: op})
		}
	}
	entry := Entry{Action: "kill", Targets: append([]string{"SIG" + signal}, targets...), Result: resultWord(res)}
	entry.Ops = append(append(entry.Ops, res.Applied...), res.Failed...)
	return res, e.cfg.Audit.Append(ctx, entry)
}
