// Project: one streaming pass over a document that checks it as Parse
// does and keeps only the members a Projection names.

package pyjson

import (
	"errors"
	"io"
	"slices"
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
	// plain is set by scalar for a string of printable ASCII without
	// escapes.
	plain bool
	// handle receives the elements of Streams; elem parses them when
	// asked (elemText, parsed into elemValue), cutting their values from
	// spare, which the next element reuses: it grows to hold the biggest
	// element parsed so far, so that a stream of like elements allocates
	// for the first few alone.
	handle    func(Element) error
	elem      parser
	elemText  []byte
	elemValue *Value
	elemDone  bool
	elemErr   error
	spare     spares
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
		plain := l.plain
		child := pj.memberText(key, plain)
		var name string
		index := len(seen)
		if stream {
			// The key is read now: its bytes go with the next read.
			var id string
			name, id = keyOf(key, plain)
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
