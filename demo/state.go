package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
	"agentwatch/tmux"
)

// The second project of a scene runs the orchestrator as it is in 2026: its
// state lives in registry/state.sqlite3, its JSON files are written once and
// never again, and its panes have today's shape. It shares the scene's tmux
// server with the first project, as two projects of an operator share the
// default server.

//go:embed schema.sql
var stateSchema string

//go:embed statedb.py
var stateWriter string

// StateSchema is the orchestrator's 2026 schema of registry/state.sqlite3,
// as its own code creates it.
func StateSchema() string { return stateSchema }

// TaskState is the task of the scene's 2026 project.
const TaskState = "TASK-20261205-101500-5e1f2a3b"

// StateCast names the agents of the 2026 project.
type StateCast struct {
	Native    string // running: the native installer's claude, named by its version
	Live      string // working: claude in today's launch shape
	Ghost     string // working: its session gone
	GhostDone string // running: its session gone, its archived stream log ends with a result
	Finished  string // completed: its claude printed its result and hangs on, ignoring SIGHUP
	Untracked string // a session of this project that no row records
	Done      string // completed long ago
	Odd       string // a status in neither set ("in_progress")
}

func newStateCast() StateCast {
	id := func(prefix string) string { return fmt.Sprintf("%s-%06x", prefix, randHex()) }
	return StateCast{Native: id("investigator-101500"), Live: id("builder-101502"), Ghost: id("test_writer-101504"),
		GhostDone: id("code_auditor-101506"), Finished: id("migration_runner-101508"), Untracked: id("stray-101510"),
		Done: id("planner-090000"), Odd: id("doc_writer-101512")}
}

// NativeVersion is the name the native installer gives claude's binary.
const NativeVersion = "2.1.97"

