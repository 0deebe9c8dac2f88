package registry

import (
	"fmt"
	"math/bits"
	"strings"
	"unicode/utf16"
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

// parseShared is Parse without the copy: the document's text shares data's
// memory, which saves a registry's size in memory and the time to copy it.
// data must never be modified afterwards. The store uses it for the bytes
// it reads, which nobody writes to.
func parseShared(data []byte) (*Value, error) {
	return parse(data, unsafe.String(unsafe.SliceData(data), len(data)))
}

// parse parses data, whose text src is.
func parse(data []byte, src string) (*Value, error) {
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
	p := parser{src: src}
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
type parser struct {
	src string
	pos int
	// quiet leaves out an error's line and column: a lean read only asks
	// where it happened (see leanScanner.cutShort).
	quiet bool

	vals    []Value  // the unused tail of the current chunk of values
	kids    []kids   // the same for containers' children
	members []Member // for members
	elems   []*Value // and for elements
	chunk   int      // values per chunk; grows with the document

	// The members and elements of the containers still open, innermost
	// last, and beside each member its key as Python would encode it:
	// two keys are the same key exactly when these agree.
	memberStack []Member
	keyStack    []string
	elemStack   []*Value
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
	v.kind, v.text, v.canon = kind, text, canon
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
	v.kids = &p.kids[0]
	p.kids = p.kids[1:]
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
	out := p.elems[:n:n]
	p.elems = p.elems[n:]
	copy(out, es)
	p.elemStack = p.elemStack[:base]
	return out
}

// value parses the value at p.pos, nested depth levels deep. canon reports
// that its source text is what Encode writes for it at that depth.
func (p *parser) value(depth int) (v *Value, canon bool, err error) {
	if p.pos >= len(p.src) {
		return nil, false, p.fail("Expecting value")
	}
	switch c := p.src[p.pos]; {
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
				index = make(map[string]int, 64)
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

// plainStop returns the index of the first byte at or after i that is not
// plain string text, or len(s).
func plainStop(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		t := s[i : i+8]
		w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		m := (w - lsb*0x20) &^ w // below ' '
		q := w ^ (lsb * '"')
		m |= (q - lsb) &^ q
		q = w ^ (lsb * '\\')
		m |= (q - lsb) &^ q
		q = w ^ (lsb * 0x7f) // DEL
		m |= (q - lsb) &^ q
		if m = (m | w) & msb; m != 0 { // | w: beyond ASCII
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return i
		}
	}
	return len(s)
}

// str scans a string starting at its opening quote and returns its body as
// written. plain reports a body of printable ASCII without escapes; canon a
// body that is already the form Python writes: plain, or escaped only as
// Python escapes.
func (p *parser) str() (body string, plain, canon bool, err error) {
	s := p.src
	start := p.pos
	i := start + 1
	plain, canon = true, true
	for {
		i = plainStop(s, i)
		if i >= len(s) {
			return "", false, false, p.failAt(start, "Unterminated string starting at")
		}
		switch c := s[i]; {
		case c == '"':
			p.pos = i + 1
			return s[start+1 : i], plain, canon, nil
		case c == '\\':
			plain = false
			if i+1 >= len(s) {
				return "", false, false, p.failAt(start, "Unterminated string starting at")
			}
			switch s[i+1] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
				i += 2
			case '/':
				canon = false // Python writes '/' as itself
				i += 2
			case 'u':
				// Python wants a character after the four digits (>=, not >):
				// "\u0041 at the end of input is a bad escape, not an
				// unterminated string.
				if i+6 >= len(s) || !isHex4(s[i+2:i+6]) {
					return "", false, false, p.failAt(i+1, "Invalid \\uXXXX escape")
				}
				canon = canon && canonicalUnitEscape(s[i+2:i+6])
				i += 6
			default:
				return "", false, false, p.failAt(i, "Invalid \\escape")
			}
		case c < 0x20:
			return "", false, false, p.failAt(i, "Invalid control character at")
		default: // DEL, or beyond ASCII (valid UTF-8): Python escapes them
			plain, canon = false, false
			for i++; i < len(s) && s[i] >= 0x80; i++ {
			}
		}
	}
}

// canonicalUnitEscape reports whether \uXXXX, hex being its four digits,
// is how Python's encoder writes that code unit: in lower-case hex, and only
// for a unit that has neither a short escape nor a printable ASCII form.
func canonicalUnitEscape(hex string) bool {
	u := 0
	for i := 0; i < 4; i++ {
		c := hex[i]
		if c >= 'A' && c <= 'F' {
			return false
		}
		u = u<<4 | unhex(c)
	}
	switch u {
	case '\b', '\f', '\n', '\r', '\t':
		return false
	}
	return u < 0x20 || u > '~'
}

func (p *parser) number() (*Value, bool, error) {
	start := p.pos
	s := p.src
	i := p.pos
	if s[i] == '-' {
		i++
	}
	if i >= len(s) || s[i] < '0' || s[i] > '9' {
		return nil, false, p.failAt(start, "Expecting value")
	}
	if s[i] == '0' {
		i++
	} else {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	float := false
	if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
		float = true
		i += 2
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			float = true
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			i = j
		}
	}
	p.pos = i
	text := s[start:i]
	// Python keeps an integer's digits, but writes -0 as 0 and a float as
	// its repr.
	canon := text != "-0"
	if float {
		canon = floatCanonical(text)
	}
	return p.newValue(Number, text, canon), canon, nil
}

// floatCanonical reports whether Python writes the float token text as
// itself. A decimal I.F without exponent is its own repr when it has at
// most 15 significant digits, F ends in a non-zero digit (or is the "0" of
// a whole number), and at most three zeros follow "0.": 15 digits survive
// the trip through a double, so no shorter string names the same double,
// and repr writes such a number without an exponent. Any other token is
// formatted and compared.
func floatCanonical(text string) bool {
	t := strings.TrimPrefix(text, "-")
	if dot := strings.IndexByte(t, '.'); dot > 0 && !strings.ContainsAny(t, "eE") {
		ip, fp := t[:dot], t[dot+1:]
		switch {
		case fp == "0":
			if len(ip) <= 15 {
				return true
			}
		case fp[len(fp)-1] == '0':
			return false // repr drops a trailing zero
		case ip != "0":
			if len(ip)+len(fp) <= 15 {
				return true
			}
		default:
			lz := len(fp) - len(strings.TrimLeft(fp, "0"))
			if lz > 3 {
				return false // repr writes 1e-05 and smaller with an exponent
			}
			if len(fp)-lz <= 15 {
				return true
			}
		}
	}
	var buf [32]byte
	return string(appendNumber(buf[:0], text)) == text
}

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		if unhex(s[i]) < 0 {
			return false
		}
	}
	return true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > '~' || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

