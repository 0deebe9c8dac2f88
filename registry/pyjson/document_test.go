package pyjson

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// docFixtureDir returns the repository's testdata/orchestrator-2025-10 and
// fails tb when it is not there: the fixtures come with the repository.
func docFixtureDir(tb testing.TB) string {
	tb.Helper()
	fixtures := filepath.Join("..", "..", "testdata", "orchestrator-2025-10")
	if _, err := os.Stat(fixtures); err != nil {
		tb.Fatalf("the fixtures are missing from the repository: %v", err)
	}
	return fixtures
}

// docFixtureFiles returns every *.json under the fixture folder, hidden
// .agent-workspace included.
func docFixtureFiles(tb testing.TB) []string {
	tb.Helper()
	root := docFixtureDir(tb)
	var files []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Skipf("skipping: no *.json under %s", root)
	}
	return files
}

func TestDocumentRoundTripFixtures(t *testing.T) {
	root := docFixtureDir(t)
	for _, path := range docFixtureFiles(t) {
		name, _ := filepath.Rel(root, path)
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Parse(src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := Encode(v); !bytes.Equal(got, src) {
				t.Errorf("Encode(Parse(file)) differs from the file:\n%s", docDiff(got, src))
			}
			if got := Encode(v.Clone()); !bytes.Equal(got, src) {
				t.Errorf("Encode(Clone) differs from the file:\n%s", docDiff(got, src))
			}
		})
	}
}

// docDiff shows where two encodings part, with some context.
func docDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-60)
	clip := func(b []byte) []byte { return b[lo:min(len(b), i+60)] }
	return fmt.Sprintf("at byte %d (got %d bytes, want %d)\n got: %q\nwant: %q", i, len(got), len(want), clip(got), clip(want))
}

// docEdit is one edit of a document, applied both by the Go methods and by
// Python to the object json.loads made.
type docEdit struct {
	path  []any // keys (string) and indexes (int) leading to the container
	op    string
	key   string
	index int
	val   *Value
}

func editSet(path []any, key string, v *Value) docEdit {
	return docEdit{path: path, op: "set", key: key, val: v}
}
func editDelete(path []any, key string) docEdit { return docEdit{path: path, op: "delete", key: key} }
func editAppend(path []any, v *Value) docEdit   { return docEdit{path: path, op: "append", val: v} }
func editRemove(path []any, i int) docEdit      { return docEdit{path: path, op: "remove", index: i} }
func docAt(path ...any) []any                   { return path }

func (e docEdit) apply(t *testing.T, root *Value) {
	t.Helper()
	target := root
	for _, p := range e.path {
		switch p := p.(type) {
		case string:
			target = target.Get(p)
		case int:
			target = target.Index(p)
		}
		if target == nil {
			t.Fatalf("edit %s: path %v does not exist", e.op, e.path)
		}
	}
	switch e.op {
	case "set":
		target.Set(e.key, e.val)
	case "delete":
		if !target.Delete(e.key) {
			t.Fatalf("Delete(%q) found no such key", e.key)
		}
	case "append":
		target.Append(e.val)
	case "remove":
		if !target.RemoveAt(e.index) {
			t.Fatalf("RemoveAt(%d) found no such element", e.index)
		}
	case "put": // an element replaced in place, as Elems allows
		target.Elems()[e.index] = e.val
	case "inplace": // a member's value replaced in place, as Members allows
		ms := target.Members()
		for i := range ms {
			if ms[i].named(e.key) {
				ms[i].Value = e.val
				return
			}
		}
		t.Fatalf("no member %q to replace in place", e.key)
	default:
		t.Fatalf("unknown edit %q", e.op)
	}
}

func (e docEdit) forPython() oracleEdit {
	oe := oracleEdit{Path: e.path, Op: e.op, Key: e.key, Index: e.index}
	if e.op == "inplace" {
		oe.Op = "set"
	}
	if e.val != nil {
		oe.Value = specOf(e.val)
	}
	return oe
}

func mustParseDoc(tb testing.TB, s string) *Value {
	tb.Helper()
	v, err := Parse([]byte(s))
	if err != nil {
		tb.Fatalf("Parse(%q): %v", s, err)
	}
	return v
}

// allEscapesBody is a string body using every escape JSON has, and a raw DEL.
var allEscapesBody = func() string {
	var b strings.Builder
	b.WriteString(`q\" bs\\ sl\/ \b\f\n\r\t |`)
	for c := range 0x20 {
		fmt.Fprintf(&b, `\u%04x`, c)
	}
	b.WriteString(`| \u007f \u007F ` + "\x7f" + ` \u0020\u0041\u00e9\u00E9`)
	return b.String()
}()

// nestedDoc builds depth levels of alternating objects and arrays around a leaf.
func nestedDoc(depth int, leaf string) string {
	var open, close strings.Builder
	for i := range depth {
		if i%2 == 0 {
			open.WriteString(`{"k": `)
			close.WriteString("}")
		} else {
			open.WriteString("[")
			close.WriteString("]")
		}
	}
	c := []byte(close.String())
	for i, j := 0, len(c)-1; i < j; i, j = i+1, j-1 {
		c[i], c[j] = c[j], c[i]
	}
	return open.String() + leaf + string(c)
}

// nestedDocPath is the path to the container at the given depth of nestedDoc().
func nestedDocPath(depth int) []any {
	var p []any
	for i := range depth {
		if i%2 == 0 {
			p = append(p, "k")
		} else {
			p = append(p, 0)
		}
	}
	return p
}

const smallTaskDoc = `{
  "task_id": "TASK-20251017-215604-df6a3cbd",
  "status": "INITIALIZED",
  "priority": "P1",
  "agents": [
    {"id": "investigator-215637-4722d7", "status": "running", "progress": 50,
     "last_update": "2025-10-17T21:59:51.549066", "completion_validation": {"confidence": 1.0, "warnings": []}},
    {"id": "planner-215640-c3f469", "status": "working", "progress": 0}
  ],
  "agent_hierarchy": {"orchestrator": ["investigator-215637-4722d7", "planner-215640-c3f469"]},
  "total_spawned": 2,
  "active_count": 2,
  "completed_count": 0
}`

type editCase struct {
	name  string
	doc   string
	edits []docEdit
}

