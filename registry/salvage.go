package registry

import (
	"fmt"
	"unicode/utf8"

	"agentwatch/registry/pyjson"
)

// Salvage mends the commonest torn registry: an unlocked writer rewrote the
// file in place with a shorter document and died, or raced another, leaving
// one complete JSON value followed by the tail of a longer, earlier version.
// It returns the bytes of that first value and how many trailing bytes it
// drops. It fails when the file does not start with a complete value, or
// when nothing but whitespace follows it (then there is nothing to salvage).
func Salvage(data []byte) (kept []byte, dropped int, err error) {
	// The tail of an earlier version can be cut inside a character: parse
	// the longest prefix that is UTF-8; the value in front must be whole.
	text := data
	for len(text) > 0 && !utf8.Valid(text) {
		text = text[:len(text)-1]
	}
	if len(text) == 0 && len(data) > 0 {
		return nil, 0, fmt.Errorf("salvage: the file is not UTF-8 text")
	}
	end, rest, err := pyjson.LeadingValue(text)
	if err != nil {
		return nil, 0, fmt.Errorf("salvage: the file does not start with a complete JSON value: %w", err)
	}
	if end+rest == len(data) {
		return nil, 0, fmt.Errorf("salvage: the file is one complete JSON value; nothing trails it")
	}
	return data[:end], len(data) - end, nil
}
