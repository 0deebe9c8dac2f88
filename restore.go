package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"agentwatch/engine"
	"agentwatch/internal/hugemem"
	"agentwatch/registry"
	"agentwatch/termsafe"
)

func newRestoreCmd(opts *options) *cobra.Command {
	var path, from string
	var yes bool
	cmd := &cobra.Command{
		Use:   "restore --registry PATH",
		Short: "Mend a corrupt registry from agentwatch's journal, a trailing-garbage salvage, or a backup",
		Long: `restore mends a registry that does not parse. It tries, in order: the journal
agentwatch leaves beside a registry while it writes (if it crashed mid-write); the
complete document at the front of a file that an unlocked writer left with the tail
of a longer, earlier version behind it; the newest backup that parses. It shows the
change as a diff and asks first. The corrupt bytes are kept in the backups.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hugemem.Enable() // one-shot: a registry's whole read and encoding on huge pages
			if err := opts.refuseReadonly("restore"); err != nil {
				return err
			}
			switch from {
			case "", "journal", "salvage", "backup":
			default:
				return &exitErr{code: exitError, err: fmt.Errorf("--from %q: want journal, salvage or backup", from)}
			}
			ctx := cmd.Context()
			if abs, err := filepath.Abs(path); err == nil {
				path = abs // the audit log names files by absolute path
			}
			if err := registryFile(path); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			eng := engine.New(opts.config())
			cur, cand, err := eng.PlanRestore(ctx, path, from)
			if errors.Is(err, engine.ErrNotCorrupt) {
				fmt.Fprintln(opts.stdout, safe(path)+": "+safe(err.Error()))
				return nil
			}
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			fmt.Fprintf(opts.stdout, "Restore %s from %s: %s\n", safe(path), safe(cand.Source), safe(cand.Detail))
			fmt.Fprint(opts.stdout, termsafe.Lines(engine.Diff(path+" (corrupt)", path+" (restored)", cur, cand.Data)))
			if !yes {
				ok, err := opts.confirm(ctx, "Write the restored registry?", "nothing written")
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintln(opts.stderr, "cancelled: nothing written")
					return nil
				}
			}
			commit, err := eng.Restore(ctx, path, cur, cand)
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if commit.Changed {
				fmt.Fprintf(opts.stdout, "restored %s; the corrupt bytes are kept in %s\n", safe(path), safe(commit.Backup))
			} else {
				fmt.Fprintf(opts.stdout, "%s parses again already (%s); nothing written\n", safe(path), safe(commit.Recovered))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "registry", "", "the registry file to mend (required)")
	cmd.Flags().StringVar(&from, "from", "", "only this source: journal, salvage or backup")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "write without asking")
	_ = cmd.MarkFlagRequired("registry")
	return cmd
}

// registryFile refuses a path that is not a regular file before anything
// opens it: opening a FIFO blocks until a writer comes, and a directory or
// a device is no registry. A missing file is left to the restore to report.
func registryFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("restore --registry %s: it is %s, not a registry file: give the path of an AGENT_REGISTRY.json or a GLOBAL_REGISTRY.json",
		safe(path), registry.Describe(fi.Mode()))
}