// editCases is shared with the fuzz seed corpus.
func editCases(tb testing.TB) []editCase {
	constructed := NewObject()
	constructed.Set("inner", NewString("naïve\x00"))
	constructed.Set("list", NewArray(NewInt(1), NewBool(false), NewNull(), NewString("😀"), NewArray(), NewObject()))
	agent := NewObject()
	agent.Set("id", NewString("fixer-220101-abcdef"))
	agent.Set("status", NewString("running"))
	agent.Set("progress", NewInt(0))
	agent.Set("prompt", NewString("Fix “it”.\n\tThen report — ✓ 完了 🎉"))
	agent.Set("tracked_files", NewObject())

	return []editCase{
		{name: "task registry ghost repair", doc: smallTaskDoc, edits: []docEdit{
			editSet(docAt("agents", 0), "status", NewString("terminated")),
			editSet(docAt("agents", 0), "termination_reason", NewString("session_not_found")),
			editSet(docAt("agents", 0), "terminated_at", NewString("2025-10-18T09:00:00.000001")),
			editSet(docAt(), "active_count", NewInt(1)),
			editSet(docAt("agents", 0), "progress", NewInt(100)),
			editSet(docAt("agents", 0, "completion_validation"), "confidence", mustParseDoc(tb, "0.75")),
			editRemove(docAt("agents"), 1),
			editRemove(docAt("agent_hierarchy", "orchestrator"), 1),
			editAppend(docAt("agents"), agent),
			editAppend(docAt("agent_hierarchy", "orchestrator"), NewString("fixer-220101-abcdef")),
			editDelete(docAt(), "priority"),
			editSet(docAt(), "priority", NewString("P0")),
		}},
		{name: "non-ASCII text", doc: `{"name": "caf\u00e9", "raw": "café", "cjk": "漢字テスト", "emoji": "😀 \ud83d\ude00", "mixed": "a\u00E9b€", "k€y": 1}`,
			edits: []docEdit{
				editSet(docAt(), "name", NewString("naïve — “quotes” 日本 🎉")),
				editSet(docAt(), "ключ", NewString("значение")),
				editSet(docAt(), "k€y", NewInt(2)),
				editSet(docAt(), "😀", NewString("\U0010FFFF\uFFFF\uFFFD\u2028\u2029\u0080\u00ff")),
				editDelete(docAt(), "cjk"),
			}},
		{name: "every escape", doc: `{"s": "` + allEscapesBody + `", "a": ["\/", "\"", "\\\\"]}`,
			edits: []docEdit{
				editSet(docAt(), "ctl", NewString("\x00\x01\x07\b\t\n\v\f\r\x0e\x1b\x1f \x7f \"\\/ </script>")),
				editSet(docAt(), "k\n\t\"\\é\x00", NewString("key with escapes")),
				editAppend(docAt("a"), NewString("\\u0041")),
			}},
		{name: "surrogates", doc: `["\ud800", "\udfff", "\ud800x", "\udc00\ud800", "\ud800\u0041", "\ud83d\ude00", "\uD83D\uDE00", "\ud800\ud800\udc00", "😀\udc00", "\udbff\udfff"]`,
			edits: []docEdit{
				editRemove(docAt(), 0),
				editAppend(docAt(), mustParseDoc(tb, `"\udc00 lone low"`)),
				editAppend(docAt(), NewString("😀")),
			}},
		{name: "surrogate keys", doc: `{"\ud800": 1, "\udc00": 2, "\ud800\udc00": 3, "𐀀": 4, "\ufffd": 5}`,
			edits: []docEdit{
				editDelete(docAt(), "𐀀"),
				editSet(docAt(), "\ufffd", NewInt(6)),
			}},
		{name: "empty object", doc: `{}`, edits: []docEdit{editSet(docAt(), "a", NewObject()), editSet(docAt(), "b", NewArray())}},
		{name: "empty array", doc: `[]`, edits: []docEdit{editAppend(docAt(), NewArray()), editAppend(docAt(), NewObject())}},
		{name: "empty containers inside", doc: `{"o": {}, "a": [], "n": [{}, [], [[]], {"x": {}}]}`,
			edits: []docEdit{
				editAppend(docAt("a"), NewObject()),
				editSet(docAt("o"), "k", NewArray()),
				editDelete(docAt("n", 3), "x"),
			}},
		{name: "empty key", doc: `{"": 1, "a": {"": []}}`, edits: []docEdit{editSet(docAt(), "", NewString("")), editDelete(docAt("a"), "")}},
		{name: "deep nesting", doc: nestedDoc(400, `"leaf"`),
			edits: []docEdit{editSet(nestedDocPath(50), "added", NewArray(NewInt(1)))}},
		{name: "big integers", doc: `[123456789012345678901234567890, -123456789012345678901234567890, 9223372036854775807, 9223372036854775808, -9223372036854775809, 18446744073709551616, 0, -0, 10000000000000000000000]`,
			edits: []docEdit{
				editRemove(docAt(), 1),
				editAppend(docAt(), NewInt(math.MaxInt64)),
				editAppend(docAt(), NewInt(math.MinInt64)),
				editAppend(docAt(), mustParseDoc(tb, "-0")),
				editAppend(docAt(), mustParseDoc(tb, "99999999999999999999999999999999999999")),
			}},
		{name: "floats", doc: `[1.0, 1e-05, -0.0, 1E5, 1.50, 0.1, 1e16, 1e-7, 123456789.123456789, 5e-324, 1e400, -1e400, 1e15, 1e-4, 0.0001, 0.00001, 2.5e-3, 1.7976931348623157e308, 2.2250738585072014e-308, 4.9e-324, 1e22, 1e21, 123e-2, 0e0, -0e-0, 100.0, 1E+2, 1e+0, 3.14159265358979323846, 0.30000000000000004, 9007199254740993, 9007199254740993.0, 1.5e300, 12345678901234567890.0, 1e-400, 2e-324]`,
			edits: []docEdit{
				editAppend(docAt(), mustParseDoc(tb, "2.50")),
				editAppend(docAt(), mustParseDoc(tb, "-0.0")),
				editRemove(docAt(), 0),
			}},
		{name: "change a number", doc: `{"progress": 1.50, "confidence": 1.0, "elapsed_seconds": 191.599808, "count": 3}`,
			edits: []docEdit{
				editSet(docAt(), "progress", NewInt(100)),
				editSet(docAt(), "count", mustParseDoc(tb, "4.0")),
				editSet(docAt(), "confidence", mustParseDoc(tb, "1e-7")),
			}},
		{name: "NaN and infinities", doc: `{"nan": NaN, "inf": Infinity, "ninf": -Infinity, "a": [NaN, -Infinity, Infinity]}`,
			edits: []docEdit{editSet(docAt(), "x", mustParseDoc(tb, "NaN")), editRemove(docAt("a"), 0)}},
		{name: "duplicate keys", doc: `{"a": 1, "b": 2, "a": 3, "c": {"d": 1, "d": {"e": 2}}}`,
			edits: []docEdit{editSet(docAt(), "a", NewInt(9)), editDelete(docAt(), "b"), editSet(docAt(), "b", NewString("back at the end"))}},
		{name: "duplicate keys by escape", doc: `{"a": 1, "\u0061": 2, "é": 1, "\u00e9": 2, "\u00E9": 3, "😀": 1, "\ud83d\ude00": 2, "\/": 1, "/": 2}`,
			edits: []docEdit{editSet(docAt(), "é", NewString("set"))}},
		{name: "duplicate keys many", doc: manyKeysDoc(40, true),
			edits: []docEdit{editSet(docAt(), "k7", NewInt(-7)), editDelete(docAt(), "k30")}},
		{name: "whitespace", doc: " \t\r\n{ \"a\" : [ 1 ,2,\n3 ] ,\"b\":{ } ,\r\n\"c\"\t:\"d\" }\r\n ",
			edits: []docEdit{editAppend(docAt("a"), NewInt(4))}},
		{name: "compact", doc: `{"a":[1,2,{"b":null}],"c":true,"d":false}`,
			edits: []docEdit{editSet(docAt("a", 2), "b", NewBool(true)), editSet(docAt(), "c", NewNull())}},
		{name: "top-level string", doc: `"x"`},
		{name: "top-level escaped string", doc: `"\u00e9\u0000\ud800"`},
		{name: "top-level integer", doc: ` 42 `},
		{name: "top-level minus zero", doc: `-0`},
		{name: "top-level float", doc: "1.50\n"},
		{name: "top-level true", doc: `true`},
		{name: "top-level false", doc: `false`},
		{name: "top-level null", doc: `null`},
		{name: "top-level NaN", doc: `NaN`},
		{name: "top-level -Infinity", doc: `-Infinity`},
		{name: "constructed values", doc: `{"keep": "\u00e9"}`,
			edits: []docEdit{
				editSet(docAt(), "obj", constructed),
				editSet(docAt(), "ascii", NewString("plain ascii ~")),
				editSet(docAt(), "controls", NewString(string([]byte{0, 1, 2, 0x1f, 0x7f}))),
				editSet(docAt(), "bmp", NewString("\u0100\u07ff\u0800\ud7ff\ue000\ufeff")),
				editSet(docAt(), "astral", NewString("\U00010000\U0001F600\U0010FFFF")),
			}},
	}
}

