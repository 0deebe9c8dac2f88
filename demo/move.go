package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// Event is one change Move makes to the scene.
type Event struct {
	Time    time.Time
	What    string // "start", "finish" or "die"
	AgentID string
}

// Move keeps the scene alive until ctx ends: every interval an agent
// starts, one finishes (its registry says completed, then its session
// ends), or one dies without a word (its session ends, its registry still
// says working: a ghost in the making). Each event is sent on events if it
// is not nil; errors end the loop.
func (s *Scene) Move(ctx context.Context, interval time.Duration, events chan<- Event) error {
	live := []string{s.Cast.Healthy2, s.Cast.Healthy3}
	step := 0
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		var ev Event
		var err error
		switch {
		case step%3 == 0 || len(live) == 0:
			var id string
			id, err = s.startNew(ctx)
			live = append(live, id)
			ev = Event{What: "start", AgentID: id}
		case step%3 == 1:
			id := live[0]
			live = live[1:]
			err = s.finish(ctx, id)
			ev = Event{What: "finish", AgentID: id}
		default:
			id := live[0]
			live = live[1:]
			err = s.endSession(ctx, "agent_"+id)
			ev = Event{What: "die", AgentID: id}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped in the middle of an event
			}
			return fmt.Errorf("demo: %s: %w", ev.What, err)
		}
		step++
		ev.Time = time.Now()
		if events != nil {
			select {
			case events <- ev:
			default:
			}
		}
	}
}

// store writes the scene's registries as the orchestrator's careful
// writers do: flock on the file, in place.
func (s *Scene) store() *registry.Store {
	return &registry.Store{StateDir: filepath.Join(s.Dir, "state"), LockTimeout: 5 * time.Second}
}

func (s *Scene) taskOf(id string) string {
	for _, a := range s.Cast.registered() {
		if a.id == id {
			return a.task
		}
	}
	return TaskMain
}

// edit changes one registry under its lock.
func (s *Scene) edit(ctx context.Context, path string, change func(root *pyjson.Value)) error {
	_, err := s.store().Transform(ctx, path, func(cur *registry.Snapshot) (registry.Change, error) {
		change(cur.Root)
		return registry.Write(pyjson.Encode(cur.Root)), nil
	})
	return err
}

func bump(root *pyjson.Value, field string, by int64) {
	n, _ := root.Get(field).Int()
	root.Set(field, pyjson.NewInt(n+by))
}

// startNew registers a new agent, as the orchestrator does, and starts it.
func (s *Scene) startNew(ctx context.Context) (string, error) {
	now := time.Now()
	id := fmt.Sprintf("%s-%s-%06x", []string{"reviewer", "fixer", "tester", "scout"}[rand.IntN(4)], now.Format("150405"), rand.IntN(1<<24))
	stamp := pyjson.NewString(registry.FormatTimestamp(now))
	task := filepath.Join(s.Base, TaskMain, "AGENT_REGISTRY.json")
	err := s.edit(ctx, task, func(root *pyjson.Value) {
		e := pyjson.NewObject()
		e.Set("id", pyjson.NewString(id))
		e.Set("type", pyjson.NewString(agentType(id)))
		e.Set("tmux_session", pyjson.NewString("agent_"+id))
		e.Set("parent", pyjson.NewString("orchestrator"))
		e.Set("depth", pyjson.NewInt(1))
		e.Set("status", pyjson.NewString("running"))
		e.Set("started_at", stamp)
		e.Set("progress", pyjson.NewInt(0))
		e.Set("last_update", stamp.Clone())
		root.Get("agents").Append(e)
		bump(root, "total_spawned", 1)
		bump(root, "active_count", 1)
	})
	if err != nil {
		return "", err
	}
	err = s.edit(ctx, filepath.Join(s.Base, "registry", "GLOBAL_REGISTRY.json"), func(root *pyjson.Value) {
		g := pyjson.NewObject()
		g.Set("task_id", pyjson.NewString(TaskMain))
		g.Set("type", pyjson.NewString(agentType(id)))
		g.Set("parent", pyjson.NewString("orchestrator"))
		g.Set("started_at", stamp.Clone())
		g.Set("tmux_session", pyjson.NewString("agent_"+id))
		root.Get("agents").Set(id, g)
		bump(root, "total_agents_spawned", 1)
		bump(root, "active_agents", 1)
	})
	if err != nil {
		return "", err
	}
	return id, s.StartAgent(ctx, TaskMain, id)
}

// finish records an agent completed and then ends its session, as a
// finishing agent does.
func (s *Scene) finish(ctx context.Context, id string) error {
	stamp := pyjson.NewString(registry.FormatTimestamp(time.Now()))
	task := filepath.Join(s.Base, s.taskOf(id), "AGENT_REGISTRY.json")
	err := s.edit(ctx, task, func(root *pyjson.Value) {
		for _, e := range root.Get("agents").Elems() {
			if e.Get("id").StrOr("") == id {
				e.Set("status", pyjson.NewString("completed"))
				e.Set("progress", pyjson.NewInt(100))
				e.Set("last_update", stamp)
				e.Set("completed_at", stamp.Clone())
			}
		}
		bump(root, "active_count", -1)
		bump(root, "completed_count", 1)
	})
	if err != nil {
		return err
	}
	err = s.edit(ctx, filepath.Join(s.Base, "registry", "GLOBAL_REGISTRY.json"), func(root *pyjson.Value) {
		if e := root.Get("agents").Get(id); e != nil && e.Has("status") {
			e.Set("status", pyjson.NewString("completed"))
			e.Set("last_update", stamp.Clone())
		}
		bump(root, "active_agents", -1)
	})
	if err != nil {
		return err
	}
	return s.endSession(ctx, "agent_"+id)
}

// endSession kills a session of the scene; one already gone is no error:
// between the registry saying completed and the session's end, a repair
// with --kill-leaks may well have killed it as a finished agent's leak.
func (s *Scene) endSession(ctx context.Context, name string) error {
	err := s.tmux.KillSession(ctx, name)
	if err != nil {
		if alive, herr := s.tmux.HasSession(ctx, name); herr == nil && !alive {
			return nil
		}
	}
	return err
}
