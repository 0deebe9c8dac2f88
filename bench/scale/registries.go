package main

// The JSON registries the scene writes: a big task, small tasks and the
// global registry, in the orchestrator's format, every counter right.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// Task ids in the orchestrator's form: TASK-YYYYMMDD-HHMMSS-<8 hex>.
const bigTask = "TASK-20251101-090000-b16b16b1"

func smallTask(i int) string { return fmt.Sprintf("TASK-20251101-1%05d-%08x", i, 0x5a11_0000+i) }

var agentTypes = []string{"code_auditor", "test_runner", "api_designer", "doc_writer", "bug_fixer",
	"integration_tester", "architecture_analyzer", "edge_case_analyzer", "deployment_modifier", "planner"}

// agentID is the i-th agent's id: <type>-<HHMMSS>-<6 hex>, unique by its
// hex part.
func agentID(i int) string {
	t := agentTypes[i%len(agentTypes)]
	return fmt.Sprintf("%s-%02d%02d%02d-%06x", t, (i/3600)%24, (i/60)%60, i%60, 0xa00000+i)
}

func (s *scene) stamp(ago time.Duration) *pyjson.Value {
	return pyjson.NewString(registry.FormatTimestamp(s.now.Add(-ago)))
}

// prompt is a few hundred characters, as the orchestrator stores them
// (it keeps the head of the prompt and an ellipsis).
func prompt(id string) string {
	return "You are " + id + ", a specialist agent of the orchestrator.\n\nYOUR MISSION:\n" +
		"1. Read the task description and the files it names; map the modules they touch.\n" +
		"2. Find every place where the registry is read, modified and written back without a lock.\n" +
		"3. Report each with its file, function and line, and propose the smallest safe fix.\n" +
		"4. Write your findings to the findings file and update progress as you go..."
}

// validation is a completed agent's completion_validation, shaped like the
// orchestrator's.
func (s *scene) validation(ago time.Duration) (*pyjson.Value, error) {
	v, err := pyjson.Parse([]byte(`{"confidence": 1.0, "warnings": [], "blocking_issues": [], ` +
		`"evidence_summary": {"workspace_evidence": {"modified_files_count": 7, "progress_entries_count": 4, "findings_count": 3}, ` +
		`"type_specific": {}, "message_validation": {"length": 617, "suspicious_phrases_found": [], ` +
		`"evidence_keywords_found": ["reported", "documented"]}, "progress_pattern": {"pattern": "normal", ` +
		`"elapsed_seconds": 191.599808, "speed": "reasonable", "working_updates_count": 3}}}`))
	if err != nil {
		return nil, err
	}
	v.Set("validated_at", s.stamp(ago))
	return v, nil
}

// agentSpec is one agent of the scene.
type agentSpec struct {
	id, task, status string
	started, updated time.Duration // ago
}

func (s *scene) taskEntry(a agentSpec) (*pyjson.Value, error) {
	typ := a.id[:strings.Index(a.id, "-")]
	e := pyjson.NewObject()
	e.Set("id", pyjson.NewString(a.id))
	e.Set("type", pyjson.NewString(typ))
	e.Set("tmux_session", pyjson.NewString("agent_"+a.id))
	e.Set("parent", pyjson.NewString("orchestrator"))
	e.Set("depth", pyjson.NewInt(1))
	e.Set("status", pyjson.NewString(a.status))
	e.Set("started_at", s.stamp(a.started))
	progress := int64(100)
	if a.status == "working" {
		progress = 40
	}
	e.Set("progress", pyjson.NewInt(progress))
	e.Set("last_update", s.stamp(a.updated))
	e.Set("prompt", pyjson.NewString(prompt(a.id)))
	taskDir := filepath.Join(s.base, a.task)
	tracked := pyjson.NewObject()
	tracked.Set("prompt_file", pyjson.NewString(filepath.Join(taskDir, "prompts", a.id+"_prompt.md")))
	tracked.Set("log_file", pyjson.NewString(registry.StreamLogPath(filepath.Join(taskDir, "AGENT_REGISTRY.json"), a.id)))
	tracked.Set("progress_file", pyjson.NewString(filepath.Join(taskDir, "progress", a.id+"_progress.jsonl")))
	tracked.Set("findings_file", pyjson.NewString(filepath.Join(taskDir, "findings", a.id+"_findings.jsonl")))
	tracked.Set("deploy_log", pyjson.NewString(filepath.Join(taskDir, "logs", "deploy_"+a.id+".json")))
	e.Set("tracked_files", tracked)
	switch a.status {
	case "completed":
		v, err := s.validation(a.updated)
		if err != nil {
			return nil, err
		}
		e.Set("completion_validation", v)
		e.Set("completed_at", s.stamp(a.updated))
	case "terminated":
		e.Set("terminated_at", s.stamp(a.updated))
		e.Set("termination_reason", pyjson.NewString("session_not_found"))
	}
	return e, nil
}

func (s *scene) globalEntry(a agentSpec) *pyjson.Value {
	g := pyjson.NewObject()
	g.Set("task_id", pyjson.NewString(a.task))
	g.Set("type", pyjson.NewString(a.id[:strings.Index(a.id, "-")]))
	g.Set("parent", pyjson.NewString("orchestrator"))
	g.Set("started_at", s.stamp(a.started))
	g.Set("tmux_session", pyjson.NewString("agent_"+a.id))
	g.Set("status", pyjson.NewString(a.status))
	g.Set("last_update", s.stamp(a.updated))
	switch a.status {
	case "completed":
		g.Set("completed_at", s.stamp(a.updated))
	case "terminated":
		g.Set("terminated_at", s.stamp(a.updated))
	}
	return g
}

