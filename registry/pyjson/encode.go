package pyjson

import "agentwatch/internal/hugemem"

// Encode writes v exactly as Python's json.dumps(obj, indent=2) writes the
// object that json.loads makes of it: two-space indent, ", " and ": "
// separators, non-ASCII escaped as \uXXXX, no trailing newline.
//
// A container that Parse found already written that way at the same depth,
// and that nobody has changed since, is copied from the source: an edit
// costs the containers on its path, and a registry written by Python and
// left as it was comes back byte for byte at the cost of one copy.
func Encode(v *Value) []byte {
	var e encoder
	e.value(v, 0)
	return e.b
}

// encoder writes one encoding. The counts let tests see which containers
// were copied and which were written out.
type encoder struct {
	b       []byte
	copied  int // containers copied from their source text whole
	written int // containers written member by member
	// trail records where a failed intact check stopped, one step per
	// container from the innermost out, so that writing the containers on
	// that path copies what the check has already found unchanged.
	trail []step
	// src, for EncodeSpliced, is the source whose text is shared rather
	// than copied: runs are the encoding's parts so far, and the own bytes
	// from ownFrom on are not yet in one.
	src     []byte
	runs    []run
	ownFrom int
}

// step is where intact stopped in one container: at child index at,
// which starts off bytes into the container's text (the children before
// it, and the bracket, are unchanged). at is -1 when the container itself
// changed. inside says that the child is in its place and the change is
// inside it: the next step on the trail is the child's.
type step struct {
	at, off int
	inside  bool
}

// grow sizes the buffer for a document of about n bytes.
func (e *encoder) grow(n int) {
	if e.b == nil {
		e.b = hugemem.Buffer(n)
	}
}

// spaces is a run of indent to copy from.
const spaces = "                                                                "

func (e *encoder) indent(depth int) {
	e.b = append(e.b, '\n')
	for n := 2 * depth; n > 0; n -= len(spaces) {
		e.b = append(e.b, spaces[:min(n, len(spaces))]...)
	}
}

func (e *encoder) value(v *Value, depth int) {
	switch v.Kind() {
	case Null:
		e.grow(64)
		e.b = append(e.b, "null"...)
	case Bool:
		e.grow(64)
		e.b = append(e.b, v.text...)
	case Number:
		e.grow(64)
		if v.canon {
			e.b = append(e.b, v.text...)
		} else {
			e.b = appendNumber(e.b, v.text)
		}
	case String:
		e.grow(len(v.text) + len(v.text)/4 + 16)
		e.b = append(e.b, '"')
		switch {
		case v.canon:
			e.text(v.text)
		case v.raw:
			e.b = appendCanonicalBody(e.b, v.text)
		default:
			e.b = appendEncodedString(e.b, v.text)
		}
		e.b = append(e.b, '"')
	case Array, Object:
		if int(v.depth) != depth {
			e.container(v, depth, step{at: -1})
			return
		}
		e.trail = e.trail[:0]
		if e.intact(v) {
			e.grow(len(v.text))
			e.text(v.text)
			e.copied++
			return
		}
		e.container(v, depth, e.pop())
	}
}

func (e *encoder) pop() step {
	s := e.trail[len(e.trail)-1]
	e.trail = e.trail[:len(e.trail)-1]
	return s
}

// container writes v member by member. Where s says a check found its
// first children unchanged, their text is copied in one piece.
func (e *encoder) container(v *Value, depth int, s step) {
	if v.kids == nil {
		// Left unparsed (ParseForEdit) and at another depth: written from
		// a read of its children, which leaves it as it is.
		v.peek(func(k *kids) { e.containerOf(v, k, depth, s) })
		return
	}
	e.containerOf(v, v.kids, depth, s)
}

