package pyjson

import (
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// maxDepth is the deepest nesting of objects and arrays a registry may
// have. Python's json module gives up at 995 levels when called from the
// top of a script (RecursionError; TestNestingLimitMatchesPython finds the
// limit against python3 itself), and a little sooner from deeper in a
// program's stack. A document nested deeper than the orchestrator can read
// back must be reported corrupt, never rewritten, so the limit sits a few
// levels below Python's. It also keeps hostile input from exhausting the
// stack.
const maxDepth = 990

// errNesting is the message of a document nested deeper than maxDepth.
var errNesting = fmt.Sprintf("Nesting too deep: more than %d levels of objects and arrays, which Python's json module cannot read back", maxDepth)

// SyntaxError is a document that does not parse, located as Python's json
// module locates it: line and column are 1-based, the column counted in
// characters, Offset in bytes.
type SyntaxError struct {
	Msg    string
	Offset int
	Line   int
	Column int
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: line %d column %d (char %d)", e.Msg, e.Line, e.Column, e.Offset)
}

// Parse decodes a JSON document into a lossless Value tree. It accepts what
// Python's json.loads accepts for UTF-8 text, including NaN, Infinity and
// -Infinity; like Python, a key given twice keeps its first position and its
// last value.
//
// The values share one copy of data: each keeps its source text as a slice
// of it, and each container records whether its text is already laid out
// as json.dumps(obj, indent=2) lays it out, so that Encode can copy every
// part nobody changed.
func Parse(data []byte) (*Value, error) {
	return parse(data, string(data))
}

// ParseShared is Parse without the copy: the document's text shares data's
// memory, which saves a registry's size in memory and the time to copy it.
// data must never be modified afterwards. The store uses it for the bytes
// it reads, which nobody writes to.
func ParseShared(data []byte) (*Value, error) {
	return parse(data, unsafe.String(unsafe.SliceData(data), len(data)))
}

// ParseForEdit is ParseShared for a document that one goroutine edits and
// encodes with EncodeSpliced. The containers nested two deep (a registry's
// agent entries) are checked and measured as Parse does, but kept as their
// text: Get, Index, Len and Pairs read one by parsing it into memory they
// take back (a scalar comes back as a copy of its own, and what Pairs hands
// out is the step's only, and frozen); Members, Elems, a Get or Index of a
// container and every change make its children its own. What nobody
// changes is copied from the source: a 200 MB registry's document is a few
// MB. Its values parse as they are read, so it must never be shared between
// goroutines.
func ParseForEdit(data []byte) (*Value, error) {
	return parseLazy(data, unsafe.String(unsafe.SliceData(data), len(data)), editDepth)
}

// editDepth is the depth from which ParseForEdit leaves containers
// unparsed: the root is 0, a registry's agents 1, an agent entry 2.
const editDepth = 2

// parse parses data, whose text src is.
func parse(data []byte, src string) (*Value, error) { return parseLazy(data, src, 0) }

// parseLazy is parse that leaves the children of containers at depth
// lazyFrom unparsed; 0 parses them all.
func parseLazy(data []byte, src string, lazyFrom int) (*Value, error) {
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, newSyntaxError(string(data), off, "Invalid UTF-8 byte")
	}
	p := parser{src: src, lazyFrom: lazyFrom}
	if strings.HasPrefix(p.src, "\ufeff") {
		// json.loads refuses a str that starts with a byte order mark.
		return nil, p.fail("Unexpected UTF-8 BOM (decode using utf-8-sig)")
	}
	p.skipSpace()
	v, _, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, p.fail("Extra data")
	}
	return v, nil
}

// parser reads one document. Values, members and element slices are cut
// from chunks rather than allocated one by one: a registry of 10,000
// agents holds some 290,000 values in 70,000 containers.
// LeadingValue parses the JSON value at the start of text (after
// whitespace) and returns where it ends, and how much whitespace follows
// it; what follows that is not looked at.
func LeadingValue(text []byte) (end, space int, err error) {
	p := parser{src: string(text)}
	p.skipSpace()
	if _, _, err := p.value(0); err != nil {
		return 0, 0, err
	}
	end = p.pos
	p.skipSpace()
	return end, p.pos - end, nil
}

