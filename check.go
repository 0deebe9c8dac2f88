package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"agentwatch/engine"
	"agentwatch/reconcile"
	"agentwatch/registry"
)

func newCheckCmd(opts *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Scan once and report; exit 0 healthy, 1 findings, 2 error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eng, err := opts.newEngine(cmd.Context())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			snap, err := eng.Gather(cmd.Context(), time.Now())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if err := lockedError(snap); err != nil {
				return &exitErr{code: exitError, err: err}
			}
			rep := reconcile.Analyze(snap.Input)
			if asJSON {
				err = writeCheckJSON(opts.stdout, eng, rep)
			} else {
				writeCheckText(opts.stdout, eng, snap, rep)
			}
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if !rep.Healthy() {
				return &exitErr{code: exitFindings}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object (the contract scripts rely on)")
	return cmd
}

// lockedError reports the registries whose lock stayed busy past
// --lock-timeout: their state is unknown, so no verdict can be given.
func lockedError(snap *engine.Snapshot) error {
	locked := snap.Locked()
	if len(locked) == 0 {
		return nil
	}
	var msgs []string
	for _, r := range locked {
		msgs = append(msgs, r.Err.Error())
	}
	return fmt.Errorf("%w: %s", registry.ErrLockBusy, strings.Join(msgs, "; "))
}

type workspaceJSON struct {
	Path   string `json:"path"`
	Source string `json:"source"`
}

// checkJSON is the object `check --json` prints.
type checkJSON struct {
	Healthy    bool                        `json:"healthy"`
	Summary    map[string]int              `json:"summary"`
	Workspaces []workspaceJSON             `json:"workspaces"`
	Registries []reconcile.RegistrySummary `json:"registries"`
	Sessions   []any                       `json:"sessions"`
	Processes  []any                       `json:"processes"`
	Findings   []reconcile.Finding         `json:"findings"`
}

func writeCheckJSON(w io.Writer, eng *engine.Engine, rep reconcile.Report) error {
	out := checkJSON{
		Healthy:    rep.Healthy(),
		Summary:    rep.Summary(),
		Registries: rep.Registries,
		Sessions:   []any{},
		Processes:  []any{},
		Findings:   rep.Findings,
	}
	for _, b := range eng.Bases() {
		out.Workspaces = append(out.Workspaces, workspaceJSON{Path: b.Dir, Source: b.Source})
	}
	if out.Registries == nil {
		out.Registries = []reconcile.RegistrySummary{}
	}
	if out.Findings == nil {
		out.Findings = []reconcile.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// shortPath names a registry by what tells it apart: the task directory, or
// "global" with its base.
func shortPath(p string) string {
	dir := filepath.Base(filepath.Dir(p))
	if dir == "registry" {
		return "GLOBAL"
	}
	return dir
}

func writeCheckText(w io.Writer, eng *engine.Engine, snap *engine.Snapshot, rep reconcile.Report) {
	agents, active := 0, 0
	for _, r := range rep.Registries {
		if r.Kind == reconcile.KindTask {
			agents += r.Agents
			active += r.Active
		}
	}
	for _, b := range eng.Bases() {
		fmt.Fprintf(w, "workspace %s  (%s)\n", b.Dir, b.Source)
	}
	fmt.Fprintf(w, "%d registries, %d agents in task registries (%d active); scanned in %s\n",
		len(rep.Registries), agents, active, snap.Duration.Round(time.Millisecond))
	if len(rep.Findings) == 0 {
		fmt.Fprintln(w, "healthy: no findings")
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-10s %-30s %s\n", "FINDING", "WHERE", "DETAIL")
	for _, f := range rep.Findings {
		where, detail := describe(f)
		fmt.Fprintf(w, "%-10s %-30s %s\n", f.Kind, clip(where, 30), detail)
	}
	fmt.Fprintln(w)
	var counts []string
	for _, k := range reconcile.FindingKinds {
		if n := rep.Summary()[k]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, k))
		}
	}
	fmt.Fprintf(w, "%s.\n", strings.Join(counts, ", "))
	if rep.Summary()[reconcile.FindCorrupt] > 0 {
		fmt.Fprintln(w, "A corrupt registry is never repaired: see `agentwatch restore --registry PATH`.")
	}
	if !rep.Healthy() {
		fmt.Fprintln(w, "Next: `agentwatch repair --dry-run` shows the fixes; `agentwatch repair` applies them.")
	}
}

// describe gives a finding's place and a one-line detail.
func describe(f reconcile.Finding) (where, detail string) {
	switch f.Kind {
	case reconcile.FindCorrupt:
		return shortPath(f.Registry), f.Error
	case reconcile.FindDrift:
		return shortPath(f.Registry), fmt.Sprintf("%s: recorded %s, actual %d", f.Field, f.Recorded, f.Actual)
	case reconcile.FindDuplicate:
		return shortPath(f.Registry), fmt.Sprintf("%s: %d entries", f.AgentID, f.Count)
	case reconcile.FindDivergent:
		g, t := orDash(f.GlobalStatus), orDash(f.TaskStatus)
		return f.AgentID, fmt.Sprintf("global %s, task %s", g, t)
	case reconcile.FindStale:
		return f.AgentID, "last update " + f.LastUpdate
	}
	return f.AgentID, f.Cause
}

func orDash(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

// clip shortens s to n columns, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
