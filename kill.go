package main

import (
	"fmt"
	"strconv"
	"strings"
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
--term-timeout, SIGKILL; each is checked gone; then the tmux session is killed by
its exact name. Every process is identified by PID and start time, checked again
before each signal, so a PID the kernel has reused is never hit.

Only leaks are killed. A foreign claude (not attributable to any agent) or one of a
healthy agent needs --force. Never: PID 1, agentwatch and its ancestors, a tmux
server, another user's process (unless root and --force).`,
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
			var ops []reconcile.Op
			for _, target := range args {
				t, err := killTarget(snap, rep, target, force)
				if err != nil {
					return &exitErr{code: exitError, err: err}
				}
				ops = append(ops, t...)
			}
			fmt.Fprintf(opts.stdout, "Kill (SIGTERM, then SIGKILL after %s):\n", termTimeout)
			for _, op := range ops {
				fmt.Fprintf(opts.stdout, "  %s\n", opLine(op))
			}
			if !yes {
				ok, err := opts.confirm(fmt.Sprintf("Kill these %d targets?", len(ops)))
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
				fmt.Fprintln(opts.stderr, "agentwatch: warning: not in the audit log:", auditErr)
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

// killTarget resolves one TARGET against a fresh report: a PID, or an exact
// session name. Only leaks are killed without force.
func killTarget(snap *engine.Snapshot, rep reconcile.Report, target string, force bool) ([]reconcile.Op, error) {
	if pid, err := strconv.Atoi(target); err == nil {
		for _, p := range rep.Processes {
			if int(p.PID) != pid {
				continue
			}
			if p.Verdict != reconcile.VerdictLeak && !force {
				return nil, fmt.Errorf("PID %d is %s (%s): only leaks are killed; --force kills it anyway", pid, p.Verdict, p.Reason)
			}
			why := fmt.Sprintf("%s: %s", p.Verdict, p.Reason)
			return killOps(snap, []int{pid}, "", "", why), nil
		}
		if p := snap.Input.Live.Procs.Procs[int32(pid)]; p != nil && force {
			return killOps(snap, []int{pid}, "", "", "named on the command line, with --force"), nil
		}
		return nil, fmt.Errorf("PID %d is not a claude process or part of an agent's tree; --force kills any process by PID", pid)
	}
	var found []reconcile.SessionRow
	for _, s := range rep.Sessions {
		if s.Name == target {
			found = append(found, s)
		}
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("no tmux session is named exactly %q on the servers scanned (%s)", target, serverList(snap))
	case len(found) > 1:
		return nil, fmt.Errorf("session %q exists on several servers; choose one with --tmux-socket or --tmux-socket-path", target)
	}
	s := found[0]
	if s.Verdict != reconcile.VerdictLeak && !force {
		return nil, fmt.Errorf("session %s is %s (%s): only leaks are killed; --force kills it anyway", s.Name, s.Verdict, s.Reason)
	}
	why := fmt.Sprintf("%s: %s", s.Verdict, s.Reason)
	ops := killOps(snap, ints(s.PIDs), s.Name, s.Server, why)
	return append(ops, reconcile.Op{Op: reconcile.OpKillSession, AgentID: s.AgentID, Session: s.Name, Server: s.Server, Why: why}), nil
}

func killOps(snap *engine.Snapshot, pids []int, session, server, why string) []reconcile.Op {
	table := snap.Input.Live.Procs
	var ops []reconcile.Op
	for _, pid := range reconcile.KillSet(table, pids) {
		p := table.Procs[pid]
		ops = append(ops, reconcile.Op{Op: reconcile.OpKillProcess, PID: int(pid), Start: p.Start, Comm: p.Comm,
			Session: session, Server: server, Why: why})
	}
	return ops
}

func ints(xs []int32) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}

func serverList(snap *engine.Snapshot) string {
	var names []string
	for _, s := range serversOf(snap) {
		names = append(names, s.Socket)
	}
	return strings.Join(names, ", ")
}
