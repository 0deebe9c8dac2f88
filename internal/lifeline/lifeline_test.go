package lifeline

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs this test binary as the owner of a lifeline when asked:
// it ties a watcher that writes a file, then dies without a cleanup.
func TestMain(m *testing.M) {
	if mark := os.Getenv("LIFELINE_TEST_MARK"); mark != "" {
		if _, err := Tie(exec.Command("sh", "-c", `cat >/dev/null; echo ended > "$1"`, "w", mark)); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("tied\n")
		if os.Getenv("LIFELINE_TEST_HOW") == "panic" {
			panic("a test run that timed out")
		}
		time.Sleep(time.Hour) // until killed
	}
	os.Exit(m.Run())
}

// TestTheWatcherActsWhenItsOwnerDies: an owner that panics, and one
// killed by SIGKILL, set their watchers off; a live owner does not.
func TestTheWatcherActsWhenItsOwnerDies(t *testing.T) {
	for _, how := range []string{"panic", "kill"} {
		t.Run(how, func(t *testing.T) {
			mark := filepath.Join(t.TempDir(), "mark")
			owner := exec.Command(os.Args[0], "-test.run=^$")
			owner.Env = append(os.Environ(), "LIFELINE_TEST_MARK="+mark, "LIFELINE_TEST_HOW="+how)
			out, err := owner.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := owner.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { owner.Process.Kill(); owner.Wait() })
			buf := make([]byte, 5)
			if n, _ := out.Read(buf); string(buf[:n]) != "tied\n" {
				t.Fatalf("owner said %q", buf[:n])
			}
			if how == "kill" {
				// Alive, the owner holds its watcher back.
				time.Sleep(200 * time.Millisecond)
				if _, err := os.Stat(mark); err == nil {
					t.Fatal("the watcher acted while its owner lived")
				}
				owner.Process.Kill()
			}
			owner.Wait()
			deadline := time.Now().Add(30 * time.Second)
			for {
				b, err := os.ReadFile(mark)
				if err == nil && strings.TrimSpace(string(b)) == "ended" {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("the watcher did not act after its owner died (%s)", how)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestCutActsAndWaits: cut sets the watcher off at once and returns once
// it is done; a second cut is the first's answer.
func TestCutActsAndWaits(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "mark")
	cut, err := Tie(exec.Command("sh", "-c", `cat >/dev/null; echo ended > "$1"`, "w", mark))
	if err != nil {
		t.Fatal(err)
	}
	if err := cut(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(mark); err != nil || strings.TrimSpace(string(b)) != "ended" {
		t.Fatalf("after cut: %q, %v", b, err)
	}
	if err := cut(); err != nil {
		t.Fatal(err)
	}
}

// TestTmuxServerIsKilledWithItsOwner: a private server tied by TmuxServer
// is gone once cut, a stopped one too when tied with its PID; the
// watcher's command line does not name the socket.
func TestTmuxServerIsKilledWithItsOwner(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	dir, err := os.MkdirTemp("/tmp", "awl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sock")
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	if out, err := exec.Command("tmux", "-S", sock, "-f", "/dev/null", "new-session", "-d", "sleep 600").CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	out, err := exec.Command("tmux", "-S", sock, "display-message", "-p", "#{pid}").Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	cut, err := TmuxServer(sock, pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cut() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the lifeline of a stopped server did not end in 30 s")
	}
	if err := exec.Command("tmux", "-S", sock, "has-session").Run(); err == nil {
		t.Fatal("the server outlived its lifeline")
	}
}

// TestTheWatcherNamesNoSocket: a teardown that ends the processes naming a
// directory leaves a lifeline of a socket in it alone.
func TestTheWatcherNamesNoSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "sock")
	cut, err := TmuxServer(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cut()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && strings.Contains(string(b), sock) {
			t.Errorf("PID %s names the socket: %q", e.Name(), b)
		}
	}
}
