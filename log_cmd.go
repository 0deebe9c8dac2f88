package main

import (
	"encoding/json"
	"fmt"
	"io"
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
		Args:  cobra.NoArgs,
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
				enc := json.NewEncoder(opts.stdout)
				enc.SetEscapeHTML(false)
				for _, e := range entries {
					if err := enc.Encode(e); err != nil {
						return &exitErr{code: exitError, err: err}
					}
				}
				return nil
			}
			if len(entries) == 0 {
				fmt.Fprintf(opts.stdout, "the audit log (%s) is empty\n", audit.Path)
				return nil
			}
			for _, e := range entries {
				writeEntry(opts.stdout, e)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line, as stored")
	cmd.Flags().IntVarP(&n, "lines", "n", 20, "show the last N entries (0: all)")
	return cmd
}

// writeEntry prints one audit entry in a line or a few.
func writeEntry(w io.Writer, e engine.Entry) {
	fmt.Fprintf(w, "%s  %-8s %-8s %s@%d", e.Time.Local().Format(time.DateTime), e.Action, e.Result, e.User, e.PID)
	if len(e.Targets) > 0 {
		fmt.Fprintf(w, "  %s", strings.Join(e.Targets, ", "))
	}
	fmt.Fprintln(w)
	for _, f := range e.Files {
		fmt.Fprintf(w, "    %s  %.12s → %.12s\n", f.Path, f.Before, f.After)
	}
	if e.Error != "" {
		fmt.Fprintf(w, "    error: %s\n", e.Error)
	}
}
