package reconcile

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"agentwatch/registry"
	"agentwatch/registry/pyjson"
)

var now = time.Date(2025, 10, 29, 23, 30, 0, 123456000, time.Local)

// agent is a task registry entry in the orchestrator's shape.
type agent struct {
	id, status, lastUpdate string
	extra                  map[string]string
}

func taskDoc(t *testing.T, taskID string, counters map[string]int, agents ...agent) *pyjson.Value {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `{"task_id": %q, "status": "INITIALIZED", "agents": [`, taskID)
	for i, a := range agents {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": %q, "type": "t", "tmux_session": "agent_%s", "status": %q, "started_at": "2025-10-29T23:00:00.000001", "last_update": %q`,
			a.id, a.id, a.status, a.lastUpdate)
		for k, v := range a.extra {
			fmt.Fprintf(&b, `, %q: %q`, k, v)
		}
		b.WriteString("}")
	}
	b.WriteString("]")
	for _, f := range TaskCounters {
		if n, ok := counters[f]; ok {
			fmt.Fprintf(&b, `, %q: %d`, f, n)
		}
	}
	b.WriteString(`, "unknown_future_field": {"kept": [1, 2.50, "\u00e9"]}}`)
	return mustParse(t, b.String())
}

type gagent struct {
	id, task, status, lastUpdate string // status "" = no status field
}