// manyKeysDoc makes an object long enough for the parser's key index, with
// every key given twice when dup is set.
func manyKeysDoc(n int, dup bool) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"k%d": %d`, i, i)
	}
	if dup {
		for i := n - 1; i >= 0; i-- {
			fmt.Fprintf(&b, `, "\u006b%d": %d`, i, -i)
		}
	}
	b.WriteString("}")
	return b.String()
}

func TestDocumentEditsMatchPython(t *testing.T) {
	o := newOracle(t)
	for _, tc := range editCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			// The unedited document first, then after each edit in turn.
			for n := 0; n <= len(tc.edits); n++ {
				v := mustParseDoc(t, tc.doc)
				var py []oracleEdit
				for _, e := range tc.edits[:n] {
					e.apply(t, v)
					py = append(py, e.forPython())
				}
				want := o.query(t, []byte(tc.doc), py)
				if !want.OK {
					t.Fatalf("python failed after %d edits: %s: %s", n, want.Kind, want.Msg)
				}
				if got := Encode(v); !bytes.Equal(got, want.Out) {
					t.Fatalf("after %d edits, got Go != want Python:\n%s", n, docDiff(got, want.Out))
				}
				checkSpliced(t, []byte(tc.doc), tc.edits[:n], want.Out)
			}
		})
	}
	t.Run("fixture ghost repair", func(t *testing.T) {
		for _, path := range docFixtureFiles(t) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			v := mustParseDoc(t, string(src))
			agents := v.Get("agents")
			if agents.Kind() != Array || agents.Len() < 2 {
				continue // the global registry, or a task with one agent
			}
			edits := []docEdit{
				editSet(docAt("agents", 1), "status", NewString("terminated")),
				editSet(docAt("agents", 1), "termination_reason", NewString("session_not_found")),
				editSet(docAt(), "active_count", NewInt(0)),
				editRemove(docAt("agents"), 0),
				editAppend(docAt("agents"), NewString("é")),
				editDelete(docAt(), "status"),
			}
			var py []oracleEdit
			for _, e := range edits {
				e.apply(t, v)
				py = append(py, e.forPython())
			}
			want := o.query(t, src, py)
			if !want.OK {
				t.Fatalf("%s: python failed: %s", path, want.Msg)
			}
			if got := Encode(v); !bytes.Equal(got, want.Out) {
				t.Errorf("%s: got Go != want Python:\n%s", filepath.Base(filepath.Dir(path)), docDiff(got, want.Out))
			}
			checkSpliced(t, src, edits, want.Out)
		}
	})
}

// checkSyntaxError compares Go's error for data with Python's verdict.
// Python counts pos in characters of the decoded text; Go's Offset counts
// bytes (what a caller slicing the []byte needs), so Offset is compared with
// the UTF-8 length of text[:pos]. Line and Column agree exactly.
func checkSyntaxError(t *testing.T, data []byte, err error, py oracleReply) {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Parse(%q) error %T %v, want *SyntaxError", data, err, err)
	}
	switch py.Kind {
	case "syntax":
		if se.Msg != py.Msg || se.Line != py.Lineno || se.Column != py.Colno || se.Offset != py.BytePos {
			t.Fatalf("Parse(%q):\n got %q line %d column %d offset %d\nwant %q line %d column %d offset %d (python char %d)",
				data, se.Msg, se.Line, se.Column, se.Offset, py.Msg, py.Lineno, py.Colno, py.BytePos, py.Pos)
		}
	case "unicode":
		if se.Offset != py.BytePos {
			t.Fatalf("Parse(%q): got invalid UTF-8 at offset %d, want %d (%s)", data, se.Offset, py.BytePos, py.Msg)
		}
	default:
		t.Fatalf("Parse(%q) = %v, python: %s %s", data, err, py.Kind, py.Msg)
	}
}

var syntaxErrorCases = []struct{ name, doc string }{
	{"empty", ""},
	{"only whitespace", " \n\t "},
	{"not JSON", "hello world"},
	{"not JSON multi-line", "#!/bin/sh\necho hi\n"},
	{"partial literal", "nul"},
	{"wrong case literal", "True"},
	{"open array", "["},
	{"open object", "{"},
	{"key without colon", `{"a"`},
	{"key and colon", `{"a":`},
	{"missing close", `{"a":1`},
	{"trailing comma object", `{"a":1,}`},
	{"trailing comma array", `[1,]`},
	{"open after comma", `[1,`},
	{"missing comma", `[1 2]`},
	{"unquoted key", `{a: 1}`},
	{"single quotes", `{'a': 1}`},
	{"numeric key", `{1: 2}`},
	{"unterminated string", `"abc`},
	{"unterminated after escape", `"\`},
	{"short unicode escape", `"\u12`},
	{"unicode escape at end", `"\u0041`},
	{"bad unicode escape", `"\u12g4"`},
	{"bad second surrogate escape", `"\ud800\u12"`},
	{"bad escape", `"\x"`},
	{"raw newline in string", "\"a\nb\""},
	{"raw tab in string", "[\"a\tb\"]"},
	{"trailing garbage", `{"a": 1}x`},
	{"two documents", "{\"a\": 1}\n{\"b\": 2}"},
	{"trailing close", "{\"a\": [1]}\n]}"},
	{"BOM", "\ufeff{}"},
	{"lone minus", "-"},
	{"minus letter", "-x"},
	{"leading zero", "01"},
	{"bare dot", "1."},
	{"leading dot", ".5"},
	{"plus sign", "+1"},
	{"exponent only", "1e"},
	{"NaN garbage", "NaNx"},
	{"minus NaN", "-NaN"},
	{"minus Inf", "[-Inf]"},
	{"non-ASCII before error", `{"é": x}`},
	{"non-ASCII line", "{\n  \"名前\": \"😀\",\n  \"b\": tru\n}"},
	{"error on third line", "[\n1,\n2 x]"},
	{"NUL byte", "\x00"},
	{"invalid UTF-8", "[\"a\xff\"]"},
	{"truncated UTF-8", "\"\xe2\x82"},
	{"encoded surrogate", "\"\xed\xa0\x80\""},
	{"overlong UTF-8", "\"\xc0\xaf\""},
}

func TestDocumentErrorsMatchPython(t *testing.T) {
	o := newOracle(t)
	for _, tc := range syntaxErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.doc)
			v, err := Parse(data)
			py := o.query(t, data, nil)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error (python: %s %s)", data, Encode(v), py.Kind, py.Msg)
			}
			checkSyntaxError(t, data, err, py)
		})
	}
	// Torn and overlong writes of whole registries: every cut of a small
	// generated registry, and cuts of the real ones.
	docs := map[string][]byte{"generated": Encode(genTaskDoc(1))}
	t.Run("fixtures", func(t *testing.T) {
		for _, path := range docFixtureFiles(t) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			docs[filepath.Base(filepath.Dir(path))] = src
		}
	})
	for name, src := range docs {
		t.Run("torn "+name, func(t *testing.T) {
			step := 1
			if name != "generated" {
				step = 97
			}
			var cuts [][]byte
			for n := 0; n < len(src); n += step {
				cuts = append(cuts, src[:n])
			}
			cuts = append(cuts,
				src[:len(src)-1],
				append(append([]byte{}, src...), "\n}"...),
				append(append([]byte{}, src...), src[len(src)/2:]...),
				append(append([]byte{}, src...), "\x00\x00\x00"...),
			)
			for _, data := range cuts {
				_, err := Parse(data)
				if err == nil {
					t.Fatalf("Parse of a torn document (%d of %d bytes) succeeded", len(data), len(src))
				}
				checkSyntaxError(t, data, err, o.query(t, data, nil))
			}
		})
	}
}

func TestDocumentAccessors(t *testing.T) {
	v := mustParseDoc(t, `{"s": "a\n\u00e9\ud83d\ude00", "lone": "\ud800x", "p": "plain", "i": -42, "big": 123456789012345678901234567890, "f": 1.50, "b": true, "n": null, "a": [1, "x"], "a": [2], "\u0062": false}`)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"Keys keep first position of a duplicate", strings.Join(v.Keys(), ","), "s,lone,p,i,big,f,b,n,a"},
		{"duplicate takes last value", v.Get("a").Len(), 1},
		{"escaped duplicate key", v.Get("b").String(), "false"},
		{"Str decodes escapes", v.Get("s").StrOr("?"), "a\né😀"},
		{"Str of lone surrogate", v.Get("lone").StrOr("?"), "\ufffdx"},
		{"Str of plain", v.Get("p").StrOr("?"), "plain"},
		{"StrOr of non-string", v.Get("i").StrOr("def"), "def"},
		{"Int", fmt.Sprint(v.Get("i").Int()), "-42 true"},
		{"Int of big", fmt.Sprint(v.Get("big").Int()), "0 false"},
		{"Int of float", fmt.Sprint(v.Get("f").Int()), "0 false"},
		{"NumberText keeps source", v.Get("f").NumberText(), "1.50"},
		{"BoolValue", fmt.Sprint(v.Get("b").BoolValue()), "false true"},
		{"IsNull of null", v.Get("n").IsNull(), true},
		{"IsNull of missing", v.Get("missing").IsNull(), true},
		{"Has null member", v.Has("n"), true},
		{"Kind of missing", v.Get("missing").Kind(), Null},
		{"Index out of range", v.Get("a").Index(5) == nil, true},
		{"Index of non-array", v.Index(0) == nil, true},
		{"Get of non-object", v.Get("a").Get("x") == nil, true},
		{"Len of scalar", v.Get("i").Len(), 0},
		{"String of number", v.Get("f").String(), "1.5"},
		{"Kind names", fmt.Sprint(Null, Bool, Number, String, Array, Object, Kind(9)), "null bool number string array object kind(9)"},
		{"Delete missing", v.Delete("missing"), false},
		{"RemoveAt out of range", v.Get("a").RemoveAt(1), false},
		{"Delete on array", v.Get("a").Delete("x"), false},
		{"Set nil is null", func() string { o := NewObject(); o.Set("x", nil); return string(Encode(o)) }(), "{\n  \"x\": null\n}"},
		{"Encode nil", string(Encode(nil)), "null"},
		{"zero Value is null", string(Encode(&Value{})), "null"},
		{"NewArray of nothing", string(Encode(NewArray())), "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}

	t.Run("Clone is deep", func(t *testing.T) {
		c := v.Clone()
		c.Get("a").Append(NewInt(3))
		c.Set("s", NewString("changed"))
		if v.Get("a").Len() != 1 || v.Get("s").StrOr("") != "a\né😀" {
			t.Errorf("editing a clone changed the original: %s", Encode(v))
		}
		if Equal(v, c) {
			t.Error("Equal(original, edited clone) = true, want false")
		}
		if !Equal(v, v.Clone()) {
			t.Error("Equal(v, v.Clone()) = false, want true")
		}
	})
	t.Run("Set panics on non-object", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("Set on an array did not panic")
			}
		}()
		NewArray().Set("x", NewNull())
	})
	t.Run("Append panics on non-array", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("Append on an object did not panic")
			}
		}()
		NewObject().Append(NewNull())
	})
}

func TestDocumentDeepNesting(t *testing.T) {
	// Python gives up near 1,000 levels (RecursionError); the parser goes
	// to maxDepth, just below, and then reports an error rather than
	// exhausting the stack.
	if _, err := Parse([]byte(nestedDoc(maxDepth, "1"))); err != nil {
		t.Fatalf("Parse of %d levels: %v", maxDepth, err)
	}
	_, err := Parse([]byte(nestedDoc(maxDepth+1, "1")))
	var se *SyntaxError
	if !errors.As(err, &se) || !strings.HasPrefix(se.Msg, "Nesting too deep") {
		t.Fatalf("Parse of %d levels: got %v, want Nesting too deep", maxDepth+1, err)
	}
	// The deepest document the parser accepts survives a round trip.
	const depth = maxDepth
	v := mustParseDoc(t, nestedDoc(depth, "1"))
	if v2, err := Parse(Encode(v)); err != nil || !Equal(v, v2) {
		t.Fatalf("%d levels do not survive Encode and Parse: %v", depth, err)
	}
}

