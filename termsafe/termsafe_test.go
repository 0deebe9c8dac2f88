package termsafe

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "impl-214500-a1b2c3", "impl-214500-a1b2c3"},
		{"unicode stays", "héllo ✓ 日本", "héllo ✓ 日本"},
		{"CSI", "\x1b[2J", `\x1b[2J`},
		{"OSC title", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"OSC 52 clipboard", "\x1b]52;c;cm0gLXJmIC8=\x1b\\", `\x1b]52;c;cm0gLXJmIC8=\x1b\`},
		{"newline, return, tab", "a\r\nb\tc", `a\r\nb\tc`},
		{"DEL", "a\x7f", `a\x7f`},
		{"C1 CSI", "\u009b31m", `\u009b31m`},
		{"a raw 0x9b byte", "a\x9b31m", `a\x9b31m`},
		{"bidi override", "abc\u202edcba", `abc\u202edcba`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
		{"NUL", "a\x00b", `a\x00b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLinesKeepsOnlyItsNewlines(t *testing.T) {
	got := Lines("a\x1b[2J\nb\rc\n")
	if want := "a\\x1b[2J\nb\\rc\n"; got != want {
		t.Errorf("Lines = %q, want %q", got, want)
	}
}

// TestJSON: what encoding/json leaves raw is escaped, and the document
// decodes to the very same strings.
func TestJSON(t *testing.T) {
	in := map[string]string{
		"c1":      "x\u009b31m",
		"bidi":    "abc\u202edcba",
		"tag":     "flag\U000E0001",
		"sep":     "a\u2028b\u2029c",
		"esc":     "\x1b]0;t\x07\r",
		"invalid": "a\xffb",
		"fine":    "héllo ✓ 日本 && <b>",
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	safe := JSON(raw)
	for _, bad := range []string{"\u009b", "\u202e", "\U000E0001", "\u2028", "\x1b", "\r", "\xff"} {
		if strings.Contains(string(safe), bad) {
			t.Errorf("JSON output holds %q raw: %s", bad, safe)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(safe, &back); err != nil {
		t.Fatalf("escaped JSON does not parse: %v\n%s", err, safe)
	}
	for k, v := range in {
		want := strings.ToValidUTF8(v, "\ufffd")
		if back[k] != want {
			t.Errorf("%s: decodes to %q, want %q", k, back[k], want)
		}
	}
}
