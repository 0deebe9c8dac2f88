package procscan

import (
	"strings"
	"testing"
)

func TestMatcher(t *testing.T) {
	re, err := NewMatcher(`my-agent --task`)
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultMatcher()
	cases := []struct {
		name string
		m    Matcher
		comm string
		argv string // split on spaces
		want bool
	}{
		{"comm claude", def, "claude", "claude --print", true},
		{"comm claude, argv unreadable", def, "claude", "", true},
		{"argv0 /usr/local/bin/claude", def, "2.0.14", "/usr/local/bin/claude --print --output-format stream-json", true},
		{"node running claude-code cli.js", def, "node", "node /x/node_modules/@anthropic-ai/claude-code/cli.js --print", true},
		{"node running ~/.local/bin/claude", def, "node", "node /home/u/.local/bin/claude --print", true},
		{"node with options before the script", def, "node", "/usr/bin/node --max-old-space-size=4096 --require /x/hook.js /opt/claude", true},
		{"bun running claude", def, "bun", "bun /home/u/.bun/bin/claude", true},
		{"bun run claude", def, "bun", "bun run /home/u/.bun/bin/claude --print", true},
		{"Claude Desktop", def, "Claude", "/Applications/Claude.app/Contents/MacOS/Claude", false},
		{"Claude Helper", def, "Claude Helper", "/Applications/Claude.app/Contents/Frameworks/Claude Helper.app/Contents/MacOS/Claude Helper --type=gpu-process", false},
		{"Claude Helper (Renderer), comm truncated", def, "Claude Helper (", "", false},
		{"a claude inside Claude.app", def, "claude", "/Applications/Claude.app/Contents/Resources/claude", false},
		{"vim claude.txt", def, "vim", "vim claude.txt", false},
		{"grep claude", def, "grep", "grep claude", false},
		{"MCP server", def, "python3", "python3 real_mcp_server.py", false},
		{"node running something else with claude as an argument", def, "node", "node server.js claude", false},
		{"npm installing claude-code", def, "npm", "npm install -g @anthropic-ai/claude-code", false},
		{"node evaluating inline code", def, "node", "node -e require('/x/claude')", false},
		{"tee of the stream log", def, "tee", "tee /w/TASK-1/logs/claude_stream.jsonl", false},
		{"kernel thread", def, "kworker/0:1", "", false},
		{"regex matches the command line", re, "python3", "python3 my-agent --task x", true},
		{"regex ignores the default rules", re, "claude", "claude --print", false},
		{"regex against comm when argv is unreadable", func() Matcher { m, _ := NewMatcher(`^claude$`); return m }(), "claude", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &Proc{Comm: c.comm, State: "S"}
			if c.argv != "" {
				p.Argv = strings.Split(c.argv, " ")
			}
			if got := c.m.Match(p); got != c.want {
				t.Errorf("Match(comm %q, argv %q): got %v, want %v", c.comm, c.argv, got, c.want)
			}
		})
	}
}

func TestMatcherState(t *testing.T) {
	re, err := NewMatcher(`^claude`)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Matcher{DefaultMatcher(), re} {
		for state, want := range map[string]bool{"S": true, "R": true, "D": true, "t": true, "Z": false} {
			p := &Proc{Comm: "claude", Argv: []string{"claude", "--print"}, State: state}
			if got := m.Match(p); got != want {
				t.Errorf("%s matcher, state %s: got %v, want %v (a zombie is never an agent)", m, state, got, want)
			}
		}
	}
}

func TestNewMatcherErrors(t *testing.T) {
	for _, expr := range []string{"", "claude("} {
		if _, err := NewMatcher(expr); err == nil || !strings.HasPrefix(err.Error(), "compile matcher") {
			t.Errorf("NewMatcher(%q): got %v, want a compile error", expr, err)
		}
	}
	if got := (Matcher{}).String(); got != "default" {
		t.Errorf("zero Matcher: got %q, want default", got)
	}
}
