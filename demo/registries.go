// The scene's JSON registries: its cast's entries in the orchestrator's format,
// with the counters drifted as the field report describes.

package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

func (s *Scene) stamp(ago time.Duration) *pyjson.Value {
	return pyjson.NewString(registry.FormatTimestamp(s.now.Add(-ago)))
}

type castAgent struct {
	id, task, status string
	started, updated time.Duration // ago
	globalStatus     bool          // whether the global entry carries the status
}

// registered returns the agents the registries record.
func (c Cast) registered() []castAgent {
	return []castAgent{
		{c.Healthy1, TaskMain, "working", 5 * time.Minute, 30 * time.Second, true},
		{c.Healthy2, TaskMain, "working", 5 * time.Minute, 40 * time.Second, false},
		{c.Ghost, TaskMain, "working", 10 * time.Minute, 8 * time.Minute, true},
		{c.Finished, TaskMain, "completed", 12 * time.Minute, 6 * time.Minute, true},
		{c.Healthy3, TaskDocs, "reviewing", 4 * time.Minute, 20 * time.Second, true},
		{c.GhostDone, TaskDocs, "working", 15 * time.Minute, 9 * time.Minute, false},
		{c.Escaped, TaskDocs, "terminated", 14 * time.Minute, 7 * time.Minute, true},
		{c.DoneAgent, TaskOld, "completed", 50 * time.Hour, 49 * time.Hour, true},
	}
}

func agentType(id string) string { return id[:strings.Index(id, "-")] }

