// Package tmux runs tmux commands against one tmux server, chosen by its
// socket, without a shell in between: it reads the server's sessions and
// panes in one call, and starts, probes, drives and kills sessions by their
// exact names.
//
// Every method runs one tmux command with exec and an argument vector. A
// context without a deadline gets the client's timeout, so no call can hang
// the caller on a wedged server.
package tmux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds a tmux command whose context has no deadline of its
// own.
const DefaultTimeout = 5 * time.Second

// ErrNoServer is matched by errors.Is when no tmux server answers on the
// client's socket: tmux said "no server running on …", or that the socket
// file does not exist.
var ErrNoServer = errors.New("no tmux server running")

// ErrNoSession is matched by errors.Is when tmux could not find the session a
// command named ("can't find session: …"), and when there is no server at
// all, which holds no session.
var ErrNoSession = errors.New("no such tmux session")

// Socket names a tmux server: -L Name, -S Path, or the default server when
// both are empty. Path wins when both are set, as it does for tmux.
type Socket struct {
	// Name is a socket name in tmux's socket directory (tmux -L).
	Name string
	// Path is the socket's full path (tmux -S).
	Path string
}

// String describes the socket the way tmux's flags would: "default",
// "-L NAME" or "-S PATH".
func (s Socket) String() string {
	switch {
	case s.Path != "":
		return "-S " + s.Path
	case s.Name != "":
		return "-L " + s.Name
	}
	return "default"
}

// Args returns the tmux flags that select the socket, or nil for the default
// server.
func (s Socket) Args() []string {
	switch {
	case s.Path != "":
		return []string{"-S", s.Path}
	case s.Name != "":
		return []string{"-L", s.Name}
	}
	return nil
}

// SocketFromEnv parses the value of a TMUX environment variable, which tmux
// sets to "SOCKET_PATH,SERVER_PID,SESSION_ID" (for example
// "/tmp/tmux-0/default,12345,0"), into the server's socket and pid. ok is
// false when the value is empty or malformed.
func SocketFromEnv(tmuxEnv string) (sock Socket, serverPID int, ok bool) {
	// The path may itself hold commas, so split off the two numbers from
	// the right.
	i := strings.LastIndexByte(tmuxEnv, ',')
	if i < 0 {
		return Socket{}, 0, false
	}
	j := strings.LastIndexByte(tmuxEnv[:i], ',')
	if j < 0 {
		return Socket{}, 0, false
	}
	path, pidText, sessionText := tmuxEnv[:j], tmuxEnv[j+1:i], tmuxEnv[i+1:]
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return Socket{}, 0, false
	}
	// tmux writes -1 here for a process that belongs to no session.
	if _, err := strconv.Atoi(sessionText); err != nil {
		return Socket{}, 0, false
	}
	if !filepath.IsAbs(path) {
		return Socket{}, 0, false
	}
	return Socket{Path: path}, pid, true
}

// Client runs tmux commands against the server on one socket. The zero
// value talks to the default server with "tmux" from PATH.
//
// For the default server the child inherits the environment as it is, so
// the client reaches the server that a plain `tmux` typed in the same
// environment would (tmux itself honours $TMUX and $TMUX_TMPDIR). With an
// explicit socket, TMUX and TMUX_PANE are removed from the child's
// environment so nothing of the caller's own tmux leaks into the command
// or into a server the command starts.
type Client struct {
	// Socket is the server the client talks to.
	Socket Socket
	// Bin is the tmux executable; empty means "tmux", looked up in PATH.
	Bin string
	// Config, when set, is passed as -f: the configuration file a server
	// started by this client reads ("/dev/null" for none at all).
	Config string
	// Timeout bounds each command whose context has no deadline; zero
	// means DefaultTimeout.
	Timeout time.Duration
}

// NewClient returns a client for the server on socket s that runs "tmux".
func NewClient(s Socket) *Client {
	return &Client{Socket: s, Bin: "tmux"}
}

// run runs one tmux command and returns its standard output. A failure is a
// *cmdError carrying tmux's standard error.
func (c *Client) run(ctx context.Context, args ...string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		timeout := c.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	bin := c.Bin
	if bin == "" {
		bin = "tmux"
	}
	argv := append([]string(nil), c.Socket.Args()...)
	if c.Config != "" {
		argv = append(argv, "-f", c.Config)
	}
	argv = append(argv, args...)

	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Env = c.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A server started by this command detaches from our pipes; should
	// anything keep them open after tmux exits, stop waiting for it soon.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return stdout.String(), &cmdError{stderr: strings.TrimSpace(stderr.String()), err: err}
	}
	return stdout.String(), nil
}

