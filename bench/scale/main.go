// Command scale builds the scale scene that bench/run.sh measures
// agentwatch on, prints what points agentwatch at it, and keeps it until
// SIGINT or SIGTERM, when it tears everything down by PID and socket.
//
// The scene, in a short directory under /tmp:
//   - a private tmux server (-S DIR/sock, -f /dev/null) with -live agent
//     sessions agent_<id>, each running a fake claude (the agentwatch
//     binary under the name claude, dispatched on argv[0]) piped into tee,
//     as the orchestrator starts its agents;
//   - a workspace base with a global registry and task registries in the
//     orchestrator's format: one big task holding -agents agents on its own
//     (the live ones among them, registered active; every other one
//     terminal) and -small-tasks tasks of -small-agents terminal agents
//     each; the global registry holds every agent. Every counter is right
//     and every status agrees, so the scene is healthy: a check finds no
//     suspect and never spends its ghost settle;
//   - -extra sleep processes, children of this command, so that the process
//     table is big.
//
// With -era sqlite the same agents are rows of the base's
// registry/state.sqlite3 instead (the orchestrator's 2026 schema, written by
// python3's sqlite3 as the orchestrator writes it), the JSON files are the
// ones a 2026 task leaves (no agents, counters at 0), and the panes run
// claude in the 2026 launch shape: bash -c "set -o pipefail; cd DIR && cat
// PROMPT | claude … | tee …/logs/<id>_stream.jsonl; …", whose claude names
// no agent id.
//
// Output (stdout), shell-quoted KEY=VALUE lines and then READY:
//
//	AW_DIR AW_SOCK AW_WORKSPACE AW_GLOBAL AW_BIG AW_REGISTRIES AW_DB AW_ERA AW_FLAGS AW_SLEEP_PGID
//
// (AW_DB is the state database, empty in the JSON era.)
//
// Usage: scale -agentwatch ./agentwatch [-era json|sqlite] [-agents 10000] [-live 200] [-extra 1000]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"agentwatch/demo"
	"agentwatch/procscan"
	"agentwatch/registry"
	"agentwatch/registry/pyjson"
	"agentwatch/tmux"
)

// Task ids in the orchestrator's form: TASK-YYYYMMDD-HHMMSS-<8 hex>.
const bigTask = "TASK-20251101-090000-b16b16b1"

func smallTask(i int) string { return fmt.Sprintf("TASK-20251101-1%05d-%08x", i, 0x5a11_0000+i) }

var agentTypes = []string{"code_auditor", "test_runner", "api_designer", "doc_writer", "bug_fixer",
	"integration_tester", "architecture_analyzer", "edge_case_analyzer", "deployment_modifier", "planner"}

type config struct {
	agentwatch  string
	era         string
	agents      int
	live        int
	smallTasks  int
	smallAgents int
	extra       int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.agentwatch, "agentwatch", "", "the agentwatch `binary`: linked as the scene's fake claude (required)")
	flag.StringVar(&cfg.era, "era", "json", "the orchestrator's era: json (2025 registries) or sqlite (2026 state database)")
	flag.IntVar(&cfg.agents, "agents", 10000, "agents in the big task registry")
	flag.IntVar(&cfg.live, "live", 200, "live agent sessions (active agents of the big task)")
	flag.IntVar(&cfg.smallTasks, "small-tasks", 9, "further task registries")
	flag.IntVar(&cfg.smallAgents, "small-agents", 20, "terminal agents in each further task")
	flag.IntVar(&cfg.extra, "extra", 1000, "extra sleep processes")
	flag.Parse()
	if cfg.agentwatch == "" || cfg.live > cfg.agents || (cfg.era != "json" && cfg.era != "sqlite") {
		fmt.Fprintln(os.Stderr, "scale: -agentwatch is required, -live may not exceed -agents, and -era is json or sqlite")
		os.Exit(2)
	}
	exe, err := filepath.Abs(cfg.agentwatch)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(2)
	}
	cfg.agentwatch = exe

	// Signals are caught from the start, so that a signal during the build
	// still tears down what was built.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	s, err := build(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		if s != nil {
			if err := s.close(); err != nil {
				fmt.Fprintln(os.Stderr, "scale: teardown:", err)
			}
		}
		os.Exit(1)
	}
	s.print()
	<-ctx.Done()
	stop()
	fmt.Fprintln(os.Stderr, "scale: tearing down")
	if err := s.close(); err != nil {
		fmt.Fprintln(os.Stderr, "scale: teardown:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "scale: torn down: nothing left")
}

// scene is what build made; close removes all of it.
type scene struct {
	cfg        config
	dir, base  string
	sock       tmux.Socket
	tmux       *tmux.Client
	bin        string
	registries []string
	db         string // the state database, sqlite era only
	sleeps     []*exec.Cmd
	sleepPGID  int
	serverPID  int
	now        time.Time
}

func build(ctx context.Context, cfg config) (*scene, error) {
	dir, err := os.MkdirTemp("/tmp", "aw-scale-")
	if err != nil {
		return nil, err
	}
	s := &scene{cfg: cfg, dir: dir, base: filepath.Join(dir, "ws", ".agent-workspace"),
		sock: tmux.Socket{Path: filepath.Join(dir, "sock")}, bin: filepath.Join(dir, "bin"), now: time.Now()}
	s.tmux = tmux.NewClient(s.sock)
	s.tmux.Config = "/dev/null"
	for _, d := range []string{s.bin, filepath.Join(dir, "pids")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return s, err
		}
	}
	if err := os.Symlink(cfg.agentwatch, filepath.Join(s.bin, demo.ClaudeName)); err != nil {
		return s, err
	}
	if cfg.era == "sqlite" {
		if err := s.writeState(); err != nil {
			return s, fmt.Errorf("write the state database: %w", err)
		}
	} else if err := s.writeRegistries(); err != nil {
		return s, fmt.Errorf("write registries: %w", err)
	}
	if err := s.startSleeps(ctx); err != nil {
		return s, fmt.Errorf("start sleeps: %w", err)
	}
	if err := s.startAgents(ctx); err != nil {
		return s, fmt.Errorf("start agents: %w", err)
	}
	return s, nil
}

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

