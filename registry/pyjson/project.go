// Project: one streaming pass over a document that checks it as Parse
// does and keeps only the members a Projection names.

package pyjson

import (
	"errors"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// ErrStreamRepeated is ProjectStream's answer for an object that names a
// streamed member twice: Python keeps the last, whose elements are known
// only once the first's were handed over. The caller reads such a document
// another way.
var ErrStreamRepeated = errors.New("a streamed member given twice")

// ErrNotProjected is Project's answer for a document it does not take:
// one Parse refuses, or one with a byte-order mark. Parse says why.
var ErrNotProjected = errors.New("not a document a projection takes")

// Project reads a document from r, chunk bytes at a time, checks the whole
// of it as Parse does, and returns the members pj keeps, as a document like
// Parse's less the members left out. It never holds the whole document in
// memory: a document costs its projection, not itself. An error from r is
// returned as it is; a document Parse would not take is ErrNotProjected.
func Project(r io.Reader, pj *Projection, chunk int, sizeHint int64) (*Value, error) {
	return ProjectStream(r, pj, chunk, sizeHint, nil)
}

// ProjectStream is Project, but hands each element of the projection's
// Streams to handle as soon as it is read, parsed on its own, and keeps
// the Streams' containers empty: a document of many entries costs what the
// handler keeps of each. An error from handle ends the read and is
// returned as it is. The elements are handed over as they are read: a
// document found wrong after some of them is still ErrNotProjected.
func ProjectStream(r io.Reader, pj *Projection, chunk int, sizeHint int64, handle func(Element) error) (*Value, error) {
	l := projector{r: r, buf: make([]byte, max(chunk, 1)), handle: handle}
	l.p.quiet = true
	// Room for most of the projection from the start (a registry's is a
	// tenth to a half of it): fewer copies as it grows.
	l.out = make([]byte, 0, sizeHint/8+64)
	text, err := l.document(pj)
	if err != nil {
		return nil, err
	}
	root, err := ParseShared(text)
	if err != nil {
		return nil, ErrNotProjected
	}
	return root, nil
}

// projector checks a document read in chunks as Parse checks it, and
// writes the projection's text: the kept members, their keys and values as
// written, without whitespace. Its scalars are checked by the parser's own
// str and number on the window; one cut short by the window's end is
// scanned again once more is read.
type projector struct {
	r   io.Reader
	buf []byte // the window: buf[:end] are read bytes, buf[pos:end] unscanned
	pos int
	end int
	eof bool
	// dropped counts the bytes scanned and dropped from the window's start.
	dropped int64
	// checked is the end of the bytes known to be valid UTF-8; bad is set
	// once an invalid byte was seen.
	checked int
	bad     bool
	started bool
	depth   int
	out     []byte
	p       parser
	one     [1]Value
	// handle receives the elements of Streams; elem parses them when
	// asked (elemText, parsed into elemValue), cutting their values from
	// spare, which the next element reuses.
	handle    func(Element) error
	elem      parser
	elemText  []byte
	elemValue *Value
	elemDone  bool
	elemErr   error
	spare     struct {
		vals    [32]Value
		kids    [8]kids
		members [32]Member
		elems   [16]*Value
	}
}

// streams reports whether pj's elements go to the handler.
func (l *projector) streams(pj *Projection) bool {
	return pj != nil && pj.stream != "" && l.handle != nil
}

// emit hands the element projected into out[start:] to the handler and
// drops its text.
func (l *projector) emit(pj *Projection, index int, key string, object bool, start int) error {
	l.elemText, l.elemValue, l.elemDone, l.elemErr = l.out[start:], nil, false, nil
	err := l.handle(Element{Stream: pj.stream, Index: index, Key: key, Object: object, Text: l.out[start:],
		End: l.dropped + int64(l.pos), l: l})
	l.out = l.out[:start]
	if err == nil && l.elemErr != nil {
		err = ErrNotProjected // never so: the projector wrote the text, and checked it
	}
	return err
}

// elementValue is the element being handed over, parsed once.
func (l *projector) elementValue() *Value {
	if !l.elemDone {
		l.elemDone = true
		l.elemValue, l.elemErr = l.parseElement(l.elemText)
	}
	return l.elemValue
}

// parseElement parses one element's projected text into values cut from
// the spare arrays (chunks of their own once those run out); newValue and
// newContainer set every field of what they hand out, so nothing of the
// element before shows through.
func (l *projector) parseElement(text []byte) (*Value, error) {
	sp := &l.spare
	p := &l.elem
	p.src, p.pos = unsafe.String(unsafe.SliceData(text), len(text)), 0
	p.vals, p.kids, p.members, p.elems = sp.vals[:], sp.kids[:], sp.members[:], sp.elems[:]
	p.chunk = len(sp.vals)
	v, _, err := p.value(0)
	return v, err
}

// more reads the next chunk, keeping buf[keep:] (the token being scanned);
// it reports whether any byte came.
func (l *projector) more(keep int) (bool, error) {
	if l.eof {
		return false, nil
	}
	if keep > l.checked { // never so in practice: what is dropped is checked first
		l.bad = l.bad || !utf8.Valid(l.buf[l.checked:keep])
		l.checked = keep
	}
	n := copy(l.buf, l.buf[keep:l.end])
	l.dropped += int64(keep)
	l.pos -= keep
	l.checked -= keep
	l.end = n
	if l.end == len(l.buf) { // one token fills the window: grow it
		l.buf = append(l.buf, make([]byte, len(l.buf))...)
	}
	got, err := io.ReadFull(l.r, l.buf[l.end:])
	l.end += got
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		l.eof = true
	case err != nil:
		return false, err
	}
	if !l.started && (l.end >= 3 || l.eof) {
		l.started = true
		if strings.HasPrefix(unsafe.String(unsafe.SliceData(l.buf), l.end), "\ufeff") {
			return false, ErrNotProjected
		}
	}
	// Check the new bytes as UTF-8, but for a rune cut at the window's end.
	cut := l.end
	if !l.eof {
		for i := l.end - 1; i >= l.checked && i >= l.end-utf8.UTFMax; i-- {
			if c := l.buf[i]; c < utf8.RuneSelf || utf8.RuneStart(c) {
				if !utf8.FullRune(l.buf[i:l.end]) {
					cut = i
				}
				break
			}
		}
	}
	if !utf8.Valid(l.buf[l.checked:cut]) {
		l.bad = true
		return false, ErrNotProjected
	}
	l.checked = cut
	return got > 0, nil
}

