package engine

// A scan as a screen that keeps what it showed needs it: Observe, with the
// last good documents of the registries whose lock was busy carried over.

import (
	"context"
	"time"

	"agentwatch/reconcile"
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
