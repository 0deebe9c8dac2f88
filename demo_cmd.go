package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"agentwatch/demo"
)

func newDemoCmd(opts *options) *cobra.Command {
	var noTUI bool
	cmd := &cobra.Command{
		Use:   "demo [--no-tui]",
		Short: "Build a live sandbox — a workspace, a private tmux server, a cast of fake claudes — to try agentwatch on",
		Long: `demo builds, in a temporary directory and on a private tmux server, a workspace in the
orchestrator's real format and a live cast: healthy agents, a ghost, a ghost whose
stream log shows it completed, an untracked agent session, a finished agent whose
claude still runs (and ignores SIGHUP), an orphaned claude that escaped with setsid,
a foreign claude, and drifting counters. The fake claude is agentwatch's own binary
under the name claude. It prints the flags that point agentwatch at the sandbox and
waits; Ctrl-C (or SIGTERM) removes every process, the tmux server and the directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			fmt.Fprintln(opts.stderr, "building the demo scene…")
			scene, err := demo.Build(ctx, demo.Options{})
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
			self, _ := os.Executable()
			if strings.Contains(self, "go-build") {
				self = "go run ."
			}
			flags := strings.Join(scene.Flags(), " ")
			fmt.Fprintf(opts.stdout, "demo scene in %s\n\nPoint agentwatch at it from another terminal:\n  %s check %s\n  %s repair --kill-leaks %s\n  tmux -S %s ls\n\nCtrl-C ends the demo and removes everything it made.\n",
				scene.Dir, self, flags, self, flags, scene.Socket.Path)
			_ = noTUI // the TUI does not exist yet: the demo always runs without it
			<-ctx.Done()
			fmt.Fprintln(opts.stderr, "\nremoving the demo scene…")
			return nil
		},
	}
	cmd.Flags().BoolVar(&noTUI, "no-tui", false, "build the scene and print how to point agentwatch at it, without the TUI")
	return cmd
}
