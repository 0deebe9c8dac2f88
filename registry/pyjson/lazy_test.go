package pyjson

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"unsafe"
)

// checkUnparsed holds a document parsed as ParseForEdit does, from every
// depth of lazyDepths, to its full parse's encoding got: encoded before
// any child is loaded and after every one is, with the canonical flags its
// unparsed containers were given checked against Python's encoding.
func checkUnparsed(t *testing.T, data, got []byte) {
	t.Helper()
	for _, from := range lazyDepths[1:] {
		src := bytes.Clone(data)
		v, err := parseLazy(src, unsafe.String(unsafe.SliceData(src), len(src)), from)
		if err != nil {
			t.Fatalf("unparsed from depth %d: %q failed where Parse did not: %v", from, data, err)
		}
		if e := Encode(v); !bytes.Equal(e, got) {
			t.Fatalf("unparsed from depth %d: Encode differs for %q:\n%s", from, data, docDiff(e, got))
		}
		if e := EncodeSpliced(v, src).Bytes(); !bytes.Equal(e, got) {
			t.Fatalf("unparsed from depth %d: EncodeSpliced differs for %q:\n%s", from, data, docDiff(e, got))
		}
		if len(got) < 1<<16 {
			checkCanonFlags(t, v, 0) // loads every child on its way
		} else {
			loadAll(v)
		}
		if e := Encode(v); !bytes.Equal(e, got) {
			t.Fatalf("unparsed from depth %d, all loaded: Encode differs for %q:\n%s", from, data, docDiff(e, got))
		}
	}
}

func loadAll(v *Value) {
	for _, m := range v.Members() {
		loadAll(m.Value)
	}
	for _, e := range v.Elems() {
		loadAll(e)
	}
}

// countValues counts the values a document holds in memory, its
// containers' unparsed children not included.
func countValues(v *Value) int {
	n := 1
	if v.kids == nil {
		return n
	}
	for _, m := range v.kids.members {
		n += countValues(m.Value)
	}
	for _, e := range v.kids.elems {
		n += countValues(e)
	}
	return n
}

// ParseForEdit keeps an agent entry's fields and leaves what is nested in
// them in its text: a repair's edit of an entry, or of a counter, loads
// only what it reaches, and the rest is copied from the source.
func TestParseForEditLeavesNestedFieldsInTheirText(t *testing.T) {
	// Entries as the orchestrator writes them: the files it tracks, and
	// a completed agent's validation, nested in each.
	doc := genTaskDoc(300)
	for i, e := range doc.Get("agents").Elems() {
		files := NewObject()
		for _, f := range []string{"prompt_file", "log_file", "progress_file", "findings_file", "deploy_log"} {
			files.Set(f, NewString(fmt.Sprintf("/ws/TASK-1/%s/agent-%d", f, i)))
		}
		e.Set("tracked_files", files)
		check := NewObject()
		check.Set("confidence", NewInt(1))
		check.Set("warnings", NewArray())
		check.Set("evidence", NewArray(NewString("tests pass"), NewString("findings written")))
		check.Set("counts", files.Clone())
		e.Set("completion_validation", check)
	}
	src := Encode(doc)
	full, err := ParseShared(src)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseForEdit(src)
	if err != nil {
		t.Fatal(err)
	}
	all, kept := countValues(full), countValues(v)
	if kept*2 > all {
		t.Errorf("ParseForEdit holds %d values of the %d a full parse holds; want at most half", kept, all)
	}
	entry := v.Get("agents").Index(7)
	var nested *Value
	for _, m := range entry.kids.members {
		if k := m.Value.Kind(); (k == Object || k == Array) && m.Value.text != "{}" && m.Value.text != "[]" {
			nested = m.Value
			break
		}
	}
	if nested == nil || nested.kids != nil {
		t.Fatalf("test data: an agent entry with a nested field left unparsed: %v", nested)
	}
	// An edit beside it leaves it unparsed; a read of it loads it.
	entry.Set("status", NewString("terminated"))
	if nested.kids != nil {
		t.Errorf("an edit beside a nested field loaded it")
	}
	n := nested.Len()
	if nested.kids == nil || n == 0 {
		t.Fatalf("Len of a nested field: %d, loaded %v", n, nested.kids != nil)
	}
	full.Get("agents").Index(7).Set("status", NewString("terminated"))
	if got, want := EncodeSpliced(v, src).Bytes(), Encode(full); !bytes.Equal(got, want) {
		t.Fatalf("after the edit:\n%s", docDiff(got, want))
	}
	// The memory the unparsed children's parse took went back: a document
	// of 300 entries is parsed in a fraction of the bytes a full parse takes.
	allocs := func(parse func([]byte) (*Value, error)) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		v, err := parse(src)
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(v)
		if err != nil {
			t.Fatal(err)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	if lazy, whole := allocs(ParseForEdit), allocs(ParseShared); lazy*5 > whole*3 {
		t.Errorf("ParseForEdit allocated %d bytes, ParseShared %d; want at most 60 %%", lazy, whole)
	}
}
