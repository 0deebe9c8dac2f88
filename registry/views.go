package registry

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"agentwatch/registry/pyjson"
)

// Agent is one agent entry of a registry, as far as agentwatch reads it. The
// entry itself stays in the document, with every field agentwatch does not
// know.
type Agent struct {
	ID     string
	TaskID string
	Type   string
	Parent string
	// Status is the entry's status; HasStatus is false when the entry has
	// none (the global registry's deployer writes none).
	Status      string
	HasStatus   bool
	TmuxSession string
	StartedAt   string
	LastUpdate  string
	// Index is the entry's position in a task registry's agents array, or -1
	// in the global registry.
	Index int
	// Entry is the entry in its document; nil for a lean read's rows.
	Entry *pyjson.Value
	// statusJSON is the status's JSON text where Status quoted would not
	// encode it: a status that is not a string (Status is then its text),
	// or a string with an escaped lone surrogate; empty otherwise.
	statusJSON string
}

// StatusValue is the entry's status as its document holds it, nil when it
// has none: what a repair expects to find before it changes it.
func (a Agent) StatusValue() *pyjson.Value {
	switch {
	case a.Entry != nil:
		return a.Entry.Get("status")
	case !a.HasStatus:
		return nil
	case a.statusJSON != "":
		v, err := pyjson.Parse([]byte(a.statusJSON))
		if err != nil {
			return nil // never so: it is Encode's output
		}
		return v
	}
	return pyjson.NewString(a.Status)
}

// Started parses StartedAt; ok is false when it is missing or malformed.
func (a Agent) Started() (time.Time, bool) {
	t, err := ParseTimestamp(a.StartedAt)
	return t, err == nil
}

// Updated parses LastUpdate; ok is false when it is missing or malformed.
func (a Agent) Updated() (time.Time, bool) {
	t, err := ParseTimestamp(a.LastUpdate)
	return t, err == nil
}

// Session is the agent's tmux session: the recorded one, else the
// orchestrator's naming rule agent_<id>.
func (a Agent) Session() string {
	if a.TmuxSession != "" {
		return a.TmuxSession
	}
	return "agent_" + a.ID
}

// agentFrom reads an entry's fields in one pass over its members (an
// object's keys are unique once parsed, so the first member of a name is
// the one Get finds); with idField, the id is the entry's "id" field, else
// id.
func agentFrom(id string, idField bool, e *pyjson.Value, index int) Agent {
	a := Agent{ID: id, Index: index, Entry: e}
	if e.Kind() != pyjson.Object {
		return a
	}
	for key, val := range e.Pairs() {
		if key != "status" {
			a.setString(key, val.StrOr(""), idField)
			continue
		}
		a.Status, a.HasStatus = val.StrOr(val.String()), true
		if val.Kind() != pyjson.String || strings.ContainsRune(a.Status, utf8.RuneError) {
			if text := string(pyjson.Encode(val)); text != string(pyjson.Encode(pyjson.NewString(a.Status))) {
				a.statusJSON = text
			}
		}
	}
	return a
}

// setString sets the field of the entry's member key, for the fields
// read as strings (all but the status), to val; "id" only with idField.
func (a *Agent) setString(key, val string, idField bool) {
	switch key {
	case "id":
		if idField {
			a.ID = val
		}
	case "task_id":
		a.TaskID = val
	case "type":
		a.Type = val
	case "parent":
		a.Parent = val
	case "tmux_session":
		a.TmuxSession = val
	case "started_at":
		a.StartedAt = val
	case "last_update":
		a.LastUpdate = val
	}
}

// StreamLogPath is where an agent's claude output is tee'd:
// <task dir>/logs/<agent id>_stream.jsonl.
func StreamLogPath(taskRegistry, agentID string) string {
	return filepath.Join(filepath.Dir(taskRegistry), "logs", agentID+"_stream.jsonl")
}

// Counter is a counter field of a registry as recorded.
type Counter struct {
	Field string
	// Value is the recorded value; OK is false when the field holds
	// something other than an integer.
	Value int64
	OK    bool
	Raw   *pyjson.Value
}

func counterOf(root *pyjson.Value, field string) (Counter, bool) {
	v := root.Get(field)
	if v == nil {
		return Counter{}, false
	}
	n, ok := v.Int()
	return Counter{Field: field, Value: n, OK: ok, Raw: v}, true
}

// TaskFile is a view of a task's AGENT_REGISTRY.json: its agents are an array.
type TaskFile struct {
	Root *pyjson.Value
	rows *Rows
}

// GlobalFile is a view of GLOBAL_REGISTRY.json: its agents and tasks are
// objects keyed by id.
type GlobalFile struct {
	Root *pyjson.Value
	rows *Rows
}

// FormatError is a registry that parses but is not in the orchestrator's
// format, so agentwatch will not edit it.
type FormatError struct {
	Msg string
}

func (e *FormatError) Error() string { return e.Msg }

// NewTaskFile checks that root has a task registry's shape.
func NewTaskFile(root *pyjson.Value) (*TaskFile, error) { return NewTaskView(root, nil) }

