package reconcile

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

// OpKind names a repair operation, as `repair --json` prints it.
type OpKind string

// The repair operations.
const (
	OpTerminate   OpKind = "terminate"
	OpComplete    OpKind = "complete"
	OpRecount     OpKind = "recount"
	OpDedupe      OpKind = "dedupe"
	OpSync        OpKind = "sync"
	OpKillProcess OpKind = "kill_process"
	OpKillSession OpKind = "kill_session"
)

// Op is one step of a repair plan. It carries the state it was planned
// against: applied to a document whose bytes say otherwise, it is skipped
// with the reason.
type Op struct {
	Op       OpKind          `json:"op"`
	Registry string          `json:"registry,omitempty"`
	AgentID  string          `json:"agent_id,omitempty"`
	Field    string          `json:"field,omitempty"`
	Old      json.RawMessage `json:"old,omitempty"`
	New      json.RawMessage `json:"new,omitempty"`
	Why      string          `json:"why,omitempty"`
	// A kill names its process by PID and start time, and its session by
	// name on a tmux server.
	PID     int    `json:"pid,omitempty"`
	Start   int64  `json:"-"`
	Comm    string `json:"comm,omitempty"`
	Session string `json:"tmux_session,omitempty"`
	Server  string `json:"server,omitempty"`

	// Expect is the status (JSON text, "" for none) a status change was
	// planned against; for a recount it is Old.
	Expect json.RawMessage `json:"-"`
	// Reason is the termination_reason a terminate writes.
	Reason string `json:"-"`
	// Kind is the kind of Registry: KindGlobal or KindTask.
	Kind string `json:"-"`
	// TaskID is the agent's task, for a global status change to consult
	// the task registry as it is when the change is applied.
	TaskID string `json:"-"`
}

// Env is what applying an operation needs besides the document: the time it
// writes, the status sets, and, for the global active_agents recount, the
// agents' statuses in their task registries.
type Env struct {
	Now  time.Time
	Sets registry.StatusSets
	// TaskStatus answers an agent's status in its task registry; known is
	// false when that registry cannot be read.
	TaskStatus func(agentID, taskID string) (status string, found, known bool)
	// Entries, when set, finds a task registry's entries of an agent from
	// an index of its agents array (see EntryIndex). One Env with it
	// serves one goroutine.
	Entries *EntryIndex
}

// EntryIndex finds the entries of an agent id in a task registry's agents
// array: indexed once, and again whenever the array no longer holds the
// elements it was indexed from (a dedupe), so that each operation of a
// plan costs a look-up rather than a read of every entry (which, in a
// document pyjson.ParseForEdit made, parses each one). An entry found is
// checked to hold the id still.
type EntryIndex struct {
	agents *pyjson.Value
	elems  []*pyjson.Value // the array's elements when indexed
	byID   map[string][]*pyjson.Value
}

func (x *EntryIndex) of(agents *pyjson.Value, agentID string) []*pyjson.Value {
	es := agents.Elems()
	if x.agents != agents || !slices.Equal(x.elems, es) {
		x.agents, x.elems, x.byID = agents, slices.Clone(es), make(map[string][]*pyjson.Value, len(es))
		for _, e := range es {
			if id := e.Get("id").StrOr(""); id != "" {
				x.byID[id] = append(x.byID[id], e)
			}
		}
	}
	var out []*pyjson.Value
	for _, e := range x.byID[agentID] {
		if e.Get("id").StrOr("") == agentID {
			out = append(out, e)
		}
	}
	return out
}

// Outcome is what applying one operation did.
type Outcome struct {
	Applied bool
	// Skip says why an operation was not applied.
	Skip string
	// New is the value written, re-derived under the lock.
	New json.RawMessage
	// Old is the value found under the lock, set when it is not the one
	// the operation was planned against: a recount, dedupe or sync was then
	// derived again from the bytes under the lock. Rederived says so, for
	// the report ("re-derived: 6 → 3 …"); both are empty otherwise.
	Old       json.RawMessage
	Rederived string
}

// jsonText is a value as JSON for reports. NaN and Infinity, which Python
// writes and reads but JSON does not allow, become strings.
func jsonText(v *pyjson.Value) json.RawMessage {
	if v == nil {
		return nil
	}
	b := pyjson.Encode(v)
	if !json.Valid(b) {
		b, _ = json.Marshal(string(b))
	}
	return json.RawMessage(b)
}

func jsonString(s string) json.RawMessage {
	return jsonText(pyjson.NewString(s))
}

// entries returns the agent's entries in a document of the given kind.
func entries(root *pyjson.Value, kind, agentID string, env Env) []*pyjson.Value {
	if agentID == "" {
		return nil
	}
	if kind == KindGlobal {
		if e := root.Get("agents").Get(agentID); e != nil {
			return []*pyjson.Value{e}
		}
		return nil
	}
	if env.Entries != nil {
		return env.Entries.of(root.Get("agents"), agentID)
	}
	var out []*pyjson.Value
	for _, e := range root.Get("agents").Elems() {
		if e.Get("id").StrOr("") == agentID {
			out = append(out, e)
		}
	}
	return out
}

