package reconcile

// The agents of an analysis: their rows merged from the registries and the
// state databases, made once, in the report's order.

import (
	"maps"
	"slices"
	"strings"
	"time"

	"agentwatch/registry"
	"agentwatch/statedb"
)

// agentState is what the analysis knows of an agent beside its row.
type agentState struct {
	row      *AgentRow
	at       int32 // row is &live.rows[at]
	ord      int32 // its place in live.order
	class    registry.StatusClass
	startedT time.Time
	started  bool
	updatedT time.Time
	updated  bool
}

// collectAgents merges each agent's global and task entries: the task
// entry's status wins, the global one fills in. A first pass gives every
// agent its place, so that the rows are made at once, in one slice that
// becomes the report's (see inOrder); the second fills them.
func (l *live) collectAgents() {
	// How many agents each base has, about: its largest registry (the
	// global one repeats the tasks' agents) and its database's rows.
	perBase := map[string]int{}
	entries, rows := 0, 0
	for _, f := range l.w.files {
		perBase[f.Base] = max(perBase[f.Base], len(f.agents), len(f.gagents))
		entries += len(f.agents) + len(f.gagents)
	}
	for name, b := range l.w.bases {
		if b.db != nil && b.db.Err == nil {
			perBase[name] += len(b.db.State.Agents)
			rows += len(b.db.State.Agents)
		}
	}
	n := 0
	for _, c := range perBase {
		n += c
	}
	l.agents = make(map[string]map[string]int32, len(perBase))
	keys := make([]string, 0, n)
	// at is the place of each entry the second pass reads, in its order.
	at := make([]int32, 0, entries)
	place := func(base, id string) (int32, bool) {
		ids := l.agents[base]
		if ids == nil {
			ids = make(map[string]int32, perBase[base])
			l.agents[base] = ids
		}
		i, ok := ids[id]
		if !ok {
			i = int32(len(keys))
			ids[id] = i
			keys = append(keys, base+"|"+id)
		}
		return i, !ok
	}
	l.eachJSONAgent(func(f *file, a *registry.Agent) {
		i, _ := place(f.Base, a.ID)
		at = append(at, i)
	})
	fromState := make([]stateAgent, 0, rows)
	for _, name := range slices.Sorted(maps.Keys(l.w.bases)) {
		db := l.w.bases[name].db
		if db == nil || db.Err != nil {
			continue
		}
		for k := range db.State.Agents {
			a := &db.State.Agents[k]
			if a.ID == "" {
				continue
			}
			// The primary key makes a second row impossible; a key seen
			// before keeps its first.
			if i, ok := place(name, a.ID); ok {
				fromState = append(fromState, stateAgent{i, name, db, a})
			}
		}
	}

	l.rows = make([]AgentRow, len(keys))
	l.states = make([]agentState, len(keys))
	l.order = make([]*agentState, len(keys))
	// The rows are filled in two halves side by side: most of their cost
	// is the first touch of their memory, which each processor pays for
	// its own half.
	f := rowFill{l: l, keys: keys, at: at, fromState: fromState}
	if n := len(keys); n < parallelRows {
		f.fill(0, n)
	} else {
		wait := goCatch(func() { f.fill(n/2, n) })
		f.fill(0, n/2)
		wait()
	}
	slices.SortStableFunc(l.order, func(x, y *agentState) int {
		if c := strings.Compare(x.row.TaskID, y.row.TaskID); c != 0 {
			return c
		}
		return strings.Compare(x.row.Started, y.row.Started)
	})
	for k, st := range l.order {
		st.ord = int32(k)
	}
}

// parallelRows is how many agents an analysis has before their rows are
// filled on two processors (tests make it small).
var parallelRows = 2048

// stateAgent is an agent whose row comes from a state database.
type stateAgent struct {
	i    int32
	base string
	db   *dbIndex
	a    *statedb.Agent
}

// rowFill fills the rows collectAgents placed: keys are their keys, at the
// place of each JSON entry eachJSONAgent reads, in its order.
type rowFill struct {
	l         *live
	keys      []string
	at        []int32
	fromState []stateAgent
}