func globalDoc(t *testing.T, counters map[string]int, tasks map[string]string, agents ...gagent) *pyjson.Value {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"created_at": "2025-10-17T21:35:12.210818"`)
	for _, f := range GlobalCounters {
		if n, ok := counters[f]; ok {
			fmt.Fprintf(&b, `, %q: %d`, f, n)
		}
	}
	b.WriteString(`, "tasks": {`)
	ids := make([]string, 0, len(tasks))
	for id := range tasks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `%q: {"description": "d", "status": %q}`, id, tasks[id])
	}
	b.WriteString(`}, "agents": {`)
	for i, a := range agents {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `%q: {"task_id": %q, "type": "t", "tmux_session": "agent_%s"`, a.id, a.task, a.id)
		if a.status != "" {
			fmt.Fprintf(&b, `, "status": %q`, a.status)
		}
		if a.lastUpdate != "" {
			fmt.Fprintf(&b, `, "last_update": %q`, a.lastUpdate)
		}
		b.WriteString("}")
	}
	b.WriteString("}}")
	return mustParse(t, b.String())
}

func mustParse(t *testing.T, s string) *pyjson.Value {
	t.Helper()
	v, err := pyjson.Parse([]byte(s))
	if err != nil {
		t.Fatalf("parse test document: %v\n%s", err, s)
	}
	return v
}

const (
	taskA = "TASK-20251029-225319-45548b6a"
	taskB = "TASK-20251018-213115-d9cfa244"
	gPath = "/ws/registry/GLOBAL_REGISTRY.json"
	aPath = "/ws/" + taskA + "/AGENT_REGISTRY.json"
	bPath = "/ws/" + taskB + "/AGENT_REGISTRY.json"
)

func input(regs ...Registry) Input {
	for i := range regs {
		regs[i].Base = "/ws"
	}
	return Input{Now: now, Sets: registry.DefaultStatusSets(), Registries: regs}
}

func findingKeys(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		b, _ := json.Marshal(f)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

func TestAnalyze(t *testing.T) {
	healthyTask := func(t *testing.T) *pyjson.Value {
		return taskDoc(t, taskA, map[string]int{"active_count": 1, "total_spawned": 2, "completed_count": 1},
			agent{id: "a-1", status: "working", lastUpdate: "2025-10-29T23:20:00.000001"},
			agent{id: "a-2", status: "completed", lastUpdate: "2025-10-29T23:21:00.000001"})
	}
	healthyGlobal := func(t *testing.T) *pyjson.Value {
		return globalDoc(t, map[string]int{"active_agents": 1, "total_agents_spawned": 2, "total_tasks": 1, "active_tasks": 1},
			map[string]string{taskA: "INITIALIZED"},
			gagent{id: "a-1", task: taskA, status: "working"}, gagent{id: "a-2", task: taskA})
	}
	tests := []struct {
		name string
		in   func(t *testing.T) Input
		want []string
	}{
		{
			name: "healthy",
			in: func(t *testing.T) Input {
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: healthyTask(t)},
					Registry{Path: gPath, Kind: KindGlobal, Root: healthyGlobal(t)})
			},
		},
		{
			name: "task counters drift",
			in: func(t *testing.T) Input {
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: taskDoc(t, taskA,
					map[string]int{"active_count": 15, "total_spawned": 95, "completed_count": 0},
					agent{id: "a-1", status: "working"}, agent{id: "a-2", status: "killed"}, agent{id: "a-3", status: "mystery"})})
			},
			want: []string{
				`{"kind":"drift","registry":"` + aPath + `","field":"active_count","recorded":15,"actual":1}`,
				`{"kind":"drift","registry":"` + aPath + `","field":"total_spawned","recorded":95,"actual":3}`,
				`{"kind":"drift","registry":"` + aPath + `","field":"completed_count","recorded":0,"actual":1}`,
			},
		},
		{
			name: "a counter that is not a number drifts; an absent one is not added",
			in: func(t *testing.T) Input {
				root := taskDoc(t, taskA, map[string]int{"total_spawned": 1}, agent{id: "a-1", status: "working"})
				root.Set("total_spawned", pyjson.NewString("1"))
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: root})
			},
			want: []string{`{"kind":"drift","registry":"` + aPath + `","field":"total_spawned","recorded":"1","actual":1}`},
		},
		{
			name: "duplicate counts entries, distinct ids",
			in: func(t *testing.T) Input {
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: taskDoc(t, taskA,
					map[string]int{"active_count": 2, "total_spawned": 1, "completed_count": 0},
					agent{id: "a-1", status: "working"}, agent{id: "a-1", status: "working"})})
			},
			want: []string{`{"kind":"duplicate","registry":"` + aPath + `","agent_id":"a-1","count":2}`},
		},
		{
			name: "global counters: status from the global entry, else the task entry",
			in: func(t *testing.T) Input {
				g := globalDoc(t, map[string]int{"active_agents": 15, "total_agents_spawned": 95, "total_tasks": 9, "active_tasks": 2},
					map[string]string{taskA: "INITIALIZED", taskB: "ARCHIVED"},
					gagent{id: "a-1", task: taskA, status: "working"}, gagent{id: "a-2", task: taskA})
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: healthyTask(t)},
					Registry{Path: gPath, Kind: KindGlobal, Root: g})
			},
			want: []string{
				`{"kind":"drift","registry":"` + gPath + `","field":"active_agents","recorded":15,"actual":1}`,
				`{"kind":"drift","registry":"` + gPath + `","field":"total_agents_spawned","recorded":95,"actual":2}`,
				`{"kind":"drift","registry":"` + gPath + `","field":"total_tasks","recorded":9,"actual":2}`,
				`{"kind":"drift","registry":"` + gPath + `","field":"active_tasks","recorded":2,"actual":1}`,
			},
		},
		{
			name: "active_agents is not judged when a status-less agent's task registry is unreadable",
			in: func(t *testing.T) Input {
				g := globalDoc(t, map[string]int{"active_agents": 7, "total_agents_spawned": 1, "total_tasks": 1, "active_tasks": 1},
					map[string]string{taskA: "INITIALIZED"}, gagent{id: "a-1", task: taskA})
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Err: fmt.Errorf("Expecting value: line 1 column 1 (char 0)")},
					Registry{Path: gPath, Kind: KindGlobal, Root: g})
			},
			want: []string{`{"kind":"corrupt","registry":"` + aPath + `","error":"Expecting value: line 1 column 1 (char 0)"}`},
		},
		{
			name: "divergent status, and agents in one registry only",
			in: func(t *testing.T) Input {
				task := taskDoc(t, taskA, map[string]int{"active_count": 1, "total_spawned": 2, "completed_count": 1},
					agent{id: "a-1", status: "working"}, agent{id: "a-3", status: "completed"})
				g := globalDoc(t, map[string]int{"active_agents": 0, "total_agents_spawned": 2, "total_tasks": 1, "active_tasks": 1},
					map[string]string{taskA: "INITIALIZED"},
					gagent{id: "a-1", task: taskA, status: "completed"}, gagent{id: "a-2", task: taskA, status: "completed"})
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: task}, Registry{Path: gPath, Kind: KindGlobal, Root: g})
			},
			want: []string{
				`{"kind":"divergent","agent_id":"a-1","global_registry":"` + gPath + `","task_registry":"` + aPath + `","global_status":"completed","task_status":"working"}`,
				`{"kind":"divergent","agent_id":"a-2","global_registry":"` + gPath + `","task_registry":"` + aPath + `","global_status":"completed","task_status":""}`,
				`{"kind":"divergent","agent_id":"a-3","global_registry":"` + gPath + `","task_registry":"` + aPath + `","global_status":"","task_status":"completed"}`,
			},
		},
		{
			name: "wrong shape is corrupt",
			in: func(t *testing.T) Input {
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: mustParse(t, `{"agents": {"a": {}}}`)})
			},
			want: []string{`{"kind":"corrupt","registry":"` + aPath + `","error":"task registry's \"agents\" is a JSON object, want an array"}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Analyze(tt.in(t))
			if lean := Analyze(leanInput(t, tt.in(t))); !slices.Equal(findingKeys(lean.Findings), findingKeys(rep.Findings)) {
				t.Errorf("findings of lean reads:\n%s\nof whole documents:\n%s", findingKeys(lean.Findings), findingKeys(rep.Findings))
			}
			got := findingKeys(rep.Findings)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("findings:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
			}
			if rep.Healthy() != (len(tt.want) == 0) {
				t.Errorf("Healthy() = %v with %d findings", rep.Healthy(), len(tt.want))
			}
		})
	}
}

