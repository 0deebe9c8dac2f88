// Package engine is the I/O that the command line and the TUI share: it
// gathers one snapshot from the sources, hands it to reconcile, applies a
// plan back through the registry store, and appends every action to the
// audit log.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/tmux"
)

// Config is what an Engine works on.
type Config struct {
	Bases []registry.Base
	Sets  registry.StatusSets
	Store *registry.Store
	Audit *Audit

	// Live turns on the scan of tmux and the process table; without it
	// the engine sees the registries alone.
	Live bool
	// Sockets are the tmux servers to scan; none means the default server.
	Sockets []tmux.Socket
	Matcher procscan.Matcher
	// Grace, Stale and Settle: see reconcile.Live and Check.
	Grace, Stale, Settle time.Duration
	// Metrics, when set, receives every scan, repair and kill.
	Metrics *Metrics
	// Lean reads each registry as registry.ReadLean does: the fields the
	// analysis uses, not the whole document (a snapshot's Roots are then
	// projections, never to be shown whole or written). Apply and the
	// undo read the registries they write whole, as ever.
	Lean bool
	// FollowPanes adds to Bases every workspace base that a live agent
	// pane names (its stream log's path), so that each project's agents
	// are judged by their own registry. Set when the bases were
	// discovered, not named with --workspace.
	FollowPanes bool
}

// Engine gathers snapshots and applies plans.
type Engine struct {
	mu      sync.Mutex // guards cfg.Bases
	cfg     Config
	scanner *procscan.Scanner
	reads   *readCache
	active  activeCache
}

// New returns an Engine for cfg.
func New(cfg Config) *Engine {
	return &Engine{cfg: cfg, scanner: procscan.NewScanner(), reads: newReadCache()}
}

// Audit returns the audit log the engine appends to.
func (e *Engine) Audit() *Audit { return e.cfg.Audit }

// Bases returns the workspace bases the engine watches: those it was given
// and, with FollowPanes, those that live agent panes named since.
func (e *Engine) Bases() []registry.Base {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.cfg.Bases)
}

// addBase adds a base found while scanning.
func (e *Engine) addBase(b registry.Base) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg.Bases = append(e.cfg.Bases, b)
}

// Snapshot is one scan of the sources.
type Snapshot struct {
	Time     time.Time
	Duration time.Duration
	Input    reconcile.Input
	// Hashes maps each registry that was read to the hash of its bytes.
	Hashes map[string]string
}

// Gather reads every registry of every base. A registry that cannot be read
// or parsed is part of the snapshot, with its error; only a failure to list
// a base is an error here. A registry left unchanged since the Engine's
// previous read of it is not read again (see readCache).
func (e *Engine) Gather(ctx context.Context, now time.Time) (*Snapshot, error) {
	start := time.Now()
	snap := &Snapshot{Time: now, Hashes: map[string]string{}}
	snap.Input = reconcile.Input{Now: now, Sets: e.cfg.Sets}
	// tmux and the process table are scanned while the registries are
	// read: on a big scene the two take about as long, and neither needs
	// the other.
	type liveResult struct {
		lv  *reconcile.Live
		err error
	}
	var live chan liveResult
	if e.cfg.Live {
		live = make(chan liveResult, 1) // never blocks: an early return leaves it behind
		go func() {
			lv, err := e.gatherLive(ctx)
			live <- liveResult{lv, err}
		}()
	}
	for _, b := range e.Bases() {
		if err := e.gatherBase(ctx, snap, b); err != nil {
			return nil, err
		}
	}
	if live != nil {
		res := <-live
		if res.err != nil {
			return nil, res.err
		}
		snap.Input.Live = res.lv
		if e.cfg.FollowPanes {
			for _, b := range e.paneBases(ctx, res.lv, e.Bases()) {
				e.addBase(b)
				if err := e.gatherBase(ctx, snap, b); err != nil {
					return nil, err
				}
			}
		}
		e.readEvidence(&snap.Input)
	}
	snap.Duration = time.Since(start)
	return snap, nil
}

