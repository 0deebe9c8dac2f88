package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"agentwatch/demo"
	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// stateWriter writes the scene's rows as the 2026 orchestrator writes its
// own: python3's sqlite3 in autocommit, WAL, foreign keys on, the schema
// its code creates, the rows in one BEGIN IMMEDIATE transaction. The rows
// come as JSON on stdin.
const stateWriter = `
import json, sqlite3, sys
spec = json.load(sys.stdin)
conn = sqlite3.connect(spec["db"], timeout=10, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=NORMAL")
conn.execute("PRAGMA foreign_keys=ON")
conn.executescript(spec["schema"])
conn.execute("BEGIN IMMEDIATE")
conn.executemany(
    "INSERT INTO tasks (task_id, workspace, workspace_base, description, status, priority, client_cwd, created_at, updated_at, current_phase_index)"
    " VALUES (:task_id, :workspace, :base, :description, 'ACTIVE', 'P1', NULL, :created_at, :created_at, 0)", spec["tasks"])
conn.executemany(
    "INSERT INTO task_config (task_id, max_agents, max_concurrent, max_depth) VALUES (:task_id, :max_agents, :max_concurrent, 5)", spec["tasks"])
conn.executemany(
    "INSERT INTO agents (agent_id, task_id, type, model, tmux_session, parent, depth, phase_index, tracked_files, started_at, completed_at, status, progress, last_update, prompt_preview)"
    " VALUES (:agent_id, :task_id, :type, 'claude-opus-4-7', :tmux_session, 'orchestrator', 1, 0, :tracked_files, :started_at, :completed_at, :status, :progress, :last_update, :prompt)",
    spec["agents"])
conn.executemany(
    "INSERT INTO agent_progress_latest (task_id, agent_id, timestamp, status, progress, message) VALUES (:task_id, :agent_id, :timestamp, :status, :progress, :message)",
    spec["progress"])
conn.execute("COMMIT")
conn.close()
`

