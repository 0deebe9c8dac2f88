package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"agentwatch/registry"
)

// RegistrySummary is one registry as `check --json` lists it.
type RegistrySummary struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	TaskID string `json:"task_id"`
	Agents int    `json:"agents"`
	Active int    `json:"active"`
	Error  string `json:"error"`
}

// Report is the outcome of one analysis.
type Report struct {
	Registries []RegistrySummary
	// Agents, Sessions and Processes are the three panes' rows; empty when
	// the input holds no live data.
	Agents    []AgentRow
	Sessions  []SessionRow
	Processes []ProcRow
	Findings  []Finding
}

// Healthy reports whether nothing but warnings was found.
func (r Report) Healthy() bool {
	for _, f := range r.Findings {
		if f.Blocking() {
			return false
		}
	}
	return true
}

// Summary counts the findings by kind; every kind is present.
func (r Report) Summary() map[FindingKind]int {
	out := make(map[FindingKind]int, len(FindingKinds))
	for _, k := range FindingKinds {
		out[k] = 0
	}
	for _, f := range r.Findings {
		out[f.Kind]++
	}
	return out
}

// file is one input registry with its view, if it has a valid one.
type file struct {
	Registry
	task   *registry.TaskFile
	global *registry.GlobalFile
	err    error // read, parse or format error
	// agents, byID and dups index a task file's entries once per
	// analysis: looking an agent up must not walk the whole array each
	// time. byID holds where an id's first entry is; dups every entry of
	// an id given more than once.
	agents []registry.Agent
	byID   map[string]int32
	dups   map[string][]int32
	// gagents are a global file's entries, listed once per analysis.
	gagents []registry.Agent
}

// index lists a task file's agents and indexes them (agents, byID, dups),
// anew when its document has changed.
func (f *file) index() {
	f.agents = f.task.Agents()
	f.byID = make(map[string]int32, len(f.agents))
	f.dups = nil
	for i, a := range f.agents {
		first, seen := f.byID[a.ID]
		switch {
		case !seen:
			f.byID[a.ID] = int32(i)
		case f.dups[a.ID] == nil:
			if f.dups == nil {
				f.dups = map[string][]int32{}
			}
			f.dups[a.ID] = []int32{first, int32(i)}
		default:
			f.dups[a.ID] = append(f.dups[a.ID], int32(i))
		}
	}
}

// entry is TaskEntry on the file's index.
func (f *file) entry(id string) (registry.Agent, bool) {
	i, ok := f.byID[id]
	if id == "" || !ok {
		return registry.Agent{}, false
	}
	d := f.dups[id]
	if d == nil {
		return f.agents[i], true
	}
	found := make([]registry.Agent, len(d))
	for j, at := range d {
		found[j] = f.agents[at]
	}
	return latest(found), true
}

// world indexes the input registries by base and task.
type world struct {
	sets  registry.StatusSets
	files []*file
	bases map[string]*base
	// scannedList caches scannedDirs.
	scannedList []string
}

type base struct {
	dir    string
	global *file
	tasks  map[string]*file // by task id
	// db is the base's state database: a base that has one is of the
	// SQLite era, whose agents come from its rows.
	db *dbIndex
	// scanned: the base is one of the input's Bases (a base known only
	// from a registry path is scanned too).
	scanned bool
}

// sqlite reports whether the base is of the SQLite era.
func (b *base) sqlite() bool { return b != nil && b.db != nil }

// dbTask reports whether the base's database holds a row for the task:
// then the task's agents are the database's, whatever its JSON says.
func (b *base) dbTask(taskID string) bool {
	if !b.sqlite() || b.db.State == nil {
		return false
	}
	_, ok := b.db.tasks[taskID]
	return ok
}

// usesJSON reports whether a JSON registry's agents count for the task:
// in a JSON-era base always; in a SQLite-era base only for a task the
// database does not hold, and only when the database could be read (it
// might hold the task).
func (b *base) usesJSON(taskID string) bool {
	if !b.sqlite() {
		return true
	}
	return b.db.Err == nil && !b.dbTask(taskID)
}

// unread returns why some source of the base that would record an agent of
// the task could not be read, "" when every one was: a base read
// incompletely yields no untracked session for what it would own. With the
// task unknown ("") every task registry counts; with it known, only its
// own (an agent is recorded in its task's registry, the global registry and
// the state database).
func (b *base) unread(task string) string {
	if b.sqlite() && b.db.Err != nil {
		return b.db.Path + ": " + b.db.Err.Error()
	}
	if b.global != nil && b.global.err != nil && !b.sqlite() {
		return b.global.Path + ": " + b.global.err.Error()
	}
	for _, id := range slices.Sorted(maps.Keys(b.tasks)) {
		f := b.tasks[id]
		if f.err != nil && !b.dbTask(id) && (task == "" || task == id) {
			return f.Path + ": " + f.err.Error()
		}
	}
	return ""
}

