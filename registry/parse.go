package registry

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
// Python's own decoder gives up near 1,000 levels, so this refuses
// nothing the orchestrator could read.
const maxDepth = 2000

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
func Parse(data []byte) (*Value, error) {
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, newSyntaxError(data, off, "Invalid UTF-8 byte")
	}
	p := parser{src: string(data)}
	if strings.HasPrefix(p.src, "\ufeff") {
		// json.loads refuses a str that starts with a byte order mark.
		return nil, p.fail("Unexpected UTF-8 BOM (decode using utf-8-sig)")
	}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, p.fail("Extra data")
	}
	return v, nil
}

type parser struct {
	src string
	pos int
}

func newSyntaxError(data []byte, off int, msg string) *SyntaxError {
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
	col = utf8.RuneCount(data[lineStart:off]) + 1
	return &SyntaxError{Msg: msg, Offset: off, Line: line, Column: col}
}

func (p *parser) failAt(off int, msg string) error {
	return newSyntaxError([]byte(p.src), off, msg)
}

func (p *parser) fail(msg string) error { return p.failAt(p.pos, msg) }

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (*Value, error) {
	if depth > maxDepth {
		return nil, p.fail("Nesting too deep")
	}
	if p.pos >= len(p.src) {
		return nil, p.fail("Expecting value")
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		body, plain, err := p.str()
		if err != nil {
			return nil, err
		}
		return &Value{kind: String, text: body, raw: true, plain: plain}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		if strings.HasPrefix(p.src[p.pos:], "-Infinity") {
			p.pos += len("-Infinity")
			return &Value{kind: Number, text: "-Infinity"}, nil
		}
		return p.number()
	}
	for _, lit := range [...]struct {
		text string
		kind Kind
	}{{"null", Null}, {"true", Bool}, {"false", Bool}, {"NaN", Number}, {"Infinity", Number}} {
		if strings.HasPrefix(p.src[p.pos:], lit.text) {
			p.pos += len(lit.text)
			v := &Value{kind: lit.kind}
			if lit.kind != Null {
				v.text = lit.text
			}
			return v, nil
		}
	}
	return nil, p.fail("Expecting value")
}

func (p *parser) object(depth int) (*Value, error) {
	p.pos++ // {
	v := &Value{kind: Object}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	var index map[string]int // canonical key -> member, for long objects
	for {
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return nil, p.fail("Expecting property name enclosed in double quotes")
		}
		body, plain, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, p.fail("Expecting ':' delimiter")
		}
		p.pos++
		p.skipSpace()
		val, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m := Member{Value: val, keyText: body, keyRaw: true}
		canon := body
		if plain {
			m.Key = body
		} else {
			m.Key, m.lossy = decodeBody(body)
			canon = string(appendCanonicalBody(nil, body))
		}
		// Python builds a dict from the pairs: a repeated key keeps its first
		// position and takes the last value.
		dup := -1
		if index != nil {
			if i, ok := index[canon]; ok {
				dup = i
			}
		} else {
			for i := range v.members {
				if memberCanon(v.members[i]) == canon {
					dup = i
					break
				}
			}
		}
		if dup >= 0 {
			v.members[dup].Value = val
		} else {
			v.members = append(v.members, m)
			if index != nil {
				index[canon] = len(v.members) - 1
			} else if len(v.members) > 16 {
				index = make(map[string]int, 64)
				for i := range v.members {
					index[memberCanon(v.members[i])] = i
				}
			}
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.fail("Expecting ',' delimiter")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			return v, nil
		default:
			return nil, p.fail("Expecting ',' delimiter")
		}
	}
}

// memberCanon is the key as Python would encode it: two keys are the same
// key exactly when these agree.
func memberCanon(m Member) string {
	if m.keyRaw {
		if isPlain(m.keyText) {
			return m.keyText
		}
		return string(appendCanonicalBody(nil, m.keyText))
	}
	return string(appendEncodedString(nil, m.Key))
}

func (p *parser) array(depth int) (*Value, error) {
	p.pos++ // [
	v := &Value{kind: Array}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		p.skipSpace()
		el, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v.elems = append(v.elems, el)
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.fail("Expecting ',' delimiter")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return v, nil
		default:
			return nil, p.fail("Expecting ',' delimiter")
		}
	}
}

// str scans a string starting at its opening quote and returns its body as
// written. plain reports a body of printable ASCII without escapes.
func (p *parser) str() (body string, plain bool, err error) {
	start := p.pos
	p.pos++
	plain = true
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			body = p.src[start+1 : p.pos]
			p.pos++
			return body, plain, nil
		case c == '\\':
			plain = false
			if p.pos+1 >= len(p.src) {
				return "", false, p.failAt(start, "Unterminated string starting at")
			}
			switch p.src[p.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos += 2
			case 'u':
				// Python wants a character after the four digits (>=, not >):
				// "\u0041 at the end of input is a bad escape, not an
				// unterminated string.
				if p.pos+6 >= len(p.src) || !isHex4(p.src[p.pos+2:p.pos+6]) {
					return "", false, p.failAt(p.pos+1, "Invalid \\uXXXX escape")
				}
				p.pos += 6
			default:
				return "", false, p.failAt(p.pos, "Invalid \\escape")
			}
		case c < 0x20:
			return "", false, p.failAt(p.pos, "Invalid control character at")
		default:
			if c > '~' {
				plain = false
			}
			p.pos++
		}
	}
	return "", false, p.failAt(start, "Unterminated string starting at")
}

func (p *parser) number() (*Value, error) {
	start := p.pos
	s := p.src
	i := p.pos
	if s[i] == '-' {
		i++
	}
	if i >= len(s) || s[i] < '0' || s[i] > '9' {
		return nil, p.failAt(start, "Expecting value")
	}
	if s[i] == '0' {
		i++
	} else {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
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
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			i = j
		}
	}
	p.pos = i
	return &Value{kind: Number, text: s[start:i]}, nil
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