// env returns the child's environment: nil (inherit ours) for the default
// server, ours without TMUX and TMUX_PANE for an explicit socket.
func (c *Client) env() []string {
	if c.Socket.Args() == nil {
		return nil
	}
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TMUX=") || strings.HasPrefix(kv, "TMUX_PANE=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// cmdError is a tmux command that failed: what it printed on standard error
// and how it ended.
type cmdError struct {
	stderr string
	err    error
}

func (e *cmdError) Error() string {
	if e.stderr == "" {
		return e.err.Error()
	}
	return e.stderr + " (" + e.err.Error() + ")"
}

func (e *cmdError) Unwrap() error { return e.err }

// Is lets errors.Is match ErrNoServer and ErrNoSession from tmux's words.
func (e *cmdError) Is(target error) bool {
	switch target {
	case ErrNoServer:
		return noServer(e.stderr)
	case ErrNoSession:
		return noServer(e.stderr) || hasLinePrefix(e.stderr, "can't find session")
	}
	return false
}

// noServer reports whether tmux's standard error says that no server
// listens on the socket. tmux prints "no server running on PATH" when the
// socket refuses the connection, and "error connecting to PATH (REASON)"
// for any other failure: only a missing socket file (or directory) counts
// as no server; a reason like "Permission denied" or "File name too long"
// is a real error, since a server may well be there.
func noServer(stderr string) bool {
	for line := range strings.Lines(stderr) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "no server running on ") {
			return true
		}
		// The server's last session ended while the command ran.
		if line == "server exited unexpectedly" {
			return true
		}
		if strings.HasPrefix(line, "error connecting to ") &&
			strings.HasSuffix(line, "(No such file or directory)") {
			return true
		}
	}
	return false
}

func hasLinePrefix(text, prefix string) bool {
	for line := range strings.Lines(text) {
		if strings.HasPrefix(strings.TrimSpace(line), prefix) {
			return true
		}
	}
	return false
}

// SessionTarget returns the tmux target for the active pane of the session
// named exactly name ("=NAME:"), for SendKeys and CapturePane. A bare
// "NAME" would match a session whose name merely starts with NAME, and
// "=NAME" without the colon is not accepted where tmux expects a pane.
// For a name holding ':' or '.' or starting with '$', which tmux would
// read as something else, target the pane by its id instead.
func SessionTarget(name string) string {
	return "=" + name + ":"
}

// checkName says why tmux cannot hold a session under exactly this name, or
// could not be pointed at it by name; nil when it can. tmux 3.3 turns ':'
// and '.' in a new name into '_', reads "=A.B" and "=A:B" as a session
// followed by a window or pane (so "=agent_x.0" finds agent_x), and reads
// a leading '$' as a session id.
func checkName(name string) error {
	switch {
	case name == "":
		return &nameError{name: name, why: "empty", never: true}
	case strings.ContainsAny(name, ":."):
		return &nameError{name: name, why: "tmux keeps no ':' or '.' in a session name", never: true}
	case strings.HasPrefix(name, "$"):
		return &nameError{name: name, why: "tmux reads a leading '$' as a session id"}
	}
	return nil
}

// nameError is a session name that tmux cannot keep, or cannot find a
// session by.
type nameError struct {
	name, why string
	never     bool // no session can have the name
}

func (e *nameError) Error() string {
	return fmt.Sprintf("session name %q: %s", e.name, e.why)
}

// Is lets a name that no session can have match ErrNoSession.
func (e *nameError) Is(target error) bool {
	return e.never && target == ErrNoSession
}

// escapeFormat protects text that tmux expands as a format (new-session's
// -s and -c) so that it arrives literally.
func escapeFormat(s string) string {
	return strings.ReplaceAll(s, "#", "##")
}

// quoteCommand joins argv into one shell command line that a POSIX shell
// splits back into exactly argv: each element single-quoted, and an
// embedded single quote written as a quote that ends the quoting, an
// escaped quote, and a quote that starts it again.
func quoteCommand(argv []string) string {
	quoted := make([]string, len(argv))
	for i, arg := range argv {
		quoted[i] = "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}
