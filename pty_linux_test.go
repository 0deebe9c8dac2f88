package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pty is a pseudo-terminal that never answers a terminal query: what the
// program writes is only collected.
type pty struct {
	master, slave *os.File
	mu            sync.Mutex
	out           bytes.Buffer
	done          chan struct{}
}

// openPTY opens a pseudo-terminal pair (posix_openpt, unlockpt, ptsname)
// and closes both ends when the test ends.
func openPTY(t *testing.T) *pty {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	// Non-blocking, so that the runtime's poller reads it and Close ends a
	// pending Read.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		t.Fatalf("ptsname: %v", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Fatalf("open the pty's slave: %v", err)
	}
	p := &pty{master: master, slave: slave, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		slave.Close()
		master.Close()
		<-p.done
	})
	return p
}

func (p *pty) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitOutput waits until the terminal shows want, or limit passes.
func (p *pty) waitOutput(t *testing.T, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(p.output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it shows:\n%s", want, p.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// child is a process the test started; done closes when it has exited.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// exitCode is the child's exit code once done is closed.
func (c *child) exitCode() int { return c.cmd.ProcessState.ExitCode() }

// startOnPTY starts this test binary as agentwatch with the pty as its
// controlling terminal, stdin, stdout and stderr, in a session of its own,
// as a shell would. The process is killed when the test ends.
func startOnPTY(t *testing.T, p *pty, args ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "AGENTWATCH_TEST_AS_MAIN=1", "TERM=xterm-256color")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.done
	})
	return c
}

// wait waits for the child to exit, at most limit.
func (c *child) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(limit):
		t.Fatalf("%v did not finish in %s", c.cmd.Args[1:], limit)
	}
}

// TestNoCommandQueriesTheTerminal: at a terminal that never answers, the
// commands other than the TUI send no query and do not wait for an answer.
func TestNoCommandQueriesTheTerminal(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	for _, args := range [][]string{
		{"log"},
		{"--version"},
		{"check", "--workspace", base, "--tmux-socket-path", "/nonexistent/sock"},
		{"repair", "--dry-run", "--workspace", base, "--tmux-socket-path", "/nonexistent/sock"},
	} {
		t.Run(strings.Join(args[:1], " "), func(t *testing.T) {
			// A query is what would wait for an answer (5s each): none may
			// reach the terminal. No time is asserted: a loaded machine
			// makes any bound a coin toss, and the bytes tell.
			p := openPTY(t)
			startOnPTY(t, p, args...).wait(t, 60*time.Second)
			if out := p.output(); strings.Contains(out, "\x1b]11;?") || strings.Contains(out, "\x1b[6n") {
				t.Errorf("%v queried the terminal: %q", args, out)
			}
		})
	}
}

// TestCtrlCAtAPromptCancels: Ctrl-C typed at the [y/N] question of kill,
// undo, repair and restore ends the command at once with exit 130,
// "cancelled", and nothing done.
func TestCtrlCAtAPromptCancels(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	noServer := []string{"--tmux-socket-path", "/nonexistent/sock"}
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	te := filepath.Join(base, taskEmpty, "AGENT_REGISTRY.json")

	// Something to undo: a repair of a drifted counter.
	python(t, `o = load(sys.argv[1]); o['active_count'] = 7; save(sys.argv[1], o)`, tw)
	if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, noServer...)...); r.code != 0 {
		t.Fatalf("repair: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Something to repair again, and a registry to restore: a complete
	// document with the tail of a longer one behind it.
	python(t, `o = load(sys.argv[1]); o['active_count'] = 9; save(sys.argv[1], o)`, tw)
	orig, _ := os.ReadFile(te)
	if err := os.WriteFile(te, append(orig, "\n  \"max_agents\": 45\n}"...), 0o644); err != nil {
		t.Fatal(err)
	}
	// Something to kill: a process of the test's own, named with --force.
	sleeper := exec.Command("sleep", "600")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })

	tests := []struct {
		name string
		args []string
	}{
		{"kill", append([]string{"kill", "--force", "--workspace", base, fmt.Sprint(sleeper.Process.Pid)}, noServer...)},
		{"undo", []string{"undo"}},
		{"repair", append([]string{"repair", "--workspace", base}, noServer...)},
		{"restore", []string{"restore", "--registry", te}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshotFiles(t, base)
			p := openPTY(t)
			c := startOnPTY(t, p, tt.args...)
			p.waitOutput(t, "[y/N]", 30*time.Second)
			if _, err := p.master.Write([]byte{0x03}); err != nil { // Ctrl-C
				t.Fatal(err)
			}
			c.wait(t, 10*time.Second)
			if code := c.exitCode(); code != 130 {
				t.Errorf("exit %d, want 130", code)
			}
			p.waitOutput(t, "cancelled", 5*time.Second)
			after := snapshotFiles(t, base)
			for path, b := range before {
				if !bytes.Equal(after[path].data, b.data) {
					t.Errorf("%s changed after a cancelled %s", path, tt.name)
				}
			}
			if len(after) != len(before) {
				t.Errorf("%d files after a cancelled %s, want %d", len(after), tt.name, len(before))
			}
			if !alive(sleeper.Process.Pid) {
				t.Fatalf("the process named to kill died after a cancelled %s", tt.name)
			}
		})
	}
}
