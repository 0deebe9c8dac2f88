package registry

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

// child is this test binary run again in a child role (childEnv), ended by
// its PID when the test ends, however it ends.
type child struct {
	proc   *os.Process
	pid    int
	done   chan struct{} // closed once it is reaped
	err    error         // from Wait, once done is closed
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (c *child) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.Write(b)
}

// Stderr is what the child wrote to its stderr so far.
func (c *child) Stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// startChild runs the child with env added to this process's.
func startChild(t *testing.T, env ...string) *child {
	t.Helper()
	cmd := testChild("-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	c := &child{done: make(chan struct{})}
	cmd.Stderr = c
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.proc, c.pid = cmd.Process, cmd.Process.Pid
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		if err := c.proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Logf("kill child PID %d: %v", c.pid, err)
		}
		<-c.done
	})
	return c
}

// waitMarker waits until the child has written marker; it fails the test
// when the child exits first, or after within (a hang, not a measurement).
func (c *child) waitMarker(t *testing.T, marker, what string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); ; {
		if _, err := os.Stat(marker); err == nil {
			return
		}
		select {
		case <-c.done:
			t.Fatalf("child PID %d exited (%v) before %s: %s", c.pid, c.err, what, c.Stderr())
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("child PID %d: no %s in %s", c.pid, what, within)
		}
	}
}

// kill kills the child and reaps it: its descriptors, and so its locks,
// are gone when kill returns.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill child PID %d: %v", c.pid, err)
	}
	<-c.done
}