func opKeys(ops []Op) []string {
	var out []string
	for _, op := range ops {
		out = append(out, fmt.Sprintf("%s %s %s %s %s→%s", op.Op, op.Registry, op.AgentID, op.Field, op.Old, op.New))
	}
	return out
}

func TestMakePlan(t *testing.T) {
	tests := []struct {
		name    string
		in      func(t *testing.T) Input
		changes []StatusChange
		want    []string
	}{
		{
			name: "recounts only what differs",
			in: func(t *testing.T) Input {
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: taskDoc(t, taskA,
					map[string]int{"active_count": 15, "total_spawned": 1, "completed_count": 0}, agent{id: "a-1", status: "working"})})
			},
			want: []string{"recount " + aPath + "  active_count 15→1"},
		},
		{
			name: "dedupe comes first and the recount counts what remains",
			in: func(t *testing.T) Input {
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: taskDoc(t, taskA,
					map[string]int{"active_count": 2, "total_spawned": 1, "completed_count": 0},
					agent{id: "a-1", status: "working"}, agent{id: "a-1", status: "working"})})
			},
			want: []string{"dedupe " + aPath + " a-1  2→1", "recount " + aPath + "  active_count 2→1"},
		},
		{
			name: "sync: terminal beats active, in either direction",
			in: func(t *testing.T) Input {
				task := taskDoc(t, taskA, map[string]int{"active_count": 1, "total_spawned": 2, "completed_count": 1},
					agent{id: "a-1", status: "working"}, agent{id: "a-2", status: "completed"})
				g := globalDoc(t, map[string]int{"active_agents": 1, "total_agents_spawned": 2, "total_tasks": 1, "active_tasks": 1},
					map[string]string{taskA: "INITIALIZED"},
					gagent{id: "a-1", task: taskA, status: "terminated"}, gagent{id: "a-2", task: taskA, status: "working"})
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: task}, Registry{Path: gPath, Kind: KindGlobal, Root: g})
			},
			want: []string{
				"sync " + aPath + " a-1 status \"working\"→\"terminated\"",
				"recount " + aPath + "  active_count 1→0",
				"recount " + aPath + "  completed_count 1→2",
				"sync " + gPath + " a-2 status \"working\"→\"completed\"",
				"recount " + gPath + "  active_agents 1→0",
			},
		},
		{
			name: "sync: between terminal statuses the later last_update wins; unknown is never repaired",
			in: func(t *testing.T) Input {
				task := taskDoc(t, taskA, map[string]int{"active_count": 0, "total_spawned": 3, "completed_count": 2},
					agent{id: "a-1", status: "completed", lastUpdate: "2025-10-29T23:00:00.000001"},
					agent{id: "a-2", status: "failed", lastUpdate: "2025-10-29T23:10:00.000001"},
					agent{id: "a-3", status: "paused"})
				g := globalDoc(t, map[string]int{"active_agents": 0, "total_agents_spawned": 3, "total_tasks": 1, "active_tasks": 1},
					map[string]string{taskA: "INITIALIZED"},
					gagent{id: "a-1", task: taskA, status: "killed", lastUpdate: "2025-10-29T23:05:00"},
					gagent{id: "a-2", task: taskA, status: "completed", lastUpdate: "2025-10-29T23:05:00"},
					gagent{id: "a-3", task: taskA, status: "completed"})
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: task}, Registry{Path: gPath, Kind: KindGlobal, Root: g})
			},
			want: []string{
				"sync " + aPath + " a-1 status \"completed\"→\"killed\"",
				"sync " + gPath + " a-2 status \"completed\"→\"failed\"",
			},
		},
		{
			name: "terminate a ghost in both registries, filling a missing global status, and recount",
			in: func(t *testing.T) Input {
				task := taskDoc(t, taskA, map[string]int{"active_count": 1, "total_spawned": 1, "completed_count": 0},
					agent{id: "a-1", status: "working"})
				g := globalDoc(t, map[string]int{"active_agents": 1, "total_agents_spawned": 1, "total_tasks": 1, "active_tasks": 1},
					map[string]string{taskA: "INITIALIZED"}, gagent{id: "a-1", task: taskA})
				return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: task}, Registry{Path: gPath, Kind: KindGlobal, Root: g})
			},
			changes: []StatusChange{{Base: "/ws", TaskID: taskA, AgentID: "a-1", Op: OpTerminate, Reason: "session_not_found"}},
			want: []string{
				"terminate " + aPath + " a-1 status \"working\"→\"terminated\"",
				"recount " + aPath + "  active_count 1→0",
				"recount " + aPath + "  completed_count 0→1",
				"terminate " + gPath + " a-1 status →\"terminated\"",
				"recount " + gPath + "  active_agents 1→0",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := MakePlan(tt.in(t), tt.changes)
			samePlans(t, plan, MakePlan(leanInput(t, tt.in(t)), tt.changes))
			got := opKeys(plan.Ops)
			if !slices.Equal(got, tt.want) {
				t.Errorf("plan:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

// applyAll applies a plan to the input's documents, as the engine does.
func applyAll(t *testing.T, in Input, plan Plan) map[string][]Outcome {
	t.Helper()
	w := newWorld(in)
	out := map[string][]Outcome{}
	for _, path := range plan.Registries() {
		for _, f := range w.files {
			if f.Path != path {
				continue
			}
			for _, op := range plan.OpsFor(path) {
				o, err := op.Apply(f.Root, Env{Now: now, Sets: in.Sets, TaskStatus: w.bases[f.Base].lookup})
				if err != nil {
					t.Fatalf("apply %s: %v", op.Op, err)
				}
				out[path] = append(out[path], o)
			}
		}
	}
	return out
}

func TestApplyRepairsEverythingItPlans(t *testing.T) {
	task := taskDoc(t, taskA, map[string]int{"active_count": 15, "total_spawned": 95, "completed_count": 0},
		agent{id: "a-1", status: "working", lastUpdate: "2025-10-29T23:00:00.000001", extra: map[string]string{"only_in_first": "kept"}},
		agent{id: "a-1", status: "working", lastUpdate: "2025-10-29T23:10:00.000001", extra: map[string]string{"progress_note": "later"}},
		agent{id: "a-2", status: "working"})
	g := globalDoc(t, map[string]int{"active_agents": 15, "total_agents_spawned": 95, "total_tasks": 1, "active_tasks": 1},
		map[string]string{taskA: "INITIALIZED"}, gagent{id: "a-1", task: taskA}, gagent{id: "a-2", task: taskA, status: "working"})
	in := input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: task}, Registry{Path: gPath, Kind: KindGlobal, Root: g})
	changes := []StatusChange{{Base: "/ws", TaskID: taskA, AgentID: "a-2", Op: OpComplete}}
	plan := MakePlan(in, changes)
	applyAll(t, in, plan)

	if rep := Analyze(in); !rep.Healthy() {
		t.Fatalf("after applying the plan, findings remain: %s", findingKeys(rep.Findings))
	}
	tf, _ := registry.NewTaskFile(task)
	agents := tf.Agents()
	if len(agents) != 2 {
		t.Fatalf("got %d agents after dedupe, want 2", len(agents))
	}
	kept := agents[0].Entry
	for field, want := range map[string]string{"last_update": "2025-10-29T23:10:00.000001", "progress_note": "later", "only_in_first": "kept"} {
		if got := kept.Get(field).StrOr("<absent>"); got != want {
			t.Errorf("deduped entry %s = %q, want %q", field, got, want)
		}
	}
	done := agents[1].Entry
	stamp := registry.FormatTimestamp(now)
	for field, want := range map[string]string{"status": "completed", "completed_at": stamp, "last_update": stamp} {
		if got := done.Get(field).StrOr("<absent>"); got != want {
			t.Errorf("completed entry %s = %q, want %q", field, got, want)
		}
	}
	if done.Has("terminated_at") || done.Has("termination_reason") {
		t.Errorf("a completed entry got termination fields: %s", done)
	}
	if got := task.Get("unknown_future_field").String(); got != "{\n  \"kept\": [\n    1,\n    2.5,\n    \"\\u00e9\"\n  ]\n}" {
		t.Errorf("unknown field changed: %s", got)
	}
}

func TestApplySkipsWhatChangedSincePlanned(t *testing.T) {
	build := func(t *testing.T) Input {
		task := taskDoc(t, taskA, map[string]int{"active_count": 5, "total_spawned": 1, "completed_count": 0},
			agent{id: "a-1", status: "working"})
		return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: task})
	}
	planned := build(t)
	plan := MakePlan(planned, []StatusChange{{Base: "/ws", TaskID: taskA, AgentID: "a-1", Op: OpTerminate, Reason: "session_not_found"}})

	tests := []struct {
		name   string
		mutate func(root *pyjson.Value)
		want   []string // skip reasons, "" for applied
		// rederived is each outcome's Rederived note (a prefix of it).
		rederived []string
	}{
		// The plan: terminate a-1, recount active_count 5→0, recount
		// completed_count 0→1. A status change keeps its guard; recounts
		// count the document as it is.
		{"nothing changed", func(*pyjson.Value) {}, []string{"", "", ""}, []string{"", "", ""}},
		{"the agent completed meanwhile", func(root *pyjson.Value) {
			root.Get("agents").Index(0).Set("status", pyjson.NewString("completed"))
		}, []string{`status is "completed" now, the plan expected "working"`, "", ""}, []string{"", "", ""}},
		{"a writer changed the counter meanwhile: the recount is derived again", func(root *pyjson.Value) {
			root.Set("active_count", pyjson.NewInt(6))
		}, []string{"", "", ""}, []string{"", "re-derived: 6 → 0 (the plan saw 5 → 0", ""}},
		{"a writer fixed the counter meanwhile: nothing to write", func(root *pyjson.Value) {
			root.Get("agents").Index(0).Set("status", pyjson.NewString("terminated"))
			root.Set("active_count", pyjson.NewInt(0))
			root.Set("completed_count", pyjson.NewInt(1))
		}, []string{`status is "terminated" now`, "active_count is already 0", "completed_count is already 1"}, []string{"", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := build(t)
			tt.mutate(cur.Registries[0].Root)
			outs := applyAll(t, cur, plan)[aPath]
			var got []string
			for _, o := range outs {
				got = append(got, o.Skip)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d outcomes %q, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) || (tt.want[i] == "" && got[i] != "") {
					t.Errorf("outcome %d: got skip %q, want %q", i, got[i], tt.want[i])
				}
				if r := outs[i].Rederived; !strings.HasPrefix(r, tt.rederived[i]) || (tt.rederived[i] == "" && r != "") {
					t.Errorf("outcome %d: got re-derivation %q, want %q", i, r, tt.rederived[i])
				}
			}
		})
	}
}

