// The parser's memory: the chunks its values, containers, members and
// elements are cut from, and the key indexes of long objects.

package pyjson

// newValue returns a Value cut from the current chunk.
func (p *parser) newValue(kind Kind, text string, canon bool) *Value {
	if len(p.vals) == 0 {
		// Start small, so that a short document costs little, and grow to
		// chunks of 128 KB for a long one.
		p.chunk = min(max(2*p.chunk, 16), 4096)
		p.vals = make([]Value, p.chunk)
	}
	v := &p.vals[0]
	p.vals = p.vals[1:]
	p.used.vals++
	// Whole: a streamed element's values are cut from buffers the one
	// before it used.
	*v = Value{kind: kind, text: text, canon: canon}
	return v
}

// newContainer returns the container that starts at start and ends at
// p.pos, parsed at depth.
func (p *parser) newContainer(kind Kind, start, depth int, canon bool) *Value {
	v := p.newValue(kind, p.src[start:p.pos], canon)
	v.depth = uint16(depth)
	if len(p.kids) == 0 {
		p.kids = make([]kids, max(p.chunk/4, 16))
	}
	p.kids[0] = kids{}
	v.kids = &p.kids[0]
	p.kids = p.kids[1:]
	p.used.kids++
	return v
}

// takeMembers moves the members above base off the stack into a slice of
// their own, cut from a chunk. Its capacity is its length, so that a later
// append copies it rather than overwrite a neighbour.
func (p *parser) takeMembers(base int) []Member {
	ms := p.memberStack[base:]
	n := len(ms)
	if n > len(p.members) {
		p.members = make([]Member, max(n, 2*p.chunk))
	}
	p.used.members += n
	out := p.members[:n:n]
	p.members = p.members[n:]
	copy(out, ms)
	p.memberStack = p.memberStack[:base]
	p.keyStack = p.keyStack[:base]
	return out
}

// takeElems is takeMembers for an array's elements.
func (p *parser) takeElems(base int) []*Value {
	es := p.elemStack[base:]
	n := len(es)
	if n > len(p.elems) {
		p.elems = make([]*Value, max(n, 2*p.chunk))
	}
	p.used.elems += n
	out := p.elems[:n:n]
	p.elems = p.elems[n:]
	copy(out, es)
	p.elemStack = p.elemStack[:base]
	return out
}

// keyIndex returns an empty key index for a long object at depth: only one
// object is open at each depth at a time. (dropIndex lets go of a very
// long object's: clearing it for each short one after would cost its
// size, and keep it alive.)
func (p *parser) keyIndex(depth int) map[string]int {
	for len(p.indexes) <= depth {
		p.indexes = append(p.indexes, nil)
	}
	m := p.indexes[depth]
	if m == nil {
		m = make(map[string]int, 64)
		p.indexes[depth] = m
	} else {
		clear(m)
	}
	return m
}

// dropIndex lets go of the key index of the object closing at depth when
// it held many keys.
func (p *parser) dropIndex(depth int, index map[string]int) {
	if len(index) > 256 {
		p.indexes[depth] = nil
	}
}