// writeState writes the scene of the SQLite era: every agent a row of
// registry/state.sqlite3, the live ones with an agent_progress_latest row,
// and the JSON files a 2026 task leaves behind (no agents, counters at 0:
// never drift). The live agents' prompt files are where their panes cat
// them from.
func (s *scene) writeState() error {
	type row = map[string]any
	stamp := func(ago time.Duration) string { return registry.FormatTimestamp(s.now.Add(-ago)) }
	specs := s.specs()
	var tasks, agents, progress []row
	gTasks := pyjson.NewObject()
	for i, task := range s.taskIDs() {
		taskDir := filepath.Join(s.base, task)
		for _, sub := range []string{"logs", "archive", "progress", "findings", "prompts"} {
			if err := os.MkdirAll(filepath.Join(taskDir, sub), 0o755); err != nil {
				return err
			}
		}
		desc := fmt.Sprintf("Scale task %d: audit and fix the registry writers", i)
		tasks = append(tasks, row{"task_id": task, "workspace": taskDir, "base": s.base, "description": desc,
			"created_at": stamp(72 * time.Hour), "max_agents": len(specs[task]) + 45, "max_concurrent": s.cfg.live + 20})
		for _, a := range specs[task] {
			tracked, err := json.Marshal(map[string]string{
				"prompt_file":   filepath.Join(taskDir, "agent_prompt_"+a.id+".txt"),
				"log_file":      filepath.Join(taskDir, "logs", a.id+"_stream.jsonl"),
				"progress_file": filepath.Join(taskDir, "progress", a.id+"_progress.jsonl"),
				"findings_file": filepath.Join(taskDir, "findings", a.id+"_findings.jsonl"),
			})
			if err != nil {
				return err
			}
			r := row{"agent_id": a.id, "task_id": task, "type": a.id[:strings.Index(a.id, "-")], "tmux_session": "agent_" + a.id,
				"tracked_files": string(tracked), "started_at": stamp(a.started), "completed_at": nil, "status": a.status,
				"progress": 100, "last_update": stamp(a.updated), "prompt": prompt(a.id)}
			if a.status == "working" {
				r["progress"] = 40
				progress = append(progress, row{"task_id": task, "agent_id": a.id, "timestamp": stamp(a.updated),
					"status": "working", "progress": 40, "message": "Reading the registry writers; two race windows found so far"})
				if err := os.WriteFile(filepath.Join(taskDir, "agent_prompt_"+a.id+".txt"), []byte(prompt(a.id)+"\n"), 0o644); err != nil {
					return err
				}
			} else {
				r["completed_at"] = stamp(a.updated)
			}
			agents = append(agents, r)
		}
		// The task's JSON file as the 2026 orchestrator creates it.
		doc := pyjson.NewObject()
		doc.Set("task_id", pyjson.NewString(task))
		doc.Set("task_description", pyjson.NewString(desc))
		doc.Set("created_at", s.stamp(72*time.Hour))
		doc.Set("workspace", pyjson.NewString(taskDir))
		doc.Set("workspace_base", pyjson.NewString(s.base))
		doc.Set("client_cwd", pyjson.NewNull())
		doc.Set("status", pyjson.NewString("INITIALIZED"))
		doc.Set("agents", pyjson.NewArray())
		for _, f := range []string{"total_spawned", "active_count", "completed_count"} {
			doc.Set(f, pyjson.NewInt(0))
		}
		path := filepath.Join(taskDir, "AGENT_REGISTRY.json")
		if err := writeDoc(path, doc); err != nil {
			return err
		}
		s.registries = append(s.registries, path)
		t := pyjson.NewObject()
		t.Set("status", pyjson.NewString("INITIALIZED"))
		gTasks.Set(task, t)
	}
	global := pyjson.NewObject()
	global.Set("created_at", s.stamp(72*time.Hour))
	for _, f := range []string{"total_tasks", "active_tasks", "total_agents_spawned", "active_agents"} {
		global.Set(f, pyjson.NewInt(0))
	}
	global.Set("tasks", gTasks)
	global.Set("agents", pyjson.NewObject())
	gpath := filepath.Join(s.base, "registry", "GLOBAL_REGISTRY.json")
	if err := writeDoc(gpath, global); err != nil {
		return err
	}
	s.registries = append([]string{gpath}, s.registries...)

	s.db = filepath.Join(s.base, "registry", "state.sqlite3")
	in, err := json.Marshal(row{"db": s.db, "schema": demo.StateSchema(), "tasks": tasks, "agents": agents, "progress": progress})
	if err != nil {
		return err
	}
	cmd := exec.Command("python3", "-c", stateWriter)
	cmd.Stdin = bytes.NewReader(in)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("python3: %v: %s", err, out)
	}
	return nil
}

// stateCommand is an agent's pane command in the 2026 orchestrator's
// launch shape (see demo's StateAgentCommand): the prompt piped into claude,
// which names no agent id, and claude's output into tee writing the stream
// log, then the exit notice.
func (s *scene) stateCommand(claude, id string) []string {
	taskDir := filepath.Join(s.base, bigTask)
	args := []string{claude, "--print", "--output-format", "stream-json", "--input-format", "text", "--verbose",
		"--dangerously-skip-permissions", "--model", "claude-opus-4-7", "--effort", "medium",
		"--scene", s.dir, "--role", "sqlite:live"}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = demo.ShellQuote(a)
	}
	line := fmt.Sprintf("set -o pipefail; cd %s && cat %s | %s | tee %s; exit_code=$?; echo \"agent exited $exit_code\"",
		demo.ShellQuote(filepath.Dir(s.base)), demo.ShellQuote(filepath.Join(taskDir, "agent_prompt_"+id+".txt")),
		strings.Join(quoted, " "), demo.ShellQuote(filepath.Join(taskDir, "logs", id+"_stream.jsonl")))
	return []string{"bash", "-c", line}
}
