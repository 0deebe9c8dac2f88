package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"agentwatch/engine"
	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/registry/pyjson"
)

// detailTitle names the detail view of a row.
func detailTitle(r row) string { return "Detail: " + r.name() }

// detailContent is everything known about a row: why it has its verdict,
// the registry entry as JSON, the full command line, the panes.
func detailContent(r row, snap *engine.Snapshot, rep *reconcile.Report, termTimeout time.Duration) string {
	var b strings.Builder
	field := func(name, value string) { fmt.Fprintf(&b, "%-11s %s\n", name, value) }
	verdict := verdictLabel(r.verdict())
	if c := r.cause(); c != "" {
		verdict += " (" + escape(c) + ")"
	}
	if r.isNew() {
		verdict += "  NEW since the last scan"
	}
	fmt.Fprintf(&b, "%s\n\n", r.name())
	field("verdict", verdict)
	field("why", escape(r.reason()))
	field("meaning", looks[r.verdict()].meaning)
	switch r.kind {
	case rowAgent:
		agentDetail(&b, field, r.agent, snap)
	case rowSession:
		sessionDetail(&b, field, r.session, snap, termTimeout)
	case rowProc:
		procDetail(&b, field, r.proc, r.stats, snap, termTimeout)
	case rowFinding:
		findingDetail(&b, field, r.finding, snap, rep)
	}
	return strings.TrimRight(b.String(), "\n")
}

func agentDetail(b *strings.Builder, field func(string, string), a *reconcile.AgentRow, snap *engine.Snapshot) {
	switch a.Verdict {
	case reconcile.VerdictGhost:
		op, word := a.GhostRepair()
		to := word
		switch {
		case op == reconcile.OpComplete:
			to += ": its stream log ends with a result line"
		case a.Source != reconcile.SourceState:
			to += " (termination_reason " + strconv.Quote(string(a.Cause)) + ")"
		}
		field("repair", "t marks it "+to+"; R repairs everything")
	case reconcile.VerdictSuspect:
		field("repair", "none yet: a ghost is only called one on a second look")
	case reconcile.VerdictLeak:
		field("repair", "x in the Tmux or Processes pane kills what still runs")
	}
	field("task", orNone(escape(a.TaskID)))
	field("type", orNone(escape(a.Type)))
	field("status", orNone(escape(a.Status)))
	field("session", escape(a.Session))
	field("started", orNone(escape(a.Started)))
	field("updated", orNone(escape(a.Updated)))
	field("claude", orNone(joinPIDs(a.PIDs)))
	field("registry", escape(a.Registry))
	if a.Source == reconcile.SourceState {
		field("model", orNone(escape(a.Model)))
		field("progress", fmt.Sprintf("%d%%", a.Progress))
		field("last report", orNone(escape(a.Message)))
		return
	}
	if snap == nil {
		return
	}
	// The task registry first: its status is the one that counts.
	regs := append([]reconcile.Registry(nil), snap.Input.Registries...)
	slices.SortStableFunc(regs, func(x, y reconcile.Registry) int {
		return cmp.Compare(boolInt(x.Kind == reconcile.KindGlobal), boolInt(y.Kind == reconcile.KindGlobal))
	})
	for _, r := range regs {
		if r.Base != a.Base || r.Root == nil {
			continue
		}
		var entries []*pyjson.Value
		switch r.Kind {
		case reconcile.KindTask:
			for _, e := range r.Root.Get("agents").Elems() {
				if e.Get("id").StrOr("") == a.ID {
					entries = append(entries, e)
				}
			}
		case reconcile.KindGlobal:
			if e := r.Root.Get("agents").Get(a.ID); e != nil {
				entries = append(entries, e)
			}
		}
		for i, e := range entries {
			which := ""
			if len(entries) > 1 {
				which = fmt.Sprintf(" (entry %d of %d)", i+1, len(entries))
			}
			fmt.Fprintf(b, "\nEntry in %s%s:\n%s\n", escape(r.Path), which, escapeLines(string(pyjson.Encode(e))))
		}
	}
}

