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
	"agentwatch/tmux"
)

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
