package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"time"

	"agentwatch/registry"
	"agentwatch/tmux"
)

// PreviewRequest names what to read to preview one row of the screen: the
// text of one tmux pane and the end of one stream log.
type PreviewRequest struct {
	// Server is the pane's tmux server as the snapshot names it
	// (Socket.String()); Pane is its id ("%3"). An empty Pane reads no pane.
	Server string
	Pane   string
	// Logs are where the stream log may be, most likely first (logs/, then
	// archive/): the first that exists is read.
	Logs []string
	// Lines is how many of the log's last lines to return; 0 means 40.
	Lines int
}

// Preview is what was read for a PreviewRequest. Each part has its own
// error: a pane that is gone does not hide the log.
type Preview struct {
	Pane    string
	PaneErr error
	// Log is the stream log read ("" when none of the candidates exists);
	// LogLines its last lines, oldest first; LogModified when it last
	// changed.
	Log         string
	LogLines    []string
	LogModified time.Time
	LogErr      error
}

// previewTail bounds how much of a stream log's end is read: a stream log
// line can be long (a tool result), but a preview needs the last few.
const previewTail = 128 << 10

// Preview reads a pane's text (tmux capture-pane) and a stream log's last
// lines. It reads nothing else, so the screen can call it a few times a
// second for the selected row only.
func (e *Engine) Preview(ctx context.Context, snap *Snapshot, req PreviewRequest) *Preview {
	p := &Preview{}
	if req.Pane != "" {
		sock, ok := serverSocket(snap, req.Server)
		if !ok {
			p.PaneErr = fmt.Errorf("capture pane %s: tmux server %s was not scanned", req.Pane, req.Server)
		} else {
			p.Pane, p.PaneErr = tmux.NewClient(sock).CapturePane(ctx, req.Pane)
		}
	}
	lines := req.Lines
	if lines <= 0 {
		lines = 40
	}
	for _, path := range req.Logs {
		out, mod, err := tailLines(path, lines)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		p.Log, p.LogLines, p.LogModified, p.LogErr = path, out, mod, err
		break
	}
	return p
}

// tailLines returns the last n complete lines of the file at path, and when
// it was last modified.
func tailLines(path string, n int) ([]string, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read stream log: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("read stream log %s: not a regular file", path)
	}
	start := int64(0)
	if st.Size() > previewTail {
		start = st.Size() - previewTail
	}
	data, err := io.ReadAll(io.NewSectionReader(f, start, previewTail))
	if err != nil {
		return nil, st.ModTime(), fmt.Errorf("read stream log: %w", err)
	}
	if start > 0 { // the first line read is cut: drop it
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	data = bytes.TrimRight(data, "\n")
	if len(data) == 0 {
		return nil, st.ModTime(), nil
	}
	all := bytes.Split(data, []byte("\n"))
	if len(all) > n {
		all = all[len(all)-n:]
	}
	out := make([]string, len(all))
	for i, l := range all {
		out[i] = string(bytes.TrimRight(l, "\r"))
	}
	return out, st.ModTime(), nil
}

// AttachRequest names a session to jump to.
type AttachRequest struct {
	Server  string // as the snapshot names it
	Session string // the exact name
	// TMUX and TMUXPane are agentwatch's own TMUX and TMUX_PANE: when they
	// name a pane of the session's server, agentwatch runs inside it.
	TMUX, TMUXPane string
}

// ErrNotInside is returned by SwitchClient when agentwatch does not run
// inside a pane of the session's server: the caller attaches instead.
var ErrNotInside = errors.New("not inside a pane of that tmux server")

// SwitchClient moves the tmux client that shows agentwatch to the session
// (tmux switch-client), when agentwatch runs in a pane of the session's
// own server; otherwise it returns ErrNotInside.
func (e *Engine) SwitchClient(ctx context.Context, snap *Snapshot, req AttachRequest) error {
	sock, ok := serverSocket(snap, req.Server)
	if !ok {
		return fmt.Errorf("attach %s: tmux server %s was not scanned", req.Session, req.Server)
	}
	own, _, ok := tmux.SocketFromEnv(req.TMUX)
	if !ok || req.TMUXPane == "" || !registry.SamePath(own.Path, socketPath(sock)) {
		return ErrNotInside
	}
	if err := tmux.NewClient(sock).SwitchClient(ctx, req.TMUXPane, req.Session); err != nil {
		return fmt.Errorf("attach %s: %w", req.Session, err)
	}
	return nil
}

// AttachCommand is the command that attaches the terminal to the session
// (tmux attach-session), for a screen that hands its terminal over.
func (e *Engine) AttachCommand(snap *Snapshot, req AttachRequest) (*exec.Cmd, error) {
	sock, ok := serverSocket(snap, req.Server)
	if !ok {
		return nil, fmt.Errorf("attach %s: tmux server %s was not scanned", req.Session, req.Server)
	}
	return tmux.NewClient(sock).AttachCommand(req.Session), nil
}

// CopyToTmux puts text into the paste buffer of the tmux server that the
// TMUX value tmuxEnv names (agentwatch's own, when it runs inside tmux).
func (e *Engine) CopyToTmux(ctx context.Context, tmuxEnv, text string) error {
	sock, _, ok := tmux.SocketFromEnv(tmuxEnv)
	if !ok {
		return ErrNotInside
	}
	return tmux.NewClient(sock).SetBuffer(ctx, text)
}
