package pyjson

import (
	"strings"
	"unsafe"
)

// What a projection keeps: the Projection values and how a member's key
// finds what is kept of it.

// Projection says what Project keeps of a value. A nil Projection keeps
// nothing (the value is checked and skipped); Whole keeps the value as it
// is; Fields keeps the named members of an object; Each keeps every element
// of an array, or every member of an object, each through its projection.
// A value whose kind the projection does not describe is kept whole, so
// that whoever reads the result sees the same wrong shape Parse would show.
type Projection struct {
	whole  bool
	fields map[string]*Projection
	each   *Projection
	// stream names an Each whose elements ProjectStream hands to its
	// handler rather than keep.
	stream string
	// rest is what Fields keeps of the members it does not name.
	rest *Projection
}

// Whole keeps a value as it is.
var Whole = &Projection{whole: true}

// Fields keeps the members of an object that fields names, each through
// its projection.
func Fields(fields map[string]*Projection) *Projection { return &Projection{fields: fields} }

// FieldsElse is Fields that keeps the members fields does not name
// through rest.
func FieldsElse(fields map[string]*Projection, rest *Projection) *Projection {
	return &Projection{fields: fields, rest: rest}
}

// WholeFields keeps the named members of an object whole.
func WholeFields(names ...string) *Projection {
	m := make(map[string]*Projection, len(names))
	for _, n := range names {
		m[n] = Whole
	}
	return Fields(m)
}

// Each keeps every element of an array, or every member of an object,
// through p.
func Each(p *Projection) *Projection { return &Projection{each: p} }

// Stream is Each for ProjectStream: every element of the array, or member
// of the object, is projected through p and handed to the handler, one at
// a time, under name; the container is kept empty. Project keeps the
// elements as Each does.
func Stream(name string, p *Projection) *Projection { return &Projection{each: p, stream: name} }

// Element is one element of a Stream, handed to ProjectStream's handler.
// Its Value and Text are valid only during the call: they are cut from
// buffers the next element reuses (Clone copies the values, not the text).
type Element struct {
	Stream string
	// Index is an array element's position; for an object's member, its
	// key's position among the object's keys: Python keeps a repeated key
	// where it first stood, with its last value, so a handler that stores
	// by Index replaces the earlier value.
	Index int
	// Key is an object member's key, decoded (a lone surrogate shows as
	// U+FFFD, as Member.Key has it); empty for an array's element. It is
	// the handler's to keep.
	Key string
	// Object is set for an object's member, not an array's element.
	Object bool
	// Text is the element's projected text: its kept members, keys and
	// values as written, without whitespace (valid during the call only).
	Text []byte
	// End is how many bytes of the stream lie before the element's end.
	End int64
	l   *projector
}

// Value is the element parsed: the document of its Text. It is parsed
// when first asked for, so that a handler that reads the Text alone costs
// no parse; it is the element's only during the handler's call (an Element
// kept beyond it would answer for a later element), and nil for an Element
// ProjectStream did not make.
func (e Element) Value() *Value {
	if e.l == nil {
		return nil
	}
	return e.l.elementValue()
}

// Keeps reports whether the projection keeps the member named field.
func (pj *Projection) Keeps(field string) bool { return pj.member(field) != nil }

// memberText is what pj keeps of an object's member whose key is key (its
// text, quotes included); plain says the key's body is printable ASCII
// without escapes (as the parser's str found it).
func (pj *Projection) memberText(key []byte, plain bool) *Projection {
	if pj == nil || pj.whole || pj.each != nil || pj.fields == nil {
		return pj.member("") // the same for every member
	}
	// The key as written, read in place: a map lookup keeps nothing of it.
	name := unsafe.String(unsafe.SliceData(key[1:]), len(key)-2)
	if !plain {
		decoded, lossy := decodeBody(name)
		if lossy {
			return nil // no Go string names it: Get never finds it
		}
		name = decoded
	}
	return pj.member(name)
}

// keyOf returns a key's decoded name and the text that tells keys apart
// as Python's dict does (the canonical body, as the parser compares them);
// both are strings of their own. plain is as memberText's.
func keyOf(key []byte, plain bool) (name, id string) {
	body := unsafe.String(unsafe.SliceData(key[1:]), len(key)-2)
	if plain {
		name = strings.Clone(body)
		return name, name
	}
	name, _ = decodeBody(body)
	return name, string(appendCanonicalBody(nil, body))
}

// member is what pj keeps of an object's member named name.
func (pj *Projection) member(name string) *Projection {
	switch {
	case pj == nil || pj.whole:
		return pj
	case pj.each != nil:
		return pj.each
	case pj.fields == nil:
		return Whole
	}
	if p, ok := pj.fields[name]; ok || pj.rest == nil {
		return p
	}
	return pj.rest
}
