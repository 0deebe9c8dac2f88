package engine

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"agentwatch/registry/pyjson"
)

// TestStreamedFieldChangesAgreeWithWhole: the field changes read as
// streams are those of the two versions parsed whole, for every kind of
// edit a repair, an undo or a restore makes, and for random ones.
func TestStreamedFieldChangesAgreeWithWhole(t *testing.T) {
	task := func(n int) *pyjson.Value {
		agents := pyjson.NewArray()
		for i := range n {
			e := pyjson.NewObject()
			e.Set("id", pyjson.NewString(fmt.Sprintf("agent-%d", i)))
			e.Set("status", pyjson.NewString([]string{"working", "completed", "terminated"}[i%3]))
			e.Set("last_update", pyjson.NewString(fmt.Sprintf("2025-10-29T23:%02d:00.000001", i%60)))
			e.Set("tracked_files", mustParseDoc(t, `{"log": "logs/x.jsonl", "n": [1, 2.50, "\u00e9"]}`))
			agents.Append(e)
		}
		root := pyjson.NewObject()
		root.Set("task_id", pyjson.NewString("TASK-1"))
		root.Set("agents", agents)
		root.Set("active_count", pyjson.NewInt(int64(n/3)))
		root.Set("total_spawned", pyjson.NewInt(int64(n)))
		return root
	}
	global := func(n int) *pyjson.Value {
		agents := pyjson.NewObject()
		for i := range n {
			e := pyjson.NewObject()
			e.Set("task_id", pyjson.NewString("TASK-1"))
			e.Set("status", pyjson.NewString("working"))
			agents.Set(fmt.Sprintf("agent-%d", i), e)
		}
		root := pyjson.NewObject()
		root.Set("agents", agents)
		root.Set("tasks", mustParseDoc(t, `{"TASK-1": {"status": "INITIALIZED"}}`))
		root.Set("active_agents", pyjson.NewInt(int64(n)))
		return root
	}
	edits := map[string]func(*pyjson.Value){
		"nothing": func(*pyjson.Value) {},
		"a counter": func(r *pyjson.Value) {
			r.Set("active_count", pyjson.NewInt(99))
			r.Set("active_agents", pyjson.NewInt(0))
		},
		"a status": func(r *pyjson.Value) { agentAt(r, 4).Set("status", pyjson.NewString("failed")) },
		"two fields": func(r *pyjson.Value) {
			agentAt(r, 1).Set("status", pyjson.NewString("x"))
			agentAt(r, 7).Delete("last_update")
		},
		"a new field": func(r *pyjson.Value) {
			agentAt(r, 2).Set("result", pyjson.NewString("done"))
			r.Set("new_top", pyjson.NewBool(true))
		},
		"a nested value": func(r *pyjson.Value) {
			agentAt(r, 3).Set("tracked_files", mustParseDoc(t, `{"log": "logs/y.jsonl"}`))
		},
		"an agent added": func(r *pyjson.Value) {
			e := pyjson.NewObject()
			e.Set("id", pyjson.NewString("agent-new"))
			e.Set("status", pyjson.NewString("working"))
			if a := r.Get("agents"); a.Kind() == pyjson.Array {
				a.Append(e)
			} else {
				a.Set("agent-new", e)
			}
		},
		"an agent removed": func(r *pyjson.Value) {
			if a := r.Get("agents"); a.Kind() == pyjson.Array {
				a.RemoveAt(5)
			} else {
				a.Delete("agent-5")
			}
		},
		"an agent given twice": func(r *pyjson.Value) {
			if a := r.Get("agents"); a.Kind() == pyjson.Array {
				a.Append(agentAt(r, 2).Clone())
			}
		},
		"an entry that is not an object": func(r *pyjson.Value) {
			if a := r.Get("agents"); a.Kind() == pyjson.Array {
				a.Append(pyjson.NewInt(7))
			} else {
				a.Set("odd", pyjson.NewInt(7))
			}
		},
		"agents of another kind": func(r *pyjson.Value) { r.Set("agents", pyjson.NewString("none")) },
		"agents gone":            func(r *pyjson.Value) { r.Delete("agents") },
	}
	// check compares the stream with the whole comparison; streams says
	// the case is one the stream takes (agents in the orchestrator's
	// shape), not one it leaves to the whole comparison.
	check := func(name string, before, after []byte, streams bool) {
		t.Helper()
		b, a := pyjson.SplicedOf(before), pyjson.SplicedOf(after)
		want, wok := wholeFieldChanges(b, a)
		got, gok := fieldChangesOf(b, a)
		if gok != wok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v %s, want %v %s", name, gok, showChanges(got), wok, showChanges(want))
		}
		if s, sok := streamedFieldChanges(b, a); streams && (!sok || !reflect.DeepEqual(s, want)) {
			t.Errorf("%s: streamed %v %s, want %s", name, sok, showChanges(s), showChanges(want))
		}
	}
	whole := map[string]bool{"an entry that is not an object": true, "agents of another kind": true, "agents gone": true}
	for name, edit := range edits {
		for kind, doc := range map[string]func(int) *pyjson.Value{"task": task, "global": global} {
			before := doc(12)
			after := doc(12)
			edit(after)
			b, a := pyjson.Encode(before), pyjson.Encode(after)
			check(kind+", "+name, b, a, !whole[name])
			check(kind+", "+name+", undone", a, b, !whole[name])
		}
	}
	// Random edits of a task registry, several at a time.
	r := rand.New(rand.NewPCG(11, 12))
	names := make([]string, 0, len(edits))
	for name := range edits {
		names = append(names, name)
	}
	for i := range 200 {
		before, after := task(10), task(10)
		var did []string
		streams := true
		for range 1 + r.IntN(3) {
			name := names[r.IntN(len(names))]
			if after.Get("agents").Kind() != pyjson.Array {
				break
			}
			edits[name](after)
			did = append(did, name)
			streams = streams && !whole[name]
		}
		check(fmt.Sprintf("random %d %v", i, did), pyjson.Encode(before), pyjson.Encode(after), streams)
	}
	// What a sketch reads whole: a version that does not parse, agents
	// given twice.
	check("torn", []byte(`{"agents": [`), pyjson.Encode(task(3)), false)
	check("agents twice", []byte(`{"agents": [{"id": "a", "status": "x"}], "agents": [{"id": "a", "status": "y"}]}`),
		[]byte(`{"agents": [{"id": "a", "status": "z"}]}`), false)
	check("keys with lone surrogates", []byte(`{"agents": {"x\ud800": {"status": "a"}, "x\udc00": {"status": "b"}}}`),
		[]byte(`{"agents": {"x\ud800": {"status": "a"}, "x\udc00": {"status": "c"}}}`), false)
	// An entry of more containers than the stream's spare buffers hold,
	// before one with empty containers: nothing of the first shows in the
	// second.
	var reviews []string
	for i := range 20 {
		reviews = append(reviews, fmt.Sprintf(`{"n": %d, "tags": []}`, i))
	}
	big := `{"id": "a", "status": "completed", "reviews": [` + strings.Join(reviews, ", ") + `]}`
	small := func(upd string) string {
		return `{"id": "b", "status": "working", "files": [], "tracked_files": {}, "validation": {"issues": [], "warnings": []}, "last_update": "` + upd + `"}`
	}
	check("after a big entry", []byte(`{"task_id": "T", "agents": [`+big+`, `+small("1")+`]}`),
		[]byte(`{"task_id": "T", "agents": [`+big+`, `+small("2")+`]}`), true)
}

func agentAt(root *pyjson.Value, i int) *pyjson.Value {
	if a := root.Get("agents"); a.Kind() == pyjson.Array {
		return a.Index(i)
	}
	return root.Get("agents").Get(fmt.Sprintf("agent-%d", i))
}

func mustParseDoc(t *testing.T, s string) *pyjson.Value {
	t.Helper()
	v, err := pyjson.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func showChanges(fs []FieldChange) string {
	s := ""
	for _, f := range fs {
		s += fmt.Sprintf("\n  %s old=%v new=%v at=%v", f.Path, deref(f.Old), deref(f.New), f.At)
	}
	return s
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}