// NewTaskView is NewTaskFile of a read whose agents may be rows (a lean
// read's Snapshot.Rows, nil for others).
func NewTaskView(root *pyjson.Value, rows *Rows) (*TaskFile, error) {
	if root.Kind() != pyjson.Object {
		return nil, &FormatError{Msg: fmt.Sprintf("task registry is a JSON %s, want an object", root.Kind())}
	}
	if a := root.Get("agents"); a != nil && a.Kind() != pyjson.Array {
		return nil, &FormatError{Msg: fmt.Sprintf("task registry's \"agents\" is a JSON %s, want an array", a.Kind())}
	}
	for i, e := range root.Get("agents").Elems() {
		if e.Kind() != pyjson.Object {
			return nil, &FormatError{Msg: fmt.Sprintf("task registry's agents[%d] is a JSON %s, want an object", i, e.Kind())}
		}
	}
	return &TaskFile{Root: root, rows: rows}, nil
}

// NewGlobalFile checks that root has the global registry's shape.
func NewGlobalFile(root *pyjson.Value) (*GlobalFile, error) { return NewGlobalView(root, nil) }

// NewGlobalView is NewGlobalFile of a read whose agents and tasks may be
// rows (a lean read's Snapshot.Rows, nil for others).
func NewGlobalView(root *pyjson.Value, rows *Rows) (*GlobalFile, error) {
	if root.Kind() != pyjson.Object {
		return nil, &FormatError{Msg: fmt.Sprintf("global registry is a JSON %s, want an object", root.Kind())}
	}
	for _, field := range []string{"agents", "tasks"} {
		v := root.Get(field)
		if v != nil && v.Kind() != pyjson.Object {
			return nil, &FormatError{Msg: fmt.Sprintf("global registry's %q is a JSON %s, want an object keyed by id", field, v.Kind())}
		}
		for _, m := range v.Members() {
			if m.Value.Kind() != pyjson.Object {
				return nil, &FormatError{Msg: fmt.Sprintf("global registry's %s[%q] is a JSON %s, want an object", field, m.Key, m.Value.Kind())}
			}
		}
	}
	return &GlobalFile{Root: root, rows: rows}, nil
}

// ID is the task's id.
func (t *TaskFile) ID() string { return t.Root.Get("task_id").StrOr("") }

// Status is the task's status.
func (t *TaskFile) Status() string { return t.Root.Get("status").StrOr("") }

// Agents returns the task's agents in array order; duplicates included.
// A lean read's are its rows: shared, not to be modified.
func (t *TaskFile) Agents() []Agent {
	if t.rows != nil {
		return t.rows.Agents
	}
	out := make([]Agent, 0, t.Root.Get("agents").Len())
	t.EachAgent(func(a Agent) { out = append(out, a) })
	return out
}

// EachAgent calls fn with each of the task's agents, as Agents returns
// them, without a slice of them all: counting a big registry's agents
// allocates nothing for each.
func (t *TaskFile) EachAgent(fn func(Agent)) {
	if t.rows != nil {
		for _, a := range t.rows.Agents {
			fn(a)
		}
		return
	}
	taskID := t.ID()
	for i, e := range t.Root.Get("agents").Elems() {
		a := agentFrom("", true, e, i)
		if a.TaskID == "" {
			a.TaskID = taskID
		}
		fn(a)
	}
}

// Counter returns a recorded counter; ok is false when the field is absent.
func (t *TaskFile) Counter(field string) (Counter, bool) { return counterOf(t.Root, field) }

// Agents returns the global registry's agents in document order. A lean
// read's are its rows: shared, not to be modified.
func (g *GlobalFile) Agents() []Agent {
	if g.rows != nil {
		return g.rows.Agents
	}
	members := g.Root.Get("agents").Members()
	out := make([]Agent, 0, len(members))
	for _, m := range members {
		out = append(out, agentFrom(m.Key, false, m.Value, -1))
	}
	return out
}

// Task is one task of the global registry.
type Task struct {
	ID          string
	Description string
	Status      string
	CreatedAt   string
}

// Tasks returns the global registry's tasks in document order. A lean
// read's are its rows: shared, not to be modified.
func (g *GlobalFile) Tasks() []Task {
	if g.rows != nil {
		return g.rows.Tasks
	}
	members := g.Root.Get("tasks").Members()
	out := make([]Task, 0, len(members))
	for _, m := range members {
		out = append(out, Task{
			ID:          m.Key,
			Description: m.Value.Get("description").StrOr(""),
			Status:      m.Value.Get("status").StrOr(""),
			CreatedAt:   m.Value.Get("created_at").StrOr(""),
		})
	}
	return out
}

// Counter returns a recorded counter; ok is false when the field is absent.
func (g *GlobalFile) Counter(field string) (Counter, bool) { return counterOf(g.Root, field) }

// Agent returns the global registry's agent of that id.
func (g *GlobalFile) Agent(id string) (Agent, bool) {
	if g.rows == nil {
		e := g.Root.Get("agents").Get(id)
		return agentFrom(id, false, e, -1), e != nil
	}
	for _, a := range g.rows.Agents {
		if a.ID == id {
			return a, true
		}
	}
	return Agent{}, false
}
