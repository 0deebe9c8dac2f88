package ui

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

// logEntry is one action of this run.
type logEntry struct {
	at      time.Time
	action  string
	summary string
	lines   []string
	failed  bool
}

// actionLog is this run's actions, newest last, and the audit log's recent
// entries, read when the log is opened.
type actionLog struct {
	entries  []logEntry
	audit    []engine.Entry
	auditErr error
	loaded   bool
}

func (l *actionLog) add(e logEntry) { l.entries = append(l.entries, e) }

// content is the log as the overlay shows it.
func (l actionLog) content() string {
	var b strings.Builder
	b.WriteString("This run\n")
	if len(l.entries) == 0 {
		b.WriteString("  nothing done yet\n")
	}
	for _, e := range l.entries {
		mark := "✓"
		if e.failed {
			mark = "✗"
		}
		fmt.Fprintf(&b, "  %s  %s %-6s %s\n", e.at.Format("15:04:05"), mark, e.action, e.summary)
		for _, line := range e.lines {
			fmt.Fprintf(&b, "              %s\n", line)
		}
	}
	b.WriteString("\nAudit log (most recent last)\n")
	switch {
	case l.auditErr != nil:
		fmt.Fprintf(&b, "  cannot read it: %s\n", escape(l.auditErr.Error()))
	case !l.loaded:
		b.WriteString("  reading…\n")
	case len(l.audit) == 0:
		b.WriteString("  empty\n")
	}
	for _, e := range l.audit {
		fmt.Fprintf(&b, "  %s  %-7s %-8s %s", e.Time.Local().Format("2006-01-02T15:04:05"), escape(e.Action), escape(e.Result), escape(e.User))
		if len(e.Targets) > 0 {
			ts := make([]string, len(e.Targets))
			for i, t := range e.Targets {
				ts[i] = escape(t)
			}
			fmt.Fprintf(&b, "  %s", strings.Join(ts, ", "))
		}
		if e.Error != "" {
			fmt.Fprintf(&b, "  error: %s", escape(e.Error))
		}
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// resultLines lists what each operation of a result did.
func resultLines(res *engine.Result) []string {
	var out []string
	for _, it := range res.Applied {
		out = append(out, "applied  "+opLine(it.Op))
	}
	for _, it := range res.Skipped {
		out = append(out, "skipped  "+opLine(it.Op)+" — "+escape(it.Why))
	}
	for _, it := range res.Failed {
		out = append(out, "FAILED   "+opLine(it.Op)+" — "+escape(it.Why))
	}
	return out
}

// opLine describes one operation on one line, its registry included.
func opLine(op reconcile.Op) string {
	switch op.Op {
	case reconcile.OpKillProcess, reconcile.OpKillSession:
		return opChange(op)
	}
	return fmt.Sprintf("%s: %s", registryPath(op.Registry), opChange(op))
}

// registryPath names a registry file by its directory and name, which
// tell it apart within a workspace.
func registryPath(path string) string {
	return escape(filepath.Join(filepath.Base(filepath.Dir(path)), filepath.Base(path)))
}

// opChange describes what one operation changes.
func opChange(op reconcile.Op) string {
	switch op.Op {
	case reconcile.OpKillProcess:
		t := fmt.Sprintf("kill PID %d %s", op.PID, escape(op.Comm))
		if op.Session != "" {
			t += " (session " + escape(op.Session) + ")"
		}
		return t
	case reconcile.OpKillSession:
		return fmt.Sprintf("kill-session -t =%s on tmux %s", escape(op.Session), escape(op.Server))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s", op.Op)
	if op.AgentID != "" {
		b.WriteString(" " + escape(op.AgentID))
	}
	if op.Field != "" {
		b.WriteString(" " + escape(op.Field))
	}
	if len(op.Old) > 0 || len(op.New) > 0 {
		old := string(op.Old)
		if old == "" {
			old = "(absent)"
		}
		fmt.Fprintf(&b, ": %s → %s", escape(old), escape(string(op.New)))
	}
	return b.String()
}
