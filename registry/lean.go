package registry

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// A lean read keeps of a registry only what the analysis reads: the
// fields of the views (Agent, Task, TaskFile.ID and Status) and the
// counters. It copies the file's bytes under the shared lock into an
// anonymous in-memory file, lets go, and reads the copy once, in chunks,
// checking it as Parse would and copying the kept members' source text,
// then parses that text. The registry's bytes are never held whole in
// this process's memory: a 200 MB registry costs its projection, not
// itself. The result is a document like Parse's, less the members it
// leaves out; it is never encoded or written (repairs read the whole
// document again, under the lock).

// projection says what a lean read keeps of a value. A nil projection
// keeps nothing (the value is checked and skipped); whole keeps the value
// as it is. fields keeps those members of an object; each keeps every
// element of an array, or every member of an object keyed by id, each
// through each. A value whose kind the projection does not describe is
// kept whole, so that the views' format errors name it as Parse's would.
type projection struct {
	whole  bool
	fields map[string]*projection
	each   *projection
}

var (
	keepWhole = &projection{whole: true}
	// leanRoot is what a lean read keeps of a registry, task or global.
	leanRoot = &projection{fields: map[string]*projection{
		"task_id": keepWhole, "status": keepWhole,
		// the counters of both kinds (reconcile's TaskCounters and
		// GlobalCounters)
		"active_count": keepWhole, "total_spawned": keepWhole, "completed_count": keepWhole,
		"active_agents": keepWhole, "total_agents_spawned": keepWhole, "total_tasks": keepWhole, "active_tasks": keepWhole,
		"agents": {each: &projection{fields: fieldsOf("id", "task_id", "type", "parent", "status", "tmux_session", "started_at", "last_update")}},
		"tasks":  {each: &projection{fields: fieldsOf("description", "status", "created_at")}},
	}}
)

func fieldsOf(names ...string) map[string]*projection {
	m := make(map[string]*projection, len(names))
	for _, n := range names {
		m[n] = keepWhole
	}
	return m
}

// LeanKeeps reports whether a lean read keeps a top-level field.
func LeanKeeps(field string) bool { return leanRoot.fields[field] != nil }

