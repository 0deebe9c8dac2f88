package reconcile

import (
	"maps"
	"slices"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// The findings in the registries themselves: each file's summary, its
// drifted counters and duplicated agents, and where the global registry
// and the task registries disagree.

func (w *world) summary(f *file) RegistrySummary {
	s := RegistrySummary{Path: f.Path, Kind: f.Kind, TaskID: f.TaskID}
	if f.err != nil {
		s.Error = f.err.Error()
		return s
	}
	switch {
	case f.task != nil:
		if s.TaskID == "" {
			s.TaskID = f.task.ID()
		}
		agents := f.agents
		s.Agents = len(agents)
		for _, a := range agents {
			if w.sets.Classify(a.Status) == registry.StatusActive {
				s.Active++
			}
		}
	case f.global != nil:
		b := w.bases[f.Base]
		for _, a := range f.gagents {
			s.Agents++
			status := a.Status
			if !a.HasStatus {
				status, _, _ = b.lookup(a.ID, a.TaskID)
			}
			if w.sets.Classify(status) == registry.StatusActive {
				s.Active++
			}
		}
	}
	return s
}

// fileFindings are the drift and duplicate findings of one parsed file.
func (w *world) fileFindings(f *file) []Finding {
	if w.bases[f.Base].sqlite() {
		// The SQLite-era orchestrator writes its JSON files once, at task
		// creation, and never again: their counters and agents are
		// creation-time data, neither drift nor duplicates.
		return nil
	}
	var out []Finding
	var actual map[string]int64
	var fields []string
	var root *pyjson.Value
	switch {
	case f.task != nil:
		distinct := len(f.byID)
		if _, ok := f.byID[""]; ok {
			distinct-- // no id: nothing to tell it apart by, never merged
		}
		actual, fields, root = taskCounts(f.agents, distinct, w.sets), TaskCounters, f.task.Root
		for i, a := range f.agents { // in the order of each id's first entry
			if d := f.dups[a.ID]; a.ID != "" && d != nil && d[0] == int32(i) {
				out = append(out, Finding{Kind: FindDuplicate, Registry: f.Path, TaskID: f.TaskID, AgentID: a.ID, Count: len(d)})
			}
		}
	case f.global != nil:
		actual, fields, root = globalActual(f.global, w.sets, w.bases[f.Base].lookup), GlobalCounters, f.global.Root
	}
	for _, field := range fields {
		want, known := actual[field]
		rec := root.Get(field)
		if !known || rec == nil {
			continue
		}
		if n, ok := rec.Int(); ok && n == want {
			continue
		}
		out = append(out, Finding{Kind: FindDrift, Registry: f.Path, TaskID: f.TaskID, Field: field,
			Recorded: jsonText(rec), Actual: want})
	}
	return out
}

// divergent compares each base's global registry with its task registries.
func (w *world) divergent() []Finding {
	var out []Finding
	for _, name := range slices.Sorted(maps.Keys(w.bases)) {
		b := w.bases[name]
		if b.global == nil || b.global.global == nil || b.sqlite() {
			continue
		}
		inGlobal := make(map[string]bool, len(b.global.gagents))
		for _, a := range b.global.gagents {
			inGlobal[a.ID] = true
			tf := b.tasks[a.TaskID]
			if tf == nil {
				if a.TaskID != "" {
					out = append(out, Finding{Kind: FindDivergent, AgentID: a.ID, TaskID: a.TaskID,
						GlobalRegistry: b.global.Path, GlobalStatus: a.Status})
				}
				continue // its task has no registry file
			}
			if tf.task == nil {
				continue // no readable task registry to compare with
			}
			te, ok := tf.entry(a.ID)
			switch {
			case !ok:
				out = append(out, Finding{Kind: FindDivergent, AgentID: a.ID, TaskID: a.TaskID,
					GlobalRegistry: b.global.Path, TaskRegistry: tf.Path, GlobalStatus: a.Status})
			case a.HasStatus && te.Status != a.Status:
				out = append(out, Finding{Kind: FindDivergent, AgentID: a.ID, TaskID: a.TaskID,
					GlobalRegistry: b.global.Path, TaskRegistry: tf.Path, GlobalStatus: a.Status, TaskStatus: te.Status})
			}
		}
		for _, id := range slices.Sorted(maps.Keys(b.tasks)) {
			tf := b.tasks[id]
			if tf.task == nil {
				continue
			}
			for i, a := range tf.agents {
				if inGlobal[a.ID] || tf.byID[a.ID] != int32(i) { // each id once, at its first entry
					continue
				}
				te, _ := tf.entry(a.ID)
				out = append(out, Finding{Kind: FindDivergent, AgentID: a.ID, TaskID: id,
					GlobalRegistry: b.global.Path, TaskRegistry: tf.Path, TaskStatus: te.Status})
			}
		}
	}
	return out
}