// Apply performs the operation on a document of the given kind, re-deriving
// it from the document as it is now. A recount, a dedupe and a sync are
// functions of the document: applied to one that changed since the plan,
// they are derived again from it, and the Outcome says so. A status change
// (terminate, complete) keeps its guard: it is skipped when the agent's
// status is no longer the one planned.
func (op Op) Apply(root *pyjson.Value, env Env) (Outcome, error) {
	kind := op.Kind
	switch op.Op {
	case OpTerminate, OpComplete:
		return op.applyStatus(root, kind, env)
	case OpSync:
		return op.applySync(root, kind, env)
	case OpRecount:
		return op.applyRecount(root, kind, env)
	case OpDedupe:
		return op.applyDedupe(root, kind)
	}
	return Outcome{}, fmt.Errorf("apply %s: not a registry operation", op.Op)
}

func (op Op) applyStatus(root *pyjson.Value, kind string, env Env) (Outcome, error) {
	es := entries(root, kind, op.AgentID, env)
	switch len(es) {
	case 0:
		return Outcome{Skip: "the agent is no longer in this registry"}, nil
	case 1:
	default:
		return Outcome{Skip: fmt.Sprintf("the agent has %d entries here; dedupe it first", len(es))}, nil
	}
	e := es[0]
	if skip := op.taskSaysOtherwise(kind, env); skip != "" {
		return Outcome{Skip: skip}, nil
	}
	if cur := jsonText(e.Get("status")); string(cur) != string(op.Expect) {
		return Outcome{Skip: fmt.Sprintf("status is %s now, the plan expected %s", orNone(cur), orNone(op.Expect))}, nil
	}
	now := pyjson.NewString(registry.FormatTimestamp(env.Now))
	switch op.Op {
	case OpTerminate:
		e.Set("status", pyjson.NewString("terminated"))
		e.Set("termination_reason", pyjson.NewString(op.Reason))
		e.Set("terminated_at", now)
		e.Set("last_update", now.Clone())
	case OpComplete:
		e.Set("status", pyjson.NewString("completed"))
		e.Set("completed_at", now)
		e.Set("last_update", now.Clone())
	}
	return Outcome{Applied: true, New: jsonText(e.Get("status"))}, nil
}

// taskSaysOtherwise re-derives a global status change from the task
// registry as it is now (after this plan's own task transaction): a task
// entry that another writer made terminal, with another status than this
// change sets, wins over a terminate or complete.
func (op Op) taskSaysOtherwise(kind string, env Env) string {
	if kind != KindGlobal || env.TaskStatus == nil {
		return ""
	}
	status, found, known := env.TaskStatus(op.AgentID, op.TaskID)
	if !known || !found {
		return ""
	}
	if env.Sets.Classify(status) == registry.StatusTerminal && string(jsonString(status)) != string(op.New) {
		return fmt.Sprintf("the task registry says %q now; the next plan syncs the global entry", status)
	}
	return ""
}

// applySync sets the agent's status to the other registry's, derived again
// from the entry as it is now and, for the global registry, from the task
// registry as it is now. When either moved since the plan, the sync's rule
// is applied to what is there: a terminal status beats an active one; two
// of one class are left for the next plan, which compares their
// last_update (this one has only the entry in front of it).
func (op Op) applySync(root *pyjson.Value, kind string, env Env) (Outcome, error) {
	es := entries(root, kind, op.AgentID, env)
	switch len(es) {
	case 0:
		return Outcome{Skip: "the agent is no longer in this registry"}, nil
	case 1:
	default:
		return Outcome{Skip: fmt.Sprintf("the agent has %d entries here; dedupe it first", len(es))}, nil
	}
	var target string
	if err := json.Unmarshal(op.New, &target); err != nil {
		return Outcome{}, fmt.Errorf("apply sync: new status %s: %w", op.New, err)
	}
	if kind == KindGlobal && env.TaskStatus != nil {
		status, found, known := env.TaskStatus(op.AgentID, op.TaskID)
		switch {
		case known && !found:
			return Outcome{Skip: "the agent is no longer in its task registry"}, nil
		case known:
			target = status // follow the task registry as it is now
		}
	}
	e := es[0]
	st := e.Get("status")
	cur, curText := st.StrOr(""), jsonText(st)
	if st.Kind() == pyjson.String && cur == target {
		return Outcome{Skip: fmt.Sprintf("status is already %q", target)}, nil
	}
	ct, cc := env.Sets.Classify(target), env.Sets.Classify(cur)
	if ct == registry.StatusUnknown {
		return Outcome{Skip: fmt.Sprintf("the other registry says %q now, a status agentwatch never repairs", target)}, nil
	}
	planned := string(curText) == string(op.Expect) && string(jsonString(target)) == string(op.New)
	if !planned && st != nil {
		switch {
		case cc == registry.StatusUnknown:
			return Outcome{Skip: fmt.Sprintf("status is %s now, a status agentwatch never repairs", curText)}, nil
		case cc == registry.StatusTerminal && ct == registry.StatusActive:
			return Outcome{Skip: fmt.Sprintf("status is %s now, the other registry %q: a terminal status beats an active one; the next plan syncs the other registry", curText, target)}, nil
		case cc == ct:
			return Outcome{Skip: fmt.Sprintf("status is %s now, the other registry %q: the next plan compares their last_update", curText, target)}, nil
		}
	}
	e.Set("status", pyjson.NewString(target))
	out := Outcome{Applied: true, New: jsonText(e.Get("status"))}
	if !planned {
		out.Old = curText
		out.Rederived = fmt.Sprintf("re-derived: %s → %s (the plan saw %s → %s; the registries changed since)", orNone(curText), out.New, orNone(op.Old), op.New)
	}
	return out, nil
}