// ReadLean reads the registry as Read does, but keeps only what the
// analysis reads (see projection): the Snapshot's Root is that projection,
// Lean is set, and Data is nil. Its Hash is the whole file's, but not
// Read's SHA-256 (see leanHash): it compares with other lean reads only. A
// registry the lean pass cannot take — it does not parse, or parses only
// after a torn write's retry — is read by Read, which says why.
func (s *Store) ReadLean(ctx context.Context, path string) (*Snapshot, error) {
	canon, err := resolve(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(journalPath(canon)); err == nil {
		return s.Read(ctx, path) // recovery first, as Read does it
	}
	h, _, err := openLocked(ctx, path, canon, false, orDefault(s.ReadTimeout, defaultReadTimeout))
	if err != nil {
		return nil, err
	}
	fi, err := h.file.Stat()
	if err != nil {
		h.close()
		return nil, fmt.Errorf("read registry: %w", err)
	}
	// The bytes are copied out under the lock, and scanned once it is let
	// go: the orchestrator's writers wait for a read, not for the scan.
	// Where there is nothing to copy them into, they are scanned under
	// the lock, as they are read.
	src := h.file
	if c, err := copyOut(h.file); err == nil {
		h.close()
		src = c
		defer c.Close()
		pause("read-scan")
	} else if !errors.Is(err, errors.ErrUnsupported) {
		h.close()
		return nil, fmt.Errorf("read registry: %w", err)
	} else {
		defer h.close()
	}
	l := leanScanner{f: src, buf: make([]byte, leanChunk)}
	l.hash.SetSeed(leanSeed)
	l.p.quiet = true
	// Room for most of the projection from the start (it keeps a tenth to
	// a half of a registry): fewer copies as it grows.
	l.out = make([]byte, 0, fi.Size()/8+64)
	text, scanErr := l.document()
	if scanErr != nil {
		var ioErr *leanIOError
		if errors.As(scanErr, &ioErr) {
			return nil, fmt.Errorf("read registry: %w", ioErr.err)
		}
		return s.Read(ctx, path)
	}
	pause("read-parse")
	root, err := parseShared(text)
	if err != nil {
		return s.Read(ctx, path)
	}
	return &Snapshot{Path: path, Root: root, Hash: leanHash(l.hash.Sum64(), l.off), ModTime: fi.ModTime(), Lean: true}, nil
}

// leanSeed seeds the hashes of lean reads: the same for every read of this
// process, so that two reads of the same bytes have the same hash.
var leanSeed = maphash.MakeSeed()

// leanHash is a lean read's Hash: the bytes' maphash and length. It tells
// whether two lean reads of this process read the same bytes, as a scan
// that keeps its previous report asks; it is never a SHA-256, so it never
// equals the hash of a Read, a backup or a journal.
func leanHash(sum uint64, size int64) string {
	return fmt.Sprintf("lean:%016x:%d", sum, size)
}

// leanChunk is how much a lean read reads at a time (tests make it small).
var leanChunk = 1 << 20

// leanIOError is a read that failed, as opposed to bytes that do not parse.
type leanIOError struct{ err error }

func (e *leanIOError) Error() string { return e.err.Error() }

var errLean = errors.New("not a document the lean read takes")

// leanScanner checks a document read in chunks as Parse checks it, and
// writes the projection's text: the kept members, their keys and values as
// written, without whitespace. Its scalars are checked by the parser's own
// str and number on the window; one cut short by the window's end is
// scanned again once more is read.
type leanScanner struct {
	f    *os.File
	hash maphash.Hash
	off  int64  // file offset of the next read
	buf  []byte // the window: buf[:end] are read bytes, buf[pos:end] unscanned
	pos  int
	end  int
	eof  bool
	// checked is the end of the bytes known to be valid UTF-8; bad is set
	// once an invalid byte was seen.
	checked int
	bad     bool
	started bool
	depth   int
	out     []byte
	p       parser
	one     [1]Value
}

// more reads the next chunk, keeping buf[keep:] (the token being scanned);
// it reports whether any byte came.
func (l *leanScanner) more(keep int) (bool, error) {
	if l.eof {
		return false, nil
	}
	if keep > l.checked { // never so in practice: what is dropped is checked first
		l.bad = l.bad || !utf8.Valid(l.buf[l.checked:keep])
		l.checked = keep
	}
	n := copy(l.buf, l.buf[keep:l.end])
	l.pos -= keep
	l.checked -= keep
	l.end = n
	if l.end == len(l.buf) { // one token fills the window: grow it
		l.buf = append(l.buf, make([]byte, len(l.buf))...)
	}
	got, err := l.f.ReadAt(l.buf[l.end:], l.off)
	l.hash.Write(l.buf[l.end : l.end+got])
	l.off += int64(got)
	l.end += got
	switch {
	case err == io.EOF:
		l.eof = true
	case err != nil:
		return false, &leanIOError{err}
	}
	if !l.started && (l.end >= 3 || l.eof) {
		l.started = true
		if strings.HasPrefix(unsafe.String(unsafe.SliceData(l.buf), l.end), "\ufeff") {
			return false, errLean
		}
	}
	// Check the new bytes as UTF-8, but for a rune cut at the window's end.
	cut := l.end
	if !l.eof {
		for i := l.end - 1; i >= l.checked && i >= l.end-utf8.UTFMax; i-- {
			if c := l.buf[i]; c < utf8.RuneSelf || utf8.RuneStart(c) {
				if !utf8.FullRune(l.buf[i:l.end]) {
					cut = i
				}
				break
			}
		}
	}
	if !utf8.Valid(l.buf[l.checked:cut]) {
		l.bad = true
		return false, errLean
	}
	l.checked = cut
	return got > 0, nil
}

// document scans the whole file and returns the projection's text.
func (l *leanScanner) document() ([]byte, error) {
	if _, err := l.more(0); err != nil {
		return nil, err
	}
	if err := l.value(leanRoot); err != nil {
		return nil, err
	}
	if err := l.space(); err != nil {
		return nil, err
	}
	if l.pos != l.end || !l.eof || l.bad {
		return nil, errLean
	}
	return l.out, nil
}

// space skips whitespace, reading on as needed.
func (l *leanScanner) space() error {
	for {
		for l.pos < l.end && isSpace(l.buf[l.pos]) {
			l.pos++
		}
		if l.pos < l.end {
			return nil
		}
		got, err := l.more(l.pos)
		if err != nil {
			return err
		}
		if !got {
			return nil
		}
	}
}

// next returns the next byte after whitespace; ok is false at the end.
func (l *leanScanner) next() (byte, error) {
	if err := l.space(); err != nil {
		return 0, err
	}
	if l.pos >= l.end {
		return 0, errLean
	}
	return l.buf[l.pos], nil
}

// scalar scans the string, number or literal at pos and returns its text,
// valid until the next read.
func (l *leanScanner) scalar() ([]byte, error) {
	for {
		l.p.src, l.p.pos, l.p.vals = unsafe.String(unsafe.SliceData(l.buf), l.end), l.pos, l.one[:]
		var err error
		if l.buf[l.pos] == '"' {
			_, _, _, err = l.p.str()
		} else {
			var v *Value
			v, _, err = l.p.value(0) // never a container here
			if err == nil && v.Kind() != Number && v.Kind() != Bool && v.Kind() != Null {
				err = errLean
			}
		}
		// A number or literal that ends near the window's end may go on
		// ("1" of "1.5e3"): it is scanned again with more behind it.
		if err == nil && (l.p.pos+len("-Infinity") < l.end || l.eof || l.buf[l.pos] == '"') {
			tok := l.buf[l.pos:l.p.pos]
			l.pos = l.p.pos
			return tok, nil
		}
		if err != nil && !l.cutShort(err) {
			return nil, errLean
		}
		if _, err := l.more(l.pos); err != nil {
			return nil, err
		}
	}
}

// cutShort reports whether a scalar's syntax error may be the window's
// end rather than the document's: an unterminated string, or an error
// within a few bytes of the end (an escape, a literal, a number cut in
// two). A document with an error elsewhere is not read on to its end.
func (l *leanScanner) cutShort(err error) bool {
	var se *SyntaxError
	if l.eof || !errors.As(err, &se) {
		return false
	}
	return strings.HasPrefix(se.Msg, "Unterminated") || se.Offset+len("-Infinity") >= l.end
}

// value scans one value, keeping what pj says.
func (l *leanScanner) value(pj *projection) error {
	c, err := l.next()
	if err != nil {
		return err
	}
	switch c {
	case '{', '[':
		if l.depth >= maxDepth {
			return errLean
		}
		l.depth++
		defer func() { l.depth-- }()
		if c == '{' {
			return l.object(pj)
		}
		return l.array(pj)
	}
	tok, err := l.scalar()
	if err != nil {
		return err
	}
	if pj != nil {
		l.out = append(l.out, tok...)
	}
	return nil
}

func (l *leanScanner) object(pj *projection) error {
	keep := pj != nil
	if keep {
		l.out = append(l.out, '{')
	}
	l.pos++
	c, err := l.next()
	if err != nil {
		return err
	}
	if c == '}' {
		l.pos++
		if keep {
			l.out = append(l.out, '}')
		}
		return nil
	}
	first := true
	for {
		if c != '"' {
			return errLean
		}
		key, err := l.scalar()
		if err != nil {
			return err
		}
		child := pj.member(key)
		if child != nil {
			if !first {
				l.out = append(l.out, ',')
			}
			first = false
			l.out = append(append(l.out, key...), ':')
		}
		if c, err = l.next(); err != nil {
			return err
		}
		if c != ':' {
			return errLean
		}
		l.pos++
		if err := l.value(child); err != nil {
			return err
		}
		if c, err = l.next(); err != nil {
			return err
		}
		l.pos++
		switch c {
		case ',':
			if c, err = l.next(); err != nil {
				return err
			}
		case '}':
			if keep {
				l.out = append(l.out, '}')
			}
			return nil
		default:
			return errLean
		}
	}
}

// member is what pj keeps of an object's member whose key is key (its
// text, quotes included).
func (pj *projection) member(key []byte) *projection {
	switch {
	case pj == nil || pj.whole:
		return pj
	case pj.each != nil:
		return pj.each
	case pj.fields == nil:
		return keepWhole
	}
	body := key[1 : len(key)-1]
	if !strings.ContainsRune(unsafe.String(unsafe.SliceData(body), len(body)), '\\') && isPlainBytes(body) {
		return pj.fields[string(body)] // no allocation: the map lookup converts in place
	}
	name, lossy := decodeBody(string(body))
	if lossy {
		return nil // no Go string names it: Get never finds it
	}
	return pj.fields[name]
}

func isPlainBytes(b []byte) bool { return isPlain(unsafe.String(unsafe.SliceData(b), len(b))) }

func (l *leanScanner) array(pj *projection) error {
	keep := pj != nil
	elem := pj
	switch {
	case pj == nil || pj.whole:
	case pj.each != nil:
		elem = pj.each
	default:
		elem = keepWhole // not the array the projection expects: keep it whole
	}
	if keep {
		l.out = append(l.out, '[')
	}
	l.pos++
	c, err := l.next()
	if err != nil {
		return err
	}
	if c == ']' {
		l.pos++
		if keep {
			l.out = append(l.out, ']')
		}
		return nil
	}
	for first := true; ; first = false {
		if keep && !first {
			l.out = append(l.out, ',')
		}
		if err := l.value(elem); err != nil {
			return err
		}
		if c, err = l.next(); err != nil {
			return err
		}
		l.pos++
		switch c {
		case ',':
		case ']':
			if keep {
				l.out = append(l.out, ']')
			}
			return nil
		default:
			return errLean
		}
	}
}
