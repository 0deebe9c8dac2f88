package ui

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aymanbagabas/go-osc52/v2"
	tea "github.com/charmbracelet/bubbletea"
)

const copyTimeout = 3 * time.Second

// copiedMsg is the outcome of a copy.
type copiedMsg struct {
	what, text string
	err        error
}

// copyText is what y (the id) or Y (the path or command line) copies of
// a row.
func copyText(r row, path bool) (what, text string) {
	switch r.kind {
	case rowAgent:
		if path {
			return "registry path", r.agent.Registry
		}
		return "agent id", r.agent.ID
	case rowSession:
		if path {
			return "tmux target", r.session.Server + " =" + r.session.Name
		}
		return "session name", r.session.Name
	case rowProc:
		if path {
			return "command line", r.proc.Cmdline
		}
		return "PID", strconv.Itoa(int(r.proc.PID))
	case rowHeading:
		return "task id", r.heading
	}
	return "", ""
}

// copySelected copies the selected row's id or path: to the terminal's
// clipboard with OSC 52, and inside tmux to its paste buffer too.
func (m Model) copySelected(path bool) (tea.Model, tea.Cmd) {
	r, ok := m.panes[m.focus].Selected()
	if !ok {
		m.setStatus("nothing selected to copy")
		return m, nil
	}
	what, text := copyText(r, path)
	if text == "" {
		m.setStatus("this row has no " + what + " to copy")
		return m, nil
	}
	return m, copyCmd(m.opts.Backend, m.opts.Clipboard, m.opts.TMUX, what, text)
}

func copyCmd(b Backend, out io.Writer, tmuxEnv, what, text string) tea.Cmd {
	return func() tea.Msg {
		// One write, so the sequence reaches the terminal whole.
		if _, err := io.WriteString(out, osc52.New(text).String()); err != nil {
			return copiedMsg{what: what, text: text, err: fmt.Errorf("write OSC 52: %w", err)}
		}
		if tmuxEnv == "" {
			return copiedMsg{what: what, text: text}
		}
		ctx, cancel := context.WithTimeout(context.Background(), copyTimeout)
		defer cancel()
		return copiedMsg{what: what, text: text, err: b.CopyToTmux(ctx, tmuxEnv, text)}
	}
}

func (m Model) onCopied(msg copiedMsg) (tea.Model, tea.Cmd) {
	if msg.err != nil {
		m.setError("copy: " + msg.err.Error())
		return m, nil
	}
	where := "the clipboard (OSC 52)"
	if m.opts.TMUX != "" {
		where += " and tmux's paste buffer"
	}
	m.setStatus("copied " + msg.what + " " + msg.text + " to " + where)
	return m, nil
}
