package tmux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"agentwatch/internal/lifeline"
)

// runDir holds the socket directory of every tmux server the tests start.
// TestMain checks that nothing started under it outlives the tests.
var runDir string

// fakeTmuxEnv makes the test binary, run as the client's Bin, act as a
// broken tmux: "fail" prints an error and exits 1, "hang" never answers.
const fakeTmuxEnv = "AGENTWATCH_TMUX_TEST_FAKE"

func TestMain(m *testing.M) {
	switch os.Getenv(fakeTmuxEnv) {
	case "fail":
		fmt.Fprintln(os.Stderr, "server exploded")
		os.Exit(1)
	case "hang":
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	// Nothing here may reach the operator's tmux: no $TMUX to follow, and
	// a default-server or -L call that slips through lands in runDir.
	os.Unsetenv("TMUX")
	os.Unsetenv("TMUX_PANE")
	dir, err := os.MkdirTemp("/tmp", "awt")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	runDir = dir
	os.Setenv("TMUX_TMPDIR", dir)

	code := m.Run()

	left := survivors(dir)
	for deadline := time.Now().Add(3 * time.Second); len(left) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		left = survivors(dir)
	}
	if len(left) > 0 {
		fmt.Fprintf(os.Stderr, "processes the tests started still run; killing them:\n%s", strings.Join(left, "\n"))
		for _, line := range left {
			if pid, err := strconv.Atoi(strings.Fields(line)[0]); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		return 1
	}
	return code
}

// survivors lists the processes ("PID ARGS") whose command line names dir: a
// tmux server's names its socket, and the tests' pane commands name their
// files. Pane processes that name nothing are checked by PID in
// stopServer.
func survivors(dir string) []string {
	out, err := exec.Command("ps", "-A", "-o", "pid=", "-o", "args=").Output()
	if err != nil {
		return []string{"ps: " + err.Error()}
	}
	var left []string
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		f := strings.Fields(line)
		if len(f) < 2 || !strings.Contains(line, dir) {
			continue
		}
		if pid, _ := strconv.Atoi(f[0]); pid == os.Getpid() {
			continue
		}
		left = append(left, line)
	}
	return left
}

// newServer returns a client for a private tmux server, -S on a socket in
// a fresh directory short enough for the socket path limit, with no
// configuration file. The server starts with the test's first session.
// Cleanup kills it and waits until it and its panes' processes are gone,
// even when the test fails.
func newServer(t *testing.T) *Client {
	t.Helper()
	dir, err := os.MkdirTemp(runDir, "s")
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{Socket: Socket{Path: filepath.Join(dir, "sock")}, Bin: "tmux", Config: "/dev/null"}
	// Killed when the test binary ends, even by a timeout's panic.
	cut, err := lifeline.TmuxServer(c.Socket.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopServer(t, c)
		cut()
		os.RemoveAll(dir)
	})
	return c
}