func TestEdgeCasesFromReview(t *testing.T) {
	t.Run("entries without an id are never merged and each counts as spawned", func(t *testing.T) {
		task := mustParse(t, `{"task_id": "`+taskA+`", "agents": [{"status": "working"}, {"status": "working"}, {"id": "a-1", "status": "completed"}],
		  "total_spawned": 3, "active_count": 2, "completed_count": 1}`)
		in := input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: task})
		if rep := Analyze(in); len(rep.Findings) != 0 {
			t.Errorf("findings %s, want none", findingKeys(rep.Findings))
		}
		if plan := MakePlan(in, nil); len(plan.Ops) != 0 {
			t.Errorf("plan %s, want nothing", opKeys(plan.Ops))
		}
	})
	t.Run("a NaN counter is reported as a JSON string", func(t *testing.T) {
		task := mustParse(t, `{"task_id": "`+taskA+`", "agents": [], "active_count": NaN}`)
		rep := Analyze(input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: task}))
		got := findingKeys(rep.Findings)
		want := `{"kind":"drift","registry":"` + aPath + `","field":"active_count","recorded":"NaN","actual":0}`
		if len(got) != 1 || got[0] != want {
			t.Errorf("got %v, want %s", got, want)
		}
	})
	t.Run("a global agent whose task has no registry is divergent, and active_agents is still counted", func(t *testing.T) {
		g := globalDoc(t, map[string]int{"active_agents": 7, "total_agents_spawned": 1, "total_tasks": 1, "active_tasks": 1},
			map[string]string{taskB: "INITIALIZED"}, gagent{id: "b-1", task: taskB})
		rep := Analyze(input(Registry{Path: gPath, Kind: KindGlobal, Root: g}))
		got := findingKeys(rep.Findings)
		want := []string{
			`{"kind":"divergent","agent_id":"b-1","global_registry":"` + gPath + `","task_registry":"","global_status":"","task_status":""}`,
			`{"kind":"drift","registry":"` + gPath + `","field":"active_agents","recorded":7,"actual":0}`,
		}
		if !slices.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
		}
	})
}