// specs lays out every agent: the big task's first cfg.live agents are the
// live ones; every tenth terminal agent is terminated, the rest completed.
func (s *scene) specs() map[string][]agentSpec {
	out := map[string][]agentSpec{}
	n := 0
	add := func(task string, live bool) {
		a := agentSpec{id: agentID(n), task: task}
		switch {
		case live:
			a.status, a.started, a.updated = "working", 10*time.Minute, 0
		case n%10 == 9:
			a.status, a.started, a.updated = "terminated", time.Duration(48*3600-n)*time.Second, time.Duration(47*3600-n)*time.Second
		default:
			a.status, a.started, a.updated = "completed", time.Duration(48*3600-n)*time.Second, time.Duration(47*3600-n)*time.Second
		}
		out[task] = append(out[task], a)
		n++
	}
	for i := range s.cfg.agents {
		add(bigTask, i < s.cfg.live)
	}
	for t := range s.cfg.smallTasks {
		for range s.cfg.smallAgents {
			add(smallTask(t), false)
		}
	}
	return out
}

func (s *scene) taskIDs() []string {
	ids := []string{bigTask}
	for t := range s.cfg.smallTasks {
		ids = append(ids, smallTask(t))
	}
	return ids
}

func (s *scene) writeRegistries() error {
	specs := s.specs()
	global := pyjson.NewObject()
	global.Set("created_at", s.stamp(72*time.Hour))
	gTasks, gAgents := pyjson.NewObject(), pyjson.NewObject()
	total, active := 0, 0
	for i, task := range s.taskIDs() {
		desc := fmt.Sprintf("Scale task %d: audit and fix the registry writers", i)
		doc := pyjson.NewObject()
		doc.Set("task_id", pyjson.NewString(task))
		doc.Set("task_description", pyjson.NewString(desc))
		doc.Set("created_at", s.stamp(72*time.Hour))
		doc.Set("workspace", pyjson.NewString(filepath.Join(s.base, task)))
		doc.Set("workspace_base", pyjson.NewString(s.base))
		doc.Set("client_cwd", pyjson.NewNull())
		doc.Set("status", pyjson.NewString("INITIALIZED"))
		doc.Set("priority", pyjson.NewString("P1"))
		agents := pyjson.NewArray()
		children := pyjson.NewArray()
		var nActive, nDone int64
		for _, a := range specs[task] {
			e, err := s.taskEntry(a)
			if err != nil {
				return err
			}
			agents.Append(e)
			children.Append(pyjson.NewString(a.id))
			gAgents.Set(a.id, s.globalEntry(a))
			if a.status == "working" {
				nActive++
			} else {
				nDone++
			}
		}
		doc.Set("agents", agents)
		hier := pyjson.NewObject()
		hier.Set("orchestrator", children)
		doc.Set("agent_hierarchy", hier)
		doc.Set("max_agents", pyjson.NewInt(int64(len(specs[task])+45)))
		doc.Set("max_depth", pyjson.NewInt(5))
		doc.Set("max_concurrent", pyjson.NewInt(int64(s.cfg.live+20)))
		doc.Set("total_spawned", pyjson.NewInt(int64(len(specs[task]))))
		doc.Set("active_count", pyjson.NewInt(nActive))
		doc.Set("completed_count", pyjson.NewInt(nDone))
		guide, err := pyjson.Parse([]byte(`{"min_specialization_depth": 2, "recommended_child_agents_per_parent": 3, ` +
			`"specialization_domains": [], "complexity_score": 1}`))
		if err != nil {
			return err
		}
		doc.Set("orchestration_guidance", guide)
		spiral := pyjson.NewObject()
		spiral.Set("enabled", pyjson.NewBool(true))
		spiral.Set("last_check", s.stamp(72*time.Hour))
		spiral.Set("violations", pyjson.NewInt(0))
		doc.Set("spiral_checks", spiral)
		path := filepath.Join(s.base, task, "AGENT_REGISTRY.json")
		if err := writeDoc(path, doc); err != nil {
			return err
		}
		for _, sub := range []string{"logs", "prompts", "progress", "findings"} {
			if err := os.MkdirAll(filepath.Join(s.base, task, sub), 0o755); err != nil {
				return err
			}
		}
		s.registries = append(s.registries, path)

		t := pyjson.NewObject()
		t.Set("description", pyjson.NewString(desc))
		t.Set("created_at", s.stamp(72*time.Hour))
		t.Set("status", pyjson.NewString("INITIALIZED"))
		gTasks.Set(task, t)
		total += len(specs[task])
		active += int(nActive)
	}
	global.Set("total_tasks", pyjson.NewInt(int64(len(s.taskIDs()))))
	global.Set("active_tasks", pyjson.NewInt(int64(len(s.taskIDs()))))
	global.Set("total_agents_spawned", pyjson.NewInt(int64(total)))
	global.Set("active_agents", pyjson.NewInt(int64(active)))
	global.Set("max_concurrent_agents", pyjson.NewInt(int64(s.cfg.live+20)))
	global.Set("tasks", gTasks)
	global.Set("agents", gAgents)
	path := filepath.Join(s.base, "registry", "GLOBAL_REGISTRY.json")
	if err := writeDoc(path, global); err != nil {
		return err
	}
	s.registries = append([]string{path}, s.registries...)
	return nil
}

func writeDoc(path string, doc *pyjson.Value) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, pyjson.Encode(doc), 0o644)
}
