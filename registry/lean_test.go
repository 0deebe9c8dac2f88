package registry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"agentwatch/registry/pyjson"
)

// leanView is what the analysis reads of a registry through the views,
// every Value reduced to its JSON text.
type leanView struct {
	TaskErr, GlobalErr string
	ID, Status         string
	Agents, GAgents    []Agent
	Tasks              []Task
	Counters           map[string]string
	Entries            []string // each agent entry's status text
}

func viewOf(root *pyjson.Value, rows *Rows) leanView {
	var v leanView
	v.Counters = map[string]string{}
	for _, f := range []string{"active_count", "total_spawned", "completed_count", "active_agents", "total_agents_spawned", "total_tasks", "active_tasks"} {
		if c, ok := counterOf(root, f); ok {
			v.Counters[f] = fmt.Sprintf("%d %v %s", c.Value, c.OK, pyjson.Encode(c.Raw))
		}
	}
	strip := func(shared []Agent) []Agent {
		as := append([]Agent{}, shared...)
		for i := range as {
			v.Entries = append(v.Entries, string(pyjson.Encode(as[i].StatusValue())))
			as[i].Entry = nil
		}
		return as
	}
	if tf, err := NewTaskView(root, rows); err != nil {
		v.TaskErr = err.Error()
	} else {
		v.ID, v.Status, v.Agents = tf.ID(), tf.Status(), strip(tf.Agents())
	}
	if gf, err := NewGlobalView(root, rows); err != nil {
		v.GlobalErr = err.Error()
	} else {
		v.GAgents, v.Tasks = strip(gf.Agents()), append([]Task{}, gf.Tasks()...) // no tasks: nil or empty alike
	}
	return v
}