func TestSyncIsDerivedAgainFromTheRegistriesAsTheyAre(t *testing.T) {
	build := func(t *testing.T) Input {
		task := taskDoc(t, taskA, map[string]int{"active_count": 0, "total_spawned": 1, "completed_count": 1},
			agent{id: "a-1", status: "completed"})
		g := globalDoc(t, map[string]int{"active_agents": 0, "total_agents_spawned": 1, "total_tasks": 1, "active_tasks": 1},
			map[string]string{taskA: "INITIALIZED"}, gagent{id: "a-1", task: taskA, status: "working"})
		return input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: task}, Registry{Path: gPath, Kind: KindGlobal, Root: g})
	}
	plan := MakePlan(build(t), nil)
	var sync *Op
	for i, op := range plan.Ops {
		if op.Op == OpSync {
			sync = &plan.Ops[i]
		}
	}
	if sync == nil || sync.Registry != gPath || string(sync.New) != `"completed"` {
		t.Fatalf("plan %s, want a sync of the global entry to \"completed\"", opKeys(plan.Ops))
	}
	tests := []struct {
		name           string
		global, task   string // a-1's status in each, as the sync finds them
		skip           string // "" for applied
		wrote          string
		rederivedStart string
	}{
		{"nothing changed", "working", "completed", "", `"completed"`, ""},
		{"the global entry moved to another active status", "blocked", "completed", "", `"completed"`, `re-derived: "blocked" → "completed" (the plan saw "working" → "completed"`},
		{"the task registry says failed now", "working", "failed", "", `"failed"`, `re-derived: "working" → "failed"`},
		{"the global entry is already the task's", "completed", "completed", `status is already "completed"`, "", ""},
		{"both terminal now: left for the next plan", "terminated", "completed", `status is "terminated" now, the other registry "completed": the next plan compares`, "", ""},
		{"the task went back to active: a terminal global status stays", "killed", "working", `status is "killed" now, the other registry "working": a terminal status beats an active one`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := build(t)
			in.Registries[0].Root.Get("agents").Index(0).Set("status", pyjson.NewString(tt.task))
			g := in.Registries[1].Root
			g.Get("agents").Get("a-1").Set("status", pyjson.NewString(tt.global))
			w := newWorld(in)
			out, err := sync.Apply(g, Env{Now: now, Sets: in.Sets, TaskStatus: w.bases["/ws"].lookup})
			if err != nil {
				t.Fatal(err)
			}
			if out.Skip != "" || tt.skip != "" {
				if !strings.HasPrefix(out.Skip, tt.skip) || tt.skip == "" || out.Applied {
					t.Errorf("got skip %q (applied %v), want %q", out.Skip, out.Applied, tt.skip)
				}
				return
			}
			if got := g.Get("agents").Get("a-1").Get("status").String(); `"`+got+`"` != tt.wrote || string(out.New) != tt.wrote {
				t.Errorf("wrote %s (outcome %s), want %s", got, out.New, tt.wrote)
			}
			if !strings.HasPrefix(out.Rederived, tt.rederivedStart) || (tt.rederivedStart == "" && out.Rederived != "") {
				t.Errorf("got re-derivation %q, want %q", out.Rederived, tt.rederivedStart)
			}
			if tt.rederivedStart != "" && string(out.Old) != `"`+tt.global+`"` {
				t.Errorf("got old %s, want the status found, %q", out.Old, tt.global)
			}
		})
	}
}

