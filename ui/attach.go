package ui

import (
	"context"
	"errors"
	"os/exec"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"agentwatch/engine"
)

const attachTimeout = 5 * time.Second

// attachMsg is a switch-client that was done (or failed).
type attachMsg struct {
	session string
	err     error
}

// attachExecMsg asks the program to hand the terminal to a tmux attach.
type attachExecMsg struct {
	session string
	cmd     *exec.Cmd
}

// attachDoneMsg is the operator back from an attached session.
type attachDoneMsg struct {
	session string
	err     error
}

// attach jumps to the selected row's session: inside tmux on the same
// server the client switches to it; otherwise the screen hands the
// terminal to tmux attach until the operator detaches. Looking is not
// acting: read-only sessions keep it.
func (m Model) attach() (tea.Model, tea.Cmd) {
	if m.snap == nil {
		m.setStatus("no scan yet")
		return m, nil
	}
	r, ok := m.panes[m.focus].Selected()
	if !ok {
		m.setStatus("a attaches to the selected row's session: nothing is selected")
		return m, nil
	}
	var session, server string
	switch r.kind {
	case rowAgent:
		session = r.agent.Session
	case rowSession:
		session, server = r.session.Name, r.session.Server
	case rowProc:
		session, server = r.proc.Session, r.proc.Server
	}
	srv, pane := paneOf(m.snap, server, session)
	if pane == "" {
		m.setStatus(r.name() + " has no live tmux session to attach to")
		return m, nil
	}
	req := engine.AttachRequest{Server: srv, Session: session, TMUX: m.opts.TMUX, TMUXPane: m.opts.TMUXPane}
	m.setStatus("attaching to " + escape(session) + "…")
	return m, attachCmd(m.opts.Backend, m.snap, req)
}

func attachCmd(b Backend, snap *engine.Snapshot, req engine.AttachRequest) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), attachTimeout)
		defer cancel()
		err := b.SwitchClient(ctx, snap, req)
		if errors.Is(err, engine.ErrNotInside) {
			cmd, err := b.AttachCommand(snap, req)
			if err != nil {
				return attachMsg{session: req.Session, err: err}
			}
			return attachExecMsg{session: req.Session, cmd: cmd}
		}
		return attachMsg{session: req.Session, err: err}
	}
}

func (m Model) onAttach(msg attachMsg) (tea.Model, tea.Cmd) {
	if msg.err != nil {
		m.setError("attach: " + msg.err.Error())
		return m, nil
	}
	m.setStatus("switched this tmux client to " + msg.session + "; come back with tmux's switch-client -l (prefix L)")
	return m, nil
}

func (m Model) onAttachDone(msg attachDoneMsg) (tea.Model, tea.Cmd) {
	if msg.err != nil {
		m.setError("attach " + msg.session + ": " + msg.err.Error())
	} else {
		m.setStatus("back from " + msg.session)
	}
	return m, m.requestScan(true)
}