// checkLean reads doc both ways, with the lean read's window at chunk
// bytes: a lean read takes only what Read parses, and the views of its
// projection are those of the whole document.
func checkLean(t *testing.T, dir, doc string, chunk int) {
	t.Helper()
	path := filepath.Join(dir, "AGENT_REGISTRY.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func(c int) { leanChunk = c }(leanChunk)
	leanChunk = chunk
	s := &Store{StateDir: t.TempDir()}
	whole, werr := s.Read(context.Background(), path)
	snap, err := s.ReadLean(context.Background(), path)
	switch {
	case werr != nil && err == nil:
		t.Fatalf("chunk %d: the lean read took %q, which Read refuses (%v)", chunk, doc, werr)
	case werr == nil && err != nil:
		t.Fatalf("chunk %d: the lean read refused %q (%v), which Read takes", chunk, doc, err)
	case werr != nil:
		if err.Error() != werr.Error() {
			t.Fatalf("chunk %d: the lean read says %q, Read says %q", chunk, err, werr)
		}
		return
	}
	// A registry with an entry that is not an object is read whole (the
	// views refuse it either way, as Read's say), and one that gives its
	// agents or tasks twice.
	_, terr := NewTaskFile(whole.Root)
	_, gerr := NewGlobalFile(whole.Root)
	_, serr := pyjson.ProjectStream(strings.NewReader(doc), leanRoot, 64, 0, (&rowReader{}).handle)
	if (!snap.Lean || snap.Data != nil) && (terr == nil || gerr == nil) && !errors.Is(serr, pyjson.ErrStreamRepeated) && !errors.Is(serr, errReadWhole) {
		t.Fatalf("chunk %d: ReadLean of %q was not lean (%v)", chunk, doc, snap.ParseErr)
	}
	if got, want := viewOf(snap.Root, snap.Rows), viewOf(whole.Root, nil); !reflect.DeepEqual(got, want) {
		t.Fatalf("chunk %d: views of %q:\ngot  %+v\nwant %+v", chunk, doc, got, want)
	}
	// The same bytes hash the same; other bytes not.
	again, err := s.ReadLean(context.Background(), path)
	if err != nil || again.Hash != snap.Hash {
		t.Fatalf("ReadLean again: hash %s, want %s (%v)", again.Hash, snap.Hash, err)
	}
	if err := os.WriteFile(path, []byte(doc+" "), 0o644); err != nil {
		t.Fatal(err)
	}
	if other, err := s.ReadLean(context.Background(), path); err != nil || other.Hash == snap.Hash {
		t.Fatalf("ReadLean of other bytes: hash %s, the same as before (%v)", other.Hash, err)
	}
}

// taskDoc is the text of a task registry of n agents, shaped as the
// orchestrator writes them, with fields the lean read leaves out between
// those it keeps.
func taskDoc(n int) string {
	var b strings.Builder
	b.WriteString(`{"task_id": "TASK-20251017-215604-df6a3cbd", "task_description": "persist stream logs", "status": "INITIALIZED", "agents": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		id := fmt.Sprintf("investigator_%d-%06x", i%5, i*2654435761&0xffffff)
		fmt.Fprintf(&b, `{"id": %q, "type": "investigator_%d", "tmux_session": "agent_%s", "parent": "orchestrator", "depth": 1, `+
			`"status": %q, "started_at": "2025-10-17T21:56:39.948962", "progress": %d, "last_update": "2025-10-17T21:59:51.549066", `+
			`"prompt": "Analyze real_mcp_server.py\n\t\u2014 why \"capture-pane\" loses output", "tracked_files": {"log_file": "logs/%s.jsonl"}}`,
			id, i%5, id, []string{"running", "completed", "terminated", "working"}[i%4], i%101, id)
	}
	fmt.Fprintf(&b, `], "active_count": %d, "total_spawned": %d, "completed_count": %d}`, n/2, n, n/4)
	return b.String()
}

func TestLeanReadAgreesWithRead(t *testing.T) {
	dir := t.TempDir()
	docs := []string{taskDoc(3), taskDoc(0),
		`{"agents": [{"id": "a", "st\u0061tus": "working", "status": "done"}, 7, {"id": "b"}], "active_count": {"x": 1}}`,
		`{"agents": {"a": {"status": "working", "type": "x"}, "b": [1], "a": {"status": "completed"}}, "tasks": {"T": {"status": "ACTIVE"}}}`,
		`{"agents": "none", "tasks": [], "task_id": "T\ud800", "\ud800status": 1, "status": -Infinity}`,
		`{"agents": [{"id": "a\u00e9\n", "started_at": 1.50, "last_update": NaN}], "total_spawned": 12345678901234567890}`,
		"\ufeff{}", `{"agents": [{"id": "x"}]} x`, "{\"a\": \"\xff\"}", ``,
		`{"task_id": "T", "agents": [{"id": "a", "status": "working"}], "active_count": 1, "agents": []}`,
		`{"agents": {"a": {"status": "working"}}, "tasks": {"T": {}}, "\u0061gents": {"b": {}}, "tasks": {}}`,
		`{"agents": {"x\ud800": {"status": "working"}, "x\udc00": {"status": "done"}, "x\ufffd": {}}, "tasks": {}}`,
		`{"agents": {"a": {"status": "working"}}, "tasks": {}}`,
		`{"agents": {"a": {"status": "completed", "parent": {"x": [` + strings.TrimSuffix(strings.Repeat(`{"k": [1]}, `, 16), ", ") + `]}}, "b": {"status": [[], {}, [], {}]}, "c": {"status": {}}}, "tasks": {"T": {}}}`}
	for _, name := range []string{"TASK-20251017-215604-df6a3cbd/AGENT_REGISTRY.json", "registry/GLOBAL_REGISTRY.json"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "orchestrator-2025-10", ".agent-workspace", name))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	// Byte edits of a real registry: most break it, some not.
	r := rand.New(rand.NewPCG(5, 6))
	base := docs[len(docs)-2]
	for range 60 {
		b := []byte(base)
		i := r.IntN(len(b))
		switch r.IntN(3) {
		case 0:
			b[i] = "{}[]\",:\\ 0aé\x00"[r.IntN(14)]
		case 1:
			b = append(b[:i], b[i+1:]...)
		default:
			b = b[:i]
		}
		docs = append(docs, string(b))
	}
	for i, doc := range docs {
		for _, chunk := range []int{1, 7, 1 << 20} {
			t.Run(fmt.Sprintf("doc%d/chunk%d", i, chunk), func(t *testing.T) { checkLean(t, dir, doc, chunk) })
		}
	}
}

// BenchmarkReadLean and BenchmarkReadWhole read the same 10,000-agent task
// registry, lean and whole, under the shared lock as a scan does.
func BenchmarkReadLean(b *testing.B)  { benchmarkRead(b, (*Store).ReadLean) }
func BenchmarkReadWhole(b *testing.B) { benchmarkRead(b, (*Store).Read) }

func benchmarkRead(b *testing.B, read func(*Store, context.Context, string) (*Snapshot, error)) {
	path := filepath.Join(b.TempDir(), "AGENT_REGISTRY.json")
	data := []byte(taskDoc(10000))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	s := &Store{StateDir: b.TempDir()}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		snap, err := read(s, context.Background(), path)
		if err != nil || len(snap.Root.Get("agents").Elems()) != 10000 {
			b.Fatalf("read: %v", err)
		}
	}
}

// TestAgentFromReadsAsGet holds the views' one-pass read of an entry to
// what Get finds for each field.
func TestAgentFromReadsAsGet(t *testing.T) {
	docs := []string{
		`{"agents": [{"id": "a", "st\u0061tus": "working", "status": "done", "type": 1}, {"id": "b", "status": null, "\ud800": "x"}]}`,
		`{"agents": [{"task_id": "T", "tmux_session": "s", "parent": "p", "started_at": "1", "last_update": "2", "id": ["x"]}]}`,
		`{"agents": [{"\u0069d": "c", "id": "d", "status": {"a": 1}}]}`,
		`{"agents": [{"id": "e", "status": "w\ud800"}, {"id": "f", "status": "w\u00e9\n"}, {"id": "g", "status": 7}]}`,
		taskDoc(20),
	}
	for i, doc := range docs {
		root, err := pyjson.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		for j, e := range root.Get("agents").Elems() {
			want := Agent{ID: e.Get("id").StrOr(""), TaskID: e.Get("task_id").StrOr(""), Type: e.Get("type").StrOr(""),
				Parent: e.Get("parent").StrOr(""), TmuxSession: e.Get("tmux_session").StrOr(""),
				StartedAt: e.Get("started_at").StrOr(""), LastUpdate: e.Get("last_update").StrOr(""), Index: j, Entry: e}
			if s := e.Get("status"); s != nil {
				want.Status, want.HasStatus = s.StrOr(s.String()), true
			}
			got := agentFrom("", true, e, j)
			// Without its entry, as a lean read's rows are, an agent still
			// knows its status as the document holds it.
			lean := got
			lean.Entry = nil
			if a, b := string(pyjson.Encode(lean.StatusValue())), string(pyjson.Encode(e.Get("status"))); a != b {
				t.Errorf("doc %d, entry %d: status %s without the entry, %s in it", i, j, a, b)
			}
			if got.statusJSON = ""; got != want {
				t.Errorf("doc %d, entry %d: got %+v, want %+v", i, j, got, want)
			}
		}
	}
}

// TestPlainAgentReadsAsAgentFrom holds the read of an entry's projected
// text to agentFrom's read of its parse, for the entries it takes, and
// checks which it takes: objects of strings without escapes, with a status
// of ASCII.
func TestPlainAgentReadsAsAgentFrom(t *testing.T) {
	for _, tc := range []struct {
		doc   string
		plain []bool // entry by entry: taken from the text
	}{
		{`{"agents": [{"id": "a", "status": "working", "type": "t", "parent": "p", "task_id": "T", "tmux_session": "s", "started_at": "1", "last_update": "2", "prompt": "x\ny"}, {}]}`,
			[]bool{true, true}},
		{`{"agents": [{"id": "a", "status": "working", "status": "done", "id": "b"}, {"id": "é", "type": "ü"}]}`,
			[]bool{true, true}},
		{`{"agents": [{"st\u0061tus": "done"}, {"id": "a\"b"}, {"status": "w\u00e9"}, {"status": "wé"}, {"status": 7}, {"status": {"a": 1}}, {"id": ["x"]}, {"status": null}]}`,
			[]bool{false, false, false, false, false, false, false, false}},
		{`{"agents": {"k1": {"id": "not the key", "status": "working"}, "k2": {"status": "done"}, "k1": {"type": "again"}}}`,
			[]bool{true, true, true}},
		{`{"agents": [7, "x", null]}`, []bool{false, false, false}},
	} {
		var got []bool
		_, err := pyjson.ProjectStream(strings.NewReader(tc.doc), leanRoot, 1<<10, 0, func(e pyjson.Element) error {
			id, idField, index := "", true, e.Index
			if e.Object {
				id, idField, index = e.Key, false, -1
			}
			a, ok := plainAgent(e.Text, id, idField, index)
			got = append(got, ok)
			if !ok {
				return nil
			}
			want := agentFrom(id, idField, e.Value(), index)
			if want.Entry = nil; a != want {
				t.Errorf("%s, entry %d: from the text %+v, from the parse %+v", tc.doc, len(got)-1, a, want)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		if !slices.Equal(got, tc.plain) {
			t.Errorf("%s: taken from the text %v, want %v", tc.doc, got, tc.plain)
		}
	}
}

// BenchmarkAgents reads the agents of a 10,000-agent task registry through
// the view, as every analysis does.
func BenchmarkAgents(b *testing.B) {
	root, err := pyjson.Parse([]byte(taskDoc(10000)))
	if err != nil {
		b.Fatal(err)
	}
	tf, err := NewTaskFile(root)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if len(tf.Agents()) != 10000 {
			b.Fatal("agents lost")
		}
	}
}

// TestLeanRowsOfManyAgents reads registries of more agents than a block
// holds, whose first agents are no guide to the rest (small entries first,
// or big ones), or too small to judge by, with ids given again later: the
// rows are Read's, however the room made for them fits.
func TestLeanRowsOfManyAgents(t *testing.T) {
	entry := func(id string, pad int) string {
		status := "working"
		if pad < 10 { // the later entries of an id given again
			status = fmt.Sprintf("done-%d", pad)
		}
		return fmt.Sprintf(`{"id": %q, "status": %q, "type": "t", "prompt": %q}`, id, status, strings.Repeat("p", pad))
	}
	task := func(pads ...[2]int) string { // runs of {count, pad}
		var es []string
		for _, run := range pads {
			for range run[0] {
				es = append(es, entry(fmt.Sprintf("a-%05d", len(es)), run[1]))
			}
		}
		es = append(es, entry("a-00007", 3), entry(fmt.Sprintf("a-%05d", len(es)-5), 9)) // again, later
		return `{"task_id": "T", "agents": [` + strings.Join(es, ", ") + `]}`
	}
	global := func(pads ...[2]int) string {
		var ms []string
		n := 0
		for _, run := range pads {
			for range run[0] {
				ms = append(ms, fmt.Sprintf("%q: %s", fmt.Sprintf("a-%05d", n), entry("", run[1])))
				n++
			}
		}
		ms = append(ms, fmt.Sprintf("%q: %s", "a-00007", entry("", 1)), fmt.Sprintf("%q: %s", fmt.Sprintf("a-%05d", n-5), entry("", 2)))
		return `{"tasks": {"T": {}}, "agents": {` + strings.Join(ms, ", ") + `}}`
	}
	docs := []string{
		task([2]int{3000, 40}),                         // as the first agents say
		task([2]int{presizeAt, 10}, [2]int{2500, 400}), // small first: more than judged
		task([2]int{presizeAt, 900}, [2]int{4000, 10}), // big first: fewer than judged
		task([2]int{400, 0}),                           // too few bytes to judge by
		global([2]int{presizeAt, 10}, [2]int{2500, 400}),
		global([2]int{presizeAt + 3, 900}, [2]int{1500, 10}),
	}
	dir := t.TempDir()
	for i, doc := range docs {
		for _, chunk := range []int{4096, 1 << 20} {
			t.Run(fmt.Sprintf("doc%d/chunk%d", i, chunk), func(t *testing.T) { checkLean(t, dir, doc, chunk) })
		}
	}
}

// TestRowsAreSizedOnceAndKeepLittleSpareRoom: agents of one size get room
// for all of them once the first presizeAt are read, counted from the
// first agent on (a global registry's tasks come before), none left to
// blocks; small agents followed by big ones leave the rows no more room
// than as much again.
func TestRowsAreSizedOnceAndKeepLittleSpareRoom(t *testing.T) {
	var tasks []string
	for i := range 2000 {
		tasks = append(tasks, fmt.Sprintf(`"TASK-%05d": {"status": "INITIALIZED", "description": %q}`, i, strings.Repeat("d", 300)))
	}
	var uniform, skewed []string
	for i := range 5000 {
		uniform = append(uniform, fmt.Sprintf(`"a-%05d": {"task_id": "TASK-00001", "status": "working", "started_at": "2026-12-06T01:57:05.512064"}`, i))
	}
	for i := range 600 {
		pad := 0
		if i >= 300 {
			pad = 20000
		}
		skewed = append(skewed, fmt.Sprintf(`"a-%05d": {"status": "working", "prompt": %q}`, i, strings.Repeat("p", pad)))
	}
	read := func(doc string) *rowReader {
		r := &rowReader{size: int64(len(doc))}
		if _, err := pyjson.ProjectStream(strings.NewReader(doc), leanRoot, 4096, 0, r.handle); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := read(`{"tasks": {` + strings.Join(tasks, ", ") + `}, "agents": {` + strings.Join(uniform, ", ") + `}}`)
	if !r.presized || r.more != nil || len(r.rows.Agents) != 5000 || cap(r.rows.Agents) > 5000+5000/16 {
		t.Errorf("uniform agents after a big tasks section: presized %v, %d blocks left, %d rows in room for %d",
			r.presized, len(r.more), len(r.rows.Agents), cap(r.rows.Agents))
	}
	r = read(`{"tasks": {}, "agents": {` + strings.Join(skewed, ", ") + `}}`)
	rows := r.finish(pyjson.NewObject())
	if len(rows.Agents) != 600 || cap(rows.Agents) > 2*600+presizeAt {
		t.Errorf("small agents, then big ones: %d rows kept in room for %d", len(rows.Agents), cap(rows.Agents))
	}
}
