// Applying a plan's registry operations: derived ahead of the lock, derived
// again under it from the bytes there, both halves of a status change or
// neither.

package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// Item is one operation's outcome, as `repair --json` prints it.
type Item struct {
	reconcile.Op
	// LockBusy is set when the operation failed because the registry lock
	// stayed busy past the lock timeout.
	LockBusy bool `json:"-"`
}

// Result is what applying a plan did.
type Result struct {
	Applied []Item `json:"applied"`
	Skipped []Item `json:"skipped"`
	Failed  []Item `json:"failed"`
	// Commits are the store's transactions, one per registry touched.
	Commits []*registry.Commit `json:"-"`
	// Rows are the agent rows changed in state databases.
	Rows []RowChange `json:"-"`
	// Raced lists the registries whose bytes a writer that takes no lock
	// changed while agentwatch held the lock (the store derived again from
	// the new bytes, or saw its own write overwritten): that writer's
	// update, or agentwatch's, may be lost, and nothing can prevent it.
	Raced []string `json:"raced,omitempty"`
	// fields are the fields each changed registry had changed, by path.
	fields map[string][]FieldChange
}

// LockBusy reports whether any operation failed on a busy lock.
func (r *Result) LockBusy() bool {
	for _, it := range r.Failed {
		if it.LockBusy {
			return true
		}
	}
	return false
}

// apply runs the plan's registry operations (reached only through Repair,
// which records what it did in the audit log), one locked transaction per
// registry, task registries first. Each operation is re-derived from the
// bytes read under the lock, and a ghost's session is asked for again while
// the lock is held; an operation that no longer fits is skipped with the
// reason. Kill operations are left to Kill.
//
// The operations are first derived from a read made before the lock, and
// encoded and hashed there. Under the lock, when the bytes are that read's
// and every ghost's session answers as it did, the derivation would come
// out the same, and its result is written as it is: the orchestrator's
// writers wait for a read, a compare and the write, not for an encode.
func (e *Engine) apply(ctx context.Context, snap *Snapshot, plan reconcile.Plan, now time.Time) *Result {
	res := &Result{fields: map[string][]FieldChange{}}
	for _, path := range plan.Registries() {
		ops := plan.OpsFor(path)
		if ops[0].Kind == reconcile.KindState {
			e.applyState(ctx, snap, ops, now, res)
			continue
		}
		ops = withoutLoneHalves(ops, res)
		if len(ops) == 0 {
			continue
		}
		env := reconcile.Env{Now: now, Sets: e.cfg.Sets, Entries: &reconcile.EntryIndex{}}
		if ops[0].Kind == reconcile.KindGlobal {
			env.TaskStatus = e.taskStatus(ctx, path)
		}
		var outcomes []reconcile.Outcome
		var ahead *derivation
		var prepared *registry.Prepared
		if pre, err := e.cfg.Store.ReadForEdit(ctx, path); err == nil && pre.Root != nil {
			if d, err := e.derive(ctx, snap, pre.Root, pre.Data, ops, env); err == nil {
				ahead = d
				prepared = &registry.Prepared{Read: pre, Next: d.next}
			}
		}
		if beforeLock != nil {
			beforeLock(path)
		}
		var old []byte           // what the last call saw
		var next *pyjson.Spliced // and returned
		commit, err := e.cfg.Store.TransformPrepared(ctx, path, prepared, func(cur *registry.Snapshot) (registry.Change, error) {
			if underLock != nil {
				underLock(path)
			}
			root, src := cur.Root, cur.Data
			if ahead != nil && cur.Hash == prepared.Read.Hash {
				same, err := e.sessionsAnswerAsBefore(ctx, snap, ops, ahead.alive)
				if err != nil {
					return registry.Keep(), err
				}
				if same {
					outcomes = ahead.outcomes
					old, next = cur.Data, ahead.next
					return prepared.Use(), nil
				}
				// The ahead derivation changed the prepared tree: derive
				// afresh from the bytes (which are never modified).
				if root, err = pyjson.ParseForEdit(cur.Data); err != nil {
					return registry.Keep(), err
				}
			}
			d, err := e.derive(ctx, snap, root, src, ops, env)
			if err != nil {
				return registry.Keep(), err
			}
			outcomes = d.outcomes
			old, next = cur.Data, d.next
			return registry.WriteSpliced(d.next), nil
		})
		// The documents are done with. The audit's note of the fields
		// changed streams both versions; for a big registry, the
		// documents are collected first, so that the stream's memory
		// takes their place rather than stacking on them.
		prepared, ahead = nil, nil
		if len(old) >= collectBefore {
			runtime.GC()
		}
		if commit != nil {
			res.Commits = append(res.Commits, commit)
			noteFields(res.fields, commit, old, next)
			if commit.UnlockedWrite {
				res.Raced = append(res.Raced, path)
			}
		}
		if err != nil {
			busy := errors.Is(err, registry.ErrLockBusy)
			for _, op := range ops {
				op.Why = err.Error()
				res.Failed = append(res.Failed, Item{Op: op, LockBusy: busy})
			}
			continue
		}
		for i, op := range ops {
			out := outcomes[i]
			if out.Applied {
				op.New = out.New
				if out.Rederived != "" {
					op.Old, op.Why = out.Old, out.Rederived
				}
				res.Applied = append(res.Applied, Item{Op: op})
			} else {
				op.Why = out.Skip
				res.Skipped = append(res.Skipped, Item{Op: op})
			}
		}
	}
	return res
}

