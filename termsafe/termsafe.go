// Package termsafe makes outside text safe to print on a terminal: a
// registry's agent ids and statuses, tmux session names, a process's comm
// and command line, paths and the errors that quote them. Such text may hold
// escape sequences that would move the cursor, retitle the window, write the
// clipboard or hide what follows; printed through termsafe it shows as
// readable Go-style escapes instead. The TUI and the command line both use it.
package termsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// String makes s safe to print: every control character (C0, DEL, C1), every
// invisible format character (bidirectional overrides among them), line and
// paragraph separators and every invalid byte are shown as a Go escape
// (`\x1b`, `\u009b`, `\xff`), so that no string can change the terminal's
// state or hide text. Plain text comes back as it is.
func String(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unsafeRune(r):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

// Lines is String for a text of several lines: its own newlines are kept,
// everything else on each line is escaped.
func Lines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = String(l)
	}
	return strings.Join(lines, "\n")
}

// Strings returns String of each of ss.
func Strings(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = String(s)
	}
	return out
}

// JSON makes the output of encoding/json safe to print without changing
// what it decodes to. encoding/json already escapes C0 controls, U+2028,
// U+2029 and invalid UTF-8 (as U+FFFD), but writes C1 controls (U+0080 to
// U+009F: U+009B is a CSI to some terminals) and invisible format characters
// (bidirectional overrides) as they are. JSON rewrites each as a \uXXXX
// escape, a surrogate pair above U+FFFF. Such characters only occur inside
// JSON strings, where the escape means the same character.
func JSON(b []byte) []byte {
	if isPlain(b) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			// Not from encoding/json; shown as the replacement character.
			out = append(out, `\ufffd`...)
		case r >= 0x80 && unsafeRune(r):
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
		default:
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

// isPlain reports whether s is printable ASCII only; a []byte is read in
// place, never copied to a string.
func isPlain[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp)
}
