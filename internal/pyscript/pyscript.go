// Package pyscript runs python3 scripts for tests: the orchestrator's
// writers and connections, played by the language it is written in. A
// script runs from the calling package's testdata, its stdout read line by
// line, and is killed by its PID when the test ends, however it ends.
package pyscript

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Proc is one running script.
type Proc struct {
	cmd *exec.Cmd
	// Stdin is the script's standard input.
	Stdin io.WriteCloser
	// Lines are the script's stdout lines; closed after the last one.
	Lines <-chan string
	// Done is closed once the script has exited and its stdout is read.
	Done <-chan struct{}

	err    error // from Wait, once Done is closed
	mu     sync.Mutex
	stderr bytes.Buffer
}

// Python returns python3's path, and skips the test where there is none.
func Python(t testing.TB) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found on PATH: the tests against the orchestrator's Python code need it")
	}
	return py
}

// Start starts testdata/script with args.
func Start(t testing.TB, script string, args ...string) *Proc {
	t.Helper()
	py := Python(t)
	lines, done := make(chan string, 16), make(chan struct{})
	p := &Proc{Lines: lines, Done: done}
	p.cmd = exec.Command(py, append([]string{filepath.Join("testdata", script)}, args...)...)
	p.cmd.Stderr = (*lockedWriter)(p)
	dieWithParent(p.cmd)
	var err error
	if p.Stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	// Our own pipe, read to EOF by our own goroutine, so that Wait never
	// races the reader.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	pid := p.cmd.Process.Pid
	t.Cleanup(func() {
		if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Logf("kill python PID %d: %v", pid, err)
		}
		<-done
	})
	read := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		r.Close()
		close(lines)
		close(read)
	}()
	go func() {
		p.err = p.cmd.Wait()
		<-read
		close(done)
	}()
	return p
}

// lockedWriter is the Proc's stderr buffer, written by exec's copier while
// a test may read it.
type lockedWriter Proc

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stderr.Write(b)
}

// PID is the script's process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Stderr is what the script wrote to its stderr so far.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Expect waits for the line want on the script's stdout.
func (p *Proc) Expect(t testing.TB, want string) {
	t.Helper()
	select {
	case got, ok := <-p.Lines:
		if !ok {
			<-p.Done
			t.Fatalf("python PID %d exited (%v) before printing %q: %s", p.PID(), p.err, want, p.Stderr())
		}
		if got != want {
			t.Fatalf("python PID %d: got line %q, want %q", p.PID(), got, want)
		}
	case <-time.After(60 * time.Second): // a hang, not a measurement
		t.Fatalf("python PID %d: no %q after 60s", p.PID(), want)
	}
}

// Send writes "go" and a newline to the script's stdin.
func (p *Proc) Send(t testing.TB) {
	t.Helper()
	if _, err := io.WriteString(p.Stdin, "go\n"); err != nil {
		t.Fatalf("python PID %d: %v", p.PID(), err)
	}
}

// Wait waits for the script to exit and fails the test unless it exited 0.
func (p *Proc) Wait(t testing.TB) {
	t.Helper()
	<-p.Done
	if p.err != nil {
		t.Errorf("python PID %d: %v: %s", p.PID(), p.err, p.Stderr())
	}
}

// WaitClean is Wait that also fails on anything written to stderr.
func (p *Proc) WaitClean(t testing.TB) {
	t.Helper()
	<-p.Done
	if p.err != nil || p.Stderr() != "" {
		t.Errorf("python PID %d: got exit %v, stderr %q; want exit 0 and no stderr", p.PID(), p.err, p.Stderr())
	}
}