// benchPrompt is a prompt as long as the orchestrator stores when it keeps
// whole prompts: paragraphs, indented lists, quotes and some non-ASCII.
var benchPrompt = strings.Repeat("You are investigating the current agent deployment and output capture implementation.\n\n"+
	"YOUR MISSION:\n1. Analyze real_mcp_server.py to understand:\n   - How deploy_headless_agent currently works\n"+
	"   - How \"tmux capture-pane\" is used — and why it loses output\t(see notes)\n", 6)

// genTaskDoc builds an AGENT_REGISTRY.json shaped like the field's,
// with n agents.
func genTaskDoc(n int) *Value {
	doc := NewObject()
	doc.Set("task_id", NewString("TASK-20251017-215604-df6a3cbd"))
	doc.Set("task_description", NewString("Implement persistent JSONL stream logs for each agent"))
	doc.Set("created_at", NewString("2025-10-17T21:56:04.181365"))
	doc.Set("workspace", NewString("${workspaceFolder}/.agent-workspace/TASK-20251017-215604-df6a3cbd"))
	doc.Set("workspace_base", NewString("${workspaceFolder}/.agent-workspace"))
	doc.Set("client_cwd", NewNull())
	doc.Set("status", NewString("INITIALIZED"))
	doc.Set("priority", NewString("P1"))
	agents := NewArray()
	children := NewArray()
	for i := range n {
		id := fmt.Sprintf("investigator_%d-%02d%02d%02d-%06x", i%5, 21+i/3600%3, i/60%60, i%60, (i*2654435761)&0xffffff)
		a := NewObject()
		a.Set("id", NewString(id))
		a.Set("type", NewString(fmt.Sprintf("investigator_%d", i%5)))
		a.Set("tmux_session", NewString("agent_"+id))
		a.Set("parent", NewString("orchestrator"))
		a.Set("depth", NewInt(1))
		a.Set("status", NewString([]string{"running", "completed", "terminated", "working"}[i%4]))
		a.Set("started_at", NewString("2025-10-17T21:56:39.948962"))
		a.Set("progress", NewInt(int64(i%101)))
		a.Set("last_update", NewString("2025-10-17T21:59:51.549066"))
		a.Set("prompt", NewString(benchPrompt))
		files := NewObject()
		for _, f := range []string{"prompt_file", "log_file", "progress_file", "findings_file", "deploy_log"} {
			files.Set(f, NewString("${workspaceFolder}/.agent-workspace/TASK-20251017-215604-df6a3cbd/logs/"+id+"_"+f+".jsonl"))
		}
		a.Set("tracked_files", files)
		if i%4 == 1 {
			cv := NewObject()
			cv.Set("confidence", parseValue("1.0"))
			cv.Set("warnings", NewArray())
			cv.Set("elapsed_seconds", parseValue("191.599808"))
			cv.Set("validated_at", NewString("2025-10-17T21:59:51.551036"))
			a.Set("completion_validation", cv)
			a.Set("completed_at", NewString("2025-10-17T21:59:51.551133"))
		}
		agents.Append(a)
		children.Append(NewString(id))
	}
	doc.Set("agents", agents)
	hier := NewObject()
	hier.Set("orchestrator", children)
	doc.Set("agent_hierarchy", hier)
	doc.Set("max_agents", NewInt(45))
	doc.Set("total_spawned", NewInt(int64(n)))
	doc.Set("active_count", NewInt(int64(n/2)))
	doc.Set("completed_count", NewInt(int64(n/4)))
	checks := NewObject()
	checks.Set("enabled", NewBool(true))
	checks.Set("violations", NewInt(0))
	doc.Set("spiral_checks", checks)
	return doc
}

// parseValue parses a JSON text that the test itself wrote, for the
// generators, which have no testing.TB to fail.
func parseValue(s string) *Value {
	v, err := Parse([]byte(s))
	if err != nil {
		panic(err)
	}
	return v
}

func BenchmarkParse(b *testing.B) {
	src := Encode(genTaskDoc(10000))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	src := Encode(genTaskDoc(10000))
	v, err := Parse(src)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		Encode(v)
	}
}

// docGen makes random documents that stress the places where Go must agree
// with Python: float formatting, big integers, escapes, surrogates, and
// keys that are equal once decoded.
type docGen struct{ r *rand.Rand }

func (g docGen) number() string {
	r := g.r
	switch r.IntN(8) {
	case 0: // any float64, written in a random form
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "NaN"
		}
		return strconv.FormatFloat(f, "eEfg"[r.IntN(4)], r.IntN(20)-1, 64)
	case 1: // random digits with a random exponent, near the limits too
		return strconv.Itoa(1+r.IntN(9)) + g.digits(r.IntN(25)) + "." + g.digits(1+r.IntN(25)) + "e" + strconv.Itoa(r.IntN(700)-350)
	case 2: // subnormals and the edges of the float range
		return []string{"5e-324", "2.4703282292062328e-324", "2.4703282292062327e-324", "4.9406564584124654e-324",
			"2.2250738585072011e-308", "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
			"9007199254740993", "9007199254740993.0", "0.1e1", "1e23", "8.41e21", "5e-7", "1e-5", "0.00001"}[r.IntN(16)]
	case 3: // integers of any length
		n := g.digits(1 + r.IntN(60))
		n = strings.TrimLeft(n, "0")
		if n == "" {
			n = "0"
		}
		if r.IntN(2) == 0 {
			n = "-" + n
		}
		return n
	case 4: // the exponent boundaries of Python's repr: 1e-5 .. 1e16
		return fmt.Sprintf("%s%de%d", []string{"", "-"}[r.IntN(2)], 1+r.IntN(9), r.IntN(26)-7)
	case 5: // decimals with few digits, like progress and confidence
		return fmt.Sprintf("%d.%s", r.IntN(1000), g.digits(1+r.IntN(8)))
	case 6:
		return []string{"-0", "-0.0", "0.0", "0e0", "-0e5", "1E5", "1.50", "1e400", "-1e400", "Infinity", "-Infinity", "NaN"}[r.IntN(12)]
	}
	return strconv.FormatFloat(r.Float64()*math.Pow(10, float64(r.IntN(40)-20)), 'g', -1, 64)
}

