package pyjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// registryShape projects as a registry scan does: a few top-level fields,
// and some fields of each element of "agents" and each member of "tasks".
var registryShape = Fields(map[string]*Projection{
	"task_id": Whole, "status": Whole, "active_count": Whole,
	"agents": Each(WholeFields("id", "status", "started_at", "last_update")),
	"tasks":  Each(WholeFields("status")),
})

// streamShape is registryShape with its agents and tasks streamed.
var streamShape = Fields(map[string]*Projection{
	"task_id": Whole, "status": Whole, "active_count": Whole,
	"agents": Stream("agents", WholeFields("id", "status", "started_at", "last_update")),
	"tasks":  Stream("tasks", WholeFields("status")),
})

// projectStreamed reads doc through ProjectStream with streamShape and
// puts the handed elements back into their (empty) containers, by Index.
func projectStreamed(doc string, chunk int) (*Value, error) {
	type elem struct {
		key string
		v   *Value
	}
	got := map[string][]elem{}
	root, err := ProjectStream(bytes.NewReader([]byte(doc)), streamShape, chunk, int64(len(doc)), func(e Element) error {
		v, err := Parse(Encode(e.Value())) // a copy of its own: e's text goes with the call
		if err != nil {
			return err
		}
		es := got[e.Stream]
		switch {
		case e.Index == len(es):
			got[e.Stream] = append(es, elem{e.Key, v})
		case e.Index < len(es) && es[e.Index].key == e.Key:
			es[e.Index].v = v
		default:
			return fmt.Errorf("%s: element %d (%q) after %d", e.Stream, e.Index, e.Key, len(es))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for name, es := range got {
		c := root.Get(name)
		if c.Len() != 0 {
			return nil, fmt.Errorf("%s: the container kept %d elements", name, c.Len())
		}
		for _, e := range es {
			switch c.Kind() {
			case Array:
				c.Append(e.v)
			case Object:
				c.Set(e.key, e.v)
			default:
				return nil, fmt.Errorf("%s: elements handed for a %s", name, c.Kind())
			}
		}
	}
	return root, nil
}

// repeatsAStream reports whether doc's top-level object names agents or
// tasks twice (as encoding/json reads its keys).
func repeatsAStream(doc string) bool {
	d := json.NewDecoder(strings.NewReader(doc))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if k := tok.(string); k == "agents" || k == "tasks" {
			if seen[k] {
				return true
			}
			seen[k] = true
		}
		var skip json.RawMessage
		if d.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// prune is what pj keeps of v, built from the whole parsed document: the
// reference Project is held to.
func prune(v *Value, pj *Projection) *Value {
	switch {
	case pj == nil:
		return nil
	case pj.whole:
		return v
	}
	switch v.Kind() {
	case Object:
		out := NewObject()
		for key, val := range v.Pairs() {
			if kept := prune(val, pj.member(key)); kept != nil {
				out.Set(key, kept)
			}
		}
		return out
	case Array:
		out := NewArray()
		elem := pj.each
		if elem == nil {
			elem = Whole
		}
		for _, e := range v.Elems() {
			out.Append(prune(e, elem))
		}
		return out
	}
	return v
}

// checkProject reads doc through Project with a window of chunk bytes: it
// takes exactly what Parse takes, and keeps what prune keeps.
func checkProject(t *testing.T, doc string, pj *Projection, chunk int) {
	t.Helper()
	got, perr := Project(bytes.NewReader([]byte(doc)), pj, chunk, int64(len(doc)))
	full, ferr := Parse([]byte(doc))
	switch {
	case perr == nil && ferr != nil:
		t.Fatalf("chunk %d: Project took %q, which Parse refuses (%v)", chunk, doc, ferr)
	case perr != nil && ferr == nil:
		t.Fatalf("chunk %d: Project refused %q (%v), which Parse takes", chunk, doc, perr)
	case perr != nil && !errors.Is(perr, ErrNotProjected):
		t.Fatalf("chunk %d: Project of %q: %v, want ErrNotProjected", chunk, doc, perr)
	case perr != nil:
		return
	}
	if want := prune(full, pj); !Equal(got, want) {
		t.Fatalf("chunk %d: Project of %q:\ngot  %s\nwant %s", chunk, doc, Encode(got), Encode(want))
	}
	if pj != registryShape {
		return
	}
	// Streamed, the same elements reach the handler, in order, a repeated
	// key's last value in its first place.
	streamed, err := projectStreamed(doc, chunk)
	if errors.Is(err, ErrStreamRepeated) {
		if !repeatsAStream(doc) {
			t.Fatalf("chunk %d: ProjectStream of %q: %v, but no streamed member is given twice", chunk, doc, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("chunk %d: ProjectStream of %q: %v", chunk, doc, err)
	}
	if !Equal(streamed, got) {
		t.Fatalf("chunk %d: ProjectStream of %q:\ngot  %s\nwant %s", chunk, doc, Encode(streamed), Encode(got))
	}
}

func TestProjectAgreesWithParse(t *testing.T) {
	var docs []string
	for _, tc := range editCases(t) {
		docs = append(docs, tc.doc)
	}
	for _, tc := range syntaxErrorCases {
		docs = append(docs, tc.doc)
	}
	docs = append(docs, string(Encode(genTaskDoc(3))),
		`{"agents": [{"id": "a", "st\u0061tus": "working", "status": "done"}, 7, {"id": "b"}], "active_count": {"x": 1}}`,
		`{"agents": {"a": {"status": "working", "type": "x"}, "b": [1], "a": {"status": "completed"}}, "tasks": {"T": {"status": "ACTIVE"}}}`,
		`{"agents": [{"id": "a"}], "tasks": {}, "agents": []}`,
		`{"agents": {"a": {}}, "tasks": [], "\u0061gents": "x"}`,
		`{"tasks": {"\u0054": {"status": "A"}, "U": 2, "T": {"status": "B", "status": "C"}, "V\n": {}, "V\u000a": null}, "agents": [[{"id": 1}], {}, {"id": "x", "id": "y"}]}`,
		`{"agents": "none", "tasks": [], "task_id": "T\ud800", "\ud800status": 1, "status": -Infinity}`,
		`{"agents": [{"id": "a\u00e9\n", "started_at": 1.50, "last_update": NaN}], "active_count": 12345678901234567890}`,
		"\ufeff{}", `{"a": 1,}`, `[1,]`, `{"agents": [{"id": "x"}]} x`, `{"agents": [{"id": "\x01"}]}`, "{\"a\": \"\xff\"}", `{"a": 01}`, `"`, ``, `  `,
		`{"a": "\u12"}`, `{"agents": [{"id": "é"}], "prompt": "日本語テキスト"}`)
	for _, path := range docFixtureFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	r := rand.New(rand.NewPCG(5, 6))
	g := docGen{r}
	for range 40 {
		docs = append(docs, g.value(4))
	}
	// Byte edits of a real registry: most break it, some not.
	base := string(Encode(genTaskDoc(4)))
	for range 150 {
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
		for _, chunk := range []int{1, 3, 7, 64, 1 << 20} {
			t.Run(fmt.Sprintf("doc%d/chunk%d", i, chunk), func(t *testing.T) {
				checkProject(t, doc, registryShape, chunk)
				checkProject(t, doc, Whole, chunk)
			})
		}
	}
}

// TestStreamedElementsShowNothingOfTheOneBefore: an element of more
// containers than the stream's spare buffers hold, then one of empty
// containers, which reuses them.
func TestStreamedElementsShowNothingOfTheOneBefore(t *testing.T) {
	var first, second []string
	for i := range 20 {
		first = append(first, fmt.Sprintf(`"k%d": [%d]`, i, i))
	}
	for i := range 8 {
		second = append(second, fmt.Sprintf(`"e%d": []`, i))
	}
	doc := `{"agents": [{` + strings.Join(first, ", ") + `}, {` + strings.Join(second, ", ") + `}]}`
	var got []string
	_, err := ProjectStream(strings.NewReader(doc), Fields(map[string]*Projection{"agents": Stream("agents", Whole)}), 1<<10, 0, func(e Element) error {
		got = append(got, tree(e.Value()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range whole.Get("agents").Elems() {
		if want := tree(e); i >= len(got) || got[i] != want {
			t.Errorf("element %d: got %q, want %s", i, got, want)
		}
	}
}

// TestStreamedElementsEndWhereTheyEnd holds each element's End to the
// offset just past its text, through windows smaller than an element,
// between whitespace, in an array and an object.
func TestStreamedElementsEndWhereTheyEnd(t *testing.T) {
	doc := "{\"tasks\": {\"T\" :  {\"status\": \"x\"} ,\n \"U\": {}},\n \"agents\": [ {\"id\": \"" + strings.Repeat("a", 300) +
		"\"}\n,\t{\"id\": \"b\", \"n\": [1, 2, {}]}  , {} ] }"
	pj := Fields(map[string]*Projection{"agents": Stream("agents", Whole), "tasks": Stream("tasks", Whole)})
	for _, chunk := range []int{7, 64, 1 << 10} {
		var ends []string
		_, err := ProjectStream(strings.NewReader(doc), pj, chunk, 0, func(e Element) error {
			ends = append(ends, doc[:e.End][max(0, e.End-3):])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{`x"}`, ` {}`, `a"}`, `}]}`, ` {}`}; !slices.Equal(ends, want) {
			t.Errorf("window %d: elements end after %q, want %q", chunk, ends, want)
		}
	}
}

// tree is a value as its accessors show it: every container's members or
// elements, every scalar's kind and text (Encode may copy a container's
// source text instead).
func tree(v *Value) string {
	switch v.Kind() {
	case Object:
		var parts []string
		for _, m := range v.Members() {
			parts = append(parts, m.Key+":"+tree(m.Value))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case Array:
		var parts []string
		for _, e := range v.Elems() {
			parts = append(parts, tree(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case String:
		s, _ := v.Str()
		return fmt.Sprintf("%q", s)
	}
	return v.Kind().String() + " " + v.NumberText()
}

// TestProjectPassesReadErrorsOn: an error of the reader is not taken for a
// document Parse refuses.
func TestProjectPassesReadErrorsOn(t *testing.T) {
	boom := errors.New("boom")
	_, err := Project(&failingReader{data: []byte(`{"agents": [`), err: boom}, registryShape, 4, 0)
	if !errors.Is(err, boom) || errors.Is(err, ErrNotProjected) {
		t.Fatalf("Project over a failing reader: %v, want boom", err)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// BenchmarkProject projects a 10,000-agent task registry as a scan does.
func BenchmarkProject(b *testing.B) {
	data := Encode(genTaskDoc(10000))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		v, err := Project(bytes.NewReader(data), registryShape, 1<<20, int64(len(data)))
		if err != nil || v.Get("agents").Len() != 10000 {
			b.Fatalf("project: %v", err)
		}
	}
}

// TestStreamedElementsOfOneShapeStopAllocating: the spare buffers grow to
// what an element uses, so a stream of like elements allocates for its
// first only, whichever part of them it outgrows (values and containers
// for objects of arrays, elements for a long flat array); and elements of
// all sizes, mixed, still parse as the whole document does.
func TestStreamedElementsOfOneShapeStopAllocating(t *testing.T) {
	var fields, numbers []string
	for i := range 60 {
		fields = append(fields, fmt.Sprintf(`"k%d": [%d, {"n": "v%d"}]`, i, i, i))
	}
	for i := range 100 {
		numbers = append(numbers, fmt.Sprint(i))
	}
	pj := Fields(map[string]*Projection{"agents": Stream("agents", Whole)})
	for _, element := range []string{`{` + strings.Join(fields, ", ") + `}`, `[` + strings.Join(numbers, ", ") + `]`} {
		count := func(n int) float64 {
			doc := `{"agents": [` + strings.Repeat(element+", ", n-1) + element + `]}`
			return testing.AllocsPerRun(3, func() {
				if _, err := ProjectStream(strings.NewReader(doc), pj, 1<<16, 0, func(e Element) error {
					if e.Value() == nil {
						t.Fatal("no value")
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			})
		}
		// What 400 more elements cost, beyond the first 100.
		if more := count(500) - count(100); more > 40 {
			t.Errorf("400 more elements like %.40s…: %.0f more allocations; want next to none", element, more)
		}
	}

	var mixed []string
	for i := range 40 {
		switch i % 3 {
		case 0:
			mixed = append(mixed, `{`+strings.Join(fields, ", ")+`}`)
		case 1:
			mixed = append(mixed, `{"a": [], "b": {}}`)
		default:
			mixed = append(mixed, fmt.Sprintf(`[%d, "x", {"y": [true, null]}, [%s]]`, i, strings.Join(numbers[:i], ", ")))
		}
	}
	checkStreamedAsWhole(t, `{"agents": [`+strings.Join(mixed, ", ")+`]}`)
}

// checkStreamedAsWhole streams the agents of doc and holds each element
// to the same element of the whole document's parse.
func checkStreamedAsWhole(t *testing.T, doc string) {
	t.Helper()
	var got []string
	pj := Fields(map[string]*Projection{"agents": Stream("agents", Whole)})
	if _, err := ProjectStream(strings.NewReader(doc), pj, 1<<12, 0, func(e Element) error {
		got = append(got, tree(e.Value()))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	whole, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	elems := whole.Get("agents").Elems()
	if len(got) != len(elems) {
		t.Fatalf("%d elements streamed, %d in the whole parse", len(got), len(elems))
	}
	for i, e := range elems {
		if want := tree(e); got[i] != want {
			t.Errorf("element %d: got %s, want %s", i, got[i], want)
		}
	}
}

// TestLongObjectsInsideLongObjects: objects of more than 16 keys (those a
// key index serves) nested in one another, each with repeated keys, a very
// long one among them, parsed whole and streamed: Python keeps a repeated
// key's first position and its last value at every depth.
func TestLongObjectsInsideLongObjects(t *testing.T) {
	long := func(depth, n int, inner string) string {
		var ms []string
		for i := range n {
			ms = append(ms, fmt.Sprintf(`"k%d": %d`, i%(n-3), depth*1000+i)) // the last three repeat the first three
			if i == n/2 && inner != "" {
				ms = append(ms, `"inner": `+inner)
			}
		}
		ms = append(ms, fmt.Sprintf(`"k1": "last at depth %d"`, depth))
		return `{` + strings.Join(ms, ", ") + `}`
	}
	var agents []string
	for i := range 12 {
		n := 20
		if i == 4 {
			n = 400 // past what a kept index may hold
		}
		agents = append(agents, long(1, n, long(2, 18+i, long(3, 17, `[]`))))
	}
	doc := `{"agents": [` + strings.Join(agents, ", ") + `]}`
	o := newOracle(t)
	want := o.query(t, []byte(doc), nil)
	if !want.OK {
		t.Fatalf("python3 refused the document: %s", want.Msg)
	}
	v, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := Encode(v); string(got) != string(want.Out) {
		t.Errorf("Encode(Parse(doc)) differs from python3's json.dumps(json.loads(doc), indent=2):\n%s", docDiff(got, want.Out))
	}
	checkStreamedAsWhole(t, doc)
}
