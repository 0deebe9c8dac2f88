package pyjson

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// FuzzDecode holds Parse and Encode to Python's json module: whatever
// python3 accepts as UTF-8 text Go accepts and encodes to the same bytes as
// json.dumps(json.loads(text), indent=2); whatever Go accepts Python
// accepts, except nesting deeper than Python's recursion limit; rejections
// agree on message and position. Every accepted document is stable under
// Encode and Parse; Parse marks as canonical exactly the values whose text
// is Python's encoding, and Python's own encoding of the document is
// recognised as such throughout and copied whole. A plain `go test` runs
// the seeds below and testdata/fuzz/FuzzDecode against python3 as well.
func FuzzDecode(f *testing.F) {
	for _, tc := range editCases(f) {
		f.Add([]byte(tc.doc))
	}
	for _, tc := range syntaxErrorCases {
		f.Add([]byte(tc.doc))
	}
	f.Add(Encode(genTaskDoc(2)))
	g := docGen{rand.New(rand.NewPCG(3, 4))}
	for range 20 {
		f.Add([]byte(g.value(3)))
	}
	o := newOracle(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, o, data)
	})
}

func checkDecode(t *testing.T, o *oracle, data []byte) {
	v, err := Parse(data)
	var got []byte
	if err == nil {
		got = Encode(v)
		v2, err := Parse(got)
		if err != nil {
			t.Fatalf("Parse(Encode(Parse(%q))) failed: %v\nencoding: %q", data, err, got)
		}
		if again := Encode(v2); !bytes.Equal(again, got) {
			t.Fatalf("Encode is not stable for %q:\n%s", data, docDiff(again, got))
		}
		if c := Encode(v.Clone()); !bytes.Equal(c, got) {
			t.Fatalf("Encode(Clone) differs for %q:\n%s", data, docDiff(c, got))
		}
		// The store's parse, which shares the bytes, is the same parse.
		src := bytes.Clone(data)
		shared, err := ParseShared(src)
		if err != nil {
			t.Fatalf("ParseShared(%q) failed where Parse did not: %v", data, err)
		}
		if s := Encode(shared); !bytes.Equal(s, got) {
			t.Fatalf("Encode(ParseShared) differs for %q:\n%s", data, docDiff(s, got))
		}
		if s := EncodeSpliced(shared, src).Bytes(); !bytes.Equal(s, got) {
			t.Fatalf("EncodeSpliced differs for %q:\n%s", data, docDiff(s, got))
		}
		checkUnparsed(t, data, got)
		// Checking every value re-encodes its subtree: deep documents,
		// whose encodings grow with the square of the depth, are spared.
		if len(got) < 1<<16 {
			checkCanonFlags(t, v, 0)
		}
	} else {
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Parse(%q) error %T %v, want *SyntaxError", data, err, err)
		}
		if se.Offset < 0 || se.Offset > len(data) || se.Line < 1 || se.Column < 1 {
			t.Fatalf("Parse(%q): error out of bounds: %+v", data, se)
		}
	}

	py := o.query(t, data, nil)
	switch {
	case py.OK && err != nil:
		t.Fatalf("python accepts %q, Go says %v", data, err)
	case py.OK:
		if !bytes.Equal(got, py.Out) {
			t.Fatalf("Encode(Parse(%q)): got Go != want Python:\n%s", data, docDiff(got, py.Out))
		}
		if k := v.Kind(); k == Object || k == Array {
			out, _, written := encodeCounts(mustParseDoc(t, string(py.Out)))
			if written != 0 || !bytes.Equal(out, py.Out) {
				t.Fatalf("Python's encoding of %q is not copied whole (%d containers written)", data, written)
			}
		}
	case py.Kind == "recursion":
		// Python's decoder or encoder ran out of recursion depth; Go allows
		// deeper documents, up to maxDepth.
	case err == nil:
		t.Fatalf("Go accepts %q, python says %s: %s", data, py.Kind, py.Msg)
	default:
		checkSyntaxError(t, data, err, py)
	}
}