// document scans the whole file and returns the projection's text.
func (l *projector) document(pj *Projection) ([]byte, error) {
	if _, err := l.more(0); err != nil {
		return nil, err
	}
	if err := l.value(pj); err != nil {
		return nil, err
	}
	if err := l.space(); err != nil {
		return nil, err
	}
	if l.pos != l.end || !l.eof || l.bad {
		return nil, ErrNotProjected
	}
	return l.out, nil
}

// space skips whitespace, reading on as needed.
func (l *projector) space() error {
	for {
		for l.pos < l.end && isSpace(l.buf[l.pos]) {
			l.pos++
		}
		if l.pos < l.end {
			return nil
		}
		got, err := l.more(l.pos)
		if err != nil {
			return err
		}
		if !got {
			return nil
		}
	}
}

// next returns the next byte after whitespace; ok is false at the end.
func (l *projector) next() (byte, error) {
	if err := l.space(); err != nil {
		return 0, err
	}
	if l.pos >= l.end {
		return 0, ErrNotProjected
	}
	return l.buf[l.pos], nil
}

// scalar scans the string, number or literal at pos and returns its text,
// valid until the next read.
func (l *projector) scalar() ([]byte, error) {
	for {
		l.p.src, l.p.pos, l.p.vals = unsafe.String(unsafe.SliceData(l.buf), l.end), l.pos, l.one[:]
		var err error
		if l.buf[l.pos] == '"' {
			_, _, _, err = l.p.str()
		} else {
			var v *Value
			v, _, err = l.p.value(0) // never a container here
			if err == nil && v.Kind() != Number && v.Kind() != Bool && v.Kind() != Null {
				err = ErrNotProjected
			}
		}
		// A number or literal that ends near the window's end may go on
		// ("1" of "1.5e3"): it is scanned again with more behind it.
		if err == nil && (l.p.pos+len("-Infinity") < l.end || l.eof || l.buf[l.pos] == '"') {
			tok := l.buf[l.pos:l.p.pos]
			l.pos = l.p.pos
			return tok, nil
		}
		if err != nil && !l.cutShort(err) {
			return nil, ErrNotProjected
		}
		if _, err := l.more(l.pos); err != nil {
			return nil, err
		}
	}
}

