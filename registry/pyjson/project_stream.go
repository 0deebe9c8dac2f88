// The projector's Streams: each element handed to the handler as it is
// read, parsed only when the handler asks.

package pyjson

import "unsafe"

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
	sp.used = p.used
	sp.lend(p)
	p.src, p.pos = unsafe.String(unsafe.SliceData(text), len(text)), 0
	p.chunk = len(sp.vals)
	v, _, err := p.value(0)
	return v, err
}
