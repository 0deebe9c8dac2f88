package demo

import "testing"

// TestNamesTakesDirAsAWord: a command line names a directory by the
// directory itself or a path under it, never by a longer name it prefixes.
func TestNamesTakesDirAsAWord(t *testing.T) {
	const dir = "/tmp/agentwatch-demo-123"
	for _, tt := range []struct {
		cmdline string
		want    bool
	}{
		{"sleep 600 " + dir, true},
		{dir + "/bin/claude --scene " + dir, true},
		{"tmux -S " + dir + "/sock new-session", true},
		{"sh -c cd '" + dir + "' && claude", true},
		{"sh -c cd \"" + dir + "\"", true},
		{"tmux -S " + dir + "4/sock", false},
		{dir + "45/bin/claude --scene " + dir + "45", false},
		{"sleep " + dir + "9 " + dir, true},
		{"sleep 600", false},
	} {
		if got := names(tt.cmdline, dir); got != tt.want {
			t.Errorf("names(%q) = %v, want %v", tt.cmdline, got, tt.want)
		}
	}
}