// cutShort reports whether a scalar's syntax error may be the window's
// end rather than the document's: an unterminated string, or an error
// within a few bytes of the end (an escape, a literal, a number cut in
// two). A document with an error elsewhere is not read on to its end.
func (l *projector) cutShort(err error) bool {
	var se *SyntaxError
	if l.eof || !errors.As(err, &se) {
		return false
	}
	return strings.HasPrefix(se.Msg, "Unterminated") || se.Offset+len("-Infinity") >= l.end
}

// value scans one value, keeping what pj says.
func (l *projector) value(pj *Projection) error {
	c, err := l.next()
	if err != nil {
		return err
	}
	switch c {
	case '{', '[':
		if l.depth >= maxDepth {
			return ErrNotProjected
		}
		l.depth++
		defer func() { l.depth-- }()
		if c == '{' {
			return l.object(pj)
		}
		return l.array(pj)
	}
	tok, err := l.scalar()
	if err != nil {
		return err
	}
	if pj != nil {
		l.out = append(l.out, tok...)
	}
	return nil
}

func (l *projector) object(pj *Projection) error {
	keep := pj != nil
	if keep {
		l.out = append(l.out, '{')
	}
	l.pos++
	c, err := l.next()
	if err != nil {
		return err
	}
	if c == '}' {
		l.pos++
		if keep {
			l.out = append(l.out, '}')
		}
		return nil
	}
	first := true
	stream := l.streams(pj)
	var streamed []*Projection // the Streams among this object's members
	var seen map[string]int    // a Stream's keys, by their canonical text
	for {
		if c != '"' {
			return ErrNotProjected
		}
		key, err := l.scalar()
		if err != nil {
			return err
		}
		child := pj.memberText(key)
		var name string
		index := len(seen)
		if stream {
			// The key is read now: its bytes go with the next read.
			var id string
			name, id = keyOf(key)
			if seen == nil {
				seen = map[string]int{}
			}
			if i, ok := seen[id]; ok {
				index = i
			} else {
				seen[id] = index
			}
		} else if child != nil {
			if !first {
				l.out = append(l.out, ',')
			}
			first = false
			l.out = append(append(l.out, key...), ':')
		}
		if c, err = l.next(); err != nil {
			return err
		}
		if c != ':' {
			return ErrNotProjected
		}
		l.pos++
		if l.streams(child) {
			if slices.Contains(streamed, child) {
				return ErrStreamRepeated
			}
			streamed = append(streamed, child)
		}
		start := len(l.out)
		if err := l.value(child); err != nil {
			return err
		}
		if stream {
			if err := l.emit(pj, index, name, true, start); err != nil {
				return err
			}
		}
		if c, err = l.next(); err != nil {
			return err
		}
		l.pos++
		switch c {
		case ',':
			if c, err = l.next(); err != nil {
				return err
			}
		case '}':
			if keep {
				l.out = append(l.out, '}')
			}
			return nil
		default:
			return ErrNotProjected
		}
	}
}

func (l *projector) array(pj *Projection) error {
	keep := pj != nil
	elem := pj
	switch {
	case pj == nil || pj.whole:
	case pj.each != nil:
		elem = pj.each
	default:
		elem = Whole // not the array the projection expects: keep it whole
	}
	if keep {
		l.out = append(l.out, '[')
	}
	l.pos++
	c, err := l.next()
	if err != nil {
		return err
	}
	if c == ']' {
		l.pos++
		if keep {
			l.out = append(l.out, ']')
		}
		return nil
	}
	stream := l.streams(pj)
	for i, first := 0, true; ; i, first = i+1, false {
		if keep && !first && !stream {
			l.out = append(l.out, ',')
		}
		start := len(l.out)
		if err := l.value(elem); err != nil {
			return err
		}
		if stream {
			if err := l.emit(pj, i, "", false, start); err != nil {
				return err
			}
		}
		if c, err = l.next(); err != nil {
			return err
		}
		l.pos++
		switch c {
		case ',':
		case ']':
			if keep {
				l.out = append(l.out, ']')
			}
			return nil
		default:
			return ErrNotProjected
		}
	}
}
