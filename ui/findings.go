package ui

import (
	"fmt"
	"strconv"
	"strings"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

// findingsHeading is the heading of the Registry pane's last section: the
// findings that are not an agent's row (a ghost, a leak and a stale agent
// are theirs already).
const findingsHeading = "findings"

// findingRows are the rows of the report's findings that have rows of
// their own, under one heading.
func findingRows(rep *reconcile.Report) []row {
	var out []row
	for i := range rep.Findings {
		f := &rep.Findings[i]
		if !findingRow(f.Kind) {
			continue
		}
		if out == nil {
			out = append(out, row{kind: rowHeading, key: "t|" + findingsHeading, heading: findingsHeading})
		}
		out[0].count++
		out = append(out, row{kind: rowFinding, key: findingKey(f, i), finding: f})
	}
	return out
}

func findingKey(f *reconcile.Finding, i int) string {
	return strings.Join([]string{"f", string(f.Kind), f.Registry, f.Source, f.AgentID, f.TaskID, f.Field, f.Table}, "|")
}

// findingText is a finding in a line: what is recorded against what is.
func findingText(f *reconcile.Finding) string {
	switch f.Kind {
	case reconcile.FindDrift:
		return fmt.Sprintf("%s %s %s, actual %d", registryName(f.Registry), f.Field, string(f.Recorded), f.Actual)
	case reconcile.FindDuplicate:
		return fmt.Sprintf("%s ×%d in %s", f.AgentID, f.Count, registryName(f.Registry))
	case reconcile.FindDivergent:
		if f.Registry != "" {
			return fmt.Sprintf("%s: row %s, progress %s", f.AgentID, orNone(f.Status), orNone(f.ProgressStatus))
		}
		return fmt.Sprintf("%s: global %s, task %s", f.AgentID, orNone(f.GlobalStatus), orNone(f.TaskStatus))
	case reconcile.FindCorrupt:
		return registryName(f.Registry) + ": " + f.Error
	case reconcile.FindUnreadable:
		return f.Source + ": " + f.Error
	case reconcile.FindUnknown:
		return fmt.Sprintf("%s: status %q", f.AgentID, f.Status)
	case reconcile.FindSpawnBlocked:
		return fmt.Sprintf("%s: %d ghost%s hold spawns (limit %d)", f.TaskID, len(f.AgentIDs), plural(len(f.AgentIDs)), f.Limit)
	case reconcile.FindOrphanRow:
		return fmt.Sprintf("%s row of %s, no agent row", f.Table, f.AgentID)
	}
	return string(f.Kind)
}

// findingRepair lists the operations of the repair plan that fix one
// finding, and says so when none does.
func findingRepair(f *reconcile.Finding, snap *engine.Snapshot, rep *reconcile.Report) []string {
	if snap == nil {
		return nil
	}
	plan := reconcile.PlanRepair(snap.Input, *rep, false)
	var out []string
	for _, op := range plan.Ops {
		fixes := false
		switch f.Kind {
		case reconcile.FindDrift:
			fixes = op.Op == reconcile.OpRecount && op.Registry == f.Registry && op.Field == f.Field
		case reconcile.FindDuplicate:
			fixes = op.Op == reconcile.OpDedupe && op.Registry == f.Registry && op.AgentID == f.AgentID
		case reconcile.FindDivergent:
			fixes = op.Op == reconcile.OpSync && op.AgentID == f.AgentID
		case reconcile.FindSpawnBlocked:
			for _, id := range f.AgentIDs {
				fixes = fixes || (op.AgentID == id && (op.Op == reconcile.OpTerminate || op.Op == reconcile.OpComplete))
			}
		}
		if fixes {
			line := registryPath(op.Registry) + ": " + opChange(op)
			if f.Kind == reconcile.FindDrift && string(op.New) != strconv.FormatInt(f.Actual, 10) {
				line += " (counted after the plan's status changes)"
			}
			out = append(out, line)
		}
	}
	return out
}

// findingDetail is the detail view of a finding row.
func findingDetail(b *strings.Builder, field func(string, string), f *reconcile.Finding, snap *engine.Snapshot, rep *reconcile.Report) {
	switch f.Kind {
	case reconcile.FindDrift:
		field("registry", escape(f.Registry))
		field("field", escape(f.Field))
		field("recorded", escape(string(f.Recorded)))
		field("actual", strconv.FormatInt(f.Actual, 10))
	case reconcile.FindDuplicate:
		field("registry", escape(f.Registry))
		field("agent", escape(f.AgentID))
		field("entries", strconv.Itoa(f.Count))
	case reconcile.FindDivergent:
		field("agent", escape(f.AgentID))
		if f.Registry != "" {
			field("database", escape(f.Registry))
			field("agents row", orNone(escape(f.Status)))
			field("progress", orNone(escape(f.ProgressStatus))+" (agent_progress_latest)")
			break
		}
		field("global", escape(f.GlobalRegistry))
		field("status", orNone(escape(f.GlobalStatus)))
		field("task", escape(f.TaskRegistry))
		field("status", orNone(escape(f.TaskStatus)))
	case reconcile.FindCorrupt:
		field("registry", escape(f.Registry))
		field("error", escape(f.Error))
	case reconcile.FindUnreadable:
		field("source", escape(f.Source))
		field("error", escape(f.Error))
	case reconcile.FindUnknown:
		field("agent", escape(f.AgentID))
		field("task", orNone(escape(f.TaskID)))
		field("status", strconv.Quote(f.Status)+" (in neither the active nor the terminal set)")
		field("registry", escape(f.Registry))
	case reconcile.FindSpawnBlocked:
		field("task", escape(f.TaskID))
		field("limit", strconv.Itoa(f.Limit))
		field("ghosts", escape(strings.Join(f.AgentIDs, " ")))
	case reconcile.FindOrphanRow:
		field("database", escape(f.Registry))
		field("table", escape(f.Table))
		field("agent", escape(f.AgentID))
		field("task", orNone(escape(f.TaskID)))
	}
	ops := findingRepair(f, snap, rep)
	switch {
	case len(ops) > 0:
		b.WriteString("\nThe repair that fixes it (R applies the whole plan):\n")
		for _, o := range ops {
			b.WriteString("  " + o + "\n")
		}
	case f.Kind == reconcile.FindCorrupt:
		b.WriteString("\nNo repair rewrites a corrupt registry: `agentwatch restore --registry " + escape(f.Registry) + "` mends it, previewed.\n")
	case f.Kind == reconcile.FindSpawnBlocked:
		b.WriteString("\nMarking its ghosts (t, or R) frees the spawns.\n")
	default:
		b.WriteString("\nNo repair changes it: agentwatch shows it and leaves it.\n")
	}
}