// gatherBase reads one base's registries and state database into snap.
func (e *Engine) gatherBase(ctx context.Context, snap *Snapshot, b registry.Base) error {
	snap.Input.Bases = append(snap.Input.Bases, b.Dir)
	if d, ok := e.readDatabase(ctx, b.Dir); ok {
		snap.Input.Databases = append(snap.Input.Databases, d)
	}
	{
		files, err := registry.Files(ctx, b.Dir)
		if err != nil {
			return fmt.Errorf("gather: %w", err)
		}
		for _, f := range files {
			r := reconcile.Registry{Path: f.Path, Kind: f.Kind.String(), Base: b.Dir, TaskID: f.TaskID}
			if f.Err != nil { // a FIFO or a directory in a registry's place: never opened
				r.Err, r.Unreadable = f.Err, true
				snap.Input.Registries = append(snap.Input.Registries, r)
				continue
			}
			s, err := e.reads.read(ctx, e.cfg.Store, f.Path, e.cfg.Lean)
			switch {
			case ctx.Err() != nil:
				return fmt.Errorf("gather: %w", ctx.Err())
			case err != nil && s == nil && errors.Is(err, fs.ErrNotExist):
				continue // removed since it was listed
			case err != nil && s == nil:
				r.Err = err
				r.Locked = errors.Is(err, registry.ErrLockBusy)
				r.Unreadable = !r.Locked
			case s.ParseErr != nil:
				r.Err, r.Hash = s.ParseErr, s.Hash
				snap.Hashes[f.Path] = s.Hash
			default:
				r.Root, r.Hash = s.Root, s.Hash
				snap.Hashes[f.Path] = s.Hash
			}
			snap.Input.Registries = append(snap.Input.Registries, r)
		}
	}
	return nil
}

// Unreadable returns the registries that could not be read, for a reason
// other than their lock or their content (permissions, I/O).
func (s *Snapshot) Unreadable() []reconcile.Registry {
	return s.registries(func(r reconcile.Registry) bool { return r.Unreadable })
}

// Locked returns the registries whose lock stayed busy during the scan.
func (s *Snapshot) Locked() []reconcile.Registry {
	return s.registries(func(r reconcile.Registry) bool { return r.Locked })
}

func (s *Snapshot) registries(keep func(reconcile.Registry) bool) []reconcile.Registry {
	var out []reconcile.Registry
	for _, r := range s.Input.Registries {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

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
		env := reconcile.Env{Now: now, Sets: e.cfg.Sets}
		if ops[0].Kind == reconcile.KindGlobal {
			env.TaskStatus = e.taskStatus(ctx, path)
		}
		var outcomes []reconcile.Outcome
		upd := registry.UpdateOptions{Encoded: true}
		var ahead *derivation
		if pre, err := e.cfg.Store.Read(ctx, path); err == nil && pre.Root != nil {
			if d, err := e.derive(ctx, snap, pre.Root, ops, env); err == nil {
				ahead = d
				upd.Prepared, upd.Ahead = pre, d.next
			}
		}
		if beforeLock != nil {
			beforeLock(path)
		}
		var old, next []byte // what the last call saw and returned
		commit, err := e.cfg.Store.Update(ctx, path, upd, func(cur *registry.Snapshot) ([]byte, error) {
			if underLock != nil {
				underLock(path)
			}
			root := cur.Root
			if ahead != nil && cur.Hash == upd.Prepared.Hash {
				same, err := e.sessionsAnswerAsBefore(ctx, snap, ops, ahead.alive)
				if err != nil {
					return nil, err
				}
				if same {
					outcomes = ahead.outcomes
					old, next = cur.Data, ahead.next
					return ahead.next, nil
				}
				// The ahead derivation changed the prepared tree: derive
				// afresh from the bytes.
				if root, err = registry.Parse(cur.Data); err != nil {
					return nil, err
				}
			}
			d, err := e.derive(ctx, snap, root, ops, env)
			if err != nil {
				return nil, err
			}
			outcomes = d.outcomes
			old, next = cur.Data, d.next
			return d.next, nil
		})
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
	// next is the encoded result, nil when no operation applied.
	next []byte
}

// derive applies ops to root, asking first whether each ghost's session is
// alive again.
func (e *Engine) derive(ctx context.Context, snap *Snapshot, root *registry.Value, ops []reconcile.Op, env reconcile.Env) (*derivation, error) {
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
		d.next = registry.Encode(root)
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
