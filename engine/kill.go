package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/tmux"
)

// Kills of leaked process trees and sessions: the plan's kill operations
// carried out against the snapshot they were planned on, and audited.

// serverSocket finds the socket of a server by its name in a snapshot.
func serverSocket(snap *Snapshot, name string) (tmux.Socket, bool) {
	if snap == nil || snap.Input.Live == nil {
		return tmux.Socket{}, false
	}
	for _, s := range snap.Input.Live.Servers {
		if s.Socket.String() == name {
			return s.Socket, true
		}
	}
	return tmux.Socket{}, false
}

// serverPIDs are the tmux servers' PIDs: never to be signaled.
func serverPIDs(snap *Snapshot) []int32 {
	if snap == nil {
		return nil
	}
	return snap.Input.Live.ServerPIDs()
}

// KillOptions tune how leaked processes are killed.
type KillOptions struct {
	TermTimeout time.Duration
	Force       bool
}

// kill runs the plan's kill operations (reached only through Repair and
// KillAudited, which record them in the audit log): each group of processes (one leak)
// gets SIGTERM, a wait, SIGKILL for what remains, a check that each is
// gone, and then its session is killed. Identities are checked before every
// signal, so a reused PID is never hit; a refused process protects the rest
// of its group's tree; a session is killed by its id, and only while it is
// the session snap saw (same id, creation time and name), so that one that
// took its name since is never hit.
func (e *Engine) kill(ctx context.Context, snap *Snapshot, ops []reconcile.Op, opts KillOptions) *Result {
	res := &Result{}
	var ids []procscan.Identity
	var trees []int
	var procOps []reconcile.Op
	tree := map[string]int{} // by the group a plan made of one target's tree
	for _, op := range ops {
		if op.Op == reconcile.OpKillProcess {
			ids = append(ids, procscan.Identity{PID: int32(op.PID), Start: op.Start})
			key := op.AgentID + "|" + op.Server + "|" + op.Session + "|" + op.Why
			if _, ok := tree[key]; !ok {
				tree[key] = len(tree)
			}
			trees = append(trees, tree[key])
			procOps = append(procOps, op)
		}
	}
	survivors := map[string]bool{} // sessions with a process that survived
	if len(ids) > 0 {
		outs, err := procscan.Kill(ctx, procscan.KillRequest{Targets: ids, Trees: trees, TermTimeout: opts.TermTimeout,
			Protect: serverPIDs(snap), Force: opts.Force})
		if err != nil {
			for _, op := range procOps {
				op.Why = err.Error()
				res.Failed = append(res.Failed, Item{Op: op})
			}
		}
		for i, o := range outs {
			op := procOps[i]
			switch o.Result {
			case "gone", "killed":
				op.New = json.RawMessage(`"` + o.Result + `"`)
				res.Applied = append(res.Applied, Item{Op: op})
			case "already_gone", "reused":
				op.Why = o.Result + ": " + o.Reason
				res.Skipped = append(res.Skipped, Item{Op: op})
			default:
				_, alone := reconcile.PlannedRefusal(op)
				op.Why = o.Result + ": " + o.Reason
				if alone && o.Result == procscan.KillRefused {
					op.Why += "; nothing of its tree was planned or signaled"
				}
				res.Failed = append(res.Failed, Item{Op: op})
				survivors[op.Server+"|"+op.Session] = true
			}
		}
	}
	for _, op := range ops {
		if op.Op != reconcile.OpKillSession {
			continue
		}
		if survivors[op.Server+"|"+op.Session] {
			op.Why = "not killed: a process of it survived; the session is left so that it can be seen"
			res.Failed = append(res.Failed, Item{Op: op})
			continue
		}
		sock, ok := serverSocket(snap, op.Server)
		if !ok {
			op.Why = "its tmux server " + op.Server + " was not scanned"
			res.Failed = append(res.Failed, Item{Op: op})
			continue
		}
		planned, ok := plannedSession(snap, op.Server, op.Session)
		if !ok {
			op.Why = fmt.Sprintf("session %s is not in the scan the plan was made from: not killed; plan again", op.Session)
			res.Failed = append(res.Failed, Item{Op: op})
			continue
		}
		err := tmux.NewClient(sock).KillSessionIfSame(ctx, planned)
		switch {
		case err == nil:
			res.Applied = append(res.Applied, Item{Op: op})
		case errors.Is(err, tmux.ErrSessionReplaced):
			op.Why = fmt.Sprintf("session %s was replaced since the plan: not killed (%v)", op.Session, err)
			res.Skipped = append(res.Skipped, Item{Op: op})
		case errors.Is(err, tmux.ErrNoSession):
			op.Why = "the session ended with its processes"
			res.Applied = append(res.Applied, Item{Op: op})
		default:
			op.Why = err.Error()
			res.Failed = append(res.Failed, Item{Op: op})
		}
	}
	return res
}

// KillAudited kills like Kill and appends the kill to the audit log.
func (e *Engine) KillAudited(ctx context.Context, snap *Snapshot, ops []reconcile.Op, opts KillOptions, targets []string) (*Result, error) {
	res := e.kill(ctx, snap, ops, opts)
	e.cfg.Metrics.observeResult(res)
	entry := Entry{Action: "kill", Targets: targets, Result: resultWord(res)}
	entry.Ops = append(append(entry.Ops, res.Applied...), res.Failed...)
	return res, e.cfg.Audit.Append(ctx, entry)
}
