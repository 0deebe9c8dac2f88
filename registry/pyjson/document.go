package pyjson

import (
	"iter"
	"slices"
	"strconv"
	"strings"
)

// Kind is the JSON type of a Value.
type Kind uint8

// The JSON kinds a Value can hold.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "bool"
	case Number:
		return "number"
	case String:
		return "string"
	case Array:
		return "array"
	case Object:
		return "object"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one node of a lossless JSON document. Objects keep their keys in
// document order, and strings and numbers keep their source text, so a value
// that nobody edits encodes to what Python's json.dumps would have written for
// it. The zero Value is JSON null.
type Value struct {
	kind Kind
	// raw is set for a string parsed from a document: text is then its body
	// as written, escapes included. Strings made by NewString hold the
	// decoded text.
	raw bool
	// plain is set for a string whose text holds no escape and only
	// printable ASCII: it is then its own decoded and canonical form.
	plain bool
	// canon is set when text is already what Encode writes for the value.
	// For a scalar that is its token (a string's body); for a container
	// parsed at depth, its source span was laid out exactly as Python's
	// indent=2 at that depth and held only canonical keys and values.
	// Every change to a container clears it; Encode still checks that the
	// children are the ones parsed (see intact).
	canon bool
	// depth is the nesting depth a container was parsed at.
	depth uint16
	// frozen marks a value that Pairs hands out from a container
	// ParseForEdit left unparsed: it is not the container's own child, and
	// its memory is taken back after the step. A change to it would be
	// lost, so every method that changes it panics, and so do Members and
	// Elems, whose slices are for changing in place; stored into a
	// document (Set, Append, NewArray), it is copied.
	frozen bool
	// text is the source text of a number ("1.50", "-0"), the body of a
	// string between its quotes (escapes as written when raw), "true" or
	// "false", "null", or a container's source span. Parsed values share
	// the one source string; text is never changed after it is set.
	text string
	// kids holds a container's children; nil for the other kinds, and
	// for a container whose children ParseForEdit left in its text until
	// a method asks for them (children loads them). Keeping
	// them out of line makes a Value 32 bytes rather than 72: a registry of
	// 10,000 agents is some 290,000 values, most of them scalars.
	kids *kids
}

// kids holds the children of an object or an array.
type kids struct {
	members []Member // an object's, in document order
	elems   []*Value // an array's
}

// newContainer returns an empty object or array, its children beside it
// in one allocation.
func newContainer(kind Kind) *Value {
	c := &struct {
		v Value
		k kids
	}{}
	c.v.kind, c.v.kids = kind, &c.k
	return &c.v
}

// Member is one key of an object, in document order.
type Member struct {
	Key   string
	Value *Value
	// keyText is the key's body as written in the source; empty for keys
	// added by Set, which are encoded from Key.
	keyText string
	keyRaw  bool
	// lossy is set when the key holds an escaped lone surrogate: Key then
	// shows it as U+FFFD, and no Go string names the key, so Get, Set and
	// Delete never match it (Python keeps "\ud800" and "\ufffd" apart).
	lossy bool
}

// Pairs yields an object's members that Get can find (not those whose key
// holds a lone surrogate), key and value, in document order; nothing for
// the other kinds. It allocates nothing.
func (v *Value) Pairs() iter.Seq2[string, *Value] {
	return func(yield func(string, *Value) bool) {
		if v == nil || v.kind != Object {
			return
		}
		each := func(k *kids) {
			for i := range k.members {
				m := &k.members[i]
				if !m.lossy && !yield(m.Key, m.Value) {
					return
				}
			}
		}
		if v.kids == nil {
			v.peek(each)
			return
		}
		each(v.kids)
	}
}

// named reports whether the member's key is key.
func (m *Member) named(key string) bool { return m.Key == key && !m.lossy }

// NewString returns a JSON string holding s (UTF-8).
func NewString(s string) *Value {
	plain := isPlain(s)
	return &Value{kind: String, text: s, plain: plain, canon: plain}
}

// NewInt returns a JSON integer.
func NewInt(n int64) *Value {
	return &Value{kind: Number, text: strconv.FormatInt(n, 10), canon: true}
}

// NewBool returns a JSON boolean.
func NewBool(b bool) *Value {
	if b {
		return &Value{kind: Bool, text: "true"}
	}
	return &Value{kind: Bool, text: "false"}
}

// NewNull returns JSON null.
func NewNull() *Value { return &Value{kind: Null} }

// NewObject returns an empty JSON object.
func NewObject() *Value { return newContainer(Object) }

// NewArray returns a JSON array of the given elements.
func NewArray(elems ...*Value) *Value {
	v := newContainer(Array)
	if slices.ContainsFunc(elems, func(e *Value) bool { return e != nil && e.frozen }) {
		elems = slices.Clone(elems)
		for i, e := range elems {
			elems[i] = own(e)
		}
	}
	v.children().elems = elems
	return v
}

// Kind reports the value's JSON type; a nil Value is Null.
func (v *Value) Kind() Kind {
	if v == nil {
		return Null
	}
	return v.kind
}

// IsNull reports whether v is missing or JSON null.
func (v *Value) IsNull() bool { return v == nil || v.kind == Null }

// Str returns the decoded text of a string value. Escaped lone surrogates,
// which UTF-8 cannot hold, decode to U+FFFD here but keep their escape when
// the value is encoded again.
func (v *Value) Str() (string, bool) {
	if v == nil || v.kind != String {
		return "", false
	}
	if !v.raw || v.plain {
		return v.text, true
	}
	s, _ := decodeBody(v.text)
	return s, true
}

// StrOr returns the string value of v, or def when v is not a string.
func (v *Value) StrOr(def string) string {
	if s, ok := v.Str(); ok {
		return s
	}
	return def
}

// Int returns an integer number as int64. Floats and integers that do not
// fit report false.
func (v *Value) Int() (int64, bool) {
	if v == nil || v.kind != Number {
		return 0, false
	}
	n, err := strconv.ParseInt(v.text, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// NumberText returns the source text of a number.
func (v *Value) NumberText() string {
	if v == nil || v.kind != Number {
		return ""
	}
	return v.text
}

// BoolValue returns the value of a boolean.
func (v *Value) BoolValue() (bool, bool) {
	if v == nil || v.kind != Bool {
		return false, false
	}
	return v.text == "true", true
}

// Clone returns a deep copy of v. The copy shares v's source text, which
// is never changed, so an unchanged copy encodes as fast as v.
func (v *Value) Clone() *Value {
	if v == nil {
		return nil
	}
	if v.kids == nil {
		c := *v
		c.frozen = false
		return &c
	}
	c := newContainer(v.kind)
	k := c.kids
	*c = *v
	c.kids, c.frozen = k, false
	if v.kids.members != nil {
		k.members = make([]Member, len(v.kids.members))
		for i, m := range v.kids.members {
			m.Value = m.Value.Clone()
			k.members[i] = m
		}
	}
	if v.kids.elems != nil {
		k.elems = make([]*Value, len(v.kids.elems))
		for i, e := range v.kids.elems {
			k.elems[i] = e.Clone()
		}
	}
	return c
}

// Equal reports whether a and b encode to the same bytes.
func Equal(a, b *Value) bool {
	return string(Encode(a)) == string(Encode(b))
}

// String returns the value's encoding; handy in messages and tests.
func (v *Value) String() string {
	if v.Kind() == String {
		s, _ := v.Str()
		return s
	}
	return strings.TrimSpace(string(Encode(v)))
}