// startSleeps starts the extra processes, all in one process group, each
// set to die with this command should it be killed without its teardown.
func (s *scene) startSleeps(ctx context.Context) error {
	for i := range s.cfg.extra {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c := exec.Command("sleep", "infinity")
		c.SysProcAttr = sleepAttr(s.sleepPGID)
		if err := c.Start(); err != nil {
			return fmt.Errorf("sleep %d: %w", i, err)
		}
		if i == 0 {
			s.sleepPGID = c.Process.Pid
		}
		s.sleeps = append(s.sleeps, c)
	}
	return nil
}

// startAgents starts each live agent's session as the orchestrator does:
// claude piped into tee, in the task directory.
func (s *scene) startAgents(ctx context.Context) error {
	claude := filepath.Join(s.bin, demo.ClaudeName)
	for i := range s.cfg.live {
		id := agentID(i)
		req := tmux.NewSessionRequest{Name: "agent_" + id, Dir: s.dir, Width: 200, Height: 50,
			Command: demo.AgentCommand(claude, s.dir, filepath.Join(s.base, bigTask), id)}
		if s.cfg.era == "sqlite" {
			req.Dir, req.Command = filepath.Dir(s.base), s.stateCommand(claude, id)
		}
		if err := s.tmux.NewSession(ctx, req); err != nil {
			return err
		}
	}
	snap, err := s.tmux.Snapshot(ctx)
	if err != nil {
		return err
	}
	s.serverPID = snap.ServerPID
	// Wait until every fake claude has registered: then the scene is what
	// it claims.
	deadline := time.Now().Add(60 * time.Second)
	for {
		entries, _ := os.ReadDir(filepath.Join(s.dir, "pids"))
		if len(entries) >= s.cfg.live {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d fake claudes started", len(entries), s.cfg.live)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *scene) print() {
	flags := []string{"--workspace", s.base, "--tmux-socket-path", s.sock.Path}
	for _, kv := range [][2]string{
		{"AW_DIR", s.dir},
		{"AW_SOCK", s.sock.Path},
		{"AW_WORKSPACE", s.base},
		{"AW_GLOBAL", s.registries[0]},
		{"AW_BIG", s.registries[1]},
		{"AW_REGISTRIES", strings.Join(s.registries, " ")},
		{"AW_DB", s.db},
		{"AW_ERA", s.cfg.era},
		{"AW_FLAGS", strings.Join(flags, " ")},
		{"AW_SLEEP_PGID", fmt.Sprint(s.sleepPGID)},
	} {
		fmt.Printf("%s=%s\n", kv[0], demo.ShellQuote(kv[1]))
	}
	fmt.Println("READY")
}

// close kills the tmux server by its socket, the sleeps by PID (they are
// this command's children, so their PIDs cannot be reused before they are
// reaped), every other process whose command line names the scene's
// directory by PID and start time, and removes the directory. It then
// checks that none of it is left.
func (s *scene) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errs []error
	if err := s.tmux.KillServer(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, c := range s.sleeps {
		c.Process.Signal(syscall.SIGKILL)
	}
	for _, c := range s.sleeps {
		c.Wait()
	}
	// What the server's SIGHUP did not end (a claude, a tee).
	var left []procscan.Identity
	for range 3 {
		ids, err := s.leftovers(ctx)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if left = ids; len(left) == 0 {
			break
		}
		errs = append(errs, demo.KillAll(ctx, ids)...)
	}
	if len(left) > 0 {
		if ids, _ := s.leftovers(ctx); len(ids) > 0 {
			errs = append(errs, fmt.Errorf("%d processes of the scene are left", len(ids)))
		}
	}
	// The server exits a moment after kill-server.
	if s.serverPID > 0 {
		for i := 0; syscall.Kill(s.serverPID, 0) == nil; i++ {
			if i == 250 {
				errs = append(errs, fmt.Errorf("the tmux server (PID %d) is left", s.serverPID))
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// leftovers are the live processes whose command line names the scene's
// directory.
func (s *scene) leftovers(ctx context.Context) ([]procscan.Identity, error) {
	return demo.Naming(ctx, s.dir)
}
