package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
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
			heapReady := oneShotHeap()
			eng, err := opts.newEngine(cmd.Context())
			heapReady()
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			snap, rep, err := eng.Check(cmd.Context())
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if err, lock := unreadError(snap); err != nil {
				if !lock {
					return &exitErr{code: exitError, err: err}
				}
				// A busy lock is temporary (75): scripts still get the
				// JSON, with the locked registries marked.
				if asJSON {
					if jerr := writeCheckJSON(opts.stdout, eng, snap, rep); jerr != nil {
						return &exitErr{code: exitError, err: jerr}
					}
				}
				return &exitErr{code: exitLockBusy, err: err}
			}
			if asJSON {
				err = writeCheckJSON(opts.stdout, eng, snap, rep)
			} else {
				writeCheckText(opts.stdout, eng, snap, rep, opts.scope())
				warnRaced(cmd.Context(), opts.stdout, eng)
			}
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if n := rep.Summary()[reconcile.FindUnreadable]; n > 0 {
				return &exitErr{code: exitError, err: fmt.Errorf("%d source(s) could not be read: nothing they would own was judged", n)}
			}
			if err := silentError(snap, rep); err != nil {
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

// silentError names the tmux servers whose scan failed, when they kept
// agents suspects: an agent whose session they may hold is not judged.
func silentError(snap *engine.Snapshot, rep reconcile.Report) error {
	if snap.Input.Live == nil {
		return nil
	}
	held := 0
	for _, a := range rep.Agents {
		if a.Verdict == reconcile.VerdictSuspect {
			held++
		}
	}
	var names []string
	for _, s := range snap.Input.Live.Servers {
		if s.Err != nil {
			names = append(names, fmt.Sprintf("%s (%v)", s.Socket, s.Err))
		}
	}
	if held == 0 || len(names) == 0 {
		return nil
	}
	return fmt.Errorf("tmux server %s gave no answer: %d agent(s) whose session it may hold stay suspects, not judged", strings.Join(names, ", "), held)
}

// unreadError reports the registries that could not be read at all: their
// lock stayed busy past --lock-timeout (lock says so), or the file could
// not be opened. Their state is unknown, so no verdict can be given.
func unreadError(snap *engine.Snapshot) (err error, lock bool) {
	var msgs []string
	for _, r := range snap.Locked() {
		msgs = append(msgs, r.Err.Error())
		lock = true
	}
	for _, r := range snap.Unreadable() {
		if errors.Is(r.Err, registry.ErrNotRegular) {
			msgs = append(msgs, r.Err.Error()) // says what to do
			continue
		}
		msgs = append(msgs, r.Err.Error()+" (run agentwatch as a user who can read it)")
	}
	for _, d := range snap.Input.Databases {
		if d.Locked {
			msgs = append(msgs, d.Err.Error())
			lock = true
		}
	}
	if len(msgs) == 0 {
		return nil, false
	}
	return errors.New(strings.Join(msgs, "\n")), lock
}

// shortPath names a registry by what tells it apart (registry.ShortName).
func shortPath(p string) string { return registry.ShortName(p) }

func writeCheckText(w io.Writer, eng *engine.Engine, snap *engine.Snapshot, rep reconcile.Report, scope string) {
	agents, active := 0, 0
	for _, r := range rep.Registries {
		if r.Kind == reconcile.KindTask || r.Kind == reconcile.KindState {
			agents += r.Agents
			active += r.Active
		}
	}
	for _, b := range eng.Bases() {
		era := "JSON registries"
		if registry.Era(b.Dir) == "sqlite" {
			era = "SQLite state"
		}
		fmt.Fprintf(w, "workspace %s  (%s; %s)\n", safe(b.Dir), safe(b.Source), era)
	}
	for i, s := range serversOf(snap) {
		state := fmt.Sprintf("%d sessions", s.Sessions)
		switch {
		case s.Error != "":
			state = "error: " + safe(s.Error)
		case !s.Running && snap.Input.Live.Servers[i].Why == "given":
			// A mistyped socket looks exactly like a server that is gone:
			// every agent of it would be a ghost.
			state = "no server running — if agents should be running on it, check the socket before repairing their ghosts"
		case !s.Running:
			state = "no server running"
		}
		fmt.Fprintf(w, "tmux %s  (%s): %s\n", safe(s.Socket), safe(s.Why), state)
	}
	claude := 0
	for _, p := range rep.Processes {
		if p.Claude {
			claude++
		}
	}
	fmt.Fprintf(w, "%d registries, %d agents in task registries and state databases (%d active), %d claude processes; scanned in %s\n",
		len(rep.Registries), agents, active, claude, snap.Duration.Round(time.Millisecond))
	if len(rep.Findings) == 0 {
		fmt.Fprintln(w, "healthy: no findings")
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-*s %-*s %s\n", kindWidth, "FINDING", whereWidth, "WHERE", "DETAIL")
	for _, f := range rep.Findings {
		where, detail := describe(f)
		writeFinding(w, string(f.Kind), safe(where), safe(detail))
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
		fmt.Fprintln(w, "A corrupt registry is never repaired. One that does not parse is mended by")
		for _, f := range rep.Findings {
			if f.Kind == reconcile.FindCorrupt {
				fmt.Fprintf(w, "  agentwatch restore --registry %s\n", shellArg(f.Registry))
			}
		}
		fmt.Fprintln(w, "one that parses but is not in the orchestrator's shape needs a hand edit (or `agentwatch undo`, if agentwatch wrote it).")
	}
	if rep.Summary()[reconcile.FindCorrupt] < countBlocking(rep) {
		fmt.Fprintf(w, "Next: `agentwatch repair --dry-run%s` shows the fixes; `agentwatch repair%s` applies them.\n", scope, scope)
	}
	if rep.Summary()[reconcile.FindLeak] > 0 {
		fmt.Fprintf(w, "Leaks are killed by `agentwatch repair --kill-leaks%s`, or one by one with `agentwatch kill%s TARGET`.\n", scope, scope)
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
		if f.Registry != "" {
			return f.AgentID, fmt.Sprintf("agents row %s, its last progress report %s", f.Status, f.ProgressStatus)
		}
		g, t := orDash(f.GlobalStatus), orDash(f.TaskStatus)
		return f.AgentID, fmt.Sprintf("global %s, task %s", g, t)
	case reconcile.FindUnreadable:
		return f.Source, f.Error + "; nothing it would own is judged"
	case reconcile.FindUnknown:
		return f.AgentID, fmt.Sprintf("status %q is neither active nor terminal: its phase never completes", f.Status)
	case reconcile.FindSpawnBlocked:
		return f.TaskID, fmt.Sprintf("ghost rows %s count against max_concurrent %d and block their types from spawning again",
			strings.Join(f.AgentIDs, ", "), f.Limit)
	case reconcile.FindOrphanRow:
		return f.AgentID, fmt.Sprintf("a row of %s whose agent row is missing", f.Table)
	case reconcile.FindStale:
		return f.AgentID, "alive, last update " + f.LastUpdate
	case reconcile.FindGhost:
		d := fmt.Sprintf("%s, %s (%s)", f.Status, f.Cause, f.TmuxSession)
		if f.CompletedEvidence {
			d += "; its log shows it completed"
		}
		return f.AgentID, d
	case reconcile.FindLeak:
		where := f.TmuxSession
		if where == "" || f.Cause == reconcile.CauseOrphanProcess {
			where = "PID " + joinInts(f.PIDs)
		}
		return where, fmt.Sprintf("%s; PIDs %s", f.Cause, joinInts(f.PIDs))
	}
	return f.AgentID, string(f.Cause)
}

func orDash(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

// whereWidth is the width of the WHERE column of check's findings.
const whereWidth = 30

// kindWidth is the width of the FINDING column: its longest kind.
var kindWidth = func() int {
	n := len("FINDING")
	for _, k := range reconcile.FindingKinds {
		n = max(n, len(k))
	}
	return n
}()

// writeFinding prints a finding's line. A place wider than its column is
// printed whole, never cut (it is a session name or an agent id that kill
// and the registry need exactly), with the detail on the next line.
func writeFinding(w io.Writer, kind, where, detail string) {
	if n := ansi.StringWidth(where); n > whereWidth {
		fmt.Fprintf(w, "%-*s %s\n%-*s %-*s %s\n", kindWidth, kind, where, kindWidth, "", whereWidth, "", detail)
		return
	}
	fmt.Fprintf(w, "%-*s %s%s %s\n", kindWidth, kind, where, strings.Repeat(" ", whereWidth-ansi.StringWidth(where)), detail)
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, " ")
}

func countBlocking(rep reconcile.Report) int {
	n := 0
	for _, f := range rep.Findings {
		if f.Blocking() {
			n++
		}
	}
	return n
}