// withoutLoneHalves takes out of a registry's operations the global half of
// every status change whose task half failed, and reports it skipped: a
// status change is written in both registries or in neither. The task
// registries' transactions run first, so their failures are in res.
func withoutLoneHalves(ops []reconcile.Op, res *Result) []reconcile.Op {
	failed := map[string]string{} // agent id → why its task half failed
	for _, it := range res.Failed {
		if it.Kind == reconcile.KindTask && isStatusChange(it.Op) {
			failed[it.AgentID] = it.Why
		}
	}
	if len(failed) == 0 {
		return ops
	}
	kept := ops[:0:0]
	for _, op := range ops {
		why, ok := failed[op.AgentID]
		if op.Kind != reconcile.KindGlobal || !isStatusChange(op) || !ok {
			kept = append(kept, op)
			continue
		}
		op.Why = fmt.Sprintf("its task registry half failed (%s): the global half is left as it is, both halves or neither; repair again once the task registry can be written", why)
		res.Skipped = append(res.Skipped, Item{Op: op})
	}
	return kept
}

func isStatusChange(op reconcile.Op) bool {
	return op.Op == reconcile.OpTerminate || op.Op == reconcile.OpComplete
}

// collectBefore is the size of a registry from which apply collects its
// documents before it notes the fields changed: a collection costs
// milliseconds, the write of such a registry seconds.
const collectBefore = 64 << 20

// beforeLock, when set (by tests), runs between apply's derivation ahead
// of a registry's lock and the transaction; underLock at the start of each
// derivation under the lock.
var beforeLock, underLock func(path string)

// derivation is what a registry's operations made of one parse of it.
type derivation struct {
	outcomes []reconcile.Outcome
	// alive is each operation's session answer: whether the session of a
	// ghost operation was alive (false for every other operation).
	alive []bool
	// next is the encoded result, nil when no operation applied: the
	// runs of src it leaves as they were, shared, and the edits.
	next *pyjson.Spliced
}

// derive applies ops to root, parsed from src by pyjson.ParseForEdit (or
// ParseShared: a tree that shares src's memory), asking first whether each
// ghost's session is alive again.
func (e *Engine) derive(ctx context.Context, snap *Snapshot, root *pyjson.Value, src []byte, ops []reconcile.Op, env reconcile.Env) (*derivation, error) {
	d := &derivation{alive: make([]bool, len(ops))}
	changed := false
	for i, op := range ops {
		if isGhostOp(op) {
			alive, err := e.SessionAlive(ctx, snap, op.Session)
			if err != nil {
				return nil, err
			}
			if d.alive[i] = alive; alive {
				d.outcomes = append(d.outcomes, reconcile.Outcome{Skip: "its session " + op.Session + " is alive again"})
				continue
			}
		}
		out, err := op.Apply(root, env)
		if err != nil {
			return nil, err
		}
		d.outcomes = append(d.outcomes, out)
		changed = changed || out.Applied
	}
	if changed {
		d.next = pyjson.EncodeSpliced(root, src)
	}
	return d, nil
}

// sessionsAnswerAsBefore asks again for the session of every ghost
// operation and reports whether each answers as it did in alive.
func (e *Engine) sessionsAnswerAsBefore(ctx context.Context, snap *Snapshot, ops []reconcile.Op, alive []bool) (bool, error) {
	for i, op := range ops {
		if !isGhostOp(op) {
			continue
		}
		now, err := e.SessionAlive(ctx, snap, op.Session)
		if err != nil {
			return false, err
		}
		if now != alive[i] {
			return false, nil
		}
	}
	return true, nil
}

func isGhostOp(op reconcile.Op) bool {
	return (op.Op == reconcile.OpTerminate || op.Op == reconcile.OpComplete) && op.Session != ""
}

// taskStatus reads the task registries beside a global registry, fresh, for
// its active_agents recount: after the task transactions of the same plan.
// Each task's entries are indexed once: the recount asks for every agent.
func (e *Engine) taskStatus(ctx context.Context, globalPath string) func(agentID, taskID string) (string, bool, bool) {
	base := filepath.Dir(filepath.Dir(globalPath)) // <base>/registry/GLOBAL_REGISTRY.json
	type index struct {
		tf   *registry.TaskFile
		once map[string]registry.Agent // ids with one entry
		dup  map[string]bool           // ids with more than one
	}
	tasks := map[string]*index{}
	files, _ := registry.Files(ctx, base)
	for _, f := range files {
		if f.Kind != registry.FileTask || f.Err != nil {
			continue
		}
		s, err := e.cfg.Store.Read(ctx, f.Path)
		if err != nil || s.Root == nil {
			continue
		}
		tf, err := registry.NewTaskFile(s.Root)
		if err != nil {
			continue
		}
		ix := &index{tf: tf, once: map[string]registry.Agent{}, dup: map[string]bool{}}
		for _, a := range tf.Agents() {
			if _, seen := ix.once[a.ID]; seen {
				ix.dup[a.ID] = true
			}
			ix.once[a.ID] = a
		}
		tasks[f.TaskID] = ix
	}
	return func(agentID, taskID string) (string, bool, bool) {
		ix := tasks[taskID]
		if ix == nil {
			return "", false, false
		}
		if agentID == "" {
			return "", false, true
		}
		if ix.dup[agentID] { // the entry a dedupe would keep
			a, ok := reconcile.TaskEntry(ix.tf, agentID)
			return a.Status, ok, true
		}
		a, ok := ix.once[agentID]
		return a.Status, ok, true
	}
}