func sessionDetail(b *strings.Builder, field func(string, string), s *reconcile.SessionRow, snap *engine.Snapshot, termTimeout time.Duration) {
	if s.Verdict == reconcile.VerdictLeak {
		field("repair", fmt.Sprintf("x kills its processes (SIGTERM, then SIGKILL after %s), then kill-session -t =%s", termTimeout, escape(s.Name)))
	}
	field("server", escape(s.Server))
	field("agent", orNone(escape(s.AgentID)))
	if !s.Created.IsZero() {
		age := ""
		if snap != nil {
			age = " (" + fmtAge(snap.Time.Sub(s.Created)) + " ago)"
		}
		field("created", s.Created.Format("2006-01-02 15:04:05")+age)
	}
	field("attached", strconv.FormatBool(s.Attached))
	field("processes", orNone(joinPIDs(s.PIDs)))
	if snap == nil || snap.Input.Live == nil {
		return
	}
	for _, sv := range snap.Input.Live.Servers {
		if sv.Snapshot == nil || sv.Socket.String() != s.Server {
			continue
		}
		for _, ss := range sv.Snapshot.Sessions() {
			if ss.Name != s.Name {
				continue
			}
			fmt.Fprintf(b, "\nPanes of %s (%s):\n", escape(ss.Name), escape(ss.ID))
			for _, p := range ss.Panes {
				dead := ""
				if p.Dead {
					dead = "  dead"
				}
				fmt.Fprintf(b, "  %-5s pane PID %-7d %s%s\n", escape(p.PaneID), p.PanePID, escape(p.Command), dead)
			}
		}
	}
}

func procDetail(b *strings.Builder, field func(string, string), p *reconcile.ProcRow, stats *procscan.Proc, snap *engine.Snapshot, termTimeout time.Duration) {
	if p.Verdict == reconcile.VerdictLeak {
		field("repair", fmt.Sprintf("x kills it and its tree: SIGTERM, then SIGKILL after %s", termTimeout))
	}
	field("PID", fmt.Sprintf("%d   PPID %d   SID %d", p.PID, p.PPID, p.SID))
	if p.Start > 0 {
		start := time.UnixMilli(p.Start)
		age := ""
		if snap != nil {
			age = " (" + fmtAge(snap.Time.Sub(start)) + " ago)"
		}
		field("started", start.In(snapLocation(snap)).Format("2006-01-02 15:04:05.000")+age)
	}
	field("comm", escape(p.Comm))
	field("claude", strconv.FormatBool(p.Claude))
	field("session", orNone(escape(p.Session)))
	field("server", orNone(escape(p.Server)))
	field("agent", orNone(escape(p.AgentID)))
	if stats != nil {
		uid := strconv.Itoa(int(stats.UID))
		if stats.OwnerUnknown {
			uid = "?"
		}
		field("CPU", fmtCPU(stats)+"   RSS "+fmtRSS(stats)+"   state "+orNone(escape(stats.State))+"   UID "+uid)
		if stats.EnvReadable {
			field("TMUX", orNone(escape(stats.TMUX)))
			field("TMUX_PANE", orNone(escape(stats.TMUXPane)))
		} else {
			field("TMUX", "(environment not readable)")
		}
	}
	fmt.Fprintf(b, "\nCommand line:\n  %s\n", escape(p.Cmdline))
	if stats != nil && len(stats.Argv) > 1 {
		b.WriteString("\nArguments:\n")
		for i, a := range stats.Argv {
			fmt.Fprintf(b, "  [%d] %s\n", i, strconv.Quote(a))
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func snapLocation(snap *engine.Snapshot) *time.Location {
	if snap == nil {
		return time.Local
	}
	return snap.Time.Location()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func joinPIDs(pids []int32) string {
	parts := make([]string, len(pids))
	for i, p := range pids {
		parts[i] = strconv.Itoa(int(p))
	}
	return strings.Join(parts, " ")
}