func (g docGen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

// body returns a string body with up to n pieces.
func (g docGen) body(n int) string {
	r := g.r
	var b strings.Builder
	for range r.IntN(n + 1) {
		switch r.IntN(10) {
		case 0:
			b.WriteString([]string{`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`}[r.IntN(8)])
		case 1: // any code unit, surrogates included, in either case of hex
			hex := fmt.Sprintf("%04x", r.IntN(0x10000))
			if r.IntN(2) == 0 {
				hex = strings.ToUpper(hex)
			}
			b.WriteString(`\u` + hex)
		case 2: // a surrogate pair, maybe broken
			hi, lo := 0xD800+r.IntN(0x400), 0xDC00+r.IntN(0x400)
			if r.IntN(4) == 0 {
				hi, lo = lo, hi
			}
			fmt.Fprintf(&b, `\u%04x\u%04X`, hi, lo)
		case 3: // a raw character outside ASCII
			b.WriteRune([]rune{'é', 'ß', '€', '漢', '😀', '\u2028', '\u00a0', '\ufeff', '\U0010FFFF', '\u007f'}[r.IntN(10)])
		case 4:
			b.WriteString(`\u00e9`)
		default:
			b.WriteByte(byte(' ' + r.IntN(95)))
			if b.Len() > 0 && strings.HasSuffix(b.String(), `\`) {
				b.WriteByte('\\')
			} else if strings.HasSuffix(b.String(), `"`) {
				s := b.String()
				b.Reset()
				b.WriteString(s[:len(s)-1] + `\"`)
			}
		}
	}
	return b.String()
}

// value returns a random document of at most the given depth.
func (g docGen) value(depth int) string {
	r := g.r
	k := r.IntN(8)
	if depth <= 0 {
		k = r.IntN(4)
	}
	switch k {
	case 0:
		return g.number()
	case 1:
		return `"` + g.body(8) + `"`
	case 2:
		return []string{"true", "false", "null"}[r.IntN(3)]
	case 3:
		return g.number()
	case 4, 5:
		var parts []string
		for range r.IntN(6) {
			parts = append(parts, g.value(depth-1))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	// Keys from a small set written in several ways, so that duplicates,
	// also ones spelled differently, are common.
	var parts []string
	for range r.IntN(7) {
		key := []string{"a", `\u0061`, "é", `\u00e9`, `\u00E9`, "😀", `\ud83d\ude00`, `\ud800`, `\ufffd`, "\ufffd", "", `\/`, "/", g.body(3)}[r.IntN(14)]
		parts = append(parts, `"`+key+`": `+g.value(depth-1))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func TestDocumentRandomMatchesPython(t *testing.T) {
	o := newOracle(t)
	g := docGen{rand.New(rand.NewPCG(1, 2))}
	for i := range 300 {
		var parts []string
		for range 20 {
			parts = append(parts, g.value(4))
		}
		doc := []byte("[" + strings.Join(parts, ",\n") + "]")
		v, err := Parse(doc)
		py := o.query(t, doc, nil)
		if !py.OK {
			t.Fatalf("document %d: python rejects it: %s (%s)\n%s", i, py.Msg, py.Kind, doc)
		}
		if err != nil {
			t.Fatalf("document %d: Parse: %v\n%s", i, err, doc)
		}
		if got := Encode(v); !bytes.Equal(got, py.Out) {
			t.Fatalf("document %d: got Go != want Python:\n%s", i, docDiff(got, py.Out))
		}
	}
}

// fieldPrompts are prompts as the orchestrator stores them: the first 200
// characters of the real prompt, then "...".
var fieldPrompts = []string{
	"You are investigating the current agent deployment and output capture implementation.\n\nYOUR MISSION:\n1. Analyze real_mcp_server.py to understand:\n   - How deploy_headless_agent currently works\n   - Ho...",
	"You are investigating where ${workspaceFolder} comes from and why it's not being expanded.\n\nYOUR MISSION:\n1. **Find the source of ${workspaceFolder}:**\n   - Check real_mcp_server.py line 38: WORKSPACE...",
	"You are designing the JSONL logging architecture for agent stream capture.\n\nYOUR MISSION:\n1. Design the JSONL log file structure:\n   - File location: .agent-workspace/TASK-XXX/logs/{agent_id}_stream.j...",
	"You are fixing the \"registry merge\" step: two writers race and one agent ends up listed twice.\n\nYOUR MISSION:\n1. Reproduce the race with two python3 writers under flock\n2. Keep the newest entry and d...",
}

// genFieldTaskDoc builds a task registry shaped like the real ones in the
// fixtures, with n agents: short prompts ending in "...", a full
// completion_validation on every completed agent, tracked_files on each.
func genFieldTaskDoc(n int) *Value {
	const task = "TASK-20251018-213115-d9cfa244"
	const ws = "${workspaceFolder}/.agent-workspace/" + task
	doc := NewObject()
	doc.Set("task_id", NewString(task))
	doc.Set("task_description", NewString("Fix ${workspaceFolder} variable expansion in workspace paths"))
	doc.Set("created_at", NewString("2025-10-18T21:31:15.605986"))
	doc.Set("workspace", NewString(ws))
	doc.Set("workspace_base", NewString("${workspaceFolder}/.agent-workspace"))
	doc.Set("client_cwd", NewNull())
	doc.Set("status", NewString("INITIALIZED"))
	doc.Set("priority", NewString("P0"))
	agents := NewArray()
	children := NewArray()
	kinds := []string{"workspace_path_investigator", "resolve_function_analyzer", "impact_assessor", "code_fixer", "post_fix_verifier"}
	active, completed := 0, 0
	for i := range n {
		kind := kinds[i%len(kinds)]
		id := fmt.Sprintf("%s-%02d%02d%02d-%06x", kind, 21+i/3600%3, i/60%60, i%60, (i*2654435761)&0xffffff)
		a := NewObject()
		a.Set("id", NewString(id))
		a.Set("type", NewString(kind))
		a.Set("tmux_session", NewString("agent_"+id))
		a.Set("parent", NewString("orchestrator"))
		a.Set("depth", NewInt(1))
		status := []string{"completed", "completed", "working", "running", "completed", "terminated"}[i%6]
		a.Set("status", NewString(status))
		a.Set("started_at", NewString(fmt.Sprintf("2025-10-18T21:%02d:%02d.%06d", i/60%60, i%60, i*7919%1000000)))
		a.Set("progress", NewInt(int64(map[string]int{"completed": 100, "working": 20, "running": 50, "terminated": 75}[status])))
		a.Set("last_update", NewString(fmt.Sprintf("2025-10-18T21:%02d:%02d.%06d", (i/60+2)%60, i%60, i*104729%1000000)))
		a.Set("prompt", NewString(fieldPrompts[i%len(fieldPrompts)]))
		files := NewObject()
		for _, f := range []string{"prompt_file", "log_file", "progress_file", "findings_file"} {
			files.Set(f, NewString(ws+"/logs/"+id+"_"+strings.TrimSuffix(f, "_file")+".jsonl"))
		}
		a.Set("tracked_files", files)
		switch status {
		case "completed":
			completed++
			a.Set("completion_validation", parseValue(fmt.Sprintf(`{
  "confidence": %s,
  "warnings": %s,
  "blocking_issues": [],
  "evidence_summary": {
    "workspace_evidence": {"modified_files_count": %d, "progress_entries_count": 4, "findings_count": %d},
    "type_specific": {},
    "message_validation": {"length": %d, "suspicious_phrases_found": [], "evidence_keywords_found": ["created", "documented"]},
    "progress_pattern": {"pattern": "normal", "elapsed_seconds": %d.%06d, "speed": "%s", "working_updates_count": 3}
  },
  "validated_at": "2025-10-18T21:33:45.123932"
}`, []string{"1.0", "0.9", "0.85"}[i%3], []string{`[]`, `["Completed in 116 seconds - suspiciously fast for quality work"]`}[i%2],
				i%40, i%5, 300+i%700, 60+i%400, i*31337%1000000, []string{"reasonable", "too_fast"}[i%2])))
			a.Set("completed_at", NewString("2025-10-18T21:33:45.124017"))
		case "working", "running":
			active++
		}
		agents.Append(a)
		children.Append(NewString(id))
	}
	doc.Set("agents", agents)
	hier := NewObject()
	hier.Set("orchestrator", children)
	doc.Set("agent_hierarchy", hier)
	doc.Set("max_agents", NewInt(45))
	doc.Set("max_depth", NewInt(5))
	doc.Set("max_concurrent", NewInt(20))
	doc.Set("total_spawned", NewInt(int64(n)))
	doc.Set("active_count", NewInt(int64(active)))
	doc.Set("completed_count", NewInt(int64(completed)))
	doc.Set("orchestration_guidance", parseValue(`{"min_specialization_depth": 2, "recommended_child_agents_per_parent": 3, "specialization_domains": [], "complexity_score": 1}`))
	doc.Set("spiral_checks", parseValue(`{"enabled": true, "last_check": "2025-10-18T21:31:15.606030", "violations": 0}`))
	return doc
}

// BenchmarkDecodeEncodeTask10k is a repair's in-memory cost on a task
// registry of 10,000 agents: parse the bytes, mark one agent terminated,
// encode the document again.
func BenchmarkDecodeEncodeTask10k(b *testing.B) {
	src := Encode(genFieldTaskDoc(10000))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		v, err := Parse(src)
		if err != nil {
			b.Fatal(err)
		}
		v.Get("agents").Index(5000).Set("status", NewString("terminated"))
		if out := Encode(v); len(out) < len(src) {
			b.Fatalf("encoding shrank from %d to %d bytes", len(src), len(out))
		}
	}
}

// encodeCounts encodes v as Encode does and reports how many containers
// were copied whole from their source text and how many were written
// member by member.
func encodeCounts(v *Value) (out []byte, copied, written int) {
	var e encoder
	e.value(v, 0)
	return e.b, e.copied, e.written
}

// freshEncoding writes v at depth without copying any source text: every
// flag that lets Encode copy is dropped from a deep copy first.
func freshEncoding(v *Value, depth int) string {
	var strip func(v *Value) *Value
	strip = func(v *Value) *Value {
		if v == nil {
			return nil
		}
		c := *v
		c.canon = false
		if v.kids != nil {
			k := kids{}
			for _, m := range v.kids.members {
				m.Value = strip(m.Value)
				k.members = append(k.members, m)
			}
			for _, e := range v.kids.elems {
				k.elems = append(k.elems, strip(e))
			}
			c.kids = &k
		}
		return &c
	}
	var e encoder
	e.value(strip(v), depth)
	return string(e.b)
}

// checkCanonFlags checks that Parse marked as canonical exactly the values
// of v (parsed at depth) whose text is what Python writes for them there.
func checkCanonFlags(t *testing.T, v *Value, depth int) {
	t.Helper()
	var want bool
	switch v.Kind() {
	case Object, Array:
		want = freshEncoding(v, depth) == v.text
		if int(v.depth) != depth {
			t.Fatalf("container %.40q parsed at depth %d, recorded %d", v.text, depth, v.depth)
		}
	case String:
		want = `"`+v.text+`"` == freshEncoding(v, depth)
	default:
		want = v.text == freshEncoding(v, depth)
	}
	if v.canon != want {
		t.Fatalf("%s %.60q at depth %d: canon = %v, want %v (Python writes %.60q)", v.Kind(), v.text, depth, v.canon, want, freshEncoding(v, depth))
	}
	for _, m := range v.Members() {
		checkCanonFlags(t, m.Value, depth+1)
	}
	for _, e := range v.Elems() {
		checkCanonFlags(t, e, depth+1)
	}
}

// countContainers counts the containers in v, and the empty ones.
func countContainers(v *Value) (all, empty int) {
	switch v.Kind() {
	case Object, Array:
		all++
		if v.Len() == 0 {
			empty++
		}
	}
	for _, m := range v.Members() {
		a, e := countContainers(m.Value)
		all, empty = all+a, empty+e
	}
	for _, el := range v.Elems() {
		a, e := countContainers(el)
		all, empty = all+a, empty+e
	}
	return all, empty
}

// countSpread counts the containers in v that have two children or more,
// or hold such a container; spread reports whether v is one.
func countSpread(v *Value) (n int, spread bool) {
	spread = v.Len() >= 2
	for _, m := range v.Members() {
		c, s := countSpread(m.Value)
		n, spread = n+c, spread || s
	}
	for _, el := range v.Elems() {
		c, s := countSpread(el)
		n, spread = n+c, spread || s
	}
	if spread {
		n++
	}
	return n, spread
}

// A document Python wrote, unchanged, encodes by copying its text whole.
func TestDocumentRoundTripCopiesUnchanged(t *testing.T) {
	docs := map[string][]byte{
		"generated field registry": Encode(genFieldTaskDoc(30)),
		"generated long prompts":   Encode(genTaskDoc(3)),
		"edit case":                Encode(mustParseDoc(t, smallTaskDoc)),
	}
	t.Run("fixtures", func(t *testing.T) {
		root := docFixtureDir(t)
		for _, path := range docFixtureFiles(t) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			name, _ := filepath.Rel(root, path)
			docs[name] = src
		}
	})
	for name, src := range docs {
		t.Run(name, func(t *testing.T) {
			v := mustParseDoc(t, string(src))
			for _, w := range []struct {
				name string
				v    *Value
			}{{"parsed", v}, {"clone", v.Clone()}} {
				got, copied, written := encodeCounts(w.v)
				if !bytes.Equal(got, src) {
					t.Fatalf("%s: Encode differs from the source:\n%s", w.name, docDiff(got, src))
				}
				if copied != 1 || written != 0 {
					t.Errorf("%s: got %d containers copied and %d written, want the root copied whole", w.name, copied, written)
				}
			}
			checkCanonFlags(t, v, 0)
			// The copy is Encode's own: changing it changes nothing else.
			out := Encode(v)
			out[0] = 'x'
			if again := Encode(v); !bytes.Equal(again, src) {
				t.Fatal("Encode returned the source's memory")
			}
		})
	}
}

// fieldEditCase is an edit of a parsed field registry, built from the
// parsed document itself (moves and in-place stores need its values).
type fieldEditCase struct {
	name  string
	edits func(root *Value) []docEdit
	// written is the number of containers Encode must write member by
	// member afterwards: those on the edits' paths and the new ones. All
	// others are copied.
	written int
}

func fieldEditCases(tb testing.TB) []fieldEditCase {
	pp := docAt("agents", 7, "completion_validation", "evidence_summary", "progress_pattern")
	return []fieldEditCase{
		{"set a scalar five levels down", func(*Value) []docEdit {
			return []docEdit{editSet(pp, "speed", NewString("slow"))}
		}, 6},
		{"add a key five levels down", func(*Value) []docEdit {
			return []docEdit{editSet(pp, "note", NewString("naïve — “ok”"))}
		}, 6},
		{"delete a key", func(*Value) []docEdit {
			return []docEdit{editDelete(docAt("agents", 7, "tracked_files"), "log_file")}
		}, 4},
		{"delete the last key", func(*Value) []docEdit {
			return []docEdit{editDelete(docAt("agents", 7, "completion_validation"), "validated_at")}
		}, 4},
		{"append to an array", func(*Value) []docEdit {
			return []docEdit{editAppend(docAt("agents", 7, "completion_validation", "warnings"), NewString("late"))}
		}, 5},
		{"append an empty object to an empty array", func(*Value) []docEdit {
			return []docEdit{editAppend(docAt("agents", 7, "completion_validation", "blocking_issues"), NewObject())}
		}, 6},
		{"empty an array", func(*Value) []docEdit {
			return []docEdit{editRemove(docAt("agents", 7, "completion_validation", "warnings"), 0)}
		}, 5},
		{"remove from the hierarchy", func(*Value) []docEdit {
			return []docEdit{editRemove(docAt("agent_hierarchy", "orchestrator"), 3)}
		}, 3},
		{"remove the first agent", func(*Value) []docEdit {
			return []docEdit{editRemove(docAt("agents"), 0)}
		}, 2},
		{"remove the last agent", func(r *Value) []docEdit {
			return []docEdit{editRemove(docAt("agents"), r.Get("agents").Len()-1)}
		}, 2},
		{"set a root counter", func(*Value) []docEdit {
			return []docEdit{editSet(docAt(), "active_count", NewInt(3))}
		}, 1},
		{"ghost repair of two agents", func(*Value) []docEdit {
			return []docEdit{
				editSet(docAt("agents", 2), "status", NewString("terminated")),
				editSet(docAt("agents", 2), "termination_reason", NewString("session_not_found")),
				editSet(docAt("agents", 9), "status", NewString("terminated")),
				editSet(docAt(), "active_count", NewInt(0)),
			}
		}, 4},
		{"set a key to its own value", func(r *Value) []docEdit {
			return []docEdit{editSet(docAt("agents", 4), "status", r.Get("agents").Index(4).Get("status"))}
		}, 3},
		{"replace an element in place", func(*Value) []docEdit {
			return []docEdit{{path: docAt("agents"), op: "put", index: 4, val: NewString("gone")}}
		}, 2},
		{"replace an element in place with its sibling", func(r *Value) []docEdit {
			return []docEdit{{path: docAt("agents"), op: "put", index: 2, val: r.Get("agents").Index(3)}}
		}, 2},
		{"replace an element in place with a clone of itself", func(r *Value) []docEdit {
			return []docEdit{{path: docAt("agents"), op: "put", index: 2, val: r.Get("agents").Index(2).Clone()}}
		}, 0},
		{"replace a member's value in place", func(*Value) []docEdit {
			return []docEdit{{path: docAt("agents", 5), op: "inplace", key: "status", val: NewString("terminated")}}
		}, 3},
		{"replace a member's value in place with a same-length one", func(r *Value) []docEdit {
			return []docEdit{{path: docAt("agents", 5), op: "inplace", key: "depth", val: parseValue("7")}}
		}, 3},
		{"replace a member's value in place with a parsed value from elsewhere", func(r *Value) []docEdit {
			a := r.Get("agents").Index(5)
			return []docEdit{{path: docAt("agents", 5), op: "inplace", key: "started_at", val: a.Get("last_update")}}
		}, 3},
		{"replace a container in place with one of its children", func(r *Value) []docEdit {
			cv := r.Get("agents").Index(7).Get("completion_validation")
			return []docEdit{{path: docAt("agents", 7), op: "inplace", key: "completion_validation", val: cv.Get("evidence_summary")}}
		}, 3 + 7}, // the moved subtree, one level up from where it was parsed, is written whole
		{"move a subtree to the root", func(r *Value) []docEdit {
			return []docEdit{editSet(docAt(), "moved", r.Get("agents").Index(1).Get("tracked_files"))}
		}, 2},
		{"append a clone of an agent", func(r *Value) []docEdit {
			return []docEdit{editAppend(docAt("agents"), r.Get("agents").Index(2).Clone())}
		}, 2},
		{"append a parsed agent at another depth", func(r *Value) []docEdit {
			return []docEdit{editAppend(docAt("agent_hierarchy", "orchestrator"), r.Get("agents").Index(1))}
		}, 3 + 12},
	}
}

// Each kind of edit deep in a registry Python wrote encodes as Python
// encodes it, and rewrites only the containers the edit implies.
func TestDocumentEditsReencodeOnlyTheirPath(t *testing.T) {
	o := newOracle(t)
	doc := genFieldTaskDoc(12)
	src := Encode(doc)
	if py := o.query(t, src, nil); !py.OK || !bytes.Equal(py.Out, src) {
		t.Fatalf("the generated registry is not what Python writes: %s", py.Msg)
	}
	for _, tc := range fieldEditCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			v := mustParseDoc(t, string(src))
			var py []oracleEdit
			for _, e := range tc.edits(v) {
				py = append(py, e.forPython())
				e.apply(t, v)
			}
			want := o.query(t, src, py)
			if !want.OK {
				t.Fatalf("python failed: %s: %s", want.Kind, want.Msg)
			}
			got, copied, written := encodeCounts(v)
			if !bytes.Equal(got, want.Out) {
				t.Fatalf("got Go != want Python:\n%s", docDiff(got, want.Out))
			}
			if written != tc.written {
				t.Errorf("got %d containers written (%d copied), want %d", written, copied, tc.written)
			}
			if c := Encode(v.Clone()); !bytes.Equal(c, got) {
				t.Errorf("Encode(Clone) differs:\n%s", docDiff(c, got))
			}
			// Parts encoded on their own are at another depth than parsed.
			for _, a := range v.Get("agents").Elems()[:3] {
				if got, want := Encode(a), freshEncoding(a, 0); string(got) != want {
					t.Errorf("Encode(agent) differs:\n%s", docDiff(got, []byte(want)))
				}
			}
		})
	}
}

