// Package lifeline has a command run when this process ends, however it
// ends. A tmux server detaches from the process that starts it, and so do
// the processes of its panes: a test run that times out panics past every
// cleanup, and SIGKILL runs none, so what a test or the demo started would
// run on. A lifeline is a watcher, started at once, that reads a pipe whose
// only writer is this process: when the process ends, for any reason, the
// kernel closes the pipe, and the watcher does what it was given.
package lifeline

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// ends keeps the pipes' write ends from the collector: a closed one would
// set its watcher off.
var (
	mu   sync.Mutex
	ends = map[*os.File]bool{}
)

// Tie starts watcher with its standard input a pipe that stays open while
// this process lives; the watcher is to wait for the end of its input, then
// act. It runs in a session of its own, so that a Ctrl-C meant for this
// process does not reach it. Cut closes the pipe now and waits for the
// watcher: it acts at once (what it ends may be gone already).
func Tie(watcher *exec.Cmd) (cut func() error, err error) {
	r, w, err := os.Pipe() // close-on-exec: no other child holds the write end
	if err != nil {
		return nil, fmt.Errorf("lifeline: %w", err)
	}
	defer r.Close()
	watcher.Stdin = r
	if watcher.SysProcAttr == nil {
		watcher.SysProcAttr = &syscall.SysProcAttr{}
	}
	watcher.SysProcAttr.Setsid = true
	if err := watcher.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("lifeline: %w", err)
	}
	mu.Lock()
	ends[w] = true
	mu.Unlock()
	var once sync.Once
	var waitErr error
	return func() error {
		once.Do(func() {
			mu.Lock()
			delete(ends, w)
			mu.Unlock()
			w.Close()
			waitErr = watcher.Wait()
		})
		return waitErr
	}, nil
}

// TmuxServer ties the tmux server on socket path sock: once this process
// ends, or cut is called, the server is killed (kill-server, which hangs up
// its panes). A server that may be stopped (SIGSTOP) is given with its
// PIDs: they are continued first, or kill-server would wait for it forever.
// The socket and PIDs reach the watcher through its environment, so that
// its command line names nothing a teardown by name would take for its own.
func TmuxServer(sock string, pids ...int) (cut func() error, err error) {
	cmd := exec.Command("sh", "-c", `cat >/dev/null
[ -n "$LIFELINE_PIDS" ] && kill -CONT $LIFELINE_PIDS 2>/dev/null
exec tmux -S "$LIFELINE_SOCK" kill-server 2>/dev/null`)
	var list []string
	for _, p := range pids {
		list = append(list, strconv.Itoa(p))
	}
	cmd.Env = append(os.Environ(), "LIFELINE_SOCK="+sock, "LIFELINE_PIDS="+strings.Join(list, " "))
	return Tie(cmd)
}
