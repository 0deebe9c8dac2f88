// Package engine is the I/O that the command line and the TUI share: it
// gathers one snapshot from the sources, hands it to reconcile, applies a
// plan back through the registry store, and appends every action to the
// audit log.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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
	// undo read the registries they write whole, as ever. The process
	// scan then reads no owners (procscan.NewOwnerlessScanner).
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
	// lastProcs is the size of the last process table, for procBudget.
	lastProcs atomic.Int64
}

// New returns an Engine for cfg.
func New(cfg Config) *Engine {
	scanner := procscan.NewScanner()
	if cfg.Lean { // nothing shows owners: Refusal asks for those it judges
		scanner = procscan.NewOwnerlessScanner()
	}
	return &Engine{cfg: cfg, scanner: scanner, reads: newReadCache()}
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
		reads := e.readAll(ctx, files)
		for i, f := range files {
			r := reconcile.Registry{Path: f.Path, Kind: f.Kind.String(), Base: b.Dir, TaskID: f.TaskID}
			if f.Err != nil { // a FIFO or a directory in a registry's place: never opened
				r.Err, r.Unreadable = f.Err, true
				snap.Input.Registries = append(snap.Input.Registries, r)
				continue
			}
			s, err := reads[i].snap, reads[i].err
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
				r.Root, r.Rows, r.Hash = s.Root, s.Rows, s.Hash
				snap.Hashes[f.Path] = s.Hash
			}
			snap.Input.Registries = append(snap.Input.Registries, r)
		}
	}
	return nil
}

type readResult struct {
	snap *registry.Snapshot
	err  error
}

// readAll reads the registries of files (but those listed with an error),
// a few at once, the biggest first: the read of the biggest is what the
// others and the process table are read beside, and the last to end.
func (e *Engine) readAll(ctx context.Context, files []registry.File) []readResult {
	out := make([]readResult, len(files))
	order := make([]int, 0, len(files))
	for i, f := range files {
		if f.Err == nil {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(files[b].Size, files[a].Size) })
	next := make(chan int, len(order))
	for _, i := range order {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(len(next), runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				if out[i].err = ctx.Err(); out[i].err == nil {
					out[i].snap, out[i].err = e.reads.read(ctx, e.cfg.Store, files[i].Path, e.cfg.Lean)
				}
			}
		})
	}
	wg.Wait()
	return out
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