// buildState makes the 2026 project: its JSON files as the orchestrator
// creates them, its state database written by python3, its panes.
func (s *Scene) buildState(ctx context.Context) error {
	c := s.StateCast
	taskDir := filepath.Join(s.StateBase, TaskState)
	for _, d := range []string{filepath.Join(taskDir, "logs"), filepath.Join(taskDir, "archive"), filepath.Join(taskDir, "progress"),
		filepath.Join(s.StateBase, "registry"), filepath.Join(s.Dir, "native", "claude", "versions")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	native := filepath.Join(s.Dir, "native", "claude", "versions", NativeVersion)
	if err := os.Symlink(filepath.Join(s.Bin, ClaudeName), native); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// The JSON files of a 2026 task: no agents, counters at 0, forever.
	task := pyjson.NewObject()
	task.Set("task_id", pyjson.NewString(TaskState))
	task.Set("task_description", pyjson.NewString("Harden the session-token refresh flow"))
	task.Set("created_at", s.stamp(time.Hour))
	task.Set("workspace", pyjson.NewString(taskDir))
	task.Set("workspace_base", pyjson.NewString(s.StateBase))
	task.Set("client_cwd", pyjson.NewString(filepath.Dir(s.StateBase)))
	task.Set("status", pyjson.NewString("INITIALIZED"))
	task.Set("agents", pyjson.NewArray())
	for _, f := range []string{"total_spawned", "active_count", "completed_count"} {
		task.Set(f, pyjson.NewInt(0))
	}
	if err := writeDoc(filepath.Join(taskDir, "AGENT_REGISTRY.json"), task); err != nil {
		return err
	}
	global := pyjson.NewObject()
	global.Set("created_at", s.stamp(time.Hour))
	for _, f := range []string{"total_tasks", "active_tasks", "total_agents_spawned", "active_agents"} {
		global.Set(f, pyjson.NewInt(0))
	}
	gt := pyjson.NewObject()
	e := pyjson.NewObject()
	e.Set("status", pyjson.NewString("INITIALIZED"))
	gt.Set(TaskState, e)
	global.Set("tasks", gt)
	global.Set("agents", pyjson.NewObject())
	if err := writeDoc(filepath.Join(s.StateBase, "registry", "GLOBAL_REGISTRY.json"), global); err != nil {
		return err
	}
	// Stream logs: the completed ghost's, archived, ends with a result.
	result := `{"type":"system","subtype":"init"}` + "\n" + `{"type":"result","subtype":"success","is_error":false,"num_turns":7}` + "\n"
	if err := os.WriteFile(filepath.Join(taskDir, "archive", c.GhostDone+"_stream.jsonl"), []byte(result), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := s.writeStateDB(); err != nil {
		return err
	}
	for _, a := range []struct {
		id, claude string
		extra      []string
	}{
		{c.Native, native, nil},
		{c.Live, filepath.Join(s.Bin, ClaudeName), []string{"--mcp-child"}},
		{c.Finished, filepath.Join(s.Bin, ClaudeName), []string{"--ignore-hup", "--linger-after-result"}},
		{c.Untracked, filepath.Join(s.Bin, ClaudeName), nil},
	} {
		if err := s.StartStateAgent(ctx, a.id, a.claude, a.extra...); err != nil {
			return err
		}
	}
	return nil
}

// writeStateDB writes the project's rows with python3, as the orchestrator
// does.
func (s *Scene) writeStateDB() error {
	c := s.StateCast
	type row = map[string]any
	stamp := func(ago time.Duration) string { return registry.FormatTimestamp(s.now.Add(-ago)) }
	agent := func(id, status string, progress int, started, updated time.Duration) row {
		r := row{"agent_id": id, "task_id": TaskState, "type": agentType(id), "model": "claude-opus-4-7",
			"started_at": stamp(started), "last_update": stamp(updated), "status": status, "progress": progress}
		if status == "completed" {
			r["completed_at"] = stamp(updated)
		}
		return r
	}
	spec := row{
		"db":     filepath.Join(s.StateBase, "registry", "state.sqlite3"),
		"schema": stateSchema,
		"tasks": []row{{"task_id": TaskState, "workspace": filepath.Join(s.StateBase, TaskState), "base": s.StateBase,
			"description": "Harden the session-token refresh flow", "status": "ACTIVE", "created_at": stamp(time.Hour)}},
		"agents": []row{
			agent(c.Native, "running", 0, 5*time.Minute, 5*time.Minute),
			agent(c.Live, "working", 40, 5*time.Minute, 20*time.Second),
			agent(c.Ghost, "working", 30, 12*time.Minute, 9*time.Minute),
			agent(c.GhostDone, "running", 0, 14*time.Minute, 14*time.Minute),
			agent(c.Finished, "completed", 100, 11*time.Minute, 2*time.Minute),
			agent(c.Done, "completed", 100, 30*time.Hour, 29*time.Hour),
			agent(c.Odd, "in_progress", 50, 8*time.Minute, 3*time.Minute),
		},
		"progress": []row{
			{"task_id": TaskState, "agent_id": c.Live, "timestamp": stamp(20 * time.Second), "status": "working", "progress": 40,
				"message": "Reading auth/refresh.py; two race windows found so far"},
			{"task_id": TaskState, "agent_id": c.Ghost, "timestamp": stamp(9 * time.Minute), "status": "working", "progress": 30,
				"message": "Writing the refresh race test"},
		},
	}
	in, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	cmd := exec.Command("python3", "-c", stateWriter)
	cmd.Stdin = bytes.NewReader(in)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("demo: write the state database with python3: %v: %s", err, out)
	}
	return nil
}

// StateAgentCommand is the 2026 orchestrator's pane command for an agent:
// the prompt piped into claude (which names no agent id), claude's output
// into tee writing the stream log.
func (s *Scene) StateAgentCommand(id, claude string, extra ...string) []string {
	taskDir := filepath.Join(s.StateBase, TaskState)
	prompt := filepath.Join(taskDir, "agent_prompt_"+id+".txt")
	args := append([]string{claude, "--print", "--output-format", "stream-json", "--input-format", "text", "--verbose",
		"--dangerously-skip-permissions", "--model", "claude-opus-4-7", "--effort", "medium",
		"--scene", s.Dir, "--role", "sqlite:" + s.StateCast.role(id)}, extra...)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = ShellQuote(a)
	}
	line := fmt.Sprintf("set -o pipefail; cd %s && cat %s | %s | tee %s; exit_code=$?; echo \"agent exited $exit_code\"",
		ShellQuote(filepath.Dir(s.StateBase)), ShellQuote(prompt), strings.Join(quoted, " "),
		ShellQuote(filepath.Join(taskDir, "logs", id+"_stream.jsonl")))
	return []string{"bash", "-c", line}
}

// StartStateAgent starts an agent of the 2026 project in its session.
func (s *Scene) StartStateAgent(ctx context.Context, id, claude string, extra ...string) error {
	prompt := filepath.Join(s.StateBase, TaskState, "agent_prompt_"+id+".txt")
	if err := os.WriteFile(prompt, []byte("You are a "+agentType(id)+" agent.\n"), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return s.tmux.NewSession(ctx, tmux.NewSessionRequest{Name: "agent_" + id, Dir: filepath.Dir(s.StateBase), Width: 200, Height: 50,
		Command: s.StateAgentCommand(id, claude, extra...)})
}

// role is the scene role of a 2026 agent's claude: its part, never its id
// (today's claude carries no agent id in its command line).
func (c StateCast) role(id string) string {
	switch id {
	case c.Native:
		return "native"
	case c.Live:
		return "live"
	case c.Finished:
		return "finished"
	case c.Untracked:
		return "untracked"
	}
	return "other"
}

// StateRoles are the scene roles of the 2026 project's processes.
var StateRoles = []string{"sqlite:native", "sqlite:live", "sqlite:finished", "sqlite:untracked"}

// StateFlags point agentwatch at the 2026 project alone.
func (s *Scene) StateFlags() []string {
	return []string{"--workspace", s.StateBase, "--tmux-socket-path", s.Socket.Path}
}