// containerOf is container with v's children k.
func (e *encoder) containerOf(v *Value, k *kids, depth int, s step) {
	// A parsed document re-encodes to about its own size (a repair adds a
	// few fields); a built one starts small.
	e.grow(len(v.text) + len(v.text)/64 + 4096)
	e.written++
	open, close := byte('['), byte(']')
	n := len(k.elems)
	if v.kind == Object {
		open, close, n = '{', '}', len(k.members)
	}
	if n == 0 {
		e.b = append(e.b, open, close)
		return
	}
	first := 0
	if s.at > 0 {
		e.text(v.text[:s.off])
		first = s.at
	} else {
		e.b = append(e.b, open)
	}
	for i := first; i < n; i++ {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.indent(depth + 1)
		var c *Value
		if v.kind == Object {
			m := &k.members[i]
			e.b = append(e.b, '"')
			if m.keyRaw {
				e.b = appendCanonicalBody(e.b, m.keyText)
			} else {
				e.b = appendEncodedString(e.b, m.Key)
			}
			e.b = append(e.b, '"', ':', ' ')
			c = m.Value
		} else {
			c = k.elems[i]
		}
		if i == s.at && s.inside {
			e.container(c, depth+1, e.pop())
		} else {
			e.value(c, depth+1)
		}
	}
	e.indent(depth)
	e.b = append(e.b, close)
}

// intact reports whether a container's text is still its encoding at the
// depth it was parsed at: Parse found it canonical, no method has changed
// it since, and every child is still the one parsed, standing where it was
// parsed. The last point catches a child stored into Elems or Members in
// place: parsed text is a slice of the source, so a child is in its place
// exactly when its text starts at the offset the canonical layout gives it
// within v's text (literals, which can be made anew, are compared instead).
// Descendants are checked the same way, down to the first change; the way
// there is left on e.trail.
func (e *encoder) intact(v *Value) bool {
	if !v.canon {
		e.trail = append(e.trail, step{at: -1})
		return false
	}
	if v.kids == nil {
		return true // left unparsed (ParseForEdit), so never changed
	}
	span := v.text
	d := int(v.depth) + 1
	sep := 2 + 2*d // ",\n" and the indent before each child; the first has no ','
	at := 0        // the end of the previous child, or the bracket
	n := 0
	switch v.kind {
	case Array:
		n = len(v.kids.elems)
		for i, c := range v.kids.elems {
			ok, inside := e.placed(span, at+sep, c, d)
			if !ok {
				e.trail = append(e.trail, step{at: i, off: at, inside: inside})
				return false
			}
			at += sep + c.encodedLen()
		}
	case Object:
		ms := v.kids.members
		n = len(ms)
		for i := range ms {
			m := &ms[i]
			k := at + sep // the key's opening quote
			keyOK := m.keyRaw && (m.keyText == "" && hasAt(span, k, `""`) || sameText(span, k+1, m.keyText))
			if !keyOK {
				e.trail = append(e.trail, step{at: i, off: at})
				return false
			}
			k += len(m.keyText) + 4 // "key": and a space
			ok, inside := e.placed(span, k, m.Value, d)
			if !ok {
				e.trail = append(e.trail, step{at: i, off: at, inside: inside})
				return false
			}
			at = k + m.Value.encodedLen()
		}
	}
	if n == 0 && len(span) == 2 || n > 0 && at+1+2*(d-1)+1 == len(span) { // newline, indent, bracket
		return true
	}
	e.trail = append(e.trail, step{at: -1})
	return false
}

// encodedLen is the length of a placed child's text in its parent's.
func (c *Value) encodedLen() int {
	switch c.Kind() {
	case Null:
		return 4
	case String:
		return len(c.text) + 2
	}
	return len(c.text)
}

// placed reports whether child c is the value parsed at offset at of span,
// depth d, with its encoding unchanged. inside reports that c is a
// container in its place whose change is inside it.
func (e *encoder) placed(span string, at int, c *Value, d int) (ok, inside bool) {
	switch c.Kind() {
	case Null:
		return hasAt(span, at, "null"), false
	case Bool:
		return hasAt(span, at, c.text), false
	case Number:
		return c.canon && sameText(span, at, c.text), false
	case String:
		if c.text == "" {
			return hasAt(span, at, `""`), false
		}
		return c.canon && sameText(span, at+1, c.text), false
	case Array, Object:
		if int(c.depth) != d || !sameText(span, at, c.text) {
			return false, false
		}
		ok := e.intact(c)
		return ok, !ok
	}
	return false, false
}