// One Env's entry index serves a plan's operations in turn: after a dedupe
// changes the agents array it is built again, so a status change of the
// same agent finds the merged entry, not the ones the dedupe removed.
func TestEntryIndexFollowsADedupe(t *testing.T) {
	task := taskDoc(t, taskA, map[string]int{"active_count": 3, "total_spawned": 2, "completed_count": 0},
		agent{id: "a-1", status: "working", lastUpdate: "2025-10-29T23:00:00.000001"},
		agent{id: "a-2", status: "working"},
		agent{id: "a-1", status: "working", lastUpdate: "2025-10-29T23:10:00.000001"})
	env := Env{Now: now, Sets: registry.DefaultStatusSets(), Entries: &EntryIndex{}}
	ops := []Op{
		{Kind: KindTask, Op: OpTerminate, AgentID: "a-2", Expect: json.RawMessage(`"working"`), Reason: "session_not_found"},
		{Kind: KindTask, Op: OpDedupe, AgentID: "a-1", Old: json.RawMessage("2")},
		{Kind: KindTask, Op: OpTerminate, AgentID: "a-1", Expect: json.RawMessage(`"working"`), Reason: "session_not_found"},
	}
	for _, op := range ops {
		out, err := op.Apply(task, env)
		if err != nil || !out.Applied {
			t.Fatalf("%s %s: applied %v, skip %q, err %v", op.Op, op.AgentID, out.Applied, out.Skip, err)
		}
	}
	agents := task.Get("agents").Elems()
	if len(agents) != 2 || agents[0].Get("status").StrOr("") != "terminated" || agents[1].Get("status").StrOr("") != "terminated" {
		t.Errorf("after the plan: %s", task.Get("agents"))
	}
}