// unitsOf walks a string body as written and calls f with each UTF-16 code
// unit it stands for, as Python sees the string.
func unitsOf(body string, f func(u uint16)) {
	for i := 0; i < len(body); {
		c := body[i]
		if c == '\\' {
			switch body[i+1] {
			case 'u':
				n := unhex(body[i+2])<<12 | unhex(body[i+3])<<8 | unhex(body[i+4])<<4 | unhex(body[i+5])
				f(uint16(n))
				i += 6
				continue
			case 'b':
				f('\b')
			case 'f':
				f('\f')
			case 'n':
				f('\n')
			case 'r':
				f('\r')
			case 't':
				f('\t')
			default: // " \ /
				f(uint16(body[i+1]))
			}
			i += 2
			continue
		}
		if c < utf8.RuneSelf {
			f(uint16(c))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(body[i:])
		i += n
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			f(uint16(r1))
			f(uint16(r2))
		} else {
			f(uint16(r))
		}
	}
}

// decodeBody returns the text a string body stands for, as UTF-8. A lone
// surrogate becomes U+FFFD, and lossy reports that one did.
func decodeBody(body string) (s string, lossy bool) {
	var b strings.Builder
	b.Grow(len(body))
	var high uint16
	flush := func() {
		if high != 0 {
			b.WriteRune(utf8.RuneError)
			high = 0
			lossy = true
		}
	}
	unitsOf(body, func(u uint16) {
		switch {
		case u >= 0xD800 && u < 0xDC00:
			flush()
			high = u
		case u >= 0xDC00 && u < 0xE000:
			if high != 0 {
				b.WriteRune(utf16.DecodeRune(rune(high), rune(u)))
				high = 0
			} else {
				b.WriteRune(utf8.RuneError)
				lossy = true
			}
		default:
			flush()
			b.WriteRune(rune(u))
		}
	})
	flush()
	return b.String(), lossy
}
