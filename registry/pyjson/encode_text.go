// Encoding strings and numbers exactly as Python's json.dumps writes them.

package pyjson

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

const hexDigits = "0123456789abcdef"

// hasAt reports whether span holds lit at offset at.
func hasAt(span string, at int, lit string) bool {
	return at <= len(span) && strings.HasPrefix(span[at:], lit)
}

// sameText reports whether t is the very bytes of span at offset at, not a
// copy: t is a non-empty slice of the same source string, starting there.
func sameText(span string, at int, t string) bool {
	return t != "" && at+len(t) <= len(span) && unsafe.StringData(t) == unsafe.StringData(span[at:])
}

// appendUnit writes one UTF-16 code unit as Python's ensure_ascii encoder
// does: printable ASCII as itself, the short escapes, the rest as \uxxxx.
func appendUnit(b []byte, u uint16) []byte {
	switch {
	case u == '"':
		return append(b, '\\', '"')
	case u == '\\':
		return append(b, '\\', '\\')
	case u >= 0x20 && u <= '~':
		return append(b, byte(u))
	case u == '\n':
		return append(b, '\\', 'n')
	case u == '\r':
		return append(b, '\\', 'r')
	case u == '\t':
		return append(b, '\\', 't')
	case u == '\b':
		return append(b, '\\', 'b')
	case u == '\f':
		return append(b, '\\', 'f')
	}
	return append(b, '\\', 'u', hexDigits[u>>12], hexDigits[u>>8&0xF], hexDigits[u>>4&0xF], hexDigits[u&0xF])
}

// appendCanonicalBody re-encodes a string body as written in a source
// document into the form Python writes for the same string.
func appendCanonicalBody(b []byte, body string) []byte {
	for i := 0; i < len(body); {
		j := plainStop(body, i)
		b = append(b, body[i:j]...)
		if i = j; i >= len(body) {
			break
		}
		c := body[i]
		if c != '\\' {
			// DEL or beyond ASCII: every code unit escaped.
			r, n := utf8.DecodeRuneInString(body[i:])
			b = appendRune(b, r)
			i += n
			continue
		}
		switch body[i+1] {
		case 'u':
			n := unhex(body[i+2])<<12 | unhex(body[i+3])<<8 | unhex(body[i+4])<<4 | unhex(body[i+5])
			b = appendUnit(b, uint16(n))
			i += 6
		case '/':
			b = append(b, '/')
			i += 2
		default: // \" \\ \b \f \n \r \t, as Python writes them
			b = append(b, body[i:i+2]...)
			i += 2
		}
	}
	return b
}

// appendEncodedString encodes a Go (UTF-8) string as Python would.
func appendEncodedString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		j := plainStop(s, i)
		b = append(b, s[i:j]...)
		if i = j; i >= len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			b = appendUnit(b, uint16(c))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		b = appendRune(b, r)
		i += n
	}
	return b
}

// appendRune writes r as its UTF-16 code units, each escaped.
func appendRune(b []byte, r rune) []byte {
	if r >= 0x10000 {
		r1, r2 := utf16.EncodeRune(r)
		b = appendUnit(b, uint16(r1))
		return appendUnit(b, uint16(r2))
	}
	return appendUnit(b, uint16(r))
}

// appendNumber writes a number token as Python re-encodes it: integers keep
// their digits (Python's int is unbounded), floats become repr(float(text)).
func appendNumber(b []byte, text string) []byte {
	switch text {
	case "NaN", "Infinity", "-Infinity":
		return append(b, text...)
	case "-0":
		return append(b, '0')
	}
	if !strings.ContainsAny(text, ".eE") {
		return append(b, text...)
	}
	f, _ := strconv.ParseFloat(text, 64) // a range error still yields ±Inf or 0, as Python's float() does
	return appendPyFloat(b, f)
}

// appendPyFloat writes repr(f) as Python 3 does: the shortest digits that
// round-trip, fixed notation for exponents -4..15, otherwise d.ddde±XX.
func appendPyFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // -d.ddddde±dd
	if e[0] == '-' {
		b = append(b, '-')
		e = e[1:]
	}
	mark := 0
	for mark < len(e) && e[mark] != 'e' {
		mark++
	}
	var dbuf [32]byte
	digits := dbuf[:0]
	for _, c := range e[:mark] {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	exp := 0
	for _, c := range e[mark+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[mark+1] == '-' {
		exp = -exp
	}
	decpt := exp + 1
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			b = append(b, '0', '.')
			for i := 0; i < -decpt; i++ {
				b = append(b, '0')
			}
			return append(b, digits...)
		case decpt >= len(digits):
			b = append(b, digits...)
			for i := len(digits); i < decpt; i++ {
				b = append(b, '0')
			}
			return append(b, '.', '0')
		default:
			b = append(b, digits[:decpt]...)
			b = append(b, '.')
			return append(b, digits[decpt:]...)
		}
	}
	b = append(b, digits[0])
	if len(digits) > 1 {
		b = append(b, '.')
		b = append(b, digits[1:]...)
	}
	b = append(b, 'e')
	if exp < 0 {
		b = append(b, '-')
		exp = -exp
	} else {
		b = append(b, '+')
	}
	if exp < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(exp), 10)
}