func newWorld(in Input) *world {
	w := &world{sets: in.Sets, bases: map[string]*base{}}
	for _, r := range in.Registries {
		f := &file{Registry: r, err: r.Err}
		if f.err == nil {
			switch r.Kind {
			case KindTask:
				f.task, f.err = registry.NewTaskView(r.Root, r.Rows)
				if f.err == nil {
					f.index()
				}
			case KindGlobal:
				f.global, f.err = registry.NewGlobalView(r.Root, r.Rows)
				if f.err == nil {
					f.gagents = f.global.Agents()
				}
			default:
				f.err = fmt.Errorf("unknown registry kind %q", r.Kind)
			}
		}
		w.files = append(w.files, f)
		b := w.base(r.Base)
		switch r.Kind {
		case KindGlobal:
			b.global = f
		case KindTask:
			id := r.TaskID
			if id == "" && f.task != nil {
				id = f.task.ID()
			}
			b.tasks[id] = f
		}
	}
	for _, d := range in.Databases {
		w.base(d.Base).db = newDBIndex(d)
	}
	for _, dir := range in.Bases {
		w.base(dir).scanned = true
	}
	if len(in.Bases) == 0 { // an input without a list: every base it names was scanned
		for _, b := range w.bases {
			b.scanned = true
		}
	}
	return w
}

// base returns the world's base for dir, made on first use.
func (w *world) base(dir string) *base {
	b := w.bases[dir]
	if b == nil {
		b = &base{dir: dir, tasks: map[string]*file{}}
		w.bases[dir] = b
	}
	return b
}

// latest returns, among entries of one agent id, the one a dedupe keeps: the
// latest last_update, the later entry on a tie.
func latest(entries []registry.Agent) registry.Agent {
	best := entries[0]
	bestT, bestOK := best.Updated()
	for _, a := range entries[1:] {
		t, ok := a.Updated()
		if !bestOK || (ok && !t.Before(bestT)) {
			best, bestT, bestOK = a, t, ok
		}
	}
	return best
}

// TaskEntry returns an agent's entry in a task registry (the one a dedupe
// would keep) and whether the registry holds it.
func TaskEntry(tf *registry.TaskFile, id string) (registry.Agent, bool) {
	if id == "" {
		return registry.Agent{}, false
	}
	var found []registry.Agent
	for _, a := range tf.Agents() {
		if a.ID == id {
			found = append(found, a)
		}
	}
	if len(found) == 0 {
		return registry.Agent{}, false
	}
	return latest(found), true
}

// lookup answers an agent's task-registry status within one base.
// A task without a registry file holds no status: known, not found. A
// registry that cannot be read leaves the status unknown.
func (b *base) lookup(agentID, taskID string) (string, bool, bool) {
	f := b.tasks[taskID]
	if f == nil {
		return "", false, true
	}
	if f.task == nil {
		return "", false, false
	}
	a, ok := f.entry(agentID)
	return a.Status, ok, true
}

// Analyze is Observe without a previous analysis: ghosts are at most
// suspects, since a ghost is only called one on a second look.
func Analyze(in Input) Report {
	rep, _ := Observe(in, nil)
	return rep
}

// Observe finds what is wrong: in the registries themselves (corrupt files,
// drifted counters, duplicated agents, global and task registries that
// disagree) and, when the input holds live data, between the registries and
// what runs (ghosts, leaks, stale agents), with a verdict for every agent,
// session and process. prev is the previous analysis's memory: an agent
// missing on two looks in a row is a ghost, on the first only a suspect.
// When in is, for every part the analysis reads, the input prev came from,
// the previous report is given again (see reuse).
func Observe(in Input, prev *Memory) (Report, *Memory) {
	if rep, mem, ok := prev.reuse(in); ok {
		return rep, mem
	}
	w := newWorld(in)
	var rep, live Report
	mem := &Memory{}
	var until time.Time
	// The registries' own findings and the live analysis read the world
	// and write reports of their own: they run side by side, each on a
	// processor, and their findings are joined in the same order as ever.
	wait := func() {}
	if in.Live != nil {
		wait = goCatch(func() { mem, until = analyzeLive(w, in, prev, &live) })
	}
	w.registryFindings(&rep)
	wait()
	rep.Agents, rep.Sessions, rep.Processes = live.Agents, live.Sessions, live.Processes
	rep.Findings = append(rep.Findings, live.Findings...)
	mem.last = &analysis{in: in, rep: rep, until: until, procs: relevantProcs(in.Live)}
	return rep, mem
}

// registryFindings lists the registries and databases in rep, with what
// each shows by itself and what the global and task registries disagree on.
func (w *world) registryFindings(rep *Report) {
	for _, f := range w.files {
		rep.Registries = append(rep.Registries, w.summary(f))
		if f.err != nil {
			if !f.Locked && !f.Unreadable {
				rep.Findings = append(rep.Findings, Finding{Kind: FindCorrupt, Registry: f.Path, TaskID: f.TaskID, Error: f.err.Error()})
			}
			continue
		}
		rep.Findings = append(rep.Findings, w.fileFindings(f)...)
	}
	rep.Findings = append(rep.Findings, w.divergent()...)
	for _, name := range slices.Sorted(maps.Keys(w.bases)) {
		if db := w.bases[name].db; db != nil {
			rep.Registries = append(rep.Registries, w.dbSummary(db))
			rep.Findings = append(rep.Findings, w.dbFindings(db)...)
		}
	}
}

// goCatch runs f in a goroutine of its own; wait waits for it to end and,
// if f panicked, panics again with the same value on the caller's
// goroutine, where a recover of the caller's sees it as it would a call's.
func goCatch(f func()) (wait func()) {
	done := make(chan struct{})
	var panicked any
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		f()
	}()
	return func() {
		<-done
		if panicked != nil {
			panic(panicked)
		}
	}
}
