package main

import (
	"io"
	"strings"

	"agentwatch/termsafe"
)

// The command line prints outside text — agent ids, statuses, session
// names, comm, command lines, paths, and the errors that quote them —
// through these, so that no registry, tmux server or process can move the
// cursor, retitle the window or write the clipboard of the operator's
// terminal. JSON output goes through safeJSON.

// safe is termsafe.String: s as readable, inert text.
func safe(s string) string { return termsafe.String(s) }

// shellArg quotes s for a command line the operator may copy: as it is when
// it needs no quoting, in single quotes when it is printable, and in bash's
// $'…' quoting, which shows every control character as an escape that the
// shell turns back into the same byte, when it is not.
func shellArg(s string) string {
	plain := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-./:@%+=,~", c)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	if termsafe.String(s) == s {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for _, part := range strings.SplitAfter(s, "") {
		switch part {
		case `\`:
			b.WriteString(`\\`)
		case "'":
			b.WriteString(`\'`)
		default:
			b.WriteString(termsafe.String(part))
		}
	}
	b.WriteString("'")
	return b.String()
}

// safeJSON passes encoding/json's output through termsafe.JSON. Each Write
// of a json.Encoder is one whole value, so no character is split.
type safeJSON struct{ w io.Writer }

func (s safeJSON) Write(p []byte) (int, error) {
	if _, err := s.w.Write(termsafe.JSON(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
