// The projector's window: the document read a chunk at a time, checked as
// UTF-8 as it comes, and scanned a token at a time, a token cut by the
// window's end scanned again once more is read.

package pyjson

import (
	"errors"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"
)

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
		l.plain = false
		if l.buf[l.pos] == '"' {
			_, l.plain, _, err = l.p.str()
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