// fill fills the rows lo to hi: what it writes is theirs alone, so that
// two fills of other rows run at once.
func (f *rowFill) fill(lo, hi int) {
	l, keys := f.l, f.keys
	for i := lo; i < hi; i++ {
		l.states[i].row, l.states[i].at = &l.rows[i], int32(i)
		l.order[i] = &l.states[i]
	}
	j := 0
	l.eachJSONAgent(func(file *file, a *registry.Agent) {
		i := f.at[j]
		j++
		if int(i) < lo || int(i) >= hi {
			return
		}
		r := &l.rows[i]
		if r.Key == "" {
			*r = AgentRow{Key: keys[i], ID: a.ID, Base: file.Base, Source: SourceJSON}
		}
		fromTask := file.Kind == KindTask
		if fromTask || r.Registry == "" {
			r.Registry = file.Path
		}
		if fromTask || (r.Status == "" && a.HasStatus) {
			if a.HasStatus || fromTask {
				r.Status = a.Status
			}
		}
		fill := func(dst *string, v string) {
			if v != "" && (fromTask || *dst == "") {
				*dst = v
			}
		}
		fill(&r.TaskID, a.TaskID)
		if fromTask && file.TaskID != "" {
			r.TaskID = file.TaskID
		}
		fill(&r.Type, a.Type)
		fill(&r.Session, a.TmuxSession)
		fill(&r.Started, a.StartedAt)
		fill(&r.Updated, a.LastUpdate)
	})
	for _, s := range f.fromState {
		if int(s.i) < lo || int(s.i) >= hi {
			continue
		}
		a := s.a
		r := &l.rows[s.i]
		*r = AgentRow{Key: keys[s.i], ID: a.ID, TaskID: a.TaskID, Base: s.base, Registry: s.db.Path,
			Source: SourceState, Status: a.Status, Type: a.Type, Session: a.TmuxSession, Started: a.StartedAt,
			Updated: a.LastUpdate, Model: a.Model, Progress: a.Progress}
		if p, ok := s.db.progress[a.ID]; ok && p.TaskID == a.TaskID {
			r.Message, r.Reported = p.Message, p.Timestamp
		}
	}
	for i := lo; i < hi; i++ {
		st := &l.states[i]
		if st.row.Session == "" {
			st.row.Session = sessionPrefix + st.row.ID
		}
		// tmux stores '.' and ':' in a new session's name as '_': the
		// session is found under the name tmux gave it.
		st.row.Session = TmuxName(st.row.Session)
		st.class = l.w.sets.Classify(st.row.Status)
		st.startedT, st.started = parseTime(st.row.Started)
		st.updatedT, st.updated = parseTime(st.row.Updated)
		if st.updated {
			st.row.LastSign, st.row.LastSignFrom = st.updatedT, "last_update"
		}
		if t, ok := parseTime(st.row.Reported); ok && t.After(st.row.LastSign) {
			st.row.LastSign, st.row.LastSignFrom = t, "progress report"
		}
		if mod, ok := l.lv.LogModified[st.row.ID]; ok && mod.After(st.row.LastSign) {
			st.row.LastSign, st.row.LastSignFrom = mod, "stream log"
		}
	}
}

// eachJSONAgent calls f with every agent entry of the registries, global
// then task in the files' order, that collectAgents merges: of a task or
// base that has not moved to its state database, with an id.
func (l *live) eachJSONAgent(f func(*file, *registry.Agent)) {
	for _, file := range l.w.files {
		var agents []registry.Agent
		b := l.w.bases[file.Base]
		switch {
		case file.task != nil:
			id := file.TaskID
			if id == "" {
				id = file.task.ID()
			}
			if !b.usesJSON(id) {
				continue
			}
			agents = file.agents
		case file.global != nil:
			agents = file.gagents
		default:
			continue
		}
		for k := range agents {
			a := &agents[k]
			if a.ID == "" || (file.global != nil && !b.usesJSON(a.TaskID)) {
				continue
			}
			f(file, a)
		}
	}
}

// inOrder puts the rows in the report's order, in place, and returns
// them; each state points at its row where it now is.
func (l *live) inOrder() []AgentRow {
	pos := make([]int32, len(l.order)) // pos[k]: where the k-th row now is
	for k, st := range l.order {
		pos[k] = st.at
	}
	// Follow each cycle of the permutation: rows[k] takes rows[pos[k]].
	for k := range pos {
		if pos[k] == int32(k) || pos[k] < 0 {
			continue
		}
		held := l.rows[k]
		for c := k; ; {
			from := pos[c]
			pos[c] = -1
			if int(from) == k {
				l.rows[c] = held
				break
			}
			l.rows[c] = l.rows[from]
			c = int(from)
		}
	}
	for k, st := range l.order {
		st.row, st.at = &l.rows[k], int32(k)
	}
	return l.rows
}

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false // a field the entry does not have
	}
	t, err := registry.ParseTimestamp(s)
	return t, err == nil
}
