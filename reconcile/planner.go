package reconcile

import (
	"fmt"
	"sort"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// StatusChange asks for an agent's status to be settled in its task registry
// and in the global registry alike: a ghost terminated, or completed when its
// stream log shows it finished.
type StatusChange struct {
	Base    string
	TaskID  string
	AgentID string
	// Session is the agent's tmux session, whose liveness the engine checks
	// again under the lock.
	Session string
	// Op is OpTerminate or OpComplete.
	Op OpKind
	// Reason is the termination_reason of a terminate.
	Reason string
	Why    string
}

// MakePlan plans the repair of everything Analyze finds in the registries,
// plus the given status changes: dedupe, then status changes and syncs, then
// recounts of the counters as they will be once those are applied.
func MakePlan(in Input, changes []StatusChange) Plan {
	w := newWorld(in)
	var ops []Op
	for _, f := range w.files {
		if f.task == nil {
			continue
		}
		for _, fd := range w.fileFindings(f) {
			if fd.Kind == FindDuplicate {
				ops = append(ops, Op{Op: OpDedupe, Registry: f.Path, Kind: KindTask, AgentID: fd.AgentID,
					Old: jsonText(pyjson.NewInt(int64(fd.Count))), New: jsonText(pyjson.NewInt(1)),
					Why: fmt.Sprintf("%s appears %d times; keep the entry with the latest last_update and fill its missing fields from the others", fd.AgentID, fd.Count)})
			}
		}
	}
	ops = append(ops, w.statusOps(changes)...)
	ops = append(ops, w.stateOps(changes)...)
	ops = append(ops, w.syncOps()...)
	ops = append(ops, w.recountOps(in, ops)...)
	return Plan{Ops: sortOps(ops)}
}

// statusOps turns status changes into one operation per registry that
// records the agent.
func (w *world) statusOps(changes []StatusChange) []Op {
	var ops []Op
	for _, c := range changes {
		b := w.bases[c.Base]
		if b == nil {
			continue
		}
		to := "terminated"
		if c.Op == OpComplete {
			to = "completed"
		}
		if tf := b.tasks[c.TaskID]; tf != nil && tf.task != nil {
			if a, ok := tf.entry(c.AgentID); ok && w.sets.Classify(a.Status) == registry.StatusActive {
				ops = append(ops, Op{Op: c.Op, Registry: tf.Path, Kind: KindTask, AgentID: c.AgentID, Field: "status",
					Old: jsonString(a.Status), New: jsonString(to), Expect: jsonText(a.StatusValue()), Reason: c.Reason, Why: c.Why, Session: c.Session, TaskID: c.TaskID})
			}
		}
		if g := b.global; g != nil && g.global != nil {
			if ga, ok := g.global.Agent(c.AgentID); ok {
				st := ga.StatusValue()
				if st == nil || w.sets.Classify(st.StrOr("")) == registry.StatusActive {
					ops = append(ops, Op{Op: c.Op, Registry: g.Path, Kind: KindGlobal, AgentID: c.AgentID, Field: "status",
						Old: jsonText(st), New: jsonString(to), Expect: jsonText(st), Reason: c.Reason, Why: c.Why, Session: c.Session, TaskID: c.TaskID})
				}
			}
		}
	}
	return ops
}

// syncOps settles agents whose global and task statuses disagree: a terminal
// status beats an active one; otherwise the later last_update wins, the task
// registry on a tie. Unknown statuses are never repaired.
func (w *world) syncOps() []Op {
	var ops []Op
	for _, fd := range w.divergent() {
		if fd.GlobalStatus == "" || fd.TaskStatus == "" {
			continue // in one registry only: shown, not repaired
		}
		b := w.bases[w.baseOf(fd.GlobalRegistry)]
		ga, _ := b.global.global.Agent(fd.AgentID)
		t, _ := b.tasks[fd.TaskID].entry(fd.AgentID)
		cg, ct := w.sets.Classify(fd.GlobalStatus), w.sets.Classify(fd.TaskStatus)
		if cg == registry.StatusUnknown || ct == registry.StatusUnknown {
			continue
		}
		globalWins := false
		var why string
		switch {
		case cg == registry.StatusTerminal && ct == registry.StatusActive:
			globalWins, why = true, "a terminal status beats an active one"
		case ct == registry.StatusTerminal && cg == registry.StatusActive:
			why = "a terminal status beats an active one"
		default:
			gt, gok := ga.Updated()
			tt, tok := t.Updated()
			globalWins = gok && (!tok || gt.After(tt))
			why = "the later last_update wins"
		}
		op := Op{Op: OpSync, AgentID: fd.AgentID, TaskID: fd.TaskID, Field: "status"}
		if globalWins {
			op.Registry, op.Kind = fd.TaskRegistry, KindTask
			op.Old, op.New = jsonString(fd.TaskStatus), jsonString(fd.GlobalStatus)
			op.Why = fmt.Sprintf("global registry says %q, task registry %q: %s", fd.GlobalStatus, fd.TaskStatus, why)
		} else {
			op.Registry, op.Kind = fd.GlobalRegistry, KindGlobal
			op.Old, op.New = jsonString(fd.GlobalStatus), jsonString(fd.TaskStatus)
			op.Why = fmt.Sprintf("task registry says %q, global registry %q: %s", fd.TaskStatus, fd.GlobalStatus, why)
		}
		op.Expect = op.Old
		ops = append(ops, op)
	}
	return ops
}

func (w *world) baseOf(path string) string {
	for _, f := range w.files {
		if f.Path == path {
			return f.Base
		}
	}
	return ""
}

// recountOps simulates the other operations on copies of the documents and
// plans a recount of every counter that would then differ from the count.
func (w *world) recountOps(in Input, ops []Op) []Op {
	sim := Input{Now: in.Now, Sets: in.Sets, Bases: in.Bases, Databases: in.Databases}
	changes := map[string]bool{}
	for _, op := range ops {
		changes[op.Registry] = true
	}
	for _, r := range in.Registries {
		switch {
		case !changes[r.Path]: // read as it is, never changed
		case r.Rows != nil: // a lean read: its rows become entries again
			r.Root, r.Rows = r.Rows.Document(r.Root), nil
		case r.Root != nil:
			r.Root = r.Root.Clone()
		}
		sim.Registries = append(sim.Registries, r)
	}
	sw := newWorld(sim)
	byPath := map[string]*file{}
	for _, f := range sw.files {
		byPath[f.Path] = f
	}
	for _, op := range ops {
		f := byPath[op.Registry]
		if f == nil || f.err != nil {
			continue
		}
		// Errors and skips cannot happen on the documents the plan was made
		// from; if one did, the recount below simply counts what is there.
		_, _ = op.Apply(f.Root, Env{Now: in.Now, Sets: in.Sets, TaskStatus: sw.bases[f.Base].lookup})
	}
	for _, f := range sw.files {
		if changes[f.Path] && f.task != nil && f.err == nil {
			f.index() // counted as the operations left it
		}
	}
	var out []Op
	for _, f := range sw.files {
		for _, fd := range sw.fileFindings(f) {
			if fd.Kind != FindDrift {
				continue
			}
			out = append(out, Op{Op: OpRecount, Registry: f.Path, Kind: f.Kind, Field: fd.Field,
				Old: fd.Recorded, New: jsonText(pyjson.NewInt(fd.Actual)), Expect: fd.Recorded,
				Why: fmt.Sprintf("%s records %s; the registry holds %d", fd.Field, fd.Recorded, fd.Actual)})
		}
	}
	return out
}

var opRank = map[OpKind]int{OpDedupe: 0, OpTerminate: 1, OpComplete: 1, OpSync: 1, OpRecount: 2, OpKillProcess: 3, OpKillSession: 4}

// sortOps orders operations by registry (tasks first), then dedupe, status
// changes, recounts, keeping the order within each rank stable.
func sortOps(ops []Op) []Op {
	sort.SliceStable(ops, func(i, j int) bool {
		a, b := ops[i], ops[j]
		if (a.Kind == KindGlobal) != (b.Kind == KindGlobal) {
			return b.Kind == KindGlobal
		}
		if a.Registry != b.Registry {
			return a.Registry < b.Registry
		}
		return opRank[a.Op] < opRank[b.Op]
	})
	return ops
}
