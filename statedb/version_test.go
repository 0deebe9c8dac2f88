package statedb

import (
	"reflect"
	"testing"
)

// TestVersionSeesEveryField changes every field of every row type, one at a
// time, and checks that the version changes with it, and that the same
// read gives the same version.
func TestVersionSeesEveryField(t *testing.T) {
	base := func() *State {
		return &State{
			Tasks:     []Task{{ID: "T", Status: "ACTIVE", UpdatedAt: "u", MaxAgents: 4, MaxConcurrent: 2, HasConfig: true}},
			Agents:    []Agent{{ID: "a", TaskID: "T", Type: "t", Model: "m", TmuxSession: "s", Parent: "p", Depth: 1, Status: "working", Progress: 5, StartedAt: "1", LastUpdate: "2", CompletedAt: "3"}},
			Progress:  []Progress{{TaskID: "T", AgentID: "a", Timestamp: "ts", Status: "working", Progress: 5, Message: "m"}},
			Hierarchy: []Link{{TaskID: "T", Parent: "p", Child: "a"}},
		}
	}
	present := map[string][]string{"agents": {"agent_id", "status"}, "tasks": {"task_id"}}
	want := version(present, base())
	if got := version(map[string][]string{"tasks": {"task_id"}, "agents": {"agent_id", "status"}}, base()); got != want {
		t.Fatalf("the same read: got version %s, want %s", got, want)
	}
	if got := version(map[string][]string{"agents": {"agent_id"}, "tasks": {"task_id", "status"}}, base()); got == want {
		t.Errorf("other columns present: the version did not change")
	}
	rows := func(st *State) []reflect.Value {
		return []reflect.Value{reflect.ValueOf(&st.Tasks[0]).Elem(), reflect.ValueOf(&st.Agents[0]).Elem(),
			reflect.ValueOf(&st.Progress[0]).Elem(), reflect.ValueOf(&st.Hierarchy[0]).Elem()}
	}
	for r, row := range rows(base()) {
		for f := range row.NumField() {
			st := base()
			field := rows(st)[r].Field(f)
			switch field.Kind() {
			case reflect.String:
				field.SetString(field.String() + "x")
			case reflect.Int:
				field.SetInt(field.Int() + 1)
			case reflect.Bool:
				field.SetBool(!field.Bool())
			default:
				t.Fatalf("%s.%s: a %s, which this test does not change", row.Type().Name(), row.Type().Field(f).Name, field.Kind())
			}
			if version(present, st) == want {
				t.Errorf("%s.%s changed and the version did not: add it to version", row.Type().Name(), row.Type().Field(f).Name)
			}
		}
	}
	// A field's text moved to its neighbour is another read.
	st := base()
	st.Hierarchy[0].Parent, st.Hierarchy[0].Child = "pa", ""
	if version(present, st) == want {
		t.Errorf("text moved between fields: the version did not change")
	}
}

// BenchmarkVersion hashes a read of 10,000 agents, as every scan of a
// state database does.
func BenchmarkVersion(b *testing.B) {
	st := &State{}
	for i := range 10000 {
		st.Agents = append(st.Agents, Agent{ID: "code_auditor-000000-a" + string(rune('a'+i%26)), TaskID: "TASK-20251101-090000-b16b16b1",
			Type: "code_auditor", Model: "claude-opus-4-7", TmuxSession: "agent_code_auditor-000000-a00000", Parent: "orchestrator",
			Depth: 1, Status: "completed", Progress: 100, StartedAt: "2026-12-05T17:32:35.277469", LastUpdate: "2026-12-05T17:32:35.277469",
			CompletedAt: "2026-12-05T17:32:35.277469"})
	}
	present := map[string][]string{"agents": agentsTable.cols}
	for b.Loop() {
		version(present, st)
	}
}
