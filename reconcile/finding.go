package reconcile

import (
	"encoding/json"
)

// Finding kinds: the words the JSON output and the screen use.
const (
	FindGhost     = "ghost"
	FindLeak      = "leak"
	FindDrift     = "drift"
	FindDuplicate = "duplicate"
	FindDivergent = "divergent"
	FindCorrupt   = "corrupt"
	FindStale     = "stale"
)

// FindingKinds lists every finding kind in the order reports show them.
var FindingKinds = []string{FindCorrupt, FindGhost, FindLeak, FindDrift, FindDuplicate, FindDivergent, FindStale}

// Finding is one thing wrong. Which fields are set depends on Kind; the JSON
// form carries exactly the fields of that kind.
type Finding struct {
	Kind string

	Registry string
	AgentID  string
	TaskID   string

	// ghost
	Status            string
	TmuxSession       string
	Cause             string
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
		fields = []kv{{"agent_id", f.AgentID}, {"global_registry", f.GlobalRegistry}, {"task_registry", f.TaskRegistry},
			{"global_status", f.GlobalStatus}, {"task_status", f.TaskStatus}}
	case FindCorrupt:
		fields = []kv{{"registry", f.Registry}, {"error", f.Error}}
	case FindStale:
		fields = []kv{{"agent_id", f.AgentID}, {"last_update", f.LastUpdate}}
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

// Blocking reports whether the finding makes the state unhealthy; a stale
// agent is a warning only.
func (f Finding) Blocking() bool { return f.Kind != FindStale }
