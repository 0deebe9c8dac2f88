// Package demo builds a live sandbox: a workspace in the orchestrator's real
// format on a private tmux server, with a cast of fake claude processes —
// agentwatch's own binary under the name claude — that plays every case
// agentwatch must tell apart: healthy agents, ghosts, leaked sessions, an
// orphan that escaped with setsid, a foreign claude, drifting counters. The
// demo command and the integration tests use the same builder.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"agentwatch/registry"
	"agentwatch/tmux"
)

// The scene's tasks, and the session that is no agent's. Ids follow the
// orchestrator's forms.
const (
	TaskMain   = "TASK-20251029-225319-45548b6a"
	TaskDocs   = "TASK-20251029-231002-9c1f3e7a"
	TaskOld    = "TASK-20251028-090000-0a1b2c3d"
	OpsSession = "ops"
)

// Cast names a scene's agents: <type>-<HHMMSS>-<6 hex>, as the
// orchestrator names them, the hex drawn for each scene. agentwatch follows
// every claude's TMUX to its server, so two scenes on one machine (a demo
// beside a test run) would otherwise share agent ids, and each would take
// the other's sessions and processes for its own agents': leaks to kill.
type Cast struct {
	Healthy1, Healthy2, Healthy3 string // working, each in its session
	Ghost, GhostDone             string // working, their sessions gone (the second's log ends with a result)
	Finished                     string // completed, its session still running
	Escaped                      string // terminated, a setsid child of its claude still running
	DoneAgent                    string // completed long ago
	Untracked                    string // a session that no registry records
}

// randHex draws 24 random bits, an agent id's hex part.
func randHex() int { return rand.IntN(1 << 24) }

// newCast draws a cast whose ids end in distinct hex.
func newCast() Cast {
	seen := map[string]bool{}
	id := func(prefix string) string {
		for {
			hex := fmt.Sprintf("%06x", rand.IntN(1<<24))
			if !seen[hex] {
				seen[hex] = true
				return prefix + "-" + hex
			}
		}
	}
	return Cast{
		Healthy1: id("code_auditor-101500"), Healthy2: id("test_runner-101502"), Healthy3: id("integration_tester-101600"),
		Ghost: id("api_designer-101010"), GhostDone: id("doc_writer-100500"), Finished: id("bug_fixer-100900"),
		Escaped: id("cleanup_daemon-100700"), DoneAgent: id("planner-100100"), Untracked: id("rogue_agent-101700"),
	}
}

// Scene is a built sandbox. Close removes everything it made.
type Scene struct {
	// Dir holds everything: the socket, the fake binaries, the workspace,
	// the registered PIDs.
	Dir    string
	Base   string
	Socket tmux.Socket
	Bin    string
	// Cast names its agents.
	Cast Cast
	// StateBase is the base of the scene's second project, of the SQLite
	// era, on the same tmux server; "" when the scene has none.
	StateBase string
	// StateCast names that project's agents.
	StateCast StateCast
	tmux      *tmux.Client
	now       time.Time
}

// Options tune a scene.
type Options struct {
	// Exe is the binary to run as claude: agentwatch itself, or a test
	// binary whose TestMain dispatches the same way.
	Exe string
	// Now is the scene's present; zero means time.Now().
	Now time.Time
	// State adds a second project on the same tmux server, run by the
	// 2026 orchestrator: a state database, today's panes (see state.go).
	State bool
}

