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
		if full, err := ParseShared(src); err == nil && len(got) < 1<<16 {
			checkReads(t, v, full, "")
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

// checkReads holds every read of got, a document ParseForEdit may have
// left unparsed, to the same read of want, its full parse: Len, Pairs, Get
// and Index, down the whole tree, through the values Pairs hands out.
func checkReads(t *testing.T, got, want *Value, path string) {
	t.Helper()
	if got.Kind() != want.Kind() || got.Len() != want.Len() || !bytes.Equal(Encode(got), Encode(want)) {
		t.Fatalf("%s: %s of %d, %.60q; want %s of %d, %.60q", path, got.Kind(), got.Len(), Encode(got), want.Kind(), want.Len(), Encode(want))
	}
	switch want.Kind() {
	case Object:
		var ms []Member
		for _, m := range want.Members() {
			if !m.lossy {
				ms = append(ms, m)
			}
		}
		i := 0
		for k, v := range got.Pairs() {
			if i >= len(ms) || k != ms[i].Key {
				t.Fatalf("%s: Pairs' key %d is %q, want the member's", path, i, k)
			}
			checkReads(t, v, ms[i].Value, path+"."+k)
			i++
		}
		if i != len(ms) {
			t.Fatalf("%s: Pairs gave %d members, want %d", path, i, len(ms))
		}
		for _, m := range ms {
			if g := got.Get(m.Key); !bytes.Equal(Encode(g), Encode(m.Value)) {
				t.Fatalf("%s: Get(%q) = %.60q, want %.60q", path, m.Key, Encode(g), Encode(m.Value))
			}
		}
	case Array:
		for i := range want.Len() {
			checkReads(t, got.Index(i), want.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		if got.Index(want.Len()) != nil || got.Index(-1) != nil {
			t.Fatalf("%s: Index out of range gave a value", path)
		}
	}
}

// An agent entry of a document ParseForEdit read stays its text while it
// is read, becomes its own when changed, and reads, changes and encodes as
// a full parse's does.
func TestParseForEditLeavesAgentEntriesInTheirText(t *testing.T) {
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
	if all, kept := countValues(full), countValues(v); kept*10 > all {
		t.Errorf("ParseForEdit holds %d values of the %d a full parse holds; want at most a tenth", kept, all)
	}
	entry, want := v.Get("agents").Index(7), full.Get("agents").Index(7)
	if entry.kids != nil {
		t.Fatalf("an agent entry was parsed")
	}
	// Reads of its fields leave it unparsed, and allocate little.
	i, ms := 0, want.Members()
	for k, val := range entry.Pairs() {
		if k != ms[i].Key || !bytes.Equal(Encode(val), Encode(ms[i].Value)) {
			t.Fatalf("Pairs' member %d: %s %s, want %s %s", i, k, Encode(val), ms[i].Key, Encode(ms[i].Value))
		}
		i++
	}
	if entry.Len() != len(ms) || entry.Get("id").StrOr("") != want.Get("id").StrOr("") || !bytes.Equal(Encode(entry), Encode(want)) {
		t.Fatalf("Len, Get or Encode of an unparsed entry differ from the full parse's")
	}
	if entry.kids != nil {
		t.Fatalf("reading an agent entry parsed it")
	}
	checkReads(t, entry, want, "agents[7]")
	other := v.Get("agents").Index(8)
	other.Get("status") // the spares' first use
	if n := testing.AllocsPerRun(20, func() {
		for range other.Pairs() {
		}
		other.Get("id")
	}); n > 1 && !raceDetector {
		t.Errorf("Pairs and a Get of an unparsed entry: %.0f allocations, want at most 1 (Get's copy)", n)
	}
	// What Pairs hands out is not the entry's: changing it panics rather
	// than be lost.
	for k, val := range v.Get("agents").Index(9).Pairs() {
		if val.Kind() == Object {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("Set on %s from Pairs did not panic", k)
					}
				}()
				val.Set("x", NewInt(1))
			}()
		}
	}
	// Stored into a document, what Pairs hands out is copied: it is still
	// the entry's fields after the memory it came from is used again, and
	// the copy is the document's to change.
	dst, arr := NewObject(), NewArray()
	var listed []*Value
	for k, val := range v.Get("agents").Index(9).Pairs() {
		dst.Set(k, val)
		arr.Append(val)
		listed = append(listed, NewArray(val))
	}
	v.Get("agents").Index(10).Len() // the peek's memory used again
	want9 := full.Get("agents").Index(9)
	if !bytes.Equal(Encode(dst), Encode(want9)) {
		t.Fatalf("an object set from Pairs:\n%s\nwant:\n%s", Encode(dst), Encode(want9))
	}
	for i, m := range want9.Members() {
		if !bytes.Equal(Encode(arr.Index(i)), Encode(m.Value)) || !bytes.Equal(Encode(listed[i].Index(0)), Encode(m.Value)) {
			t.Fatalf("Append or NewArray of Pairs' member %s: %s, %s", m.Key, Encode(arr.Index(i)), Encode(listed[i].Index(0)))
		}
	}
	dst.Get("tracked_files").Set("copy", NewBool(true)) // the copy is the document's
	// Members and Elems of a frozen value, whose slices are for changing
	// in place, panic.
	for _, val := range v.Get("agents").Index(11).Pairs() {
		if val.Kind() != Object {
			continue
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Members of a frozen value did not panic")
				}
			}()
			val.Members()
		}()
		if got := val.Keys(); len(got) != val.Len() {
			t.Errorf("Keys of a frozen value: %q, want %d", got, val.Len())
		}
	}
	// A container got by Get is the entry's own: the entry is parsed.
	entry.Get("tracked_files").Set("extra", NewString("x"))
	want.Get("tracked_files").Set("extra", NewString("x"))
	entry.Set("status", NewString("terminated"))
	want.Set("status", NewString("terminated"))
	if entry.kids == nil {
		t.Fatalf("a changed entry is still its text")
	}
	if got, want := EncodeSpliced(v, src).Bytes(), Encode(full); !bytes.Equal(got, want) {
		t.Fatalf("after the edits:\n%s", docDiff(got, want))
	}
	checkReads(t, v, full, "")
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
	if lazy, whole := allocs(ParseForEdit), allocs(ParseShared); lazy*5 > whole {
		t.Errorf("ParseForEdit allocated %d bytes, ParseShared %d; want at most a fifth", lazy, whole)
	}
}
