// An encoding held as the runs of its source it repeats and the bytes
// written between them, rather than as one new copy of the document.

package pyjson

import (
	"bytes"
	"io"
	"sort"
	"unsafe"
)

// Spliced is an encoding of a document: the concatenation of its parts,
// each either a run of the source it was parsed from, sharing that
// memory, or bytes of its own. An edit of one field of a 200 MB registry
// is then a few parts and the bytes of the edit, not a second copy of the
// file. Its parts must never be modified.
type Spliced struct {
	parts [][]byte
	ends  []int // ends[i] is the offset just past parts[i]
}

// SplicedOf holds the concatenation of parts, sharing their memory.
func SplicedOf(parts ...[]byte) *Spliced {
	s := &Spliced{}
	at := 0
	for _, p := range parts {
		if len(p) > 0 {
			at += len(p)
			s.parts, s.ends = append(s.parts, p), append(s.ends, at)
		}
	}
	return s
}

// EncodeSpliced is Encode with every container and string that it would
// copy from src, the bytes root was parsed from by ParseShared, left in
// src and shared; the bytes written between two such runs that are the
// very bytes src holds there are shared too. What root holds of another
// source is written out. src must never be modified afterwards.
func EncodeSpliced(root *Value, src []byte) *Spliced {
	e := encoder{b: make([]byte, 0, 4096), src: src}
	e.value(root, 0)
	e.extendLast()
	e.flushOwn()
	if len(e.runs) > maxRuns {
		// A source not laid out as Python writes it shares only its
		// strings: as many parts as values, each a system call to write.
		// Whole, it is one.
		return SplicedOf(Encode(root))
	}
	s := &Spliced{}
	at := 0
	for _, r := range e.runs {
		from := e.b
		if r.shared {
			from = src
		}
		b := from[r.off : r.off+r.n]
		at += r.n
		s.parts, s.ends = append(s.parts, b), append(s.ends, at)
	}
	return s
}

// maxRuns is the most parts EncodeSpliced leaves an encoding in; one of
// more is written out whole.
const maxRuns = 1024

// run is one part of a spliced encoding while it is written: n bytes from
// offset off of the source (shared) or of the encoder's own buffer.
type run struct {
	shared bool
	off, n int
}

// Size is the encoding's length in bytes.
func (s *Spliced) Size() int {
	if s == nil || len(s.ends) == 0 {
		return 0
	}
	return s.ends[len(s.ends)-1]
}

// Parts returns the number of parts the encoding is held in.
func (s *Spliced) Parts() int {
	if s == nil {
		return 0
	}
	return len(s.parts)
}

// Each calls fn with the encoding's bytes in [from, to), in order, as
// slices of its parts (never to be modified), each with the offset it
// starts at; it stops at fn's first error and returns it.
func (s *Spliced) Each(from, to int, fn func(at int, b []byte) error) error {
	if s == nil {
		return nil
	}
	to = min(to, s.Size())
	for i := sort.SearchInts(s.ends, from+1); from < to && i < len(s.parts); i++ {
		start := s.ends[i] - len(s.parts[i])
		b := s.parts[i][from-start : min(len(s.parts[i]), to-start)]
		if err := fn(from, b); err != nil {
			return err
		}
		from += len(b)
	}
	return nil
}

// Bytes returns the encoding whole: its one part itself, or a new copy of
// its parts.
func (s *Spliced) Bytes() []byte {
	if s.Parts() == 1 {
		return s.parts[0]
	}
	b := make([]byte, 0, s.Size())
	for _, p := range s.parts {
		b = append(b, p...)
	}
	return b
}

// ReadAt reads the encoding's bytes at offset off, as io.ReaderAt does.
func (s *Spliced) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if off >= int64(s.Size()) {
		return 0, io.EOF
	}
	n := 0
	_ = s.Each(int(off), int(off)+len(p), func(_ int, b []byte) error {
		n += copy(p[n:], b)
		return nil
	})
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// PrefixWith returns the length of the longest prefix the encoding shares
// with b. A part that is b's own memory at its own offset is taken as
// equal without being read.
func (s *Spliced) PrefixWith(b []byte) int {
	n := 0
	_ = s.Each(0, len(b), func(at int, p []byte) error {
		if unsafe.SliceData(p) == unsafe.SliceData(b[at:]) {
			n += len(p)
			return nil
		}
		k := commonPrefix(p, b[at:])
		if n += k; k < len(p) {
			return io.EOF
		}
		return nil
	})
	return n
}

// commonPrefix returns the length of the longest prefix a and b share,
// comparing a block at a time.
func commonPrefix(a, b []byte) int {
	const block = 4 << 10
	n := min(len(a), len(b))
	i := 0
	for i+block <= n && bytes.Equal(a[i:i+block], b[i:i+block]) {
		i += block
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// Equal reports whether the encoding is b.
func (s *Spliced) Equal(b []byte) bool {
	return s.Size() == len(b) && s.PrefixWith(b) == len(b)
}

// inSource returns the offset of t in the encoder's source when all of t
// lies within it (a text of another source, longer than it or not, never
// does).
func (e *encoder) inSource(t string) (int, bool) {
	if len(e.src) == 0 || t == "" || len(t) > len(e.src) {
		return 0, false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(e.src)))
	p := uintptr(unsafe.Pointer(unsafe.StringData(t)))
	if p < base || p-base > uintptr(len(e.src)-len(t)) {
		return 0, false
	}
	return int(p - base), true
}

// text writes t, sharing it when it is a slice of the source.
func (e *encoder) text(t string) {
	off, ok := e.inSource(t)
	if !ok {
		e.b = append(e.b, t...)
		return
	}
	e.share(off, len(t))
}

// share adds n bytes of the source at off to the encoding. Of the bytes
// written since the last run, those the source holds just after the last
// run extend it, and those it holds just before off are taken from there:
// what is left of the encoder's own is what an edit changed, and an edit
// of one field is three runs.
func (e *encoder) share(off, n int) {
	e.extendLast()
	own := e.b[e.ownFrom:]
	k := 0
	for k < len(own) && k < off && own[len(own)-1-k] == e.src[off-1-k] {
		k++
	}
	e.b = e.b[:len(e.b)-k]
	off, n = off-k, n+k
	if last := len(e.runs) - 1; len(e.b) == e.ownFrom && last >= 0 && e.runs[last].shared && e.runs[last].off+e.runs[last].n == off {
		e.runs[last].n += n
		return
	}
	e.flushOwn()
	e.runs = append(e.runs, run{shared: true, off: off, n: n})
}

// extendLast moves the start of the bytes written since the last run past
// those that the source holds just after it, and extends the run by them.
func (e *encoder) extendLast() {
	last := len(e.runs) - 1
	if last < 0 || !e.runs[last].shared {
		return
	}
	end := e.runs[last].off + e.runs[last].n
	own, k := e.b[e.ownFrom:], 0
	for k < len(own) && end+k < len(e.src) && own[k] == e.src[end+k] {
		k++
	}
	e.runs[last].n += k
	e.ownFrom += k
}

// flushOwn ends the run of the encoder's own bytes written since the last
// run.
func (e *encoder) flushOwn() {
	if n := len(e.b) - e.ownFrom; n > 0 {
		e.runs = append(e.runs, run{off: e.ownFrom, n: n})
		e.ownFrom = len(e.b)
	}
}
