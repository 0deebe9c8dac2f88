package pyjson

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// lazyDepths are the depths the tests leave containers unparsed from, as
// ParseForEdit does from editDepth; 0 is ParseShared.
var lazyDepths = []int{0, 1, editDepth, editDepth + 1}

// checkSpliced parses doc with ParseShared and as ParseForEdit does from
// every depth in lazyDepths, applies edits, and holds Encode and
// EncodeSpliced to want (Python's bytes), the latter through every way of
// reading it.
func checkSpliced(t *testing.T, doc []byte, edits []docEdit, want []byte) {
	t.Helper()
	for _, from := range lazyDepths {
		src := bytes.Clone(doc)
		v, err := parseLazy(src, unsafe.String(unsafe.SliceData(src), len(src)), from)
		if err != nil {
			t.Fatalf("parse, unparsed from depth %d: %v", from, err)
		}
		for _, e := range edits {
			e.apply(t, v)
		}
		if got := Encode(v); !bytes.Equal(got, want) {
			t.Fatalf("unparsed from depth %d, after %d edits, Encode != Python:\n%s", from, len(edits), docDiff(got, want))
		}
		s := EncodeSpliced(v, src)
		if got := s.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("unparsed from depth %d, after %d edits, EncodeSpliced != Python:\n%s", from, len(edits), docDiff(got, want))
		}
		checkSplicedReads(t, s, want)
	}
}

// checkSplicedReads reads s as ReadAt, Each and PrefixWith do, and holds
// each to want.
func checkSplicedReads(t *testing.T, s *Spliced, want []byte) {
	t.Helper()
	if s.Size() != len(want) {
		t.Fatalf("Size() = %d, want %d", s.Size(), len(want))
	}
	if got, err := io.ReadAll(io.NewSectionReader(s, 0, int64(s.Size()))); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadAt whole: %v\n%s", err, docDiff(got, want))
	}
	// Every window of a few sizes, across the parts' seams.
	for _, n := range []int{1, 7, 64} {
		for from := 0; from < len(want); from += max(1, len(want)/97) {
			to := min(from+n, len(want))
			var got []byte
			next := from
			err := s.Each(from, to, func(at int, b []byte) error {
				if at != next {
					t.Fatalf("Each(%d, %d): a part at %d, want %d", from, to, at, next)
				}
				next += len(b)
				got = append(got, b...)
				return nil
			})
			if err != nil || !bytes.Equal(got, want[from:to]) {
				t.Fatalf("Each(%d, %d) = %q, %v; want %q", from, to, got, err, want[from:to])
			}
			p := make([]byte, n)
			k, err := s.ReadAt(p, int64(from))
			if k != to-from || !bytes.Equal(p[:k], want[from:to]) || (to < from+n) != (err == io.EOF) {
				t.Fatalf("ReadAt(%d bytes at %d) = %q, %v; want %q", n, from, p[:k], err, want[from:to])
			}
		}
	}
	if !s.Equal(want) || s.PrefixWith(want) != len(want) {
		t.Fatalf("Equal or PrefixWith of its own bytes: %v, %d of %d", s.Equal(want), s.PrefixWith(want), len(want))
	}
	if len(want) > 0 {
		other := bytes.Clone(want)
		at := len(other) * 2 / 3
		other[at] ^= 0x20
		if s.Equal(other) || s.PrefixWith(other) != at {
			t.Fatalf("PrefixWith of bytes that differ at %d = %d (Equal %v)", at, s.PrefixWith(other), s.Equal(other))
		}
		if s.Equal(want[:len(want)-1]) || s.PrefixWith(want[:len(want)-1]) != len(want)-1 {
			t.Fatalf("Equal or PrefixWith of a shorter copy")
		}
	}
}

// An edit of a big document is a few parts: the runs of the source on
// either side of each edit, shared, and the edit's bytes.
func TestEncodeSplicedSharesTheSource(t *testing.T) {
	src := Encode(genTaskDoc(2000))
	v, err := ParseShared(src)
	if err != nil {
		t.Fatal(err)
	}
	if s := EncodeSpliced(v, src); s.Parts() != 1 || unsafe.SliceData(s.parts[0]) != unsafe.SliceData(src) || s.Size() != len(src) {
		t.Fatalf("an unedited document: %d parts, want the source as one", s.Parts())
	}
	v.Get("agents").Elems()[1200].Set("status", NewString("terminated"))
	v.Set("active_count", NewInt(41))
	want := Encode(v)
	s := EncodeSpliced(v, src)
	if !bytes.Equal(s.Bytes(), want) {
		t.Fatalf("EncodeSpliced != Encode:\n%s", docDiff(s.Bytes(), want))
	}
	own := 0
	for _, p := range s.parts {
		if !within(p, src) {
			own += len(p)
		}
	}
	if s.Parts() > 5 || own > len("terminated")+len("41") {
		t.Errorf("two edits of a %d-byte document: %d parts, %d bytes of their own; want at most 5 and %d", len(src), s.Parts(), own, len("terminated")+len("41"))
	}
	checkSplicedReads(t, s, want)

	// What the tree holds of another source is written out.
	copied, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if s := EncodeSpliced(copied, src); !bytes.Equal(s.Bytes(), src) || within(s.parts[0], src) {
		t.Errorf("a tree of another copy: %d parts, shared %v", s.Parts(), within(s.parts[0], src))
	}
}