// Build makes the scene: directories, registries, the private tmux server
// and every process of the cast. On failure it removes what it made.
func Build(ctx context.Context, opts Options) (s *Scene, err error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	exe := opts.Exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	// Scenes whose owner died without closing them (SIGKILL, a test run
	// that timed out) are removed first.
	ReapOrphans(ctx)
	// A short path: a socket's path must fit in 104 bytes.
	dir, err := os.MkdirTemp("/tmp", scenePrefix)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	s = &Scene{Dir: dir, Base: filepath.Join(dir, "ws", ".agent-workspace"), Socket: tmux.Socket{Path: filepath.Join(dir, "sock")},
		Bin: filepath.Join(dir, "bin"), Cast: newCast(), now: opts.Now}
	s.tmux = tmux.NewClient(s.Socket)
	s.tmux.Config = "/dev/null"
	defer func() {
		if err != nil {
			s.Close(context.Background())
			s = nil
		}
	}()
	for _, d := range []string{s.Bin, filepath.Join(dir, "pids")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	if err := writeOwner(ctx, dir); err != nil {
		return nil, err
	}
	for _, name := range []string{ClaudeName, MCPName} {
		if err := os.Symlink(exe, filepath.Join(s.Bin, name)); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	if err := s.writeRegistries(); err != nil {
		return nil, err
	}
	if err := s.startCast(ctx); err != nil {
		return nil, err
	}
	if opts.State {
		s.StateBase, s.StateCast = filepath.Join(dir, "proj26", ".agent-workspace"), newStateCast()
		if err := s.buildState(ctx); err != nil {
			return nil, err
		}
		if err := s.waitRoles(ctx, StateRoles...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Flags are the command-line flags that point agentwatch at the scene's
// first project (the JSON era).
func (s *Scene) Flags() []string {
	return []string{"--workspace", s.Base, "--tmux-socket-path", s.Socket.Path}
}

// AllFlags point agentwatch at every project of the scene.
func (s *Scene) AllFlags() []string {
	if s.StateBase == "" {
		return s.Flags()
	}
	return []string{"--workspace", s.Base, "--workspace", s.StateBase, "--tmux-socket-path", s.Socket.Path}
}

// Tmux returns a client of the scene's private tmux server.
func (s *Scene) Tmux() *tmux.Client { return s.tmux }

func (s *Scene) stamp(ago time.Duration) *registry.Value {
	return registry.NewString(registry.FormatTimestamp(s.now.Add(-ago)))
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
	tasks := map[string]*registry.Value{}
	for _, t := range []struct{ id, desc string }{
		{TaskMain, "Fix the registry race in deploy_headless_agent"},
		{TaskDocs, "Document the spawn protocol"},
		{TaskOld, "Plan the cleanup daemon"},
	} {
		doc := registry.NewObject()
		doc.Set("task_id", registry.NewString(t.id))
		doc.Set("task_description", registry.NewString(t.desc))
		doc.Set("created_at", s.stamp(time.Hour))
		doc.Set("workspace", registry.NewString(filepath.Join(s.Base, t.id)))
		doc.Set("workspace_base", registry.NewString(s.Base))
		doc.Set("client_cwd", registry.NewNull())
		doc.Set("status", registry.NewString("INITIALIZED"))
		doc.Set("priority", registry.NewString("P1"))
		doc.Set("agents", registry.NewArray())
		hier := registry.NewObject()
		hier.Set("orchestrator", registry.NewArray())
		doc.Set("agent_hierarchy", hier)
		doc.Set("max_agents", registry.NewInt(45))
		doc.Set("max_depth", registry.NewInt(5))
		doc.Set("max_concurrent", registry.NewInt(20))
		tasks[t.id] = doc
	}
	global := registry.NewObject()
	global.Set("created_at", s.stamp(60*time.Hour))
	gt := registry.NewObject()
	for _, id := range []string{TaskMain, TaskDocs, TaskOld} {
		e := registry.NewObject()
		e.Set("description", tasks[id].Get("task_description").Clone())
		e.Set("created_at", tasks[id].Get("created_at").Clone())
		e.Set("status", registry.NewString("INITIALIZED"))
		gt.Set(id, e)
	}
	ga := registry.NewObject()
	counts := map[string][3]int64{} // active, spawned, completed
	for _, a := range s.Cast.registered() {
		e := registry.NewObject()
		e.Set("id", registry.NewString(a.id))
		e.Set("type", registry.NewString(agentType(a.id)))
		e.Set("tmux_session", registry.NewString("agent_"+a.id))
		e.Set("parent", registry.NewString("orchestrator"))
		e.Set("depth", registry.NewInt(1))
		e.Set("status", registry.NewString(a.status))
		e.Set("started_at", s.stamp(a.started))
		e.Set("progress", registry.NewInt(40))
		e.Set("last_update", s.stamp(a.updated))
		e.Set("prompt", registry.NewString("You are "+a.id+", a "+agentType(a.id)+" agent.\n\nYOUR MISSION: …"))
		logs := filepath.Join(s.Base, a.task, "logs")
		tracked := registry.NewObject()
		tracked.Set("log_file", registry.NewString(filepath.Join(logs, a.id+"_stream.jsonl")))
		e.Set("tracked_files", tracked)
		if a.status == "completed" {
			e.Set("completed_at", s.stamp(a.updated))
		}
		if a.status == "terminated" {
			e.Set("terminated_at", s.stamp(a.updated))
			e.Set("termination_reason", registry.NewString("manual"))
		}
		tasks[a.task].Get("agents").Append(e)
		tasks[a.task].Get("agent_hierarchy").Get("orchestrator").Append(registry.NewString(a.id))
		c := counts[a.task]
		c[1]++
		switch a.status {
		case "completed", "terminated":
			c[2]++
		default:
			c[0]++
		}
		counts[a.task] = c

		g := registry.NewObject()
		g.Set("task_id", registry.NewString(a.task))
		g.Set("type", registry.NewString(agentType(a.id)))
		g.Set("parent", registry.NewString("orchestrator"))
		g.Set("started_at", s.stamp(a.started))
		g.Set("tmux_session", registry.NewString("agent_"+a.id))
		if a.globalStatus {
			g.Set("status", registry.NewString(a.status))
			g.Set("last_update", s.stamp(a.updated))
		}
		ga.Set(a.id, g)
	}
	for id, doc := range tasks {
		c := counts[id]
		if id == TaskMain {
			c[0] += 2 // lost updates: two spawns counted, their exits not
		}
		doc.Set("total_spawned", registry.NewInt(c[1]))
		doc.Set("active_count", registry.NewInt(c[0]))
		doc.Set("completed_count", registry.NewInt(c[2]))
		guide := registry.NewObject()
		guide.Set("min_specialization_depth", registry.NewInt(2))
		guide.Set("specialization_domains", registry.NewArray())
		doc.Set("orchestration_guidance", guide)
		if err := writeDoc(filepath.Join(s.Base, id, "AGENT_REGISTRY.json"), doc); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(s.Base, id, "logs"), 0o755); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	global.Set("total_tasks", registry.NewInt(3))
	global.Set("active_tasks", registry.NewInt(3))
	global.Set("total_agents_spawned", registry.NewInt(int64(len(s.Cast.registered())+4))) // counted retries
	global.Set("active_agents", registry.NewInt(9))
	global.Set("max_concurrent_agents", registry.NewInt(20))
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

func writeDoc(path string, doc *registry.Value) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(path, registry.Encode(doc), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// claudeCommand is the pane command of one of the scene's agents.
func (s *Scene) claudeCommand(task, id string, extra ...string) []string {
	return AgentCommand(filepath.Join(s.Bin, ClaudeName), s.Dir, filepath.Join(s.Base, task), id, extra...)
}

// AgentCommand is the orchestrator's pane command for agent id of the task
// directory taskDir: the fake claude (at claude, of the scene in sceneDir)
// in the task directory, piped into tee, which writes the stream log.
func AgentCommand(claude, sceneDir, taskDir, id string, extra ...string) []string {
	args := append([]string{claude, "--print", "--output-format", "stream-json",
		"--scene", sceneDir, "--role", "agent:" + id, "--agent-id", id}, extra...)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = ShellQuote(a)
	}
	logPath := registry.StreamLogPath(filepath.Join(taskDir, "AGENT_REGISTRY.json"), id)
	return []string{"sh", "-c", fmt.Sprintf("cd %s && %s | tee -a %s", ShellQuote(taskDir),
		strings.Join(quoted, " "), ShellQuote(logPath))}
}

// ShellQuote quotes s as one word for sh.
func ShellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// StartAgent starts an agent's session as the orchestrator does.
func (s *Scene) StartAgent(ctx context.Context, task, id string, extra ...string) error {
	if err := os.MkdirAll(filepath.Join(s.Base, task, "logs"), 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return s.tmux.NewSession(ctx, tmux.NewSessionRequest{Name: "agent_" + id, Dir: s.Dir, Width: 200, Height: 50,
		Command: s.claudeCommand(task, id, extra...)})
}

func (s *Scene) startCast(ctx context.Context) error {
	for _, a := range []struct {
		task, id string
		extra    []string
	}{
		{TaskMain, s.Cast.Healthy1, []string{"--mcp-child"}},
		{TaskMain, s.Cast.Healthy2, nil},
		{TaskDocs, s.Cast.Healthy3, nil},
		{TaskMain, s.Cast.Finished, []string{"--ignore-hup"}},
		{TaskMain, s.Cast.Untracked, nil},
		{TaskDocs, s.Cast.Escaped, []string{"--setsid-child"}},
	} {
		if err := s.StartAgent(ctx, a.task, a.id, a.extra...); err != nil {
			return err
		}
	}
	if err := s.tmux.NewSession(ctx, tmux.NewSessionRequest{Name: OpsSession, Dir: s.Dir, Command: []string{"sleep", "86400"}}); err != nil {
		return err
	}
	// The operator's own claude, outside any agent's session.
	foreign := exec.Command(filepath.Join(s.Bin, ClaudeName), "--scene", s.Dir, "--role", "foreign")
	foreign.Env = cleanEnv()
	foreign.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := foreign.Start(); err != nil {
		return fmt.Errorf("demo: start foreign claude: %w", err)
	}
	go foreign.Wait() // reap it when it ends
	// Every role in place, then the escaped agent's session ends: its
	// setsid child lives on as an orphan.
	if err := s.waitRoles(ctx, "agent:"+s.Cast.Healthy1, "mcp:"+s.Cast.Healthy1, "agent:"+s.Cast.Healthy2, "agent:"+s.Cast.Healthy3, "agent:"+s.Cast.Finished,
		"agent:"+s.Cast.Untracked, "agent:"+s.Cast.Escaped, "escaped:"+s.Cast.Escaped, "foreign"); err != nil {
		return err
	}
	return s.tmux.KillSession(ctx, "agent_"+s.Cast.Escaped)
}

// cleanEnv is the environment without tmux's variables, so that a process
// started outside tmux does not claim a pane.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMUX=") && !strings.HasPrefix(kv, "TMUX_PANE=") {
			out = append(out, kv)
		}
	}
	return out
}

// Roles returns the registered PIDs by role.
func (s *Scene) Roles() map[string][]int {
	out := map[string][]int{}
	entries, _ := os.ReadDir(filepath.Join(s.Dir, "pids"))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		role, _ := os.ReadFile(filepath.Join(s.Dir, "pids", e.Name()))
		out[string(role)] = append(out[string(role)], pid)
	}
	return out
}

func (s *Scene) waitRoles(ctx context.Context, roles ...string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		have := s.Roles()
		var missing []string
		for _, r := range roles {
			if len(have[r]) == 0 {
				missing = append(missing, r)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: the cast did not start: no %s", strings.Join(missing, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