// perturbAfter replaces the first old after marker in src with new.
func perturbAfter(tb testing.TB, src, marker, old, new string) string {
	tb.Helper()
	at := strings.Index(src, marker)
	if at < 0 {
		tb.Fatalf("no %q in the document", marker)
	}
	i := strings.Index(src[at:], old)
	if i < 0 {
		tb.Fatalf("no %q after %q", old, marker)
	}
	i += at
	return src[:i] + new + src[i+len(old):]
}

// perturbValue replaces the value of the first member key after marker in
// src, a number or literal, with tok.
func perturbValue(tb testing.TB, src, marker, key, tok string) string {
	tb.Helper()
	at := strings.Index(src, marker)
	if at < 0 {
		tb.Fatalf("no %q in the document", marker)
	}
	k := strings.Index(src[at:], `"`+key+`": `)
	if k < 0 {
		tb.Fatalf("no key %q after %q", key, marker)
	}
	i := at + k + len(key) + 4
	j := i + strings.IndexAny(src[i:], ",\n")
	return src[:i] + tok + src[j:]
}

// A source Python did not write that way is encoded as Python re-encodes
// it: a container is copied only when its text is already Python's.
func TestDocumentNonCanonicalSources(t *testing.T) {
	o := newOracle(t)
	doc := genFieldTaskDoc(4)
	note := NewObject()
	note.Set("text", NewString("café ✓ A/B 😀"))
	note.Set("ctl", NewString("\x7f\x00"))
	note.Set("empty", NewString(""))
	note.Set("", NewString("empty key"))
	doc.Get("agents").Index(1).Set("note", note)
	src := string(Encode(doc))
	if py := o.query(t, []byte(src), nil); !py.OK || py.Out == nil || string(py.Out) != src {
		t.Fatalf("the generated registry is not what Python writes: %s", py.Msg)
	}
	agent1 := `"id": "resolve_function_analyzer`
	pp := `"progress_pattern": {`
	// Every change below is inside agent 1 (or the root's spiral_checks);
	// written counts the containers from the root down to the changed one.
	cases := []struct {
		name, doc string
		written   int
	}{
		{"escaped slash", perturbAfter(t, src, agent1, "/logs/", `\/logs/`), 4},
		{"raw é", perturbAfter(t, src, agent1, `caf\u00e9`, "café"), 4},
		{"upper-case hex", perturbAfter(t, src, agent1, `caf\u00e9`, `caf\u00E9`), 4},
		{"escaped printable", perturbAfter(t, src, agent1, `A/B`, `\u0041/B`), 4},
		{"escaped newline spelled out", perturbAfter(t, src, agent1, `MISSION:\n`, `MISSION:\u000a`), 3},
		{"raw DEL", perturbAfter(t, src, agent1, `\u007f`, "\x7f"), 4},
		{"upper-case surrogates", perturbAfter(t, src, agent1, `\ud83d\ude00`, `\uD83D\uDE00`), 4},
		{"raw astral", perturbAfter(t, src, agent1, `\ud83d\ude00`, "😀"), 4},
		{"1E5", perturbValue(t, src, agent1, "elapsed_seconds", "1E5"), 6},
		{"trailing zero", perturbValue(t, src, agent1, "confidence", "1.00"), 4},
		{"exponent Python spells otherwise", perturbValue(t, src, agent1, "confidence", "1e-5"), 4},
		{"minus zero", perturbValue(t, src, `"spiral_checks"`, "violations", "-0"), 2},
		{"duplicate key", perturbAfter(t, src, agent1, `"log_file": `, `"log_file": "first", "log_file": `), 4},
		{"duplicate key by escape", perturbAfter(t, src, agent1, `"log_file": `, `"log_file": "first", "\u006cog_file": `), 4},
		{"indent too deep", perturbAfter(t, src, agent1, "\n        \"log_file\"", "\n          \"log_file\""), 4},
		{"indent too shallow", perturbAfter(t, src, agent1, "\n        \"log_file\"", "\n      \"log_file\""), 4},
		{"tab indent", perturbAfter(t, src, agent1, "\n        \"log_file\"", "\n\t\"log_file\""), 4},
		{"CRLF", perturbAfter(t, src, agent1, "\n        \"log_file\"", "\r\n        \"log_file\""), 4},
		{"space before colon", perturbAfter(t, src, agent1, `"log_file": `, `"log_file" : `), 4},
		{"no space after colon", perturbAfter(t, src, agent1, `"log_file": `, `"log_file":`), 4},
		{"two spaces after colon", perturbAfter(t, src, agent1, `"log_file": `, `"log_file":  `), 4},
		{"space after comma", perturbAfter(t, src, agent1, "\",\n        \"log_file\"", "\", \n        \"log_file\""), 4},
		{"space before comma", perturbAfter(t, src, agent1, "\",\n        \"log_file\"", "\" ,\n        \"log_file\""), 4},
		{"closing bracket misplaced", perturbAfter(t, src, agent1, "\n      },\n      \"completion_validation\"", " },\n      \"completion_validation\""), 4},
		{"empty object with a space", perturbAfter(t, src, agent1, `"type_specific": {}`, `"type_specific": { }`), 6},
		{"empty array with a newline", perturbAfter(t, src, agent1, `"blocking_issues": []`, "\"blocking_issues\": [\n        ]"), 5},
		{"compact object", perturbAfter(t, src, agent1, pp+"\n            \"pattern\": \"normal\",\n            ", pp+`"pattern":"normal",`), 6},
		{"whitespace around the document", "\n " + src + " \n", 0},
		// Canonical after all: copied whole.
		{"NaN", perturbValue(t, src, agent1, "elapsed_seconds", "NaN"), 0},
		{"-Infinity", perturbValue(t, src, agent1, "elapsed_seconds", "-Infinity"), 0},
		{"-0.0", perturbValue(t, src, agent1, "confidence", "-0.0"), 0},
		{"1e-05", perturbValue(t, src, agent1, "confidence", "1e-05"), 0},
		{"1e+16", perturbValue(t, src, agent1, "confidence", "1e+16"), 0},
		{"0.0001", perturbValue(t, src, agent1, "confidence", "0.0001"), 0},
		{"123456789012345.6", perturbValue(t, src, agent1, "confidence", "123456789012345.6"), 0},
		{"big integer", perturbValue(t, src, agent1, "depth", "-123456789012345678901234567890"), 0},
		{"lone surrogate", perturbAfter(t, src, agent1, `caf\u00e9`, `caf\ud800`), 0},
		{"escaped controls", perturbAfter(t, src, agent1, `caf\u00e9`, `\u0000\u001f\"\\\b\f\n\r\t\u007f\uffff`), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := mustParseDoc(t, tc.doc)
			want := o.query(t, []byte(tc.doc), nil)
			if !want.OK {
				t.Fatalf("python rejects the document: %s", want.Msg)
			}
			checkCanonFlags(t, v, 0)
			got, copied, written := encodeCounts(v)
			if !bytes.Equal(got, want.Out) {
				t.Fatalf("got Go != want Python:\n%s", docDiff(got, want.Out))
			}
			if written != tc.written {
				t.Errorf("got %d containers written (%d copied), want %d", written, copied, tc.written)
			}
		})
	}

	// Whole documents in another style: only empty containers, which
	// every style writes as Python does, can be copied.
	indent0, indent4 := 0, 4
	dumps := map[string]oracleDump{
		"indent=4":                   {Indent: &indent4, EnsureASCII: true},
		"indent=0":                   {Indent: &indent0, EnsureASCII: true},
		"compact":                    {Separators: []string{",", ":"}, EnsureASCII: true},
		"one line":                   {EnsureASCII: true},
		"indent=2, old separators":   {Indent: new(2), Separators: []string{", ", ": "}, EnsureASCII: true},
		"indent=2, ensure_ascii off": {Indent: new(2)},
	}
	for name, dump := range dumps {
		t.Run(name, func(t *testing.T) {
			alt := o.queryDump(t, []byte(src), nil, &dump).Alt
			v := mustParseDoc(t, string(alt))
			checkCanonFlags(t, v, 0)
			got, copied, written := encodeCounts(v)
			if !bytes.Equal(got, []byte(src)) {
				t.Fatalf("got Go != want Python:\n%s", docDiff(got, []byte(src)))
			}
			all, empty := countContainers(v)
			want := all - empty
			switch name {
			case "indent=2, ensure_ascii off":
				// Only the note and the containers around it hold raw text.
				want = 4
			case "indent=2, old separators":
				// ", " ends a line only between two children.
				want, _ = countSpread(v)
			}
			if written != want {
				t.Errorf("got %d containers written and %d copied, want %d written", written, copied, want)
			}
		})
	}
}