// stopServer kills c's server and makes sure that it and every process its
// panes started are gone, killing by PID whatever survives.
func stopServer(t *testing.T, c *Client) {
	t.Helper()
	ctx := context.Background()
	var pids []int
	snap, err := c.Snapshot(ctx)
	if err != nil {
		t.Errorf("cleanup: %v", err)
	} else if snap.Running {
		if snap.ServerPID > 0 {
			pids = append(pids, snap.ServerPID)
		}
		for _, p := range snap.Panes {
			pids = append(pids, p.PanePID)
		}
	}
	if err := c.KillServer(ctx); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	for _, pid := range pids {
		if !waitFor(3*time.Second, func() bool { return !alive(pid) }) {
			t.Errorf("cleanup: pid %d outlived kill-server; killing it", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// alive reports whether pid names a running process (not a zombie).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return !errors.Is(err, syscall.ESRCH)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc (macOS): trust kill(2)
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// waitFor polls cond until it holds or d has passed, and says whether it
// held.
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sleeper is a pane command that stays up and shows as "sleep": the exec
// keeps the shell tmux starts from showing up instead.
var sleeper = []string{"exec", "sleep", "60"}

func mustNewSession(t *testing.T, c *Client, req NewSessionRequest) {
	t.Helper()
	if err := c.NewSession(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}

func TestSocket(t *testing.T) {
	tests := []struct {
		name       string
		sock       Socket
		wantString string
		wantArgs   []string
	}{
		{"default", Socket{}, "default", nil},
		{"name", Socket{Name: "work"}, "-L work", []string{"-L", "work"}},
		{"path", Socket{Path: "/tmp/x/sock"}, "-S /tmp/x/sock", []string{"-S", "/tmp/x/sock"}},
		{"path wins", Socket{Name: "work", Path: "/tmp/x/sock"}, "-S /tmp/x/sock", []string{"-S", "/tmp/x/sock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sock.String(); got != tt.wantString {
				t.Errorf("String() got %q, want %q", got, tt.wantString)
			}
			if got := tt.sock.Args(); !slices.Equal(got, tt.wantArgs) {
				t.Errorf("Args() got %q, want %q", got, tt.wantArgs)
			}
		})
	}
}

func TestSocketFromEnv(t *testing.T) {
	tests := []struct {
		env     string
		want    Socket
		wantPID int
		wantOK  bool
	}{
		{"/tmp/tmux-0/default,12345,0", Socket{Path: "/tmp/tmux-0/default"}, 12345, true},
		{"/private/tmp/tmux-501/work,77,-1", Socket{Path: "/private/tmp/tmux-501/work"}, 77, true},
		{"/tmp/a,b/sock,42,3", Socket{Path: "/tmp/a,b/sock"}, 42, true},
		{"", Socket{}, 0, false},
		{"/tmp/tmux-0/default", Socket{}, 0, false},
		{"/tmp/tmux-0/default,12345", Socket{}, 0, false},
		{"/tmp/tmux-0/default,pid,0", Socket{}, 0, false},
		{"/tmp/tmux-0/default,0,0", Socket{}, 0, false},
		{"/tmp/tmux-0/default,12345,", Socket{}, 0, false},
		{"tmux-0/default,12345,0", Socket{}, 0, false},
		{",12345,0", Socket{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			got, pid, ok := SocketFromEnv(tt.env)
			if got != tt.want || pid != tt.wantPID || ok != tt.wantOK {
				t.Errorf("got %+v, %d, %v, want %+v, %d, %v", got, pid, ok, tt.want, tt.wantPID, tt.wantOK)
			}
		})
	}
}

func TestQuoteCommand(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want string
	}{
		{"words", []string{"sleep", "30"}, `'sleep' '30'`},
		{"spaces", []string{"echo", "a b"}, `'echo' 'a b'`},
		{"single quote", []string{"echo", "it's"}, `'echo' 'it'\''s'`},
		{"only quotes", []string{"''"}, `''\'''\'''`},
		{"empty", []string{"printf", ""}, `'printf' ''`},
		{"shell syntax", []string{"$HOME", "a;b", "`x`", "*"}, "'$HOME' 'a;b' '`x`' '*'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quoteCommand(tt.argv); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParsePanes(t *testing.T) {
	line := func(fields ...string) string { return strings.Join(fields, "\t") + "\n" }
	good := line("100", "$1", "1700000000", "0", "%3", "200", "0", "sleep", "agent_x")
	tests := []struct {
		name      string
		out       string
		wantPID   int
		wantPanes []Pane
		wantErr   string
	}{
		{name: "empty", out: ""},
		{
			name:    "panes",
			out:     good + line("100", "$2", "1700000001", "2", "%4", "201", "1", "", "odd name: é"),
			wantPID: 100,
			wantPanes: []Pane{
				{Session: "agent_x", SessionID: "$1", SessionCreated: time.Unix(1700000000, 0), PaneID: "%3", PanePID: 200, Command: "sleep"},
				{Session: "odd name: é", SessionID: "$2", SessionCreated: time.Unix(1700000001, 0), Attached: true, PaneID: "%4", PanePID: 201, Dead: true},
			},
		},
		{name: "too few fields", out: good + line("100", "$1", "1700000000", "0", "%3", "200", "0", "sleep"), wantErr: "line 2 \"100\\t$1\\t1700000000\\t0\\t%3\\t200\\t0\\tsleep\": 8 fields, want 9"},
		{name: "tab in a name", out: line("100", "$1", "1700000000", "0", "%3", "200", "0", "sleep", "a", "b"), wantErr: "line 1 \"100\\t$1\\t1700000000\\t0\\t%3\\t200\\t0\\tsleep\\ta\\tb\": 10 fields, want 9"},
		{name: "bad server pid", out: line("x", "$1", "1700000000", "0", "%3", "200", "0", "sleep", "a"), wantErr: `pid "x": want a positive number`},
		{name: "bad session id", out: line("100", "1", "1700000000", "0", "%3", "200", "0", "sleep", "a"), wantErr: `session_id "1": want $N`},
		{name: "bad created", out: line("100", "$1", "soon", "0", "%3", "200", "0", "sleep", "a"), wantErr: `session_created "soon": not a number`},
		{name: "bad attached", out: line("100", "$1", "1700000000", "", "%3", "200", "0", "sleep", "a"), wantErr: `session_attached "": not a number`},
		{name: "bad pane id", out: line("100", "$1", "1700000000", "0", "3", "200", "0", "sleep", "a"), wantErr: `pane_id "3": want %N`},
		{name: "bad pane pid", out: line("100", "$1", "1700000000", "0", "%3", "-1", "0", "sleep", "a"), wantErr: `pane_pid "-1": want a positive number`},
		{name: "bad dead", out: line("100", "$1", "1700000000", "0", "%3", "200", "yes", "sleep", "a"), wantErr: `pane_dead "yes": want 0 or 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid, panes, err := parsePanes(tt.out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pid != tt.wantPID {
				t.Errorf("server pid: got %d, want %d", pid, tt.wantPID)
			}
			if !slices.Equal(panes, tt.wantPanes) {
				t.Errorf("got %+v, want %+v", panes, tt.wantPanes)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	created := time.Unix(1700000000, 0)
	snap := &Snapshot{Panes: []Pane{
		{Session: "a", SessionID: "$1", SessionCreated: created, PaneID: "%1"},
		{Session: "a", SessionID: "$1", SessionCreated: created, PaneID: "%2"},
		{Session: "b", SessionID: "$2", SessionCreated: created, Attached: true, PaneID: "%3"},
	}}
	got := snap.Sessions()
	want := []Session{
		{Name: "a", ID: "$1", Created: created, Panes: snap.Panes[:2]},
		{Name: "b", ID: "$2", Created: created, Attached: true, Panes: snap.Panes[2:]},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d sessions, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.ID != w.ID || !g.Created.Equal(w.Created) || g.Attached != w.Attached || !slices.Equal(g.Panes, w.Panes) {
			t.Errorf("session %d: got %+v, want %+v", i, g, w)
		}
	}
	if got := (&Snapshot{}).Sessions(); len(got) != 0 {
		t.Errorf("no panes: got %+v, want no sessions", got)
	}
}

func TestNoServer(t *testing.T) {
	ctx := context.Background()
	dir, err := os.MkdirTemp(runDir, "n")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	stale := filepath.Join(dir, "stale")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sockets := []struct {
		name string
		path string
		says string // what tmux 3.3 prints
	}{
		{"missing socket", filepath.Join(dir, "sock"), "error connecting to … (No such file or directory)"},
		{"missing directory", filepath.Join(dir, "nodir", "sock"), "error connecting to … (No such file or directory)"},
		{"nothing listening", stale, "no server running on …"},
	}
	for _, s := range sockets {
		c := &Client{Socket: Socket{Path: s.path}, Config: "/dev/null"}
		t.Run(s.name+"/snapshot", func(t *testing.T) {
			snap, err := c.Snapshot(ctx)
			if err != nil {
				t.Fatalf("got error %v, want none (tmux says %s)", err, s.says)
			}
			if snap.Running || snap.ServerPID != 0 || len(snap.Panes) != 0 || snap.Socket != c.Socket {
				t.Errorf("got %+v, want a snapshot of %v not running", snap, c.Socket)
			}
		})
		t.Run(s.name+"/has-session", func(t *testing.T) {
			if ok, err := c.HasSession(ctx, "agent_x"); ok || err != nil {
				t.Errorf("got %v, %v, want false, nil", ok, err)
			}
		})
		t.Run(s.name+"/kill-server", func(t *testing.T) {
			if err := c.KillServer(ctx); err != nil {
				t.Errorf("got %v, want nil", err)
			}
		})
		t.Run(s.name+"/kill-session", func(t *testing.T) {
			err := c.KillSession(ctx, "agent_x")
			if !errors.Is(err, ErrNoSession) || !errors.Is(err, ErrNoServer) {
				t.Errorf("got %v, want an error matching ErrNoSession and ErrNoServer", err)
			}
		})
	}
}

func TestSnapshot(t *testing.T) {
	ctx := context.Background()
	c := newServer(t)
	before := time.Now().Add(-time.Second)
	mustNewSession(t, c, NewSessionRequest{Name: "agent_a", Command: sleeper})
	if _, err := c.run(ctx, "split-window", "-d", "-t", SessionTarget("agent_a"), quoteCommand(sleeper)); err != nil {
		t.Fatal(err)
	}
	mustNewSession(t, c, NewSessionRequest{Name: "agent_b", Command: sleeper})
	after := time.Now().Add(time.Second)

	// A pane's current command is its shell until the shell execs the
	// sleeper: look again until every pane shows it, for up to 5 s.
	var snap *Snapshot
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if snap, err = c.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(snap.Panes, func(p Pane) bool { return p.Command != "sleep" }) || time.Now().After(deadline) {
			break
		}
	}
	if !snap.Running || snap.Socket != c.Socket {
		t.Errorf("got running %v on %v, want running on %v", snap.Running, snap.Socket, c.Socket)
	}
	if snap.ServerPID <= 0 || !alive(snap.ServerPID) {
		t.Errorf("server pid: got %d, want a live process", snap.ServerPID)
	}
	if len(snap.Panes) != 3 {
		t.Fatalf("got %d panes, want 3: %+v", len(snap.Panes), snap.Panes)
	}
	paneID := regexp.MustCompile(`^%[0-9]+$`)
	sessionID := regexp.MustCompile(`^\$[0-9]+$`)
	seen := make(map[string]bool)
	for _, p := range snap.Panes {
		if !paneID.MatchString(p.PaneID) || seen[p.PaneID] {
			t.Errorf("pane id: got %q, want a new %%N", p.PaneID)
		}
		seen[p.PaneID] = true
		if !sessionID.MatchString(p.SessionID) {
			t.Errorf("session id: got %q, want $N", p.SessionID)
		}
		if p.PanePID <= 0 || syscall.Kill(p.PanePID, 0) != nil {
			t.Errorf("pane %s pid: got %d, want a live process", p.PaneID, p.PanePID)
		}
		if p.SessionCreated.Before(before) || p.SessionCreated.After(after) {
			t.Errorf("pane %s created: got %v, want between %v and %v", p.PaneID, p.SessionCreated, before, after)
		}
		if p.Attached || p.Dead {
			t.Errorf("pane %s: got attached %v, dead %v, want both false", p.PaneID, p.Attached, p.Dead)
		}
		if p.Command != "sleep" {
			t.Errorf("pane %s command: got %q, want %q", p.PaneID, p.Command, "sleep")
		}
	}

	sessions := snap.Sessions()
	var names []string
	var counts []int
	for _, s := range sessions {
		names = append(names, s.Name)
		counts = append(counts, len(s.Panes))
	}
	if want := []string{"agent_a", "agent_b"}; !slices.Equal(names, want) {
		t.Errorf("sessions: got %q, want %q", names, want)
	}
	if want := []int{2, 1}; !slices.Equal(counts, want) {
		t.Errorf("panes per session: got %v, want %v", counts, want)
	}
	if len(sessions) == 2 && sessions[0].ID == sessions[1].ID {
		t.Errorf("session ids: got %q twice, want two", sessions[0].ID)
	}
}

func TestHasSession(t *testing.T) {
	ctx := context.Background()
	c := newServer(t)
	mustNewSession(t, c, NewSessionRequest{Name: "agent_x-2", Command: sleeper})
	tests := []struct {
		name    string
		want    bool
		wantErr string
	}{
		{name: "agent_x-2", want: true},
		{name: "agent_x"},
		{name: "agent_x-"},
		{name: "agent"},
		{name: "gent_x-2"},
		{name: "agent_x-*"},
		// tmux would read these as agent_x-2 and a window or pane.
		{name: "agent_x-2:"},
		{name: "agent_x-2.0"},
		{name: "agent_x-2:0.0"},
		{name: ""},
		// tmux would read this as the session whose id is $0.
		{name: "$0", wantErr: `tmux has-session: session name "$0": tmux reads a leading '$' as a session id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.HasSession(ctx, tt.name)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("got %v, %v, want false, %s", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v, want %v, nil", got, err, tt.want)
			}
		})
	}
}

func TestKillSession(t *testing.T) {
	ctx := context.Background()
	c := newServer(t)
	mustNewSession(t, c, NewSessionRequest{Name: "agent_x", Command: sleeper})
	mustNewSession(t, c, NewSessionRequest{Name: "agent_x-2", Command: sleeper})

	if err := c.KillSession(ctx, "agent_x"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		want bool
	}{{"agent_x", false}, {"agent_x-2", true}} {
		if got, err := c.HasSession(ctx, tt.name); err != nil || got != tt.want {
			t.Errorf("after kill-session agent_x, has-session %s: got %v, %v, want %v, nil", tt.name, got, err, tt.want)
		}
	}

	err := c.KillSession(ctx, "agent_x")
	const want = "tmux kill-session: can't find session: agent_x"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("killing it again: got %v, want an error starting %q", err, want)
	}
	if !errors.Is(err, ErrNoSession) || errors.Is(err, ErrNoServer) {
		t.Errorf("killing it again: got %v, want an error matching ErrNoSession, not ErrNoServer", err)
	}

	// "=agent_x-2.0" is a pane of agent_x-2 to tmux: it must not be killed.
	err = c.KillSession(ctx, "agent_x-2.0")
	if !errors.Is(err, ErrNoSession) {
		t.Errorf("kill-session agent_x-2.0: got %v, want an error matching ErrNoSession", err)
	}
	if got, err := c.HasSession(ctx, "agent_x-2"); err != nil || !got {
		t.Errorf("after kill-session agent_x-2.0, has-session agent_x-2: got %v, %v, want true, nil", got, err)
	}
}

// TestErrors checks that a tmux failure other than "no server" is an error
// that carries what tmux said.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	c := newServer(t)
	mustNewSession(t, c, NewSessionRequest{Name: "agent_d", Command: sleeper})
	long := &Client{Socket: Socket{Path: filepath.Join(runDir, strings.Repeat("x", 120), "sock")}}
	fake := &Client{Socket: Socket{Path: filepath.Join(runDir, "fake.sock")}, Bin: os.Args[0]}
	missing := &Client{Socket: Socket{Path: filepath.Join(runDir, "missing.sock")}, Bin: filepath.Join(runDir, "no-tmux")}

	tests := []struct {
		name string
		fake string // fakeTmuxEnv for the child
		call func() error
		want string
	}{
		{
			name: "socket path too long",
			call: func() error { _, err := long.Snapshot(ctx); return err },
			want: "tmux list-panes: error connecting to " + long.Socket.Path + " (File name too long)",
		},
		{
			name: "duplicate session",
			call: func() error { return c.NewSession(ctx, NewSessionRequest{Name: "agent_d"}) },
			want: "tmux new-session: duplicate session: agent_d",
		},
		{
			name: "missing pane",
			call: func() error { _, err := c.CapturePane(ctx, "%999"); return err },
			want: "tmux capture-pane: can't find pane: %999",
		},
		{
			name: "exact session is not a pane target",
			call: func() error { return c.SendKeys(ctx, "=agent_d", "x") },
			want: "tmux send-keys: can't find pane: =agent_d",
		},
		{
			name: "tmux fails",
			fake: "fail",
			call: func() error { _, err := fake.Snapshot(ctx); return err },
			want: "tmux list-panes: server exploded (exit status 1)",
		},
		{
			name: "no tmux binary",
			call: func() error { _, err := missing.Snapshot(ctx); return err },
			want: "tmux list-panes: fork/exec " + missing.Bin,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fake != "" {
				t.Setenv(fakeTmuxEnv, tt.fake)
			}
			err := tt.call()
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %v, want an error starting %q", err, tt.want)
			}
			if errors.Is(err, ErrNoServer) {
				t.Errorf("got %v matching ErrNoServer, want another error", err)
			}
		})
	}

	t.Run("timeout", func(t *testing.T) {
		t.Setenv(fakeTmuxEnv, "hang")
		hung := &Client{Socket: fake.Socket, Bin: os.Args[0], Timeout: 200 * time.Millisecond}
		start := time.Now()
		_, err := hung.Snapshot(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want an error matching context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("took %v, want about the 200ms timeout", d)
		}
	})
}

