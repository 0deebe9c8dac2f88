// The children of a container that ParseForEdit left as its text: read
// without being kept, made the container's own when it changes.

package pyjson

import (
	"fmt"
	"sync"
)

// own returns val to be stored in a document: itself, or a copy of its own
// when Pairs handed it out frozen (its memory is taken back after).
func own(val *Value) *Value {
	if val != nil && val.frozen {
		return val.Clone()
	}
	return val
}

// children returns a container's children, parsing them first from its
// text when ParseForEdit left them there: from then on they are its own.
func (v *Value) children() *kids {
	if v.kids == nil {
		v.kids = v.parseKids(&parser{src: v.text, frozen: v.frozen})
	}
	return v.kids
}

// parseKids parses the children of a container that ParseForEdit left in
// its text, with p, at the depth it stands at: their texts are slices of
// its, so the encoder copies each one nobody changes as it copied the
// container.
func (v *Value) parseKids(p *parser) *kids {
	w, _, err := p.value(int(v.depth))
	if err != nil || w.kind != v.kind || w.text != v.text {
		// The text parsed once already: it cannot fail to again.
		panic(fmt.Sprintf("pyjson: an unparsed %s no longer parses: %v", v.kind, err))
	}
	return w.kids
}

// peeker is a parser and its spares, for peek: kept in a pool, so that a
// read of an agent entry allocates nothing once they have grown to one.
type peeker struct {
	p  parser
	sp spares
}

var peekers = sync.Pool{New: func() any { return new(peeker) }}

// peek calls fn with the children of a container ParseForEdit left in its
// text, parsed into spares that are taken back when fn returns, and
// frozen: a read of an agent entry leaves the entry as it was, unparsed.
func (v *Value) peek(fn func(k *kids)) {
	pk := peekers.Get().(*peeker)
	defer peekers.Put(pk)
	p := &pk.p
	p.src, p.pos, p.frozen = v.text, 0, true
	p.memberStack, p.keyStack, p.elemStack = p.memberStack[:0], p.keyStack[:0], p.elemStack[:0]
	pk.sp.used = p.used
	pk.sp.lend(p)
	p.chunk = len(pk.sp.vals)
	fn(v.parseKids(p))
}

// detached returns c for a read of an unparsed container: a scalar as a
// copy of its own (nothing can change a scalar), nil for a container,
// which the caller reaches through the container's own children instead.
func detached(c *Value) *Value {
	if c.kind == Object || c.kind == Array {
		return nil
	}
	d := *c
	d.frozen = false
	return &d
}

// mustChange panics when v is frozen (see Value.frozen).
func (v *Value) mustChange(op string) {
	if v.frozen {
		panic("pyjson: " + op + " of a value Pairs read from a container left unparsed, which is not the container's: read it with Get, Index, Len or Pairs, or reach the container's own through Get or Index")
	}
}
