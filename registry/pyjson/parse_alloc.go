// The parser's memory: the chunks its values, containers, members and
// elements are cut from, and the key indexes of long objects.

package pyjson

import "math/bits"

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
	*v = Value{kind: kind, text: text, canon: canon, frozen: p.frozen}
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

// unparsed checks the container at p.pos as object and array do, and
// returns it with its children left in its text. Their parse is cut from
// the spares, not from the document's chunks: nothing holds it after.
func (p *parser) unparsed(depth int) (*Value, bool, error) {
	vals, kids, members, elems, used := p.vals, p.kids, p.members, p.elems, p.used
	p.scratch.lend(p)
	parse := p.object
	if p.src[p.pos] == '[' {
		parse = p.array
	}
	v, canon, err := parse(depth)
	p.scratch.used = p.used
	p.vals, p.kids, p.members, p.elems, p.used = vals, kids, members, elems, used
	if err != nil {
		return nil, false, err
	}
	u := p.newValue(v.kind, v.text, canon)
	u.depth = uint16(depth)
	return u, canon, nil
}

// counts are the values, containers, members and elements a parse
// handed out.
type counts struct{ vals, kids, members, elems int }

// spares are chunks for parses that nothing holds once the next begins:
// a streamed element's, an unparsed container's. used is what the last
// such parse took.
type spares struct {
	vals    []Value
	kids    []kids
	members []Member
	elems   []*Value
	used    counts
}

// lend hands the spares to p for its next parse, each part that the last
// parse outgrew first made to hold what it used (see fit).
func (sp *spares) lend(p *parser) {
	fit(&sp.vals, sp.used.vals, 32)
	fit(&sp.kids, sp.used.kids, 8)
	fit(&sp.members, sp.used.members, 32)
	fit(&sp.elems, sp.used.elems, 16)
	p.used = counts{}
	p.vals, p.kids, p.members, p.elems = sp.vals, sp.kids, sp.members, sp.elems
}

// fit makes spare at least least long, and long enough for used (to the
// next power of two).
func fit[T any](spare *[]T, used, least int) {
	if len(*spare) >= max(used, least) {
		return
	}
	*spare = make([]T, max(least, 1<<bits.Len(uint(used))))
}