// writeRegistries writes a global and three task registries in the
// orchestrator's real format, with drifted counters: the task's
// active_count and the global active_agents and total_agents_spawned.
func (s *Scene) writeRegistries() error {
	tasks := map[string]*pyjson.Value{}
	for _, t := range []struct{ id, desc string }{
		{TaskMain, "Fix the registry race in deploy_headless_agent"},
		{TaskDocs, "Document the spawn protocol"},
		{TaskOld, "Plan the cleanup daemon"},
	} {
		doc := pyjson.NewObject()
		doc.Set("task_id", pyjson.NewString(t.id))
		doc.Set("task_description", pyjson.NewString(t.desc))
		doc.Set("created_at", s.stamp(time.Hour))
		doc.Set("workspace", pyjson.NewString(filepath.Join(s.Base, t.id)))
		doc.Set("workspace_base", pyjson.NewString(s.Base))
		doc.Set("client_cwd", pyjson.NewNull())
		doc.Set("status", pyjson.NewString("INITIALIZED"))
		doc.Set("priority", pyjson.NewString("P1"))
		doc.Set("agents", pyjson.NewArray())
		hier := pyjson.NewObject()
		hier.Set("orchestrator", pyjson.NewArray())
		doc.Set("agent_hierarchy", hier)
		doc.Set("max_agents", pyjson.NewInt(45))
		doc.Set("max_depth", pyjson.NewInt(5))
		doc.Set("max_concurrent", pyjson.NewInt(20))
		tasks[t.id] = doc
	}
	global := pyjson.NewObject()
	global.Set("created_at", s.stamp(60*time.Hour))
	gt := pyjson.NewObject()
	for _, id := range []string{TaskMain, TaskDocs, TaskOld} {
		e := pyjson.NewObject()
		e.Set("description", tasks[id].Get("task_description").Clone())
		e.Set("created_at", tasks[id].Get("created_at").Clone())
		e.Set("status", pyjson.NewString("INITIALIZED"))
		gt.Set(id, e)
	}
	ga := pyjson.NewObject()
	counts := map[string][3]int64{} // active, spawned, completed
	for _, a := range s.Cast.registered() {
		e := pyjson.NewObject()
		e.Set("id", pyjson.NewString(a.id))
		e.Set("type", pyjson.NewString(agentType(a.id)))
		e.Set("tmux_session", pyjson.NewString("agent_"+a.id))
		e.Set("parent", pyjson.NewString("orchestrator"))
		e.Set("depth", pyjson.NewInt(1))
		e.Set("status", pyjson.NewString(a.status))
		e.Set("started_at", s.stamp(a.started))
		e.Set("progress", pyjson.NewInt(40))
		e.Set("last_update", s.stamp(a.updated))
		e.Set("prompt", pyjson.NewString("You are "+a.id+", a "+agentType(a.id)+" agent.\n\nYOUR MISSION: …"))
		logs := filepath.Join(s.Base, a.task, "logs")
		tracked := pyjson.NewObject()
		tracked.Set("log_file", pyjson.NewString(filepath.Join(logs, a.id+"_stream.jsonl")))
		e.Set("tracked_files", tracked)
		if a.status == "completed" {
			e.Set("completed_at", s.stamp(a.updated))
		}
		if a.status == "terminated" {
			e.Set("terminated_at", s.stamp(a.updated))
			e.Set("termination_reason", pyjson.NewString("manual"))
		}
		tasks[a.task].Get("agents").Append(e)
		tasks[a.task].Get("agent_hierarchy").Get("orchestrator").Append(pyjson.NewString(a.id))
		c := counts[a.task]
		c[1]++
		switch a.status {
		case "completed", "terminated":
			c[2]++
		default:
			c[0]++
		}
		counts[a.task] = c

		g := pyjson.NewObject()
		g.Set("task_id", pyjson.NewString(a.task))
		g.Set("type", pyjson.NewString(agentType(a.id)))
		g.Set("parent", pyjson.NewString("orchestrator"))
		g.Set("started_at", s.stamp(a.started))
		g.Set("tmux_session", pyjson.NewString("agent_"+a.id))
		if a.globalStatus {
			g.Set("status", pyjson.NewString(a.status))
			g.Set("last_update", s.stamp(a.updated))
		}
		ga.Set(a.id, g)
	}
	for id, doc := range tasks {
		c := counts[id]
		if id == TaskMain {
			c[0] += 2 // lost updates: two spawns counted, their exits not
		}
		doc.Set("total_spawned", pyjson.NewInt(c[1]))
		doc.Set("active_count", pyjson.NewInt(c[0]))
		doc.Set("completed_count", pyjson.NewInt(c[2]))
		guide := pyjson.NewObject()
		guide.Set("min_specialization_depth", pyjson.NewInt(2))
		guide.Set("specialization_domains", pyjson.NewArray())
		doc.Set("orchestration_guidance", guide)
		if err := writeDoc(filepath.Join(s.Base, id, "AGENT_REGISTRY.json"), doc); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(s.Base, id, "logs"), 0o755); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	global.Set("total_tasks", pyjson.NewInt(3))
	global.Set("active_tasks", pyjson.NewInt(3))
	global.Set("total_agents_spawned", pyjson.NewInt(int64(len(s.Cast.registered())+4))) // counted retries
	global.Set("active_agents", pyjson.NewInt(9))
	global.Set("max_concurrent_agents", pyjson.NewInt(20))
	global.Set("tasks", gt)
	global.Set("agents", ga)
	if err := writeDoc(filepath.Join(s.Base, "registry", "GLOBAL_REGISTRY.json"), global); err != nil {
		return err
	}
	// The completed ghost's stream log ends with claude's result line.
	log := `{"type": "system", "subtype": "init"}` + "\n" + `{"type": "assistant", "message": {"content": "writing docs"}}` + "\n" +
		`{"type": "result", "subtype": "success", "is_error": false, "num_turns": 12}` + "\n"
	return os.WriteFile(registry.StreamLogPath(filepath.Join(s.Base, TaskDocs, "AGENT_REGISTRY.json"), s.Cast.GhostDone), []byte(log), 0o644)
}

func writeDoc(path string, doc *pyjson.Value) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(path, pyjson.Encode(doc), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}
