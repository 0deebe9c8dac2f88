package reconcile

import (
	"encoding/json"
)

// Finding is one thing wrong. Which fields are set depends on Kind; the JSON
// form carries exactly the fields of that kind.
type Finding struct {
	Kind FindingKind

	Registry string
	AgentID  string
	TaskID   string

	// ghost
	Status            string
	TmuxSession       string
	Cause             Cause
	CompletedEvidence bool
	// leak
	PIDs []int
	// Server is the tmux server of a leaked session (not in the JSON).
	Server string
	// drift
	Field    string
	Recorded json.RawMessage
	Actual   int64
	// duplicate
	Count int
	// divergent
	GlobalRegistry string
	TaskRegistry   string
	GlobalStatus   string
	TaskStatus     string
	// corrupt
	Error string
	// stale
	LastUpdate string
	// unreadable
	Source string
	// divergent in a state database: the agent_progress_latest status
	// beside the agents row's Status.
	ProgressStatus string
	// spawn_blocked
	AgentIDs []string
	Limit    int
	// orphan_row: the table holding the row.
	Table string
}

// MarshalJSON writes the fields of the finding's kind, as DESIGN's contract
// lists them.
func (f Finding) MarshalJSON() ([]byte, error) {
	type kv = struct {
		k string
		v any
	}
	var fields []kv
	switch f.Kind {
	case FindGhost:
		fields = []kv{{"agent_id", f.AgentID}, {"task_id", f.TaskID}, {"registry", f.Registry}, {"status", f.Status},
			{"tmux_session", f.TmuxSession}, {"cause", f.Cause}, {"completed_evidence", f.CompletedEvidence}}
	case FindLeak:
		pids := f.PIDs
		if pids == nil {
			pids = []int{}
		}
		fields = []kv{{"cause", f.Cause}, {"agent_id", f.AgentID}, {"tmux_session", f.TmuxSession}, {"pids", pids}}
	case FindDrift:
		fields = []kv{{"registry", f.Registry}, {"field", f.Field}, {"recorded", f.Recorded}, {"actual", f.Actual}}
	case FindDuplicate:
		fields = []kv{{"registry", f.Registry}, {"agent_id", f.AgentID}, {"count", f.Count}}
	case FindDivergent:
		if f.Registry != "" { // a state database: the agent row against its progress row
			fields = []kv{{"agent_id", f.AgentID}, {"task_id", f.TaskID}, {"registry", f.Registry},
				{"status", f.Status}, {"progress_status", f.ProgressStatus}}
			break
		}
		fields = []kv{{"agent_id", f.AgentID}, {"global_registry", f.GlobalRegistry}, {"task_registry", f.TaskRegistry},
			{"global_status", f.GlobalStatus}, {"task_status", f.TaskStatus}}
	case FindCorrupt:
		fields = []kv{{"registry", f.Registry}, {"error", f.Error}}
	case FindStale:
		fields = []kv{{"agent_id", f.AgentID}, {"last_update", f.LastUpdate}}
	case FindUnreadable:
		fields = []kv{{"source", f.Source}, {"error", f.Error}}
	case FindUnknown:
		fields = []kv{{"agent_id", f.AgentID}, {"task_id", f.TaskID}, {"registry", f.Registry}, {"status", f.Status}}
	case FindSpawnBlocked:
		ids := f.AgentIDs
		if ids == nil {
			ids = []string{}
		}
		fields = []kv{{"task_id", f.TaskID}, {"registry", f.Registry}, {"agent_ids", ids}, {"limit", f.Limit}}
	case FindOrphanRow:
		fields = []kv{{"registry", f.Registry}, {"table", f.Table}, {"agent_id", f.AgentID}, {"task_id", f.TaskID}}
	}
	buf := []byte(`{"kind":`)
	k, _ := json.Marshal(f.Kind)
	buf = append(buf, k...)
	for _, field := range fields {
		v, err := json.Marshal(field.v)
		if err != nil {
			return nil, err
		}
		buf = append(buf, ',', '"')
		buf = append(buf, field.k...)
		buf = append(buf, '"', ':')
		buf = append(buf, v...)
	}
	return append(buf, '}'), nil
}

// Blocking reports whether the finding makes the state unhealthy. Warnings
// only: a stale agent, a row whose agent row is missing (the orchestrator
// never reads it), and a progress row that disagrees with its agent row
// (the orchestrator's own batch writes leave that, and nothing repairs it).
func (f Finding) Blocking() bool {
	switch {
	case f.Kind == FindStale, f.Kind == FindOrphanRow:
		return false
	case f.Kind == FindDivergent && f.Registry != "":
		return false
	}
	return true
}