func within(p, src []byte) bool {
	a, b := uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(unsafe.Pointer(unsafe.SliceData(src)))
	return a >= b && a+uintptr(len(p)) <= b+uintptr(len(src))
}

func TestSplicedOf(t *testing.T) {
	b := []byte(`{"a": 1}`)
	s := SplicedOf(b)
	if s.Parts() != 1 || unsafe.SliceData(s.Bytes()) != unsafe.SliceData(b) {
		t.Fatalf("SplicedOf: %d parts, Bytes shared %v", s.Parts(), unsafe.SliceData(s.Bytes()) == unsafe.SliceData(b))
	}
	checkSplicedReads(t, s, b)
	empty := SplicedOf(nil)
	if empty.Size() != 0 || empty.Parts() != 0 || len(empty.Bytes()) != 0 || !empty.Equal(nil) {
		t.Fatalf("SplicedOf(nil): size %d, %d parts", empty.Size(), empty.Parts())
	}
	if n, err := empty.ReadAt(make([]byte, 1), 0); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt of nothing = %d, %v; want 0, EOF", n, err)
	}
}

// TestCommonPrefix holds the block-wise comparison to a byte-wise one,
// with differences at every place around a block's edges.
func TestCommonPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := make([]byte, 3*4096+17)
	for i := range base {
		base[i] = byte('a' + r.IntN(26))
	}
	naive := func(a, b []byte) int {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		return i
	}
	check := func(a, b []byte) {
		t.Helper()
		if got, want := commonPrefix(a, b), naive(a, b); got != want {
			t.Errorf("commonPrefix of %d and %d bytes: got %d, want %d", len(a), len(b), got, want)
		}
	}
	check(nil, nil)
	check(base, nil)
	check(base, base)
	for _, at := range []int{0, 1, 4095, 4096, 4097, 8191, 8192, len(base) - 1} {
		b := bytes.Clone(base)
		b[at] ^= 0x20
		check(base, b)
		check(b, base)
		check(base, base[:at])
		check(base[:at], base)
	}
}

// A value of another source stored into a document is written out, however
// its memory lies against the source's: longer than the whole source, or
// anywhere after it.
func TestEncodeSplicedWritesOutAnotherSourcesText(t *testing.T) {
	long := `"` + strings.Repeat("x", 200) + `"`
	for range 200 {
		src := []byte(`{"termination_reason": "x"}`)
		v, err := ParseShared(src)
		if err != nil {
			t.Fatal(err)
		}
		other, err := Parse([]byte(long))
		if err != nil {
			t.Fatal(err)
		}
		v.Set("termination_reason", other)
		if got, want := EncodeSpliced(v, src).Bytes(), Encode(v); !bytes.Equal(got, want) {
			t.Fatalf("EncodeSpliced != Encode:\n%s", docDiff(got, want))
		}
	}
	if s := EncodeSpliced(NewString("a"), nil); string(s.Bytes()) != `"a"` {
		t.Fatalf("no source: %q", s.Bytes())
	}
}

// A source not laid out as Python writes it shares only its strings: its
// edit is written whole, in one part, rather than as one part a value.
func TestEncodeSplicedOfAnotherLayoutIsOnePart(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"agents": [`)
	for i := range 3000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": "a-%d", "status": "working"}`, i)
	}
	b.WriteString(`], "active_count": 1}`)
	src := []byte(b.String())
	v, err := ParseShared(src)
	if err != nil {
		t.Fatal(err)
	}
	v.Set("active_count", NewInt(3000))
	s := EncodeSpliced(v, src)
	if s.Parts() != 1 || !bytes.Equal(s.Bytes(), Encode(v)) {
		t.Fatalf("a compact document's edit: %d parts (want 1), same bytes %v", s.Parts(), bytes.Equal(s.Bytes(), Encode(v)))
	}
}
