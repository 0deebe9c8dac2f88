package engine

// A scan as a screen that keeps what it showed needs it: Observe, with the
// last good documents of the registries whose lock was busy carried over.

import (
	"context"
	"fmt"
	"time"

	"agentwatch/reconcile"
	"agentwatch/tmux"
)

// Scan is one scan as a screen shows it.
type Scan struct {
	Snap   *Snapshot
	Report reconcile.Report
	// Memory is what the next scan is given.
	Memory *reconcile.Memory
	// Carried are the registries whose lock was busy and whose last good
	// document was kept from the previous snapshot.
	Carried []reconcile.Registry
}

// Rescan is Observe for a screen: a registry whose lock was busy keeps the
// last good document of prev, and the report is made again from what is
// then known, so that its agents stay on screen (and their sessions are not
// taken for untracked leaks) while someone holds the lock.
func (e *Engine) Rescan(ctx context.Context, now time.Time, prev *Snapshot, mem *reconcile.Memory) (Scan, error) {
	snap, rep, next, err := e.Observe(ctx, now, mem)
	if err != nil {
		return Scan{}, err
	}
	return Scan{Snap: snap, Report: rep, Memory: next}.Carry(prev, mem), nil
}

// Carry keeps in the scan's snapshot the last good document of prev for
// every registry whose lock was busy (see Snapshot.Carry) and, when it kept
// any, makes the report again from mem, the memory the scan was given.
func (s Scan) Carry(prev *Snapshot, mem *reconcile.Memory) Scan {
	s.Carried = s.Snap.Carry(prev)
	if len(s.Carried) > 0 {
		s.Report, s.Memory = reconcile.Observe(s.Snap.Input, mem)
	}
	return s
}

// Observe gathers a snapshot and analyzes it against the previous memory.
// The registries carry their hashes into the analysis, so that a scan that
// finds nothing changed is not analyzed again (see reconcile.Observe).
func (e *Engine) Observe(ctx context.Context, now time.Time, prev *reconcile.Memory) (*Snapshot, reconcile.Report, *reconcile.Memory, error) {
	snap, err := e.Gather(ctx, now)
	if err != nil {
		e.cfg.Metrics.observeScan(nil, reconcile.Report{}, err)
		return nil, reconcile.Report{}, nil, err
	}
	rep, mem := reconcile.Observe(snap.Input, prev)
	e.cfg.Metrics.observeScan(snap, rep, nil)
	return snap, rep, mem, nil
}

// Check is one certain scan, as `check` and `repair` need it: when the
// first look finds ghost suspects, it waits for in-flight updates to land,
// asks tmux for each suspect's exact session, and looks again; only an
// agent missing on both looks is a ghost.
func (e *Engine) Check(ctx context.Context) (*Snapshot, reconcile.Report, error) {
	snap, rep, mem, err := e.Observe(ctx, time.Now(), nil)
	if err != nil || !e.cfg.Live || len(snap.Locked()) > 0 {
		// A registry whose lock stayed busy leaves the check without a
		// verdict: a second look would only wait for the lock again.
		return snap, rep, err
	}
	var suspects []reconcile.AgentRow
	for _, a := range rep.Agents {
		if a.Verdict == reconcile.VerdictSuspect {
			suspects = append(suspects, a)
		}
	}
	if len(suspects) == 0 {
		return snap, rep, nil
	}
	settle := e.cfg.Settle
	if settle == 0 {
		settle = defaultSettle
	}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return nil, reconcile.Report{}, ctx.Err()
	}
	snap2, err := e.Gather(ctx, time.Now())
	if err != nil {
		return nil, reconcile.Report{}, err
	}
	for _, a := range suspects {
		alive, err := e.sessionAnswered(ctx, snap2, a.Session)
		switch {
		case ctx.Err() != nil:
			return nil, reconcile.Report{}, ctx.Err()
		case err != nil: // the analysis holds its agent a suspect
			if snap2.Input.Live.Unanswered == nil {
				snap2.Input.Live.Unanswered = map[string]bool{}
			}
			snap2.Input.Live.Unanswered[a.Session] = true
		default:
			snap2.Input.Live.Confirm[a.Session] = alive
		}
	}
	rep2, _ := reconcile.Observe(snap2.Input, mem)
	return snap2, rep2, nil
}

// SessionAlive asks every server of a snapshot for a session by its exact
// name (has-session -t =NAME).
func (e *Engine) SessionAlive(ctx context.Context, snap *Snapshot, name string) (bool, error) {
	if snap.Input.Live == nil {
		return false, nil
	}
	return aliveOn(ctx, snap.Input.Live.Servers, name)
}

// sessionAnswered is SessionAlive of the servers whose scan in snap
// succeeded. One that failed is not asked again: it already holds every
// agent whose session it may hold a suspect.
func (e *Engine) sessionAnswered(ctx context.Context, snap *Snapshot, name string) (bool, error) {
	if snap.Input.Live == nil {
		return false, nil
	}
	var answered []reconcile.Server
	for _, s := range snap.Input.Live.Servers {
		if s.Err == nil {
			answered = append(answered, s)
		}
	}
	return aliveOn(ctx, answered, name)
}

// aliveOn asks each server for a session, until one has it.
func aliveOn(ctx context.Context, servers []reconcile.Server, name string) (bool, error) {
	for _, s := range servers {
		ok, err := hasSession(ctx, s.Socket, name)
		if err != nil {
			return false, fmt.Errorf("confirm session %s: %w", name, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// hasSession asks one server for a session, within scanTimeout: a server
// that answers nobody is an error, never a wait without end.
func hasSession(ctx context.Context, s tmux.Socket, name string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, scanTimeout)
	defer cancel()
	return tmux.NewClient(s).HasSession(ctx, name)
}