// Parse's canonical flags are exact for random documents, for Python's
// encoding of them, and for that encoding with whitespace and escapes
// disturbed; Encode then matches Python, and Python's own encoding is
// copied whole.
func TestDocumentRandomCanonFlags(t *testing.T) {
	o := newOracle(t)
	g := docGen{rand.New(rand.NewPCG(5, 6))}
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 150 {
		doc := []byte(g.value(5))
		py := o.query(t, doc, nil)
		if !py.OK {
			t.Fatalf("document %d: python rejects it: %s\n%s", i, py.Msg, doc)
		}
		checkCanonFlags(t, mustParseDoc(t, string(doc)), 0)
		v := mustParseDoc(t, string(py.Out))
		checkCanonFlags(t, v, 0)
		got, _, written := encodeCounts(v)
		if !bytes.Equal(got, py.Out) || written != 0 {
			t.Fatalf("document %d: Python's own encoding re-encoded (%d containers written):\n%s", i, written, docDiff(got, py.Out))
		}
		// Disturb Python's encoding in a few places.
		d := []byte(string(py.Out))
		for range 1 + r.IntN(3) {
			at := r.IntN(len(d) + 1)
			switch r.IntN(5) {
			case 0:
				d = append(d[:at], append([]byte(" "), d[at:]...)...)
			case 1:
				d = append(d[:at], append([]byte("\n  "), d[at:]...)...)
			case 2:
				if at < len(d) && (d[at] == ' ' || d[at] == '\n') {
					d = append(d[:at], d[at+1:]...)
				}
			case 3:
				if j := bytes.Index(d[at:], []byte(`\u`)); j >= 0 {
					copy(d[at+j+2:], bytes.ToUpper(d[at+j+2:at+j+6]))
				}
			case 4:
				if j := bytes.IndexByte(d[at:], '/'); j >= 0 {
					d = append(d[:at+j], append([]byte(`\`), d[at+j:]...)...)
				}
			}
		}
		want := o.query(t, d, nil)
		v2, err := Parse(d)
		if !want.OK {
			if err == nil {
				t.Fatalf("document %d: Go accepts what Python rejects: %q", i, d)
			}
			continue
		}
		if err != nil {
			t.Fatalf("document %d: Parse: %v\n%q", i, err, d)
		}
		checkCanonFlags(t, v2, 0)
		if got := Encode(v2); !bytes.Equal(got, want.Out) {
			t.Fatalf("document %d disturbed: got Go != want Python:\n%s", i, docDiff(got, want.Out))
		}
	}
}

// containerPaths lists the paths to every container in v.
func containerPaths(v *Value, path []any, out *[][]any) {
	switch v.Kind() {
	case Object:
		*out = append(*out, path)
		for _, m := range v.Members() {
			if !m.lossy {
				containerPaths(m.Value, append(path[:len(path):len(path)], m.Key), out)
			}
		}
	case Array:
		*out = append(*out, path)
		for i, e := range v.Elems() {
			containerPaths(e, append(path[:len(path):len(path)], i), out)
		}
	}
}

// Random edits of random documents that Python wrote match Python: the
// copying of unchanged parts around them never shows.
func TestDocumentRandomEditsMatchPython(t *testing.T) {
	o := newOracle(t)
	g := docGen{rand.New(rand.NewPCG(9, 10))}
	r := rand.New(rand.NewPCG(11, 12))
	for i := range 200 {
		var parts []string
		for range 4 {
			parts = append(parts, g.value(5))
		}
		py := o.query(t, []byte("["+strings.Join(parts, ", ")+"]"), nil)
		if !py.OK {
			t.Fatalf("document %d: python rejects it: %s", i, py.Msg)
		}
		src := py.Out
		v := mustParseDoc(t, string(src))
		var edits []docEdit
		var ops []oracleEdit
		for range 1 + r.IntN(4) {
			var paths [][]any
			containerPaths(v, nil, &paths)
			path := paths[r.IntN(len(paths))]
			target := v
			for _, p := range path {
				if k, ok := p.(string); ok {
					target = target.Get(k)
				} else {
					target = target.Index(p.(int))
				}
			}
			// A value: new, or parsed from elsewhere in the document.
			var val *Value
			switch r.IntN(3) {
			case 0:
				val = mustParseDoc(t, g.value(2))
			case 1:
				val = NewString(string(rune(r.IntN(0x300))) + "x")
			default:
				// A container of another parse, from anywhere in it.
				val = mustParseDoc(t, string(src))
				var others [][]any
				containerPaths(val, nil, &others)
				for _, s := range others[r.IntN(len(others))] {
					if k, ok := s.(string); ok {
						val = val.Get(k)
					} else {
						val = val.Index(s.(int))
					}
				}
			}
			var e docEdit
			n := target.Len()
			switch op := r.IntN(3); {
			case target.Kind() == Object && op == 0 && n > 0:
				m := target.Members()[r.IntN(n)]
				if m.lossy {
					continue
				}
				e = editDelete(path, m.Key)
			case target.Kind() == Object && op == 1 && n > 0:
				m := target.Members()[r.IntN(n)]
				if m.lossy {
					continue
				}
				e = docEdit{path: path, op: "inplace", key: m.Key, val: val}
			case target.Kind() == Object:
				e = editSet(path, []string{"a", "é", "new", ""}[r.IntN(4)], val)
			case op == 0 && n > 0:
				e = editRemove(path, r.IntN(n))
			case op == 1 && n > 0:
				e = docEdit{path: path, op: "put", index: r.IntN(n), val: val}
			default:
				e = editAppend(path, val)
			}
			ops = append(ops, e.forPython()) // before later edits change val
			e.apply(t, v)
			edits = append(edits, e)
		}
		want := o.query(t, src, ops)
		if !want.OK {
			if want.Kind == "recursion" {
				continue
			}
			t.Fatalf("document %d: python failed: %s: %s", i, want.Kind, want.Msg)
		}
		if got := Encode(v); !bytes.Equal(got, want.Out) {
			for _, e := range edits {
				t.Logf("edit %s %v key %q index %d val %.80s", e.op, e.path, e.key, e.index, Encode(e.val))
			}
			t.Logf("src:\n%s", src)
			t.Fatalf("document %d after %d edits: got Go != want Python:\n%s", i, len(edits), docDiff(got, want.Out))
		}
	}
}

// floatCanonical's shortcut agrees with formatting the float.
func TestDocumentFloatCanonical(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	g := docGen{r}
	var tokens []string
	for range 200000 {
		tokens = append(tokens, g.number())
	}
	for range 100000 { // short decimals, the shortcut's territory
		ip := strconv.Itoa(r.IntN(1000000))
		if r.IntN(3) == 0 {
			ip = "0"
		}
		tok := ip + "." + g.digits(1+r.IntN(17))
		if r.IntN(2) == 0 {
			tok = "-" + tok
		}
		tokens = append(tokens, tok, ip+".0", "0.000"+g.digits(1+r.IntN(14)))
	}
	tokens = append(tokens, "0.0", "-0.0", "123456789012345.0", "1234567890123456.0", "999999999999999.9",
		"0.1", "0.30000000000000004", "0.0001", "0.00010", "0.00001", "100.0", "1.5", "9007199254740993.0")
	for _, tok := range tokens {
		v, err := Parse([]byte(tok))
		if err != nil || v.Kind() != Number {
			continue
		}
		if !strings.ContainsAny(tok, ".eE") {
			continue
		}
		want := string(appendNumber(nil, tok)) == tok
		if got := floatCanonical(tok); got != want {
			t.Errorf("floatCanonical(%q) = %v, want %v (Python writes %s)", tok, got, want, appendNumber(nil, tok))
		}
	}
}

// A string is canonical exactly when Python writes its body as it stands,
// for every \u escape in both cases and every short escape.
func TestDocumentStringCanonical(t *testing.T) {
	var bodies []string
	for u := range 0x10000 {
		bodies = append(bodies, fmt.Sprintf(`\u%04x`, u), fmt.Sprintf(`\u%04X`, u))
	}
	for _, e := range []string{`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, "\x7f", "é", "😀", "~", " "} {
		bodies = append(bodies, e, "a"+e+"b")
	}
	for _, body := range bodies {
		v, err := Parse([]byte(`"` + body + `"`))
		if err != nil {
			t.Fatalf("Parse(%q): %v", body, err)
		}
		want := string(appendCanonicalBody(nil, body)) == body
		if v.canon != want {
			t.Errorf("body %q: canon = %v, want %v", body, v.canon, want)
		}
	}
}

// plainStop finds the first byte that is not plain text wherever it lies
// within the eight bytes it reads at a time.
func TestDocumentPlainStop(t *testing.T) {
	for _, c := range []byte{0, 0x1f, '"', '\\', 0x7f, 0x80, 0xff} {
		for n := range 20 {
			for start := range 3 {
				s := strings.Repeat("a ~!#[]{}", 3)[:n] + string(c) + "zzzzzzzzzzzz"
				if got := plainStop(s, min(start, n)); got != n {
					t.Errorf("plainStop(%q, %d) = %d, want %d", s, start, got, n)
				}
			}
		}
	}
	if got := plainStop("abc", 0); got != 3 {
		t.Errorf("plainStop of plain text = %d, want its length 3", got)
	}
}

// Encode only reads the tree: goroutines may encode one document at once,
// edited or not, as the TUI and a repair do with a shared snapshot.
func TestDocumentConcurrentEncode(t *testing.T) {
	src := Encode(genFieldTaskDoc(20))
	v := mustParseDoc(t, string(src))
	edited := mustParseDoc(t, string(src))
	edited.Get("agents").Index(3).Set("status", NewString("terminated"))
	want := Encode(edited)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if !bytes.Equal(Encode(v), src) || !bytes.Equal(Encode(edited), want) || !Equal(v, v.Clone()) {
					errs <- "an encoding differs when made concurrently"
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestParseSharedDoesNotCopy(t *testing.T) {
	data := []byte(`{"agents": [{"id": "a-1", "prompt": "a prompt long enough to matter"}]}`)
	v, err := ParseShared(data)
	if err != nil {
		t.Fatal(err)
	}
	prompt, _ := v.Get("agents").Index(0).Get("prompt").Str()
	at := bytes.Index(data, []byte(prompt))
	if at < 0 || unsafe.StringData(prompt) != &data[at] {
		t.Errorf("the prompt's text is a copy, want it to share the parsed bytes")
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if copied, _ := c.Get("agents").Index(0).Get("prompt").Str(); unsafe.StringData(copied) == &data[at] {
		t.Errorf("Parse shares the caller's bytes, want a copy: the caller may change them")
	}
}
