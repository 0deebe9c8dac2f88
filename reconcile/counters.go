package reconcile

import (
	"agentwatch/registry"
)

// Counter fields, in the order reports show them.
var (
	TaskCounters   = []string{"active_count", "total_spawned", "completed_count"}
	GlobalCounters = []string{"active_agents", "total_agents_spawned", "total_tasks", "active_tasks"}
)

// taskActual is what a task registry's counters should hold: entries with an
// active status, distinct agent ids, entries with a terminal status. An
// entry without an id is an agent of its own.
func taskActual(tf *registry.TaskFile, sets registry.StatusSets) map[string]int64 {
	var t taskTally
	ids := map[string]struct{}{}
	tf.EachAgent(func(a registry.Agent) {
		if a.ID != "" {
			ids[a.ID] = struct{}{}
		}
		t.add(a, sets)
	})
	return t.counts(len(ids))
}

// taskCounts is taskActual of a task file's agents, distinct of them
// distinct ids.
func taskCounts(agents []registry.Agent, distinct int, sets registry.StatusSets) map[string]int64 {
	var t taskTally
	for _, a := range agents {
		t.add(a, sets)
	}
	return t.counts(distinct)
}

// taskTally counts a task's agents as its counters do.
type taskTally struct{ active, done, anonymous int64 }

func (t *taskTally) add(a registry.Agent, sets registry.StatusSets) {
	if a.ID == "" {
		t.anonymous++
	}
	switch sets.Classify(a.Status) {
	case registry.StatusActive:
		t.active++
	case registry.StatusTerminal:
		t.done++
	}
}

// counts are the counters' values, of distinct agent ids.
func (t taskTally) counts(distinct int) map[string]int64 {
	return map[string]int64{
		"active_count":    t.active,
		"total_spawned":   int64(distinct) + t.anonymous,
		"completed_count": t.done,
	}
}

// statusLookup gives an agent's status in its task registry; known is false
// when that registry is missing or unreadable, so the status cannot be told.
type statusLookup func(agentID, taskID string) (status string, found, known bool)

// globalActual is what the global registry's counters should hold. A counter
// that cannot be told for certain (an agent without a global status whose
// task registry cannot be read) is left out.
func globalActual(gf *registry.GlobalFile, sets registry.StatusSets, lookup statusLookup) map[string]int64 {
	out := map[string]int64{}
	var active int64
	certain := true
	agents := gf.Agents()
	for _, a := range agents {
		status := a.Status
		if !a.HasStatus {
			s, found, known := lookup(a.ID, a.TaskID)
			if !known {
				certain = false
				continue
			}
			if !found {
				continue
			}
			status = s
		}
		if sets.Classify(status) == registry.StatusActive {
			active++
		}
	}
	if certain {
		out["active_agents"] = active
	}
	out["total_agents_spawned"] = int64(len(agents))
	tasks := gf.Tasks()
	out["total_tasks"] = int64(len(tasks))
	var activeTasks int64
	for _, t := range tasks {
		if !sets.TaskDone(t.Status) {
			activeTasks++
		}
	}
	out["active_tasks"] = activeTasks
	return out
}