type parser struct {
	src string
	pos int
	// quiet leaves out an error's line and column: a lean read only asks
	// where it happened (see leanScanner.cutShort).
	quiet bool
	// lazyFrom, when not 0, is the depth whose containers are left
	// unparsed (see ParseForEdit).
	lazyFrom int
	// frozen marks every value it hands out (see Value.frozen).
	frozen bool

	vals    []Value  // the unused tail of the current chunk of values
	kids    []kids   // the same for containers' children
	members []Member // for members
	elems   []*Value // and for elements
	chunk   int      // values per chunk; grows with the document
	// used counts the values, containers, members and elements handed
	// out since it was last reset (a streamed element's parse).
	used counts
	// scratch are the chunks an unparsed container's check is cut from.
	scratch spares

	// The members and elements of the containers still open, innermost
	// last, and beside each member its key as Python would encode it:
	// two keys are the same key exactly when these agree.
	memberStack []Member
	keyStack    []string
	elemStack   []*Value
	// indexes holds, for each depth, the key index of a long object open
	// there, reused by the next long object at that depth.
	indexes []map[string]int
}

func newSyntaxError(data string, off int, msg string) *SyntaxError {
	line, col := 1, 1
	lineStart := 0
	for i := 0; i < off && i < len(data); i++ {
		if data[i] == '\n' {
			line++
			lineStart = i + 1
		}
	}
	if off > len(data) {
		off = len(data)
	}
	col = utf8.RuneCountInString(data[lineStart:off]) + 1
	return &SyntaxError{Msg: msg, Offset: off, Line: line, Column: col}
}

func (p *parser) failAt(off int, msg string) error {
	if p.quiet {
		return &SyntaxError{Msg: msg, Offset: off}
	}
	return newSyntaxError(p.src, off, msg)
}

func (p *parser) fail(msg string) error { return p.failAt(p.pos, msg) }

func isSpace(c byte) bool { return c <= ' ' && (c == ' ' || c == '\n' || c == '\t' || c == '\r') }

func (p *parser) skipSpace() {
	s, i := p.src, p.pos
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	p.pos = i
}

// skipIndent skips whitespace and reports whether it was exactly a newline
// and 2·depth spaces, the indent json.dumps writes before an element and
// before a closing bracket.
func (p *parser) skipIndent(depth int) bool {
	s, i := p.src, p.pos
	end := i + 1 + 2*depth
	if end < len(s) && s[i] == '\n' && !isSpace(s[end]) {
		j := i + 1
		for ; j+8 <= end; j += 8 {
			t := s[j : j+8]
			if uint64(t[0])|uint64(t[1])<<8|uint64(t[2])<<16|uint64(t[3])<<24|
				uint64(t[4])<<32|uint64(t[5])<<40|uint64(t[6])<<48|uint64(t[7])<<56 != lsb*' ' {
				break
			}
		}
		for ; j < end && s[j] == ' '; j++ {
		}
		if j == end {
			p.pos = end
			return true
		}
	}
	p.skipSpace()
	return false
}

// value parses the value at p.pos, nested depth levels deep. canon reports
// that its source text is what Encode writes for it at that depth.
func (p *parser) value(depth int) (v *Value, canon bool, err error) {
	if p.pos >= len(p.src) {
		return nil, false, p.fail("Expecting value")
	}
	switch c := p.src[p.pos]; {
	case depth == p.lazyFrom && depth > 0 && (c == '{' || c == '['):
		return p.unparsed(depth)
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		body, plain, canon, err := p.str()
		if err != nil {
			return nil, false, err
		}
		v := p.newValue(String, body, canon)
		v.raw, v.plain = true, plain
		return v, canon, nil
	case c == '-' || (c >= '0' && c <= '9'):
		if strings.HasPrefix(p.src[p.pos:], "-Infinity") {
			return p.literal(Number, len("-Infinity")), true, nil
		}
		return p.number()
	}
	for _, lit := range [...]struct {
		text string
		kind Kind
	}{{"null", Null}, {"true", Bool}, {"false", Bool}, {"NaN", Number}, {"Infinity", Number}} {
		if strings.HasPrefix(p.src[p.pos:], lit.text) {
			return p.literal(lit.kind, len(lit.text)), true, nil
		}
	}
	return nil, false, p.fail("Expecting value")
}

// literal returns the n-byte literal at p.pos as a value of kind.
func (p *parser) literal(kind Kind, n int) *Value {
	p.pos += n
	return p.newValue(kind, p.src[p.pos-n:p.pos], true)
}

