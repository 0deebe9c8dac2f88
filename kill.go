package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

func newKillCmd(opts *options) *cobra.Command {
	var yes, force bool
	var termTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "kill [--yes] [--force] [--term-timeout 5s] TARGET...",
		Short: "Kill leaked process trees and sessions, by PID or session name",
		Long: `kill ends what a TARGET names — a PID, or a tmux session's exact name — as a tree:
every descendant and every process in the session it leads get SIGTERM, then, after
--term-timeout, SIGKILL; each is checked gone; then the tmux session is killed. Every
process is identified by PID and start time, checked again before each signal, so a
PID the kernel has reused is never hit; a session is identified by its tmux id and
creation time, checked again before it is killed by its id, so a session that took
the name since is never hit.

Only leaks are killed. A foreign claude (not attributable to any agent) or one of a
healthy agent needs --force. Never: PID 1, agentwatch and its ancestors, a tmux
server, another user's process (unless root and --force); and nothing of such a
target's tree either: its descendants and the members of its session are spared.
A process of that tree named as a TARGET of its own is judged on its own.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.refuseReadonly("kill"); err != nil {
				return err
			}
			ctx := cmd.Context()
			eng, err := opts.newEngine(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			snap, rep, _, err := eng.Observe(ctx, time.Now(), nil)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			ops, err := engine.KillPlan(snap, rep, reconcile.ParseKillTargets(args), force)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			fmt.Fprintf(opts.stdout, "Kill (SIGTERM, then SIGKILL after %s):\n", termTimeout)
			for _, op := range ops {
				fmt.Fprintf(opts.stdout, "  %s\n", opLine(op))
				if why, ok := reconcile.PlannedRefusal(op); ok {
					fmt.Fprintf(opts.stdout, "      refused: %s\n", why)
				}
			}
			if !yes {
				ok, err := opts.confirm(ctx, fmt.Sprintf("Kill these %d targets?", len(ops)), "nothing signaled")
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintln(opts.stderr, "cancelled: nothing signaled")
					return nil
				}
			}
			res, auditErr := eng.KillAudited(ctx, snap, ops, engine.KillOptions{TermTimeout: termTimeout, Force: force}, args)
			writeResult(opts.stdout, res)
			if auditErr != nil {
				fmt.Fprintln(opts.stderr, "agentwatch: warning: not in the audit log:", safe(auditErr.Error()))
			}
			if len(res.Failed) > 0 {
				return &exitErr{code: exitFindings}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&yes, "yes", "y", false, "kill without asking")
	f.BoolVar(&force, "force", false, "also kill foreign and healthy targets (and, as root, other users' processes)")
	f.DurationVar(&termTimeout, "term-timeout", 5*time.Second, "how long to wait after SIGTERM before SIGKILL")
	return cmd
}
