// The projector's Streams: each element handed to the handler as it is
// read, parsed only when the handler asks.

package pyjson

import (
	"math/bits"
	"unsafe"
)

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
	sp, p := &l.spare, &l.elem
	// Each part of the spare that the element before outgrew now holds
	// what that element used.
	fit(&sp.vals, p.used.vals, 32)
	fit(&sp.kids, p.used.kids, 8)
	fit(&sp.members, p.used.members, 32)
	fit(&sp.elems, p.used.elems, 16)
	p.used = struct{ vals, kids, members, elems int }{}
	p.src, p.pos = unsafe.String(unsafe.SliceData(text), len(text)), 0
	p.vals, p.kids, p.members, p.elems = sp.vals, sp.kids, sp.members, sp.elems
	p.chunk = len(sp.vals)
	v, _, err := p.value(0)
	return v, err
}

// fit makes spare at least least long, and long enough for used (to the
// next power of two).
func fit[T any](spare *[]T, used, least int) {
	if len(*spare) >= max(used, least) {
		return
	}
	*spare = make([]T, max(least, 1<<bits.Len(uint(used))))
}
