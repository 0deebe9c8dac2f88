package tmux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HasSession reports whether a session named exactly name exists, with
// `tmux has-session -t =NAME`. A missing session and a missing server are
// both false with a nil error, and so is a name holding ':' or '.', which
// no tmux session can have (tmux would read it as a session and a window or
// pane). A name tmux cannot look up by name (one starting with '$', tmux's
// mark of a session id) is an error.
func (c *Client) HasSession(ctx context.Context, name string) (bool, error) {
	err := checkName(name)
	if err == nil {
		_, err = c.run(ctx, "has-session", "-t", "="+name)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNoSession):
		return false, nil
	}
	return false, fmt.Errorf("tmux has-session: %w", err)
}

// KillSession kills the session named exactly name, with
// `tmux kill-session -t =NAME` (a bare -t NAME would match any session whose
// name starts with NAME). tmux sends SIGHUP to the processes of the
// session's panes. A missing session, no server, or a name no session can
// have (see HasSession) is an error matching ErrNoSession; tmux is not run
// for a name it would read as a window or pane of another session.
func (c *Client) KillSession(ctx context.Context, name string) error {
	err := checkName(name)
	if err == nil {
		_, err = c.run(ctx, "kill-session", "-t", "="+name)
	}
	if err != nil {
		return fmt.Errorf("tmux kill-session: %w", err)
	}
	return nil
}

// ErrSessionReplaced means that the session a plan named is not the one
// tmux holds now: it ended and another took its name (a new id), or the
// server was restarted (the id names a session created at another time).
var ErrSessionReplaced = errors.New("replaced since the plan")

// sessionFormat is the list-sessions format: id, creation time and name,
// tab-separated, the name last so that a tab in it stays in it.
const sessionFormat = "#{session_id}\t#{session_created}\t#{session_name}"

// KillSessionIfSame kills the session want names — as a snapshot saw it:
// its Name, ID and Created are read — only if tmux still holds that very
// session. It lists the sessions with `tmux list-sessions -F FORMAT`, and
// when the session with want's id has want's creation time and name, runs
// `tmux kill-session -t $N`: by id, which tmux never gives twice while it
// runs, so that a session that took the name meanwhile cannot be hit, not
// even between the check and the kill.
//
// A session that is gone, name and id (or the server with it), is an error
// matching ErrNoSession; one whose name another session holds now, or whose
// id names a session of another creation time, matches ErrSessionReplaced;
// a session renamed since is an error of its own. tmux is run for none of
// them.
func (c *Client) KillSessionIfSame(ctx context.Context, want Session) error {
	if !strings.HasPrefix(want.ID, "$") {
		return fmt.Errorf("tmux kill-session %q: session id %q: want $N", want.Name, want.ID)
	}
	out, err := c.run(ctx, "list-sessions", "-F", sessionFormat)
	if err != nil {
		return fmt.Errorf("tmux list-sessions: %w", err)
	}
	var byID, byName *Session
	for line := range strings.Lines(out) {
		f := strings.SplitN(strings.TrimSuffix(line, "\n"), "\t", 3)
		if len(f) != 3 {
			return fmt.Errorf("tmux list-sessions: line %q: want id, creation time and name", line)
		}
		created, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return fmt.Errorf("tmux list-sessions: session_created %q: not a number", f[1])
		}
		s := &Session{ID: f[0], Created: time.Unix(created, 0), Name: f[2]}
		if s.ID == want.ID {
			byID = s
		}
		if s.Name == want.Name {
			byName = s
		}
	}
	switch {
	case byID == nil && byName == nil:
		return fmt.Errorf("tmux kill-session: session %q (%s) has ended: %w", want.Name, want.ID, ErrNoSession)
	case byID == nil:
		return fmt.Errorf("tmux kill-session: session %q is %s (created %s) now, not %s (created %s): %w",
			want.Name, byName.ID, byName.Created.Format(time.RFC3339), want.ID, want.Created.Format(time.RFC3339), ErrSessionReplaced)
	case !byID.Created.Equal(want.Created):
		return fmt.Errorf("tmux kill-session: session %q (%s) was created %s, not %s: %w",
			want.Name, want.ID, byID.Created.Format(time.RFC3339), want.Created.Format(time.RFC3339), ErrSessionReplaced)
	case byID.Name != want.Name:
		return fmt.Errorf("tmux kill-session: session %q (%s) was renamed %q since: not killed; look at it and kill it by its new name",
			want.Name, want.ID, byID.Name)
	}
	if _, err := c.run(ctx, "kill-session", "-t", want.ID); err != nil {
		return fmt.Errorf("tmux kill-session: %w", err)
	}
	return nil
}

