package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"agentwatch/engine"
)

func newLogCmd(opts *options) *cobra.Command {
	var asJSON bool
	var n int
	cmd := &cobra.Command{
		Use:   "log [--json] [-n N]",
		Short: "Show the audit log: every repair, kill, undo and restore, newest last",
		Long: `log shows agentwatch's audit log (audit.jsonl in the state directory), newest
last: one line per action — its time, user, action, result and targets, each
registry named by its task directory and file. --json prints the entries whole,
with every file's path and hashes before and after, as JSON Lines: one JSON object
per line, for jq and scripts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 0 {
				return &exitErr{code: exitError, err: fmt.Errorf("-n %d: zero (all) or more", n)}
			}
			audit := engine.New(opts.config()).Audit()
			entries, err := audit.Entries(cmd.Context())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if n > 0 && len(entries) > n {
				entries = entries[len(entries)-n:]
			}
			if asJSON {
				enc := json.NewEncoder(safeJSON{opts.stdout})
				enc.SetEscapeHTML(false)
				for _, e := range entries {
					if err := enc.Encode(e); err != nil {
						return &exitErr{code: exitError, err: err}
					}
				}
				return nil
			}
			if len(entries) == 0 {
				fmt.Fprintf(opts.stdout, "the audit log (%s) is empty\n", safe(audit.Path))
				return nil
			}
			for _, e := range entries {
				writeEntry(opts.stdout, e)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the entries whole as JSON Lines: one JSON object per line, as stored")
	cmd.Flags().IntVarP(&n, "lines", "n", 20, "show the last N entries (0: all)")
	return cmd
}

// shownTargets is how many targets a log line names before "+N more".
const shownTargets = 3

// writeEntry prints one audit entry as one short line: when, who, what,
// how it went, and its targets with every registry named by its task
// directory and file. `log --json` has the whole entry.
func writeEntry(w io.Writer, e engine.Entry) {
	var targets []string
	for _, t := range e.Targets {
		if t = shortTarget(t); !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	for _, f := range e.Files {
		if t := shortRegistry(f.Path); !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	line := fmt.Sprintf("%s  %-8s %-7s %-7s", e.Time.Local().Format(time.DateTime), safe(e.User), safe(e.Action), safe(e.Result))
	if len(targets) > shownTargets {
		targets = append(targets[:shownTargets], fmt.Sprintf("+%d more", len(targets)-shownTargets))
	}
	if len(targets) > 0 {
		line += " " + strings.Join(targets, ", ")
	}
	if e.Error != "" {
		line += " — " + safe(e.Error)
	}
	fmt.Fprintln(w, strings.TrimRight(line, " "))
}

// shortTarget shortens the registry path in an audit target ("PATH",
// "AGENT in PATH") to its task directory and file, and escapes the rest.
func shortTarget(t string) string {
	if strings.HasPrefix(t, "/") {
		return shortRegistry(t)
	}
	if agent, path, ok := strings.Cut(t, " in /"); ok {
		return safe(agent) + " in " + shortRegistry("/"+path)
	}
	return safe(t)
}

// shortRegistry names a registry file by its directory and base name:
// TASK-…/AGENT_REGISTRY.json, registry/GLOBAL_REGISTRY.json.
func shortRegistry(p string) string {
	return safe(filepath.Join(filepath.Base(filepath.Dir(p)), filepath.Base(p)))
}
