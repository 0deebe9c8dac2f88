package demo

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Program names the scene runs agentwatch's own binary under.
const (
	ClaudeName = "claude"
	MCPName    = "mcp-server"
	// ReaperName runs the scene's reaper: it waits for the end of its
	// input, which is its owner's end (internal/lifeline), then tears the
	// scene down.
	ReaperName = "scene-reaper"
)

// IsFake reports whether the binary was started as one of the scene's fake
// programs: its argv[0] names it.
func IsFake(argv0 string) bool {
	switch filepath.Base(argv0) {
	case ClaudeName, MCPName, ReaperName:
		return true
	}
	// The native installer's claude, named by its version.
	return filepath.Base(filepath.Dir(argv0)) == "versions" && filepath.Base(filepath.Dir(filepath.Dir(argv0))) == ClaudeName
}

// RunFake is the main of the fake programs: a claude that writes a stream
// log and can ignore SIGHUP, escape with setsid, or start an "MCP server"
// child; and the MCP server, which only waits. It returns the exit code.
func RunFake(argv []string) int {
	if filepath.Base(argv[0]) == ReaperName {
		return runReaper(argv)
	}
	fs := flag.NewFlagSet(filepath.Base(argv[0]), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	scene := fs.String("scene", "", "scene directory (the process registers its PID there)")
	role := fs.String("role", "", "the part it plays in the scene")
	agentID := fs.String("agent-id", "", "the agent it works for (named in the command line, like a prompt does)")
	ignoreHUP := fs.Bool("ignore-hup", false, "ignore SIGHUP (and SIGPIPE), so that tmux kill-session leaves it running")
	setsidChild := fs.Bool("setsid-child", false, "start a child claude that calls setsid and outlives the session")
	mcpChild := fs.Bool("mcp-child", false, "start a child MCP server in the same session")
	finish := fs.Duration("finish-after", 0, "write a result line and exit after this long")
	linger := fs.Bool("linger-after-result", false, "write a result line at once, then hang on without exiting")
	// The flags the orchestrator passes, taken and ignored.
	fs.Bool("print", false, "")
	fs.String("output-format", "", "")
	fs.String("input-format", "", "")
	fs.Bool("verbose", false, "")
	fs.Bool("dangerously-skip-permissions", false, "")
	fs.String("model", "", "")
	fs.String("effort", "", "")
	fs.String("mcp-config", "", "")
	if err := fs.Parse(argv[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if *scene != "" {
		register(*scene, *role)
	}
	if filepath.Base(argv[0]) == MCPName {
		waitForever()
	}
	if *ignoreHUP {
		signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	}
	self, _ := os.Executable()
	bin := filepath.Dir(argv[0])
	if !filepath.IsAbs(bin) {
		bin = filepath.Dir(self)
	}
	if *setsidChild {
		child := exec.Command(filepath.Join(bin, ClaudeName), "--scene", *scene, "--role", "escaped:"+*agentID, "--agent-id", *agentID)
		child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "start setsid child:", err)
			return 1
		}
	}
	if *mcpChild {
		child := exec.Command(filepath.Join(bin, MCPName), "--scene", *scene, "--role", "mcp:"+*agentID)
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "start mcp child:", err)
			return 1
		}
	}
	out := json.NewEncoder(os.Stdout)
	out.Encode(map[string]any{"type": "system", "subtype": "init", "agent_id": *agentID})
	if *linger {
		out.Encode(map[string]any{"type": "result", "subtype": "success", "is_error": false, "num_turns": 1})
		waitForever()
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var done <-chan time.Time
	if *finish > 0 {
		done = time.After(*finish)
	}
	for n := 1; ; n++ {
		select {
		case <-tick.C:
			out.Encode(map[string]any{"type": "assistant", "message": map[string]any{"content": fmt.Sprintf("step %d", n)}})
		case <-done:
			out.Encode(map[string]any{"type": "result", "subtype": "success", "is_error": false, "num_turns": n})
			return 0
		}
	}
}

// register leaves the process's PID and role in the scene, so that Close
// finds every process the scene started, wherever it was reparented to.
func register(scene, role string) {
	dir := filepath.Join(scene, "pids")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), []byte(role), 0o644)
}

func waitForever() {
	select {}
}
