package procscan

import (
	"slices"
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
		{"native installer's claude, named by its version", def, "2.1.97", "/home/u/.local/share/claude/versions/2.1.97 --print", true},
		{"a version-named binary elsewhere", def, "2.1.97", "/opt/tool/versions/2.1.97 --print", false},
		{"the versions directory itself", def, "versions", "/home/u/.local/share/claude/versions/ --print", false},
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

func TestPaneAgents(t *testing.T) {
	const log = "/p/.agent-workspace/TASK-20261205-173221-188fc597/logs/a-1_stream.jsonl"
	mk := func(pid, ppid int32, comm string, argv ...string) *Proc {
		return &Proc{PID: pid, PPID: ppid, SID: 10, Comm: comm, Argv: argv}
	}
	shell := "set -o pipefail; cd '/p' && cat '/p/prompt.txt' | gemini -y -o stream-json | tee '" + log + "'; exit_code=$?; python3 '/o/orchestrator/completion_notifier.py' T a-1 W L \"$exit_code\""
	cases := []struct {
		name  string
		procs []*Proc
		want  []int32
	}{
		{"the agent of the launch shape, whatever its name; not tee, cat or the notifier", []*Proc{
			mk(10, 1, "bash", "bash", "-c", shell), mk(11, 10, "cat", "cat", "/p/prompt.txt"),
			mk(12, 10, "node", "node", "/usr/lib/node_modules/@google/gemini-cli/dist/index.js", "-y"),
			mk(13, 10, "tee", "tee", log), mk(14, 10, "python3", "python3", "/o/orchestrator/completion_notifier.py", "T")},
			[]int32{12}},
		{"a shell of another shape has none", []*Proc{mk(10, 1, "bash", "bash", "-c", "vim notes"), mk(12, 10, "vim", "vim", "notes")}, nil},
		{"a zombie is no agent", []*Proc{mk(10, 1, "bash", "bash", "-c", shell), func() *Proc { p := mk(12, 10, "2.1.97"); p.State = "Z"; return p }()}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb := &Table{Procs: map[int32]*Proc{}, Children: map[int32][]int32{}}
			for _, p := range tc.procs {
				tb.Procs[p.PID] = p
				tb.Children[p.PPID] = append(tb.Children[p.PPID], p.PID)
			}
			got := PaneAgents(tb, 10)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
