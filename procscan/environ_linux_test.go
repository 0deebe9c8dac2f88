//go:build linux

package procscan

import (
	"strings"
	"testing"
)

func TestEnvironTMUX(t *testing.T) {
	for _, env := range []string{
		"",
		"\x00",
		"HOME=/root\x00TMUX=/tmp/tmux-0/default,123,0\x00TMUX_PANE=%3\x00",
		"TMUX_PANE=%7\x00TMUX=/tmp/s,9,1",          // no trailing NUL
		"TMUX=\x00TMUX_PANE=\x00",                  // empty values
		"XTMUX=/x\x00TMUX_PANEL=%1\x00TMUX=/a,1,0", // look-alikes
		"TMUX=/first,1,0\x00TMUX=/second,2,0\x00",  // the last one wins
	} {
		wantTMUX, wantPane := tmuxVars(splitNUL([]byte(env)))
		gotTMUX, gotPane := environTMUX([]byte(env))
		if gotTMUX != wantTMUX || gotPane != wantPane {
			t.Errorf("environTMUX(%q) = %q, %q; want %q, %q", strings.ReplaceAll(env, "\x00", "\\0"), gotTMUX, gotPane, wantTMUX, wantPane)
		}
	}
}
