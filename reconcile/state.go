package reconcile

import (
	"fmt"
	"slices"

	"agentwatch/registry"
	"agentwatch/statedb"
)

// KindState is the kind check --json gives a workspace base's state
// database in its list of registries.
const KindState = "sqlite"

// dbIndex is a state database with its rows indexed for the analysis.
type dbIndex struct {
	Database
	tasks    map[string]statedb.Task
	byID     map[string]*statedb.Agent
	progress map[string]statedb.Progress // by agent id
}

func newDBIndex(d Database) *dbIndex {
	x := &dbIndex{Database: d}
	if d.State == nil {
		if x.Err == nil {
			x.Err = fmt.Errorf("read %s: no rows", d.Path)
		}
		return x
	}
	st := d.State
	x.tasks = make(map[string]statedb.Task, len(st.Tasks))
	for _, t := range st.Tasks {
		x.tasks[t.ID] = t
	}
	x.byID = make(map[string]*statedb.Agent, len(st.Agents))
	for i := range st.Agents {
		x.byID[st.Agents[i].ID] = &st.Agents[i]
	}
	x.progress = make(map[string]statedb.Progress, len(st.Progress))
	for _, p := range st.Progress {
		x.progress[p.AgentID] = p
	}
	return x
}

// dbSummary is the database as check --json lists it among the registries.
func (w *world) dbSummary(db *dbIndex) RegistrySummary {
	s := RegistrySummary{Path: db.Path, Kind: KindState}
	if db.Err != nil {
		s.Error = db.Err.Error()
		return s
	}
	s.Agents = len(db.State.Agents)
	for _, a := range db.State.Agents {
		if w.sets.Classify(a.Status) == registry.StatusActive {
			s.Active++
		}
	}
	return s
}

// dbFindings are what a state database shows by itself: that it could not
// be read, statuses in neither set, agents_progress rows that disagree with
// their agent, and rows whose agent row is missing. Drift has no meaning
// here: the database stores no counters.
func (w *world) dbFindings(db *dbIndex) []Finding {
	switch {
	case db.Locked:
		return nil // the scan reports a busy lock as it does a registry's
	case db.Unreadable:
		return []Finding{{Kind: FindUnreadable, Source: db.Path, Error: db.Err.Error()}}
	case db.Err != nil:
		return []Finding{{Kind: FindCorrupt, Registry: db.Path, Error: db.Err.Error()}}
	}
	var out []Finding
	for _, a := range db.State.Agents {
		if w.sets.Classify(a.Status) == registry.StatusUnknown {
			out = append(out, Finding{Kind: FindUnknown, Registry: db.Path, AgentID: a.ID, TaskID: a.TaskID, Status: a.Status})
		}
	}
	for _, a := range db.State.Agents {
		p, ok := db.progress[a.ID]
		if !ok || p.TaskID != a.TaskID {
			continue
		}
		ca, cp := w.sets.Classify(a.Status), w.sets.Classify(p.Status)
		if (ca == registry.StatusActive && cp == registry.StatusTerminal) || (ca == registry.StatusTerminal && cp == registry.StatusActive) {
			out = append(out, Finding{Kind: FindDivergent, Registry: db.Path, AgentID: a.ID, TaskID: a.TaskID,
				Status: a.Status, ProgressStatus: p.Status})
		}
	}
	for _, p := range db.State.Progress {
		if db.byID[p.AgentID] == nil {
			out = append(out, Finding{Kind: FindOrphanRow, Registry: db.Path, Table: "agent_progress_latest", AgentID: p.AgentID, TaskID: p.TaskID})
		}
	}
	for _, h := range db.State.Hierarchy {
		if db.byID[h.Child] == nil {
			out = append(out, Finding{Kind: FindOrphanRow, Registry: db.Path, Table: "agent_hierarchy", AgentID: h.Child, TaskID: h.TaskID})
		}
	}
	return out
}

// spawnBlocked finds, per task of a SQLite-era base, the ghost rows that
// hold spawns back: every active row counts against the task's
// max_concurrent, and an active row of a type keeps that type from
// spawning again. One finding per task with a ghost, listing its ghosts.
func spawnBlocked(w *world, agents []AgentRow) []Finding {
	type key struct{ base, task string }
	ghosts := map[key][]string{}
	var order []key
	for _, a := range agents {
		if a.Verdict != VerdictGhost || a.Source != SourceState {
			continue
		}
		k := key{a.Base, a.TaskID}
		if _, ok := ghosts[k]; !ok {
			order = append(order, k)
		}
		ghosts[k] = append(ghosts[k], a.ID)
	}
	var out []Finding
	for _, k := range order {
		db := w.bases[k.base].db
		f := Finding{Kind: FindSpawnBlocked, Registry: db.Path, TaskID: k.task, AgentIDs: ghosts[k]}
		if t, ok := db.tasks[k.task]; ok && t.HasConfig {
			f.Limit = t.MaxConcurrent
		}
		slices.Sort(f.AgentIDs)
		out = append(out, f)
	}
	return out
}

// Statuses a ghost repair writes in a state database: the orchestrator's
// own words for an agent that died (its health daemon, its startup
// cleanup) and for one whose stream log shows it finished.
const (
	StateFailed    = "failed"
	StateCompleted = "completed"
)

// stateOps turns the status changes of agents of a state database into one
// operation each: a guarded update of the agent's row (see statedb.Apply).
// A terminate sets failed there, as the orchestrator does for a dead
// session; terminated is its word for a deliberate kill.
func (w *world) stateOps(changes []StatusChange) []Op {
	var ops []Op
	for _, c := range changes {
		b := w.bases[c.Base]
		if !b.sqlite() || b.db.Err != nil {
			continue
		}
		a := b.db.byID[c.AgentID]
		if a == nil || a.TaskID != c.TaskID || w.sets.Classify(a.Status) != registry.StatusActive {
			continue
		}
		to := StateFailed
		if c.Op == OpComplete {
			to = StateCompleted
		}
		ops = append(ops, Op{Op: c.Op, Registry: b.db.Path, Kind: KindState, AgentID: c.AgentID, TaskID: c.TaskID, Field: "status",
			Old: jsonString(a.Status), New: jsonString(to), Expect: jsonString(a.Status), Why: c.Why, Session: c.Session})
	}
	return ops
}
