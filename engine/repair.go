package engine

import (
	"context"
	"fmt"
	"time"

	"agentwatch/reconcile"
)

// Repair applies a plan — registry operations, then kills — and appends it
// to the audit log.
func (e *Engine) Repair(ctx context.Context, snap *Snapshot, plan reconcile.Plan, now time.Time, kill KillOptions) (*Result, error) {
	res := e.apply(ctx, snap, plan, now)
	var kills []reconcile.Op
	for _, op := range plan.Ops {
		if op.Op == reconcile.OpKillProcess || op.Op == reconcile.OpKillSession {
			kills = append(kills, op)
		}
	}
	if len(kills) > 0 {
		k := e.kill(ctx, snap, kills, kill)
		res.Applied = append(res.Applied, k.Applied...)
		res.Skipped = append(res.Skipped, k.Skipped...)
		res.Failed = append(res.Failed, k.Failed...)
	}
	e.cfg.Metrics.observeResult(res)
	entry := Entry{Action: "repair", Result: resultWord(res), Files: changesOf(res.Commits, res.fields), Rows: res.Rows}
	for _, it := range res.Applied {
		entry.Targets = appendTarget(entry.Targets, it.Op)
	}
	for _, it := range res.Failed {
		entry.Targets = appendTarget(entry.Targets, it.Op)
	}
	entry.Ops = append(append(entry.Ops, res.Applied...), res.Failed...)
	entry.Raced = res.Raced
	if len(res.Applied)+len(res.Failed)+len(res.Raced) == 0 {
		return res, nil // nothing written, nothing to record
	}
	return res, e.cfg.Audit.Append(ctx, entry)
}

// LastRepairRaced returns the newest repair in the audit log when it
// raced with a writer that takes no lock (its Raced lists the registries),
// or nil. An engine given workspaces looks only at a repair of theirs.
func (e *Engine) LastRepairRaced(ctx context.Context) (*Entry, error) {
	last, err := e.cfg.Audit.Last(ctx, "repair")
	if err != nil || last == nil || len(last.Raced) == 0 {
		return nil, err
	}
	var within []string
	for _, b := range e.cfg.Bases {
		within = append(within, b.Dir)
	}
	if !touches(Entry{Files: pathsOnly(last.Raced)}, within) {
		return nil, nil
	}
	return last, nil
}

func pathsOnly(paths []string) []FileChange {
	out := make([]FileChange, len(paths))
	for i, p := range paths {
		out[i].Path = p
	}
	return out
}

func appendTarget(ts []string, op reconcile.Op) []string {
	t := op.Registry
	switch {
	case op.Op == reconcile.OpKillProcess:
		t = fmt.Sprintf("PID %d (%s)", op.PID, op.Comm)
	case op.Op == reconcile.OpKillSession:
		t = "session " + op.Session + " on " + op.Server
	case op.AgentID != "":
		t = op.AgentID + " in " + op.Registry
	}
	for _, x := range ts {
		if x == t {
			return ts
		}
	}
	return append(ts, t)
}

func resultWord(r *Result) string {
	switch {
	case len(r.Failed) > 0 && len(r.Applied) > 0:
		return "partial"
	case len(r.Failed) > 0:
		return "failed"
	case len(r.Applied) > 0:
		return "ok"
	}
	return "nothing"
}
