package registry

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Encode writes v exactly as Python's json.dumps(obj, indent=2) writes the
// object that json.loads makes of it: two-space indent, ", " and ": "
// separators, non-ASCII escaped as \uXXXX, no trailing newline.
func Encode(v *Value) []byte {
	b := make([]byte, 0, 4096)
	return appendValue(b, v, 0)
}

func appendIndent(b []byte, depth int) []byte {
	b = append(b, '\n')
	for i := 0; i < depth; i++ {
		b = append(b, ' ', ' ')
	}
	return b
}

func appendValue(b []byte, v *Value, depth int) []byte {
	switch v.Kind() {
	case Null:
		return append(b, "null"...)
	case Bool:
		return append(b, v.text...)
	case Number:
		return appendNumber(b, v.text)
	case String:
		b = append(b, '"')
		switch {
		case v.plain:
			b = append(b, v.text...)
		case v.raw:
			b = appendCanonicalBody(b, v.text)
		default:
			b = appendEncodedString(b, v.text)
		}
		return append(b, '"')
	case Array:
		if len(v.elems) == 0 {
			return append(b, "[]"...)
		}
		b = append(b, '[')
		for i, e := range v.elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendIndent(b, depth+1)
			b = appendValue(b, e, depth+1)
		}
		b = appendIndent(b, depth)
		return append(b, ']')
	case Object:
		if len(v.members) == 0 {
			return append(b, "{}"...)
		}
		b = append(b, '{')
		for i, m := range v.members {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendIndent(b, depth+1)
			b = append(b, '"')
			if m.keyRaw {
				b = appendCanonicalBody(b, m.keyText)
			} else {
				b = appendEncodedString(b, m.Key)
			}
			b = append(b, '"', ':', ' ')
			b = appendValue(b, m.Value, depth+1)
		}
		b = appendIndent(b, depth)
		return append(b, '}')
	}
	return b
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
	if isPlain(body) {
		return append(b, body...)
	}
	unitsOf(body, func(u uint16) { b = appendUnit(b, u) })
	return b
}

// appendEncodedString encodes a Go (UTF-8) string as Python would.
func appendEncodedString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b = appendUnit(b, uint16(c))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			b = appendUnit(b, uint16(r1))
			b = appendUnit(b, uint16(r2))
		} else {
			b = appendUnit(b, uint16(r))
		}
	}
	return b
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
	mant := e[:mark]
	exp, _ := strconv.Atoi(string(e[mark+1:]))
	digits := make([]byte, 0, len(mant))
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
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
