package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"unicode/utf8"

	"agentwatch/termsafe"
)

// jsonStream writes one JSON object a field at a time, and an array field an
// element at a time, so that a command's --json output of 10,000 agents is
// never held whole: neither as rows converted for encoding/json nor as the
// encoded text. Its bytes are those jsonEncoder would write for the whole
// object (compact, or indented by two spaces), with the same trailing
// newline. Each field value and each element is encoded on its own, into one
// reused buffer, and goes through termsafe.JSON whole, so that it sees whole
// characters and whole string escapes; the brackets, commas and keys between
// them are ASCII written as they are.
//
// Errors stick: a failed write or encoding ends every later one, and close
// reports it. What was written before stays written: unlike the one-shot
// encoding, a value that fails to encode leaves the object cut short.
type jsonStream struct {
	w      *bufio.Writer
	buf    bytes.Buffer  // the value being encoded
	enc    *json.Encoder // encodes into buf
	own    []byte        // a jsonAppender's text
	indent bool
	fields int // of the object, written so far
	err    error
}

// Indentation of a field's value (depth 1) and of an array's element (2):
// an indented value is encoded with its depth as the prefix of its lines.
var jsonDepth = [...]string{"", "  ", "    "}

func newJSONStream(w io.Writer, indent bool) *jsonStream {
	s := &jsonStream{w: bufio.NewWriterSize(w, 64<<10), indent: indent}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false) // as jsonEncoder
	s.raw("{")
	return s
}

// field writes the object's next field, name and value v.
func (s *jsonStream) field(name string, v any) {
	s.key(name)
	s.value(v, 1)
}

// array writes the object's next field, name, as an array of n elements:
// elem(i) is the i-th, encoded when it is written. No elements is [].
func (s *jsonStream) array(name string, n int, elem func(i int) any) {
	s.key(name)
	if n == 0 {
		s.raw("[]")
		return
	}
	s.raw("[")
	for i := 0; i < n && s.err == nil; i++ {
		if i > 0 {
			s.raw(",")
		}
		s.newline(2)
		s.value(elem(i), 2)
	}
	s.newline(1)
	s.raw("]")
}

// close ends the object and its line, and flushes the stream: the error
// is the first of every write.
func (s *jsonStream) close() error {
	s.newline(0)
	s.raw("}\n")
	if s.err == nil {
		s.err = s.w.Flush()
	}
	return s.err
}

func (s *jsonStream) key(name string) {
	if s.fields > 0 {
		s.raw(",")
	}
	s.fields++
	s.newline(1)
	s.raw(`"` + name + `":`) // names are the program's own, plain ASCII
	if s.indent {
		s.raw(" ")
	}
}

// value writes v as encoding/json encodes it, at depth when indented.
func (s *jsonStream) value(v any, depth int) {
	if s.err != nil {
		return
	}
	s.buf.Reset()
	if a, ok := v.(jsonAppender); ok {
		s.own = a.appendJSON(s.own[:0], depth, s.indent)
		_, s.err = s.w.Write(termsafe.JSON(s.own))
		return
	}
	if s.indent {
		s.enc.SetIndent(jsonDepth[depth], "  ")
	}
	if s.err = s.enc.Encode(v); s.err != nil {
		return
	}
	b := bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")) // Encode ends each value with one
	_, s.err = s.w.Write(termsafe.JSON(b))
}

// jsonAppender is a value that writes itself as encoding/json would, at
// depth when indented: the rows a command prints by the ten thousand, kept
// from reflection.
type jsonAppender interface {
	appendJSON(dst []byte, depth int, indent bool) []byte
}

// jsonObject appends an object's fields, one at a time, as encoding/json
// lays them out at depth.
type jsonObject struct {
	dst    []byte
	depth  int
	indent bool
	n      int
}

func openJSONObject(dst []byte, depth int, indent bool) jsonObject {
	return jsonObject{dst: append(dst, '{'), depth: depth, indent: indent}
}

// key starts the next field.
func (o *jsonObject) key(name string) {
	if o.n > 0 {
		o.dst = append(o.dst, ',')
	}
	o.n++
	if o.indent {
		o.dst = append(append(append(o.dst, '\n'), jsonDepth[o.depth]...), "  "...)
	}
	o.dst = append(append(append(o.dst, '"'), name...), `":`...)
	if o.indent {
		o.dst = append(o.dst, ' ')
	}
}

func (o *jsonObject) str(name, v string) {
	o.key(name)
	o.dst = appendJSONString(o.dst, v)
}

// ints writes an array of numbers, [] when empty.
func (o *jsonObject) ints(name string, v []int32) {
	o.key(name)
	if len(v) == 0 {
		o.dst = append(o.dst, "[]"...)
		return
	}
	o.dst = append(o.dst, '[')
	for i, x := range v {
		if i > 0 {
			o.dst = append(o.dst, ',')
		}
		if o.indent {
			o.dst = append(append(append(o.dst, '\n'), jsonDepth[o.depth]...), "    "...)
		}
		o.dst = strconv.AppendInt(o.dst, int64(x), 10)
	}
	if o.indent {
		o.dst = append(append(append(o.dst, '\n'), jsonDepth[o.depth]...), "  "...)
	}
	o.dst = append(o.dst, ']')
}

func (o *jsonObject) close() []byte {
	if o.indent && o.n > 0 {
		o.dst = append(append(o.dst, '\n'), jsonDepth[o.depth]...)
	}
	return append(o.dst, '}')
}

// appendJSONString appends s as encoding/json writes a string without
// HTML escapes: quotes, backslashes and controls escaped, invalid UTF-8 as
// U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b >= 0x20 && b < utf8.RuneSelf && b != '"' && b != '\\' {
			i++
			continue
		}
		if b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(append(dst, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(dst, s[start:]...), '"')
}

// newline starts a line at depth, when indented.
func (s *jsonStream) newline(depth int) {
	if s.indent {
		s.raw("\n")
		s.raw(jsonDepth[depth])
	}
}

func (s *jsonStream) raw(text string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(text)
	}
}
