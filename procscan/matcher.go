package procscan

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Matcher decides which processes are claude agents. The zero Matcher is
// the default one.
type Matcher struct {
	re *regexp.Regexp
}

// DefaultMatcher returns the matcher of claude as it runs in the field:
//   - comm "claude", or argv[0] whose base name is "claude";
//   - node or bun running a script whose base name is "claude" or whose
//     path contains "@anthropic-ai/claude-code";
//   - the native installer's …/claude/versions/X.Y.Z, whose comm is the
//     version;
//
// and never a zombie, nor Claude Desktop: comm "Claude" or "Claude Helper…", or anything
// whose program lies in a Claude.app bundle.
func DefaultMatcher() Matcher { return Matcher{} }

// NewMatcher returns a matcher that accepts the processes whose command
// line (or comm, when the command line cannot be read) matches the regular
// expression expr, in place of the default rules (agentwatch's --match).
func NewMatcher(expr string) (Matcher, error) {
	if expr == "" {
		return Matcher{}, errors.New("compile matcher: empty expression")
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return Matcher{}, fmt.Errorf("compile matcher: %w", err)
	}
	return Matcher{re: re}, nil
}

// String returns the matcher's expression, or "default".
func (m Matcher) String() string {
	if m.re == nil {
		return "default"
	}
	return m.re.String()
}

// Match tells whether p is a claude agent. A zombie never is, whatever
// its name: it runs nothing, holds nothing but its PID, cannot be signalled,
// and goes when its parent reaps it.
func (m Matcher) Match(p *Proc) bool {
	if p.Zombie() {
		return false
	}
	if m.re != nil {
		if len(p.Argv) == 0 {
			return m.re.MatchString(p.Comm)
		}
		return m.re.MatchString(p.Cmdline())
	}
	if desktop(p) {
		return false
	}
	if p.Comm == "claude" {
		return true
	}
	if len(p.Argv) == 0 {
		return false
	}
	prog := path.Base(p.Argv[0])
	if prog == "claude" || nativeClaude(p.Argv[0]) {
		return true
	}
	if !isRuntime(prog) && !isRuntime(p.Comm) {
		return false
	}
	script := scriptOf(prog, p.Argv[1:])
	return path.Base(script) == "claude" || strings.Contains(script, "@anthropic-ai/claude-code")
}

// nativeClaude tells whether a program is claude as its native installer
// lays it out, …/claude/versions/X.Y.Z: its name, and so its comm, is the
// version, not "claude".
func nativeClaude(prog string) bool {
	dir, ver := path.Split(prog)
	if !strings.HasSuffix(dir, "/claude/versions/") || ver == "" {
		return false
	}
	for _, c := range ver {
		if (c < '0' || c > '9') && c != '.' && c != '-' && (c < 'a' || c > 'z') {
			return false
		}
	}
	return ver[0] >= '0' && ver[0] <= '9'
}

// desktop tells whether p is part of Claude Desktop.
func desktop(p *Proc) bool {
	if p.Comm == "Claude" || strings.HasPrefix(p.Comm, "Claude Helper") {
		return true
	}
	return len(p.Argv) > 0 && (strings.Contains(p.Argv[0], "Claude.app/") || strings.HasSuffix(p.Argv[0], "Claude.app"))
}

// isRuntime tells whether prog is a JavaScript runtime that runs claude.
func isRuntime(prog string) bool {
	switch prog {
	case "node", "nodejs", "bun":
		return true
	}
	return false
}

// nodeValueFlags are the node options that take their value as the next
// argument; everything else that starts with "-" stands alone or carries
// its value after "=".
var nodeValueFlags = map[string]bool{
	"-r": true, "--require": true, "--import": true, "--loader": true,
	"--experimental-loader": true, "-C": true, "--conditions": true,
	"--title": true, "--env-file": true, "--inspect-port": true,
}

// scriptOf returns the script a runtime runs: its first argument that is
// not an option ("" when it evaluates code given inline). For bun a leading
// "run" subcommand is skipped.
func scriptOf(prog string, args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		case a == "-e" || a == "--eval" || a == "-p" || a == "--print":
			return ""
		case nodeValueFlags[a]:
			i++
		case strings.HasPrefix(a, "-"):
		case prog == "bun" && a == "run":
		default:
			return a
		}
	}
	return ""
}

// PaneAgents returns the agent processes of an orchestrator's pane, given
// its shell: the orchestrator starts an agent as
//
//	bash -c "… cat PROMPT | AGENT --print … | tee …/logs/<id>_stream.jsonl; …notifier…"
//
// so every child of that shell but tee, cat and the completion notifier is
// the agent, whatever it is called: claude, node running claude, the
// native installer's binary named by its version, or gemini. None when the
// shell's command line does not have that shape.
func PaneAgents(t *Table, shell int32) []int32 {
	p := t.Procs[shell]
	if p == nil || !launchShape(p.Argv) {
		return nil
	}
	var out []int32
	for _, c := range t.Children[shell] {
		cp := t.Procs[c]
		if cp == nil || cp.Zombie() || plumbing(cp) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// launchShape reports whether a shell's command line pipes an agent into
// tee writing a stream log.
func launchShape(argv []string) bool {
	for _, a := range argv {
		if strings.Contains(a, "| tee ") && strings.Contains(a, "_stream.jsonl") {
			return true
		}
	}
	return false
}

// plumbing reports whether a child of an agent's pane shell is part of the
// pipeline around the agent rather than the agent: tee, cat, a subshell,
// the completion notifier.
func plumbing(p *Proc) bool {
	name := p.Comm
	if len(p.Argv) > 0 {
		name = path.Base(p.Argv[0])
	}
	switch name {
	case "tee", "cat", "sh", "bash", "dash", "zsh", "echo", "sleep":
		return true
	}
	for _, a := range p.Argv {
		if strings.HasSuffix(a, "completion_notifier.py") {
			return true
		}
	}
	return false
}
