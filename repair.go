package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"agentwatch/engine"
	"agentwatch/internal/hugemem"
	"agentwatch/reconcile"
)

func newRepairCmd(opts *options) *cobra.Command {
	var dryRun, yes, asJSON, killLeaks, force bool
	var termTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "Plan the repairs, show them, ask, apply (exit 0 done, 1 partly failed, 2 error, 75 lock busy)",
		Long: `repair plans a fix for every registry finding — recount drifted counters, dedupe
duplicated agents, sync statuses that the global and task registries disagree on —
shows the plan and, once confirmed, applies it: one locked, journaled, backed-up
transaction per registry file, each operation re-checked against the bytes read
under the lock. A corrupt registry is never touched (see restore). Every applied
repair can be put back with undo.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hugemem.Enable() // one-shot: a registry's whole read and encoding on huge pages
			if !dryRun {
				if err := opts.refuseReadonly("repair"); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			eng, err := opts.newEngine(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			snap, rep, err := eng.Check(ctx)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if err, lock := unreadError(snap); err != nil {
				code := exitError
				if lock {
					code = exitLockBusy
				}
				return &exitErr{code: code, err: fmt.Errorf("%w\nnothing written", err)}
			}
			for _, r := range snap.Input.Registries {
				if r.Err != nil {
					fmt.Fprintf(opts.stderr, "agentwatch: leaving %s alone: %s (see `agentwatch restore --registry %s`)\n", safe(r.Path), safe(r.Err.Error()), shellArg(r.Path))
				}
			}
			plan := reconcile.PlanRepair(snap.Input, rep, killLeaks)
			if len(plan.Ops) == 0 || dryRun {
				if asJSON {
					return writeRepairJSON(opts.stdout, plan.Ops, &engine.Result{})
				}
				if len(plan.Ops) == 0 {
					fmt.Fprintln(opts.stdout, "nothing to repair")
				} else {
					writePlan(opts.stdout, plan.Ops)
					kill := ""
					if killLeaks {
						kill = " --kill-leaks"
					}
					fmt.Fprintf(opts.stdout, "dry run: nothing written. `agentwatch repair%s%s` applies this plan.\n", kill, opts.scope())
				}
				return nil
			}
			if asJSON {
				if !yes {
					writePlan(opts.stderr, plan.Ops) // the question needs the plan beside it
				}
			} else {
				writePlan(opts.stdout, plan.Ops)
			}
			if !yes {
				ok, err := opts.confirm(ctx, fmt.Sprintf("Apply %d operations to %d registries?", len(plan.Ops), len(plan.Registries())), "nothing written")
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintln(opts.stderr, "cancelled: nothing written")
					return nil
				}
			}
			res, auditErr := eng.Repair(ctx, snap, plan, time.Now(), engine.KillOptions{TermTimeout: termTimeout, Force: force})
			if asJSON {
				if err := writeRepairJSON(opts.stdout, nil, res); err != nil {
					return &exitErr{code: exitError, err: err}
				}
			} else {
				writeResult(opts.stdout, res)
			}
			if auditErr != nil {
				fmt.Fprintln(opts.stderr, "agentwatch: warning: the repair is done but not in the audit log:", safe(auditErr.Error()))
			}
			return repairExit(res)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "show the plan, write nothing")
	f.BoolVarP(&yes, "yes", "y", false, "apply without asking (required without a terminal)")
	f.BoolVar(&killLeaks, "kill-leaks", false, "also kill leaked sessions and processes (each tree: TERM, wait, KILL, verify)")
	f.DurationVar(&termTimeout, "term-timeout", 5*time.Second, "how long a leaked process gets after SIGTERM before SIGKILL")
	f.BoolVar(&force, "force", false, "with --kill-leaks: also other users' processes (as root)")
	f.BoolVar(&asJSON, "json", false, `print {"applied": [...], "skipped": [...], "failed": [...]}`)
	return cmd
}

func repairExit(res *engine.Result) error {
	switch {
	case res.LockBusy():
		return &exitErr{code: exitLockBusy}
	case len(res.Failed) > 0:
		return &exitErr{code: exitFindings}
	}
	return nil
}

type repairJSON struct {
	Planned []reconcile.Op `json:"planned,omitempty"`
	Applied []engine.Item  `json:"applied"`
	Skipped []engine.Item  `json:"skipped"`
	Failed  []engine.Item  `json:"failed"`
	// Raced lists the registries that a writer taking no lock changed
	// while agentwatch held their lock.
	Raced []string `json:"raced,omitempty"`
}

func writeRepairJSON(w io.Writer, planned []reconcile.Op, res *engine.Result) error {
	out := repairJSON{Planned: planned, Applied: res.Applied, Skipped: res.Skipped, Failed: res.Failed, Raced: res.Raced}
	for _, s := range []*[]engine.Item{&out.Applied, &out.Skipped, &out.Failed} {
		if *s == nil {
			*s = []engine.Item{}
		}
	}
	enc := jsonEncoder(w)
	return enc.Encode(out)
}

// opLine is one operation in a line: what, where, old → new, its outside
// text escaped.
func opLine(op reconcile.Op) string {
	var b strings.Builder
	switch op.Op {
	case reconcile.OpKillProcess:
		fmt.Fprintf(&b, "%-12s PID %d %s", op.Op, op.PID, safe(op.Comm))
		if op.Session != "" {
			fmt.Fprintf(&b, " (session %s)", safe(op.Session))
		}
		return b.String()
	case reconcile.OpKillSession:
		fmt.Fprintf(&b, "%-12s %s on tmux %s", op.Op, safe(op.Session), safe(op.Server))
		return b.String()
	}
	fmt.Fprintf(&b, "%-9s %s", op.Op, safe(shortPath(op.Registry)))
	if op.AgentID != "" {
		fmt.Fprintf(&b, " %s", safe(op.AgentID))
	}
	if op.Field != "" {
		fmt.Fprintf(&b, " %s", safe(op.Field))
	}
	if len(op.Old) > 0 || len(op.New) > 0 {
		old := string(op.Old)
		if old == "" {
			old = "(absent)"
		}
		fmt.Fprintf(&b, ": %s → %s", safe(old), safe(string(op.New)))
	}
	return b.String()
}

func writePlan(w io.Writer, ops []reconcile.Op) {
	fmt.Fprintf(w, "Plan (%d operations):\n", len(ops))
	for _, op := range ops {
		fmt.Fprintf(w, "  %s\n      %s\n", opLine(op), safe(op.Why))
	}
}

func writeResult(w io.Writer, res *engine.Result) {
	for _, it := range res.Applied {
		fmt.Fprintf(w, "applied  %s\n", opLine(it.Op))
	}
	for _, it := range res.Skipped {
		fmt.Fprintf(w, "skipped  %s\n         %s\n", opLine(it.Op), safe(it.Why))
	}
	for _, it := range res.Failed {
		fmt.Fprintf(w, "FAILED   %s\n         %s\n", opLine(it.Op), safe(it.Why))
	}
	for _, p := range res.Raced {
		fmt.Fprintf(w, "raced    %s\n         %s\n", engine.Printable(shortPath(p)), racedNote)
	}
	fmt.Fprintf(w, "%d applied, %d skipped, %d failed.", len(res.Applied), len(res.Skipped), len(res.Failed))
	for _, it := range res.Applied {
		if it.Registry != "" {
			fmt.Fprint(w, " `agentwatch undo` puts the registries back as they were.")
			break
		}
	}
	fmt.Fprintln(w)
}

// racedNote says what a race with a writer that takes no lock means.
const racedNote = "a writer that takes no lock changed it while agentwatch held the lock: agentwatch derived its " +
	"change again from the new bytes, but a write landing during agentwatch's own is lost; look at the registry, " +
	"and give that writer a flock on the registry file"

// warnRaced says so when the last repair raced with a writer that takes no
// lock. The audit log is read from its end: it costs a block or two.
func warnRaced(ctx context.Context, w io.Writer, eng *engine.Engine) {
	last, err := eng.LastRepairRaced(ctx)
	if err != nil || last == nil {
		return
	}
	fmt.Fprintf(w, "\nwarning: the last repair (%s) raced with a writer that takes no lock:\n", last.Time.Local().Format(time.DateTime))
	for _, p := range last.Raced {
		fmt.Fprintf(w, "  %s\n", engine.Printable(p))
	}
	fmt.Fprintln(w, "  "+racedNote+".")
}
