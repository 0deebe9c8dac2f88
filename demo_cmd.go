package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"agentwatch/demo"
)

func newDemoCmd(opts *options, tf *tuiFlags) *cobra.Command {
	var noTUI bool
	cmd := &cobra.Command{
		Use:   "demo [--no-tui]",
		Short: "Open the TUI on a live sandbox: a workspace, a private tmux server, a cast of fake claudes",
		Long: `demo builds, in a new directory /tmp/agentwatch-demo-* (the TUI's header names it) and
on a private tmux server (its socket in that directory), two projects in the
orchestrator's real formats and a live cast. The first keeps JSON registries (the
2025 orchestrator): healthy agents, a ghost, a ghost whose stream log shows it
completed, an untracked agent session, a finished agent whose claude still runs (and
ignores SIGHUP), an orphaned claude that escaped with setsid, a foreign claude, and
drifting counters. The second runs as operators run the orchestrator today, its state
in registry/state.sqlite3: agents in today's pane shape (one of them the native
installer's claude, named by its version), ghosts, a finished agent that hangs on, an
untracked session, a status in neither set. The fake claude is agentwatch's own binary
under the name claude. The scene keeps moving: every few seconds an agent starts,
finishes, or dies without a word. It opens the TUI on the sandbox; with --no-tui it
prints the commands that point agentwatch at it and waits. Quitting (or Ctrl-C,
SIGTERM, a crash of the TUI) removes every process, the tmux server and the directory.
agentwatch's audit log and backups for the sandbox stay in it, and go with it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			fmt.Fprintln(opts.stderr, "building the demo scene…")
			scene, err := demo.Build(ctx, demo.Options{State: true})
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			defer func() {
				closeCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				if err := scene.Close(closeCtx); err != nil {
					fmt.Fprintln(opts.stderr, "agentwatch: demo cleanup:", err)
				}
			}()
			moveCtx, stopMoving := context.WithCancel(ctx)
			defer stopMoving()
			go scene.Move(moveCtx, 8*time.Second, nil)
			if !noTUI {
				// The TUI on the scene, with the flags a user would give.
				opts.workspaces = []string{scene.Base, scene.StateBase}
				opts.socketPaths = []string{scene.Socket.Path}
				opts.socketNames = nil
				opts.stateDir = sceneState(scene)
				return runTUI(ctx, opts, tf, "demo")
			}
			self, _ := os.Executable()
			if strings.Contains(self, "go-build") {
				self = "go run ."
			}
			flags := strings.Join(scene.AllFlags(), " ")
			fmt.Fprintf(opts.stdout, "demo scene in %s\n\n"+
				"Point agentwatch at it from another terminal. The export keeps agentwatch's audit log\n"+
				"and backups for the sandbox in it: undo and log in that terminal see the sandbox alone.\n"+
				"  export XDG_STATE_HOME=%s\n  %s check %s\n  %s repair --kill-leaks %s\n  tmux -S %s ls\n\n"+
				"Ctrl-C ends the demo and removes everything it made.\n",
				scene.Dir, filepath.Dir(sceneState(scene)), self, flags, self, flags, scene.Socket.Path)
			<-ctx.Done()
			fmt.Fprintln(opts.stderr, "\nremoving the demo scene…")
			return nil
		},
	}
	cmd.Flags().BoolVar(&noTUI, "no-tui", false, "build the scene and print how to point agentwatch at it, without the TUI")
	tf.register(cmd)
	return cmd
}

// sceneState is the state directory of agentwatch on a demo scene: inside
// the scene, so that its audit log and backups go with it, and the
// operator's own `undo` and `log` never meet a repair of a sandbox.
func sceneState(scene *demo.Scene) string {
	return filepath.Join(scene.Dir, "xdg", "agentwatch")
}
