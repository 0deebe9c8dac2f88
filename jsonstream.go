package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

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
	if s.indent {
		s.enc.SetIndent(jsonDepth[depth], "  ")
	}
	if s.err = s.enc.Encode(v); s.err != nil {
		return
	}
	b := bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")) // Encode ends each value with one
	_, s.err = s.w.Write(termsafe.JSON(b))
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