func TestNewSession(t *testing.T) {
	ctx := context.Background()
	c := newServer(t)
	dir := filepath.Dir(c.Socket.Path)
	// A session that lives as long as the test: the subtests' sessions
	// end at once, and a server whose last session ended exits, while the
	// next new-session may already be talking to it.
	mustNewSession(t, c, NewSessionRequest{Name: "keeper", Command: sleeper})

	// readWhenDone polls for the file a pane command writes until it holds
	// the wanted text, and returns what it holds last.
	readWhenDone := func(path, want string) string {
		var got string
		waitFor(5*time.Second, func() bool {
			b, _ := os.ReadFile(path)
			got = string(b)
			return got == want
		})
		return got
	}

	t.Run("env and dir", func(t *testing.T) {
		work := filepath.Join(dir, "work #{pid} it's")
		if err := os.Mkdir(work, 0o700); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "env.out")
		greeting := `hello 'world' #{pid} $HOME "q"`
		mustNewSession(t, c, NewSessionRequest{
			Name:    "agent_env",
			Dir:     work,
			Env:     map[string]string{"AW_GREETING": greeting, "AW_EMPTY": ""},
			Command: []string{"sh", "-c", `printf '%s\n' "$AW_GREETING" "${AW_EMPTY-unset}" "$(pwd -P)" > "$0"`, out},
		})
		realWork, err := filepath.EvalSymlinks(work)
		if err != nil {
			t.Fatal(err)
		}
		want := greeting + "\n\n" + realWork + "\n"
		if got := readWhenDone(out, want); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("argv quoting", func(t *testing.T) {
		out := filepath.Join(dir, "argv.out")
		args := []string{"a b", "it's", "''", "", `"dq"`, "$HOME", "`id`", `back\slash`, "#{pid}", "semi;colon", "two\nlines", "*", "-n"}
		mustNewSession(t, c, NewSessionRequest{
			Name:    "agent_argv",
			Command: append([]string{"sh", "-c", `printf '%s\n' "$@" > "$0"`, out}, args...),
		})
		want := strings.Join(args, "\n") + "\n"
		if got := readWhenDone(out, want); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("size", func(t *testing.T) {
		mustNewSession(t, c, NewSessionRequest{Name: "agent_size", Width: 100, Height: 30, Command: sleeper})
		got, err := c.run(ctx, "display-message", "-p", "-t", SessionTarget("agent_size"), "#{window_width}x#{window_height}")
		if want := "100x30\n"; err != nil || got != want {
			t.Errorf("got %q, %v, want %q", got, err, want)
		}
	})

	t.Run("name with format characters", func(t *testing.T) {
		const name = "agent_#{pid}-##"
		mustNewSession(t, c, NewSessionRequest{Name: name, Command: sleeper})
		if ok, err := c.HasSession(ctx, name); !ok || err != nil {
			t.Errorf("has-session %q: got %v, %v, want true, nil", name, ok, err)
		}
	})

	t.Run("refused", func(t *testing.T) {
		tests := []struct {
			name string
			req  NewSessionRequest
			want string
		}{
			{"dot in name", NewSessionRequest{Name: "agent_v1.2"}, `tmux new-session: session name "agent_v1.2"`},
			{"colon in name", NewSessionRequest{Name: "agent:x"}, `tmux new-session: session name "agent:x"`},
			{"id-like name", NewSessionRequest{Name: "$1"}, `tmux new-session: session name "$1": tmux reads a leading '$' as a session id`},
			{"missing dir", NewSessionRequest{Name: "agent_r", Dir: filepath.Join(dir, "nodir")}, "tmux new-session: stat " + filepath.Join(dir, "nodir")},
			{"dir is a file", NewSessionRequest{Name: "agent_r", Dir: c.Socket.Path}, "tmux new-session: " + c.Socket.Path + ": not a directory"},
			{"env name with =", NewSessionRequest{Name: "agent_r", Env: map[string]string{"A=B": "c"}}, `tmux new-session: environment variable name "A=B"`},
			{"empty env name", NewSessionRequest{Name: "agent_r", Env: map[string]string{"": "c"}}, `tmux new-session: environment variable name ""`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := c.NewSession(ctx, tt.req)
				if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
					t.Errorf("got %v, want an error starting %q", err, tt.want)
				}
			})
		}
		if ok, err := c.HasSession(ctx, "agent_r"); ok || err != nil {
			t.Errorf("has-session agent_r after refusals: got %v, %v, want false, nil", ok, err)
		}
	})
}

func TestSendKeysCapturePane(t *testing.T) {
	ctx := context.Background()
	c := newServer(t)
	mustNewSession(t, c, NewSessionRequest{Name: "agent_k", Width: 80, Height: 24, Command: []string{"cat"}})
	if err := c.SendKeys(ctx, SessionTarget("agent_k"), "hello keys", "Enter", "-dash", "Enter"); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(ctx)
	if err != nil || len(snap.Panes) != 1 {
		t.Fatalf("got %+v, %v, want one pane", snap, err)
	}
	for _, target := range []string{SessionTarget("agent_k"), snap.Panes[0].PaneID} {
		t.Run(target, func(t *testing.T) {
			var got string
			ok := waitFor(5*time.Second, func() bool {
				got, err = c.CapturePane(ctx, target)
				return err == nil && strings.Contains(got, "hello keys\n") && strings.Contains(got, "-dash\n")
			})
			if !ok {
				t.Errorf("got %q, %v, want the pane to show the typed lines", got, err)
			}
		})
	}
}

func TestKillServer(t *testing.T) {
	ctx := context.Background()
	c := newServer(t)
	mustNewSession(t, c, NewSessionRequest{Name: "agent_s", Command: sleeper})
	snap, err := c.Snapshot(ctx)
	if err != nil || !snap.Running || len(snap.Panes) != 1 {
		t.Fatalf("got %+v, %v, want one pane on a running server", snap, err)
	}
	if err := c.KillServer(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{snap.ServerPID, snap.Panes[0].PanePID} {
		if !waitFor(3*time.Second, func() bool { return !alive(pid) }) {
			t.Errorf("pid %d: got alive after kill-server, want gone", pid)
		}
	}
	if snap, err := c.Snapshot(ctx); err != nil || snap.Running {
		t.Errorf("snapshot after kill-server: got %+v, %v, want not running", snap, err)
	}
	if err := c.KillServer(ctx); err != nil {
		t.Errorf("kill-server again: got %v, want nil", err)
	}
}

func TestNoServerMessages(t *testing.T) {
	for msg, want := range map[string]bool{
		"no server running on /tmp/x/sock\n":                            true,
		"error connecting to /tmp/x/sock (No such file or directory)\n": true,
		"server exited unexpectedly\n":                                  true,
		"error connecting to /tmp/x/sock (Permission denied)\n":         false,
		"can't find session: agent_x\n":                                 false,
	} {
		if got := noServer(msg); got != want {
			t.Errorf("noServer(%q) = %v, want %v", msg, got, want)
		}
	}
}

// TestKillSessionIfSame: a session is killed by its id, and only while the
// id, creation time and name a snapshot saw are still the session's.
func TestKillSessionIfSame(t *testing.T) {
	ctx := context.Background()
	c := newServer(t)
	session := func(name string) Session {
		t.Helper()
		snap, err := c.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range snap.Sessions() {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("no session %s", name)
		return Session{}
	}
	mustNewSession(t, c, NewSessionRequest{Name: "agent_x", Command: sleeper})
	mustNewSession(t, c, NewSessionRequest{Name: "agent_x-2", Command: sleeper})
	old := session("agent_x")

	// Replaced: the planned session ended and another took its name.
	if err := c.KillSession(ctx, "agent_x"); err != nil {
		t.Fatal(err)
	}
	mustNewSession(t, c, NewSessionRequest{Name: "agent_x", Command: sleeper})
	replacement := session("agent_x")
	if replacement.ID == old.ID {
		t.Fatalf("tmux gave the id %s twice", old.ID)
	}
	if err := c.KillSessionIfSame(ctx, old); !errors.Is(err, ErrSessionReplaced) {
		t.Errorf("the replaced session: got %v, want an error matching ErrSessionReplaced", err)
	}
	// The id names a session created at another time (a restarted server).
	stale := replacement
	stale.Created = stale.Created.Add(-time.Hour)
	if err := c.KillSessionIfSame(ctx, stale); !errors.Is(err, ErrSessionReplaced) {
		t.Errorf("another creation time: got %v, want an error matching ErrSessionReplaced", err)
	}
	// Renamed: not killed either.
	renamed := replacement
	renamed.Name = "agent_y"
	if err := c.KillSessionIfSame(ctx, renamed); err == nil || errors.Is(err, ErrSessionReplaced) || !strings.Contains(err.Error(), "renamed") {
		t.Errorf("a renamed session: got %v, want an error that says it was renamed", err)
	}
	if got, err := c.HasSession(ctx, "agent_x"); err != nil || !got {
		t.Fatalf("after three refusals, has-session agent_x: got %v, %v, want true, nil", got, err)
	}

	// The same session: killed, and only it.
	if err := c.KillSessionIfSame(ctx, replacement); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		want bool
	}{{"agent_x", false}, {"agent_x-2", true}} {
		if got, err := c.HasSession(ctx, tt.name); err != nil || got != tt.want {
			t.Errorf("has-session %s: got %v, %v, want %v, nil", tt.name, got, err, tt.want)
		}
	}
	// Gone: ErrNoSession.
	if err := c.KillSessionIfSame(ctx, replacement); !errors.Is(err, ErrNoSession) || errors.Is(err, ErrSessionReplaced) {
		t.Errorf("a session that ended: got %v, want an error matching ErrNoSession", err)
	}
}
