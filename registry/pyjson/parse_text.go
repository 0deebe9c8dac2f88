// Parsing strings and numbers, keeping their text as written.

package pyjson

import (
	"math/bits"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
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
