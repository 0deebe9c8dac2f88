package procscan

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests run real processes: this test binary, re-run as a child.
// TestMain copies it into a temporary directory under the name "claude", so
// its children have comm "claude" like the real thing, and dispatches on
// roleEnv to the behaviour a test asked for.

// roleEnv names the behaviour of a re-run test binary.
const roleEnv = "PROCSCAN_TEST_ROLE"

// fakeLifetime bounds every fake's life, so that nothing outlives a test
// binary that crashed before its cleanups ran.
const fakeLifetime = 60 * time.Second

// fakeClaude is the path of the test binary copied as "claude".
var fakeClaude string

// started holds every process the tests started, directly or through a
// fake, for the leak check at the end.
var started struct {
	sync.Mutex
	ids []Identity
}

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	becomeSubreaper()
	dir, err := os.MkdirTemp("", "procscan-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	// Readable by all, so a fake can run as another user.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fakeClaude = filepath.Join(dir, "claude")
	if err := copyExecutable(fakeClaude); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	code := m.Run()

	started.Lock()
	defer started.Unlock()
	var leaked []Identity
	for _, id := range started.ids {
		if Alive(id) {
			fmt.Fprintf(os.Stderr, "leak check: process %d (started %d) is still alive\n", id.PID, id.Start)
			_ = unix.Kill(int(id.PID), unix.SIGKILL)
			leaked = append(leaked, id)
			code = 1
		}
	}
	for _, id := range reap(leaked, time.Now().Add(3*time.Second)) {
		fmt.Fprintf(os.Stderr, "leak check: process %d could not be reaped\n", id.PID)
	}
	return code
}

// copyExecutable copies the running test binary to path.
func copyExecutable(path string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	src, err := os.Open(self)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// runRole is a fake claude. It prints "pid N" for itself and for every
// process it started, then "ready" once its behaviour is in place, and then
// runs until it is killed (or fakeLifetime passes).
//   - sleep: nothing more.
//   - ignore-hup-and-term: ignores SIGHUP and SIGTERM, so only SIGKILL ends it.
//   - setsid-child: starts a child of itself that calls setsid.
//   - tree: starts a chain of PROCSCAN_TEST_DEPTH descendants.
func runRole(role string) int {
	go func() {
		time.Sleep(fakeLifetime)
		os.Exit(3)
	}()
	switch role {
	case "sleep":
	case "ignore-hup-and-term":
		signal.Ignore(syscall.SIGHUP, syscall.SIGTERM)
	case "setsid-child":
		if err := spawnChild("setsid-grandchild", nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	case "setsid-grandchild":
		if _, err := unix.Setsid(); err != nil {
			fmt.Fprintln(os.Stderr, "setsid:", err)
			return 2
		}
	case "tree":
		depth, _ := strconv.Atoi(os.Getenv("PROCSCAN_TEST_DEPTH"))
		if depth > 0 {
			if err := spawnChild("tree", []string{"PROCSCAN_TEST_DEPTH=" + strconv.Itoa(depth-1)}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		return 2
	}
	fmt.Printf("pid %d\nready\n", os.Getpid())
	select {}
}

// spawnChild starts this binary again in role, with env added, waits until
// it is ready and forwards the PIDs it printed. The child is never waited
// for: it is meant to outlive its parent when the parent is killed.
func spawnChild(role string, env []string) error {
	cmd := exec.Command(os.Args[0], "--child")
	cmd.Env = append(append(os.Environ(), roleEnv+"="+role), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "ready" {
			return nil
		}
		fmt.Println(sc.Text())
	}
	return fmt.Errorf("child in role %s exited before it was ready", role)
}

// fakeSpec says how to start a fake claude.
type fakeSpec struct {
	role string
	args []string
	env  []string // added to the environment
	uid  uint32   // run as this user when nonzero (needs root)
	// setsid starts the fake as the leader of a session of its own.
	setsid bool
}

// fake is a running fake claude and what it started.
type fake struct {
	cmd *exec.Cmd
	// ids are the fake's processes: its descendants, deepest first, then
	// the fake itself.
	ids []Identity
}

// id returns the fake's own identity.
func (f *fake) id() Identity { return f.ids[len(f.ids)-1] }

// pid returns the fake's own PID.
func (f *fake) pid() int32 { return f.id().PID }

// startFake starts a fake claude and waits until it is ready. Every
// process it started is killed, by PID and start time, when the test ends,
// however it ends.
func startFake(t *testing.T, spec fakeSpec) *fake {
	t.Helper()
	cmd := exec.Command(fakeClaude, spec.args...)
	env := []string{roleEnv + "=" + spec.role}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMUX=") && !strings.HasPrefix(kv, "TMUX_PANE=") && !strings.HasPrefix(kv, roleEnv+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, spec.env...)
	cmd.SysProcAttr = childAttr(spec.uid)
	cmd.SysProcAttr.Setsid = spec.setsid
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start fake claude: %v", err)
	}
	f := &fake{cmd: cmd}
	t.Cleanup(func() { f.stop(t) })

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("fake claude (%s) exited before it was ready", spec.role)
			}
			if line == "ready" {
				if len(f.ids) == 0 || f.pid() != int32(cmd.Process.Pid) {
					t.Fatalf("fake claude reported PIDs %v, last should be its own %d", f.ids, cmd.Process.Pid)
				}
				return f
			}
			var pid int32
			if _, err := fmt.Sscanf(line, "pid %d", &pid); err != nil {
				t.Fatalf("fake claude printed %q", line)
			}
			f.ids = append(f.ids, track(t, pid))
		case <-timeout:
			t.Fatalf("fake claude (%s) not ready after 10s", spec.role)
		}
	}
}

// track records the process pid has now as one the tests started.
func track(t *testing.T, pid int32) Identity {
	t.Helper()
	st, err := probe(context.Background(), pid)
	if err != nil {
		t.Fatalf("read started process %d: %v", pid, err)
	}
	id := Identity{PID: pid, Start: st.Start}
	started.Lock()
	started.ids = append(started.ids, id)
	started.Unlock()
	return id
}

// stop kills every process of the fake that still runs, by PID after
// checking its start time, and reaps those that are children of the test.
func (f *fake) stop(t *testing.T) {
	for _, id := range f.ids {
		if Alive(id) {
			_ = unix.Kill(int(id.PID), unix.SIGKILL)
		}
	}
	_ = f.cmd.Wait() // an error when Kill or a test reaped it first
	for _, id := range reap(f.ids, time.Now().Add(3*time.Second)) {
		st, _ := probe(context.Background(), id.PID)
		t.Errorf("cleanup: process %d still there (state %s, parent %d)", id.PID, st.State, st.PPID)
	}
}

// reap waits until each of ids is gone, reaping it when it is a zombie
// child of the test (orphans are reparented to the test, a subreaper), and
// returns those still there at the deadline.
func reap(ids []Identity, deadline time.Time) []Identity {
	self := int32(os.Getpid())
	var left []Identity
	for _, id := range ids {
		for {
			st, err := probe(context.Background(), id.PID)
			if err != nil || st.Start != id.Start {
				break
			}
			if st.zombie() && st.PPID == self {
				var ws unix.WaitStatus
				_, _ = unix.Wait4(int(id.PID), &ws, 0, nil)
				break
			}
			if st.zombie() && !orphansComeHere {
				break // launchd reaps it; it is not alive
			}
			if time.Now().After(deadline) {
				left = append(left, id)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return left
}

// waitFor polls cond every 5 ms until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
