package statedb

import (
	"strconv"
	"strings"
)

// A row can come from SQLite as one text, json_array(col, ...), rather than
// as one value per column: the driver then crosses into SQLite three times
// a row instead of three times a column, each time through the
// connection's mutex, and allocates one string a row instead of two
// values a column. The fields are substrings of that text wherever SQLite
// escaped nothing.
//
// json_array keeps NULL, INTEGER and TEXT apart and exact. A REAL it
// rounds, and a BLOB that happens to parse as JSONB it embeds as JSON: so
// the query turns every BLOB into a REAL (jsonColumn), and a row holding a
// REAL is refused (decodeRow returns false), the caller then reading the
// table column by column.

// cellKind is the storage class of a value read through json_array.
type cellKind uint8

const (
	cellNull cellKind = iota
	cellInt
	cellText
)

// cell is one value of a row read through json_array.
type cell struct {
	kind cellKind
	n    int64
	s    string
}

// text is the cell as text() renders the same value read as a column.
func (c cell) text() string {
	switch c.kind {
	case cellInt:
		return strconv.FormatInt(c.n, 10)
	case cellText:
		return c.s
	}
	return ""
}

// integer is the cell as integer() reads the same value read as a column.
func (c cell) integer() int {
	switch c.kind {
	case cellInt:
		return int(c.n)
	case cellText:
		return textInteger(c.s)
	}
	return 0
}

// jsonColumn is the expression that hands column c (quoted) to
// json_array: a BLOB becomes the REAL 0.5, which decodeRow refuses.
func jsonColumn(c string) string { return "iif(typeof(" + c + ") = 'blob', 0.5, " + c + ")" }

// decodeRow reads a JSON array of len(out) values, as SQLite's json_array
// writes it, into out. False for any value but null, an integer and a
// string, and for anything json_array does not write.
func decodeRow(s string, out []cell) bool {
	if len(s) < 2 || s[0] != '[' {
		return false
	}
	i := 1
	for f := range out {
		if f > 0 {
			if i >= len(s) || s[i] != ',' {
				return false
			}
			i++
		}
		if i >= len(s) {
			return false
		}
		switch c := s[i]; {
		case c == '"':
			str, next, ok := jsonString(s, i+1)
			if !ok {
				return false
			}
			out[f], i = cell{kind: cellText, s: str}, next
		case c == 'n':
			if !strings.HasPrefix(s[i:], "null") {
				return false
			}
			out[f], i = cell{kind: cellNull}, i+len("null")
		default:
			j := i
			if s[j] == '-' {
				j++
			}
			for j < len(s) && '0' <= s[j] && s[j] <= '9' {
				j++
			}
			n, err := strconv.ParseInt(s[i:j], 10, 64)
			if err != nil {
				return false
			}
			out[f], i = cell{kind: cellInt, n: n}, j
		}
	}
	return i == len(s)-1 && s[i] == ']'
}

// jsonString reads the JSON string whose text starts at s[i], just after
// its opening quote, up to its closing quote: the string, and the index
// after the quote. Escapes are those json_array writes: a backslash before
// '"' and '\', \b \f \n \r \t, and \u00XX for a byte below 0x80. Text
// without escapes is returned as a substring of s.
func jsonString(s string, i int) (string, int, bool) {
	start := i
	for i < len(s) && s[i] != '"' && s[i] != '\\' {
		i++
	}
	if i >= len(s) {
		return "", 0, false
	}
	if s[i] == '"' {
		return s[start:i], i + 1, true
	}
	var b strings.Builder
	b.WriteString(s[start:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), i + 1, true
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		case i+1 >= len(s):
			return "", 0, false
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if i+6 > len(s) {
				return "", 0, false
			}
			v, err := strconv.ParseUint(s[i+2:i+6], 16, 16)
			if err != nil || v >= 0x80 {
				return "", 0, false
			}
			b.WriteByte(byte(v))
			i += 4
		default:
			return "", 0, false
		}
		i += 2
	}
	return "", 0, false
}