func orNone(s json.RawMessage) string {
	if len(s) == 0 {
		return "no status"
	}
	return string(s)
}

func (op Op) applyRecount(root *pyjson.Value, kind string, env Env) (Outcome, error) {
	rec := root.Get(op.Field)
	if rec == nil {
		return Outcome{Skip: fmt.Sprintf("%s is no longer in the registry", op.Field)}, nil
	}
	cur := jsonText(rec)
	var actual map[string]int64
	switch kind {
	case KindTask:
		tf, err := registry.NewTaskFile(root)
		if err != nil {
			return Outcome{}, err
		}
		actual = taskActual(tf, env.Sets)
	case KindGlobal:
		gf, err := registry.NewGlobalFile(root)
		if err != nil {
			return Outcome{}, err
		}
		lookup := env.TaskStatus
		if lookup == nil {
			lookup = func(string, string) (string, bool, bool) { return "", false, false }
		}
		actual = globalActual(gf, env.Sets, lookup)
	}
	want, ok := actual[op.Field]
	if !ok {
		return Outcome{Skip: fmt.Sprintf("%s cannot be counted for certain: a task registry is unreadable", op.Field)}, nil
	}
	if n, isInt := rec.Int(); isInt && n == want {
		return Outcome{Skip: fmt.Sprintf("%s is already %d", op.Field, want)}, nil
	}
	root.Set(op.Field, pyjson.NewInt(want))
	out := Outcome{Applied: true, New: jsonText(root.Get(op.Field))}
	if string(cur) != string(op.Expect) || string(out.New) != string(op.New) {
		out.Old = cur
		out.Rederived = fmt.Sprintf("re-derived: %s → %d (the plan saw %s → %s; the registry changed since)", cur, want, op.Expect, op.New)
	}
	return out, nil
}

// applyDedupe keeps the entry with the latest last_update, fills its missing
// fields from the others in array order, puts it where the first of them was
// and drops the rest.
func (op Op) applyDedupe(root *pyjson.Value, kind string) (Outcome, error) {
	if kind != KindTask {
		return Outcome{Skip: "only a task registry's agents array can hold duplicates"}, nil
	}
	if op.AgentID == "" {
		return Outcome{Skip: "entries without an id are never merged"}, nil
	}
	tf, err := registry.NewTaskFile(root)
	if err != nil {
		return Outcome{}, err
	}
	var dups []registry.Agent
	for _, a := range tf.Agents() {
		if a.ID == op.AgentID {
			dups = append(dups, a)
		}
	}
	if len(dups) < 2 {
		return Outcome{Skip: "the agent is no longer duplicated"}, nil
	}
	keep := latest(dups)
	merged := keep.Entry.Clone()
	for _, a := range dups {
		if a.Index == keep.Index {
			continue
		}
		for _, m := range a.Entry.Members() {
			if !merged.Has(m.Key) {
				merged.Set(m.Key, m.Value.Clone())
			}
		}
	}
	arr := root.Get("agents")
	for i := len(dups) - 1; i >= 1; i-- {
		arr.RemoveAt(dups[i].Index)
	}
	arr.Elems()[dups[0].Index] = merged
	out := Outcome{Applied: true, New: json.RawMessage(fmt.Sprint(1))}
	if found := jsonText(pyjson.NewInt(int64(len(dups)))); string(found) != string(op.Old) {
		out.Old = found
		out.Rederived = fmt.Sprintf("re-derived: %d entries → 1 (the plan saw %s; the registry changed since)", len(dups), op.Old)
	}
	return out, nil
}

// Plan is a repair plan: operations in the order they run. Each registry's
// operations are applied in one transaction, task registries before the
// global ones, whose counters read them.
type Plan struct {
	Ops []Op
}

// Registries returns the registries the plan touches, in transaction order.
func (p Plan) Registries() []string {
	seen := map[string]bool{}
	var tasks, globals []string
	for _, op := range p.Ops {
		if op.Registry == "" || seen[op.Registry] {
			continue
		}
		seen[op.Registry] = true
		if op.Kind == KindGlobal {
			globals = append(globals, op.Registry)
		} else {
			tasks = append(tasks, op.Registry)
		}
	}
	return append(tasks, globals...)
}

// OpsFor returns the plan's operations on one registry, in plan order.
func (p Plan) OpsFor(path string) []Op {
	var out []Op
	for _, op := range p.Ops {
		if op.Registry == path {
			out = append(out, op)
		}
	}
	return out
}
