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

	"agentwatch/internal/lifeline"
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
	// cut lets the scene's reaper go (see Close).
	cut func() error
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
	for _, name := range []string{ClaudeName, MCPName, ReaperName} {
		if err := os.Symlink(exe, filepath.Join(s.Bin, name)); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	// Whatever ends this process, a test run's timeout or SIGKILL, the
	// reaper tears the scene down.
	if s.cut, err = lifeline.Tie(exec.Command(filepath.Join(s.Bin, ReaperName), "--scene", dir)); err != nil {
		return nil, err
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
