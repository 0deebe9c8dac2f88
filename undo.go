package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"agentwatch/engine"
	"agentwatch/internal/hugemem"
	"agentwatch/termsafe"
)

func newUndoCmd(opts *options) *cobra.Command {
	var yes, force bool
	cmd := &cobra.Command{
		Use:   "undo",
		Short: "Put back every registry that agentwatch's last repair, undo or restore changed",
		Long: `undo puts back the fields that agentwatch's last repair (or undo) changed: each
counter and each field of each agent entry that still holds the value agentwatch
wrote is set back to what it was, in the registry as it is now, under its lock.
A field that someone changed since is kept as they left it, and undo says so; the
rest of the file, whatever the orchestrator wrote since, is left alone. Keeping a
field is the normal case, not an error (exit 0).

An action recorded before agentwatch recorded fields (and a restore) is undone
whole, from the backups in the state directory: a file that someone else changed
since is refused without --force, since putting it back would roll their change
back. The undo is itself a locked, journaled transaction, and can be undone. With
--workspace, it undoes the newest action on those workspaces.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hugemem.Enable() // one-shot: a registry's whole read and encoding on huge pages
			if err := opts.refuseReadonly("undo"); err != nil {
				return err
			}
			ctx := cmd.Context()
			// With --workspace, the newest action on those workspaces;
			// without, the newest of all.
			eng := engine.New(opts.config())
			if len(opts.workspaces) > 0 {
				var err error
				if eng, err = opts.newEngine(ctx); err != nil {
					return err
				}
			}
			up, err := eng.PlanUndo(ctx)
			if errors.Is(err, engine.ErrNothingToUndo) {
				fmt.Fprintln(opts.stdout, safe(err.Error()))
				return nil
			}
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			fmt.Fprintf(opts.stdout, "Undo the %s of %s (by %s):\n", safe(up.Entry.Action), up.Entry.Time.Local().Format(time.DateTime), safe(up.Entry.User))
			for _, f := range up.Files {
				if f.Restore != nil {
					fmt.Fprint(opts.stdout, termsafe.Lines(engine.Diff(f.Path+" (now)", f.Path+" (after undo)", f.Current, f.Restore)))
				}
				for _, k := range f.Kept {
					fmt.Fprintf(opts.stdout, "  keeps %s\n", safe(k))
				}
				if f.Conflict != "" {
					fmt.Fprintf(opts.stdout, "! %s: %s\n", safe(f.Path), safe(f.Conflict))
				}
			}
			for _, r := range up.Rows {
				fmt.Fprintf(opts.stdout, "  %s: agent %s back to %s (last_update %s), if it still holds %s (last_update %s)\n",
					safe(r.Database), safe(r.Before.AgentID), safe(r.Before.Status), safe(r.Before.LastUpdate), safe(r.After.Status), safe(r.After.LastUpdate))
			}
			if !yes {
				ok, err := opts.confirm(ctx, fmt.Sprintf("Put back %d registries and %d database rows?", len(up.Files), len(up.Rows)), "nothing written")
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintln(opts.stderr, "cancelled: nothing written")
					return nil
				}
			}
			outs, auditErr := eng.Undo(ctx, up, force)
			failed, busy := 0, false
			for _, o := range outs {
				switch {
				case o.Done && o.Reason != "":
					fmt.Fprintf(opts.stdout, "unchanged %s: %s\n", safe(o.Path), safe(o.Reason))
				case o.Done:
					fmt.Fprintf(opts.stdout, "put back  %s\n", safe(o.Path))
				}
				for _, k := range o.Kept {
					fmt.Fprintf(opts.stdout, "kept      %s\n", safe(k))
				}
				if !o.Done {
					failed++
					busy = busy || o.Busy
					fmt.Fprintf(opts.stdout, "REFUSED   %s: %s\n", safe(o.Path), safe(o.Reason))
				}
			}
			if auditErr != nil {
				fmt.Fprintln(opts.stderr, "agentwatch: warning: not in the audit log:", safe(auditErr.Error()))
			}
			switch {
			case busy:
				return &exitErr{code: exitLockBusy}
			case failed > 0:
				return &exitErr{code: exitFindings}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "put back without asking")
	cmd.Flags().BoolVar(&force, "force", false, "for an action recorded before fields were: put back whole files that changed since agentwatch wrote them")
	return cmd
}
