package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"agentwatch/reconcile"
	"agentwatch/registry"
)

// debounce gathers a burst of file events (a writer's truncate and write)
// into one signal.
const debounce = 75 * time.Millisecond

// Watch reports changes to the registries: a write to a registry file, a
// task directory made or removed. Each signal on the channel stands for one
// or more changes; the channel closes when ctx ends.
func (e *Engine) Watch(ctx context.Context) (<-chan struct{}, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch registries: %w", err)
	}
	dirs := map[string]bool{}
	add := func(dir string) {
		if !dirs[dir] && w.Add(dir) == nil {
			dirs[dir] = true
		}
	}
	for _, b := range e.cfg.Bases {
		add(b.Dir)
		add(filepath.Join(b.Dir, "registry"))
		files, err := registry.Files(ctx, b.Dir)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("watch registries: %w", err)
		}
		for _, f := range files {
			add(filepath.Dir(f.Path))
		}
	}
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		defer w.Close()
		var timer <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				// A new task directory: watch it too.
				if ev.Has(fsnotify.Create) && registry.IsTaskDir(ev.Name) {
					add(ev.Name)
				}
				if relevant(ev.Name) && timer == nil {
					timer = time.After(debounce)
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
			case <-timer:
				timer = nil
				select {
				case out <- struct{}{}:
				default: // a signal is already waiting
				}
			}
		}
	}()
	return out, nil
}

// relevant reports whether a file event can change what a scan sees.
func relevant(name string) bool {
	base := filepath.Base(name)
	switch {
	case base == "AGENT_REGISTRY.json", base == "GLOBAL_REGISTRY.json":
		return true
	case registry.IsTaskDir(name):
		return true
	}
	return false
}

// Carry keeps, for every registry whose lock was busy during this scan, the
// document the previous snapshot read, so that a screen can go on showing
// the last good state. It returns the registries it carried.
func (s *Snapshot) Carry(prev *Snapshot) []reconcile.Registry {
	if prev == nil {
		return nil
	}
	old := map[string]reconcile.Registry{}
	for _, r := range prev.Input.Registries {
		old[r.Path] = r
	}
	var carried []reconcile.Registry
	for i, r := range s.Input.Registries {
		if !r.Locked {
			continue
		}
		if o, ok := old[r.Path]; ok && o.Root != nil {
			s.Input.Registries[i].Root, s.Input.Registries[i].Rows, s.Input.Registries[i].Hash = o.Root, o.Rows, o.Hash
			s.Input.Registries[i].Err, s.Input.Registries[i].Locked = nil, false
			s.Hashes[r.Path] = prev.Hashes[r.Path]
			carried = append(carried, r)
		}
	}
	return carried
}

// LockHolder describes a busy registry lock for a badge: the PID and
// command holding it, when known.
func LockHolder(err error) (pid int, command string, ok bool) {
	var lb *registry.LockBusyError
	if errors.As(err, &lb) {
		return lb.PID, lb.Command, true
	}
	return 0, "", false
}