func (p *parser) object(depth int) (*Value, bool, error) {
	if depth >= maxDepth {
		return nil, false, p.fail(errNesting)
	}
	start := p.pos
	p.pos++ // {
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		canon := p.pos-start == 2
		return p.newContainer(Object, start, depth, canon), canon, nil
	}
	p.pos = start + 1
	canon := p.skipIndent(depth + 1)
	base := len(p.memberStack)
	var index map[string]int // key -> member, for long objects
	for {
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return nil, false, p.fail("Expecting property name enclosed in double quotes")
		}
		body, plain, keyCanon, err := p.str()
		if err != nil {
			return nil, false, err
		}
		from := p.pos
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, false, p.fail("Expecting ':' delimiter")
		}
		canon = canon && keyCanon && p.pos == from
		p.pos++
		from = p.pos
		p.skipSpace()
		canon = canon && p.pos == from+1 && p.src[from] == ' '
		val, valCanon, err := p.value(depth + 1)
		if err != nil {
			return nil, false, err
		}
		canon = canon && valCanon
		m := Member{Value: val, keyText: body, keyRaw: true}
		key := body
		if plain {
			m.Key = body
		} else {
			m.Key, m.lossy = decodeBody(body)
			if !keyCanon {
				key = string(appendCanonicalBody(nil, body))
			}
		}
		// Python builds a dict from the pairs: a repeated key keeps its first
		// position and takes the last value.
		dup := -1
		if index != nil {
			if i, ok := index[key]; ok {
				dup = i
			}
		} else {
			for i, k := range p.keyStack[base:] {
				if k == key {
					dup = base + i
					break
				}
			}
		}
		if dup >= 0 {
			p.memberStack[dup].Value = val
			canon = false
		} else {
			p.memberStack = append(p.memberStack, m)
			p.keyStack = append(p.keyStack, key)
			if index != nil {
				index[key] = len(p.keyStack) - 1
			} else if len(p.keyStack)-base > 16 {
				index = p.keyIndex(depth)
				for i, k := range p.keyStack[base:] {
					index[k] = base + i
				}
			}
		}
		// Python writes ',' right after a value, and the indent before
		// the closing bracket.
		comma := p.pos < len(p.src) && p.src[p.pos] == ','
		closed := !comma && p.skipIndent(depth)
		if p.pos >= len(p.src) {
			return nil, false, p.fail("Expecting ',' delimiter")
		}
		switch p.src[p.pos] {
		case ',':
			canon = canon && comma
			p.pos++
			canon = p.skipIndent(depth+1) && canon
		case '}':
			canon = canon && closed
			p.pos++
			p.dropIndex(depth, index)
			v := p.newContainer(Object, start, depth, canon)
			v.kids.members = p.takeMembers(base)
			return v, canon, nil
		default:
			return nil, false, p.fail("Expecting ',' delimiter")
		}
	}
}

func (p *parser) array(depth int) (*Value, bool, error) {
	if depth >= maxDepth {
		return nil, false, p.fail(errNesting)
	}
	start := p.pos
	p.pos++ // [
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		canon := p.pos-start == 2
		return p.newContainer(Array, start, depth, canon), canon, nil
	}
	p.pos = start + 1
	canon := p.skipIndent(depth + 1)
	base := len(p.elemStack)
	for {
		el, elCanon, err := p.value(depth + 1)
		if err != nil {
			return nil, false, err
		}
		canon = canon && elCanon
		p.elemStack = append(p.elemStack, el)
		// Python writes ',' right after a value, and the indent before
		// the closing bracket.
		comma := p.pos < len(p.src) && p.src[p.pos] == ','
		closed := !comma && p.skipIndent(depth)
		if p.pos >= len(p.src) {
			return nil, false, p.fail("Expecting ',' delimiter")
		}
		switch p.src[p.pos] {
		case ',':
			canon = canon && comma
			p.pos++
			canon = p.skipIndent(depth+1) && canon
		case ']':
			canon = canon && closed
			p.pos++
			v := p.newContainer(Array, start, depth, canon)
			v.kids.elems = p.takeElems(base)
			return v, canon, nil
		default:
			return nil, false, p.fail("Expecting ',' delimiter")
		}
	}
}

// Plain string text is a run of the bytes ' ' to '~' other than '"' and
// '\\'. plainStop looks at eight bytes at a time: each test below sets a
// byte's top bit where the byte matches, and a false match (a borrow) can
// only sit above a true one, so the lowest set bit marks the first byte
// that is not plain.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)