// NewSessionRequest describes a detached session for NewSession to start.
type NewSessionRequest struct {
	// Name is the session's name (-s); empty lets tmux pick one. A name
	// that tmux would change (it turns ':' and '.' into '_') or could not
	// find again by name (a leading '$') is refused.
	Name string
	// Dir is the panes' working directory (-c); it must exist, since tmux
	// silently falls back to another directory when it does not. Empty
	// means the server's choice.
	Dir string
	// Env sets variables in the session's environment (-e NAME=VALUE),
	// which its first pane's process inherits.
	Env map[string]string
	// Width and Height, when non-zero, set the window size (-x, -y).
	Width, Height int
	// Command is the argument vector the pane runs. tmux runs a command as
	// a line for its default shell (sh -c LINE, as the orchestrator does),
	// so the vector is joined with every element single-quoted, which any
	// POSIX shell splits back exactly; empty runs the default shell.
	Command []string
}

// NewSession starts a detached session, with
// `tmux new-session -d -s NAME [-c DIR] [-e VAR=VAL]... [-x W] [-y H] [COMMAND]`.
// A server that is not running is started.
func (c *Client) NewSession(ctx context.Context, req NewSessionRequest) error {
	args := []string{"new-session", "-d"}
	if req.Name != "" {
		if err := checkName(req.Name); err != nil {
			return fmt.Errorf("tmux new-session: %w", err)
		}
		// -s and -c are expanded as formats: "##" keeps a '#'.
		args = append(args, "-s", escapeFormat(req.Name))
	}
	if req.Dir != "" {
		info, err := os.Stat(req.Dir)
		if err != nil {
			return fmt.Errorf("tmux new-session: %w", err)
		}
		if !info.IsDir() {
			return fmt.Errorf("tmux new-session: %s: not a directory", req.Dir)
		}
		args = append(args, "-c", escapeFormat(req.Dir))
	}
	keys := make([]string, 0, len(req.Env))
	for k := range req.Env {
		if k == "" || strings.Contains(k, "=") {
			return fmt.Errorf("tmux new-session: environment variable name %q", k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		args = append(args, "-e", k+"="+req.Env[k])
	}
	if req.Width != 0 {
		args = append(args, "-x", fmt.Sprint(req.Width))
	}
	if req.Height != 0 {
		args = append(args, "-y", fmt.Sprint(req.Height))
	}
	if len(req.Command) > 0 {
		args = append(args, quoteCommand(req.Command))
	}
	if _, err := c.run(ctx, args...); err != nil {
		return fmt.Errorf("tmux new-session: %w", err)
	}
	return nil
}

// KillServer stops the server and every session on it, with
// `tmux kill-server`. No server running is not an error.
func (c *Client) KillServer(ctx context.Context) error {
	if _, err := c.run(ctx, "kill-server"); err != nil && !errors.Is(err, ErrNoServer) {
		return fmt.Errorf("tmux kill-server: %w", err)
	}
	return nil
}

// SendKeys types keys into the target pane, with
// `tmux send-keys -t TARGET -- KEYS...`. Each key is a tmux key name
// ("Enter", "C-c") or else text typed as it is; the "--" lets a key start
// with '-'. The target is a pane id ("%3") or SessionTarget(name).
func (c *Client) SendKeys(ctx context.Context, target string, keys ...string) error {
	args := append([]string{"send-keys", "-t", target, "--"}, keys...)
	if _, err := c.run(ctx, args...); err != nil {
		return fmt.Errorf("tmux send-keys: %w", err)
	}
	return nil
}

// CapturePane returns the visible text of the target pane, with
// `tmux capture-pane -p -t TARGET`. The target is a pane id ("%3") or
// SessionTarget(name).
func (c *Client) CapturePane(ctx context.Context, target string) (string, error) {
	out, err := c.run(ctx, "capture-pane", "-p", "-t", target)
	if err != nil {
		return "", fmt.Errorf("tmux capture-pane: %w", err)
	}
	return out, nil
}
