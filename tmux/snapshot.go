package tmux

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Pane is one tmux pane and the session it belongs to, as list-panes -a
// reports it.
type Pane struct {
	// Session is the session's name.
	Session string
	// SessionID is the session's id, "$N".
	SessionID string
	// SessionCreated is when the session was created (whole seconds).
	SessionCreated time.Time
	// Attached reports whether any client is attached to the session.
	Attached bool
	// PaneID is the pane's id, "%N", a target that stays valid for the
	// pane's life.
	PaneID string
	// PanePID is the pid of the pane's first process (its shell, or the
	// command the session was started with): the leader of the pane's
	// session and process group.
	PanePID int
	// Dead reports a pane whose process has exited but which tmux keeps
	// (remain-on-exit).
	Dead bool
	// Command is the name of the pane's foreground process
	// (pane_current_command).
	Command string
}

// Snapshot is what one tmux server held at one moment.
type Snapshot struct {
	// Socket is the server's socket.
	Socket Socket
	// Running is false when no server answers on the socket; the snapshot
	// then holds no panes.
	Running bool
	// ServerPID is the server's pid; zero when it is not running or holds
	// no panes to report it.
	ServerPID int
	// Panes are the server's panes, session by session in tmux's order.
	Panes []Pane
}

// Session is one tmux session and its panes, as grouped from a Snapshot.
type Session struct {
	// Name is the session's name.
	Name string
	// ID is the session's id, "$N".
	ID string
	// Created is when the session was created.
	Created time.Time
	// Attached reports whether any client is attached to the session.
	Attached bool
	// Panes are the session's panes.
	Panes []Pane
}

// Sessions groups the snapshot's panes by session name, in the order the
// sessions first appear.
func (s *Snapshot) Sessions() []Session {
	var sessions []Session
	index := make(map[string]int)
	for _, p := range s.Panes {
		i, ok := index[p.Session]
		if !ok {
			i = len(sessions)
			index[p.Session] = i
			sessions = append(sessions, Session{
				Name:     p.Session,
				ID:       p.SessionID,
				Created:  p.SessionCreated,
				Attached: p.Attached,
			})
		}
		sessions[i].Panes = append(sessions[i].Panes, p)
	}
	return sessions
}

// paneFormat is the list-panes format: one tab-separated line per pane.
// The session name, the field most likely to hold odd characters, comes
// last; a tab in any field makes the line's field count wrong, which is
// reported rather than guessed around.
const paneFormat = "#{pid}\t#{session_id}\t#{session_created}\t#{session_attached}\t" +
	"#{pane_id}\t#{pane_pid}\t#{pane_dead}\t#{pane_current_command}\t#{session_name}"

const paneFields = 9

// Snapshot lists every pane of the server with one
// `tmux list-panes -a -F FORMAT`. No server on the socket is not an error:
// the snapshot says Running false and holds no panes. Any other failure is
// an error that includes what tmux printed.
func (c *Client) Snapshot(ctx context.Context) (*Snapshot, error) {
	snap := &Snapshot{Socket: c.Socket}
	out, err := c.run(ctx, "list-panes", "-a", "-F", paneFormat)
	if err != nil {
		if errors.Is(err, ErrNoServer) {
			return snap, nil
		}
		return nil, fmt.Errorf("tmux list-panes: %w", err)
	}
	snap.Running = true
	snap.ServerPID, snap.Panes, err = parsePanes(out)
	if err != nil {
		return nil, fmt.Errorf("tmux list-panes: %w", err)
	}
	return snap, nil
}

// parsePanes parses list-panes output in paneFormat into the server's pid
// and the panes.
func parsePanes(out string) (serverPID int, panes []Pane, err error) {
	n := 0
	for line := range strings.Lines(out) {
		n++
		line = strings.TrimSuffix(line, "\n")
		p, pid, err := parsePane(line)
		if err != nil {
			return 0, nil, fmt.Errorf("line %d %q: %w", n, line, err)
		}
		if serverPID == 0 {
			serverPID = pid
		}
		panes = append(panes, p)
	}
	return serverPID, panes, nil
}

// parsePane parses one line of paneFormat into a pane and the server's pid.
func parsePane(line string) (Pane, int, error) {
	f := strings.Split(line, "\t")
	if len(f) != paneFields {
		return Pane{}, 0, fmt.Errorf("%d fields, want %d", len(f), paneFields)
	}
	serverPID, err := positive("pid", f[0])
	if err != nil {
		return Pane{}, 0, err
	}
	if !strings.HasPrefix(f[1], "$") {
		return Pane{}, 0, fmt.Errorf("session_id %q: want $N", f[1])
	}
	created, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return Pane{}, 0, fmt.Errorf("session_created %q: not a number", f[2])
	}
	attached, err := strconv.Atoi(f[3])
	if err != nil {
		return Pane{}, 0, fmt.Errorf("session_attached %q: not a number", f[3])
	}
	if !strings.HasPrefix(f[4], "%") {
		return Pane{}, 0, fmt.Errorf("pane_id %q: want %%N", f[4])
	}
	panePID, err := positive("pane_pid", f[5])
	if err != nil {
		return Pane{}, 0, err
	}
	var dead bool
	switch f[6] {
	case "0":
	case "1":
		dead = true
	default:
		return Pane{}, 0, fmt.Errorf("pane_dead %q: want 0 or 1", f[6])
	}
	return Pane{
		Session:        f[8],
		SessionID:      f[1],
		SessionCreated: time.Unix(created, 0),
		Attached:       attached > 0,
		PaneID:         f[4],
		PanePID:        panePID,
		Dead:           dead,
		Command:        f[7],
	}, serverPID, nil
}

func positive(field, text string) (int, error) {
	n, err := strconv.Atoi(text)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive number", field, text)
	}
	return n, nil
}
