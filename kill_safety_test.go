package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"agentwatch/demo"
	"agentwatch/procscan"
	"agentwatch/tmux"
)

// identities reads the PID and start time of each process pids names.
func identities(t *testing.T, pids ...int) []procscan.Identity {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	table, err := procscan.NewScanner().Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []procscan.Identity
	for _, pid := range pids {
		p := table.Procs[int32(pid)]
		if p == nil {
			t.Fatalf("no process %d", pid)
		}
		out = append(out, p.Identity())
	}
	return out
}

// sessionPanes returns the pane PIDs of the session named name.
func sessionPanes(t *testing.T, c *tmux.Client, name string) []int {
	t.Helper()
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range snap.Panes {
		if p.Session == name {
			out = append(out, p.PanePID)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no session %s", name)
	}
	return out
}

// TestKillRefusedServerProtectsItsPanes: the tmux server is refused, and
// so is everything of its tree: the healthy agent's pane and claude run on,
// the same processes, and the server still answers.
func TestKillRefusedServerProtectsItsPanes(t *testing.T) {
	sandbox(t)
	s := buildScene(t)
	ctx := context.Background()
	snap, err := s.Tmux().Snapshot(ctx)
	if err != nil || snap.ServerPID <= 0 {
		t.Fatalf("the scene's server: %+v, %v", snap, err)
	}
	healthy := "agent_" + s.Cast.Healthy1
	pids := append(sessionPanes(t, s.Tmux(), healthy), rolePIDs(t, s, "agent:"+s.Cast.Healthy1, "mcp:"+s.Cast.Healthy1)...)
	before := identities(t, pids...)

	r := agentwatch(t, append([]string{"kill", "--yes", "--force", "--term-timeout", "1s", fmt.Sprint(snap.ServerPID)}, sceneFlags(s)...)...)
	if r.code == 0 || !strings.Contains(r.stdout, "refused") || !strings.Contains(r.stdout, "tmux server") ||
		!strings.Contains(r.stdout, "nothing of its tree") {
		t.Errorf("kill the tmux server: exit %d, want a refusal that says its tree is spared\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("kill the tmux server:\n%s", r.stdout)
	for _, id := range before {
		if !procscan.Alive(id) {
			t.Errorf("PID %d (started %d) of the healthy agent was killed with the refused server", id.PID, id.Start)
		}
	}
	if ok, err := s.Tmux().HasSession(ctx, healthy); err != nil || !ok {
		t.Errorf("after the refusal, has-session %s: got %v, %v, want true, nil", healthy, ok, err)
	}
}

// TestKillRefusedShellProtectsItsJobs: `kill --force $$` from a shell
// refuses the shell, an ancestor of agentwatch, and signals neither its
// background job nor agentwatch's sibling in the pipeline.
func TestKillRefusedShellProtectsItsJobs(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The background sleep reports its PID first; agentwatch's output
	// reaches us only through cat, its sibling in the pipeline.
	script := `sleep 1000 >/dev/null 2>&1 & echo "bg=$!"; { "$AW" kill --yes --force --term-timeout 1s "$$" --workspace "$BASE"; echo "rc=$?"; } | cat`
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "AGENTWATCH_TEST_AS_MAIN=1", "AW="+exe, "BASE="+base)
	cmd.WaitDelay = 10 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var bg procscan.Identity
	t.Cleanup(func() {
		if bg.PID > 0 && procscan.Alive(bg) {
			syscall.Kill(int(bg.PID), syscall.SIGKILL)
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	rd := bufio.NewReader(out)
	first, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("the shell printed no PID: %v\n%s", err, stderr.String())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(first, "bg=")))
	if err != nil {
		t.Fatalf("the shell printed %q", first)
	}
	bg = identities(t, pid)[0]
	var text bytes.Buffer
	if _, err := io.Copy(&text, rd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the shell: %v\n%s%s", err, text.String(), stderr.String())
	}
	got := text.String()
	if !strings.Contains(got, "rc=") || strings.Contains(got, "rc=0") || !strings.Contains(got, "an ancestor of agentwatch") {
		t.Errorf("want a refusal that says the shell is agentwatch's ancestor, through cat; got\n%s%s", got, stderr.String())
	}
	if !procscan.Alive(bg) {
		t.Errorf("the shell's background job (PID %d) was killed with the refused shell\n%s%s", bg.PID, got, stderr.String())
	}
}

// TestKillSessionReplacedWhileAsking: the session the plan named is killed
// and another takes its name while the prompt waits; the answer "y" kills
// nothing of the new session, and the result says it was replaced.
func TestKillSessionReplacedWhileAsking(t *testing.T) {
	sandbox(t)
	s := buildScene(t)
	ctx := context.Background()
	const id = "x2-444444-dddddd"
	name := "agent_" + id
	startLeak(t, s, id)
	old := identities(t, rolePIDs(t, s, "agent:"+id)...)

	stdin, answer := io.Pipe()
	var stdout, stderr syncBuffer
	opts := &options{stdin: stdin, stdout: &stdout, stderr: &stderr, stdinTTY: true}
	root := newRootCmd(opts)
	root.SetArgs(append([]string{"kill", "--term-timeout", "1s", name, "--grace", "0s"}, s.Flags()...))
	root.SetIn(stdin)
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	done := make(chan struct{}) // closed when the command has returned
	var runErr error
	go func() {
		runErr = root.ExecuteContext(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		answer.Close() // an unanswered prompt reads "no"
		<-done
	})

	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "[y/N]") {
		select {
		case <-done:
			t.Fatalf("kill ended before it asked: %v\n%s%s", runErr, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kill did not ask\n%s%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Replace the session: the old one ends, a new one of the same name
	// starts its own claude.
	if err := s.Tmux().KillSession(ctx, name); err != nil {
		t.Fatal(err)
	}
	for _, o := range old {
		waitGone(t, o)
	}
	if err := s.StartAgent(ctx, demo.TaskMain, id); err != nil {
		t.Fatal(err)
	}
	var fresh []procscan.Identity
	deadline = time.Now().Add(10 * time.Second)
	for len(fresh) == 0 {
		for _, pid := range s.Roles()["agent:"+id] {
			if syscall.Kill(pid, 0) == nil && alive(pid) {
				fresh = append(fresh, identities(t, pid)...)
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the new session's claude did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	fresh = append(fresh, identities(t, sessionPanes(t, s.Tmux(), name)...)...)

	if _, err := answer.Write([]byte("y\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("kill did not end after the answer")
	}
	got := stdout.String()
	if !strings.Contains(got, "session "+name+" was replaced since the plan: not killed") {
		t.Errorf("want the result to say the session was replaced; got\n%s%s", got, stderr.String())
	}
	if ok, err := s.Tmux().HasSession(ctx, name); err != nil || !ok {
		t.Errorf("the new %s: has-session got %v, %v, want true, nil", name, ok, err)
	}
	for _, p := range fresh {
		if !procscan.Alive(p) {
			t.Errorf("PID %d of the new session was killed", p.PID)
		}
	}
}

// waitGone waits until the process id names has exited.
func waitGone(t *testing.T, id procscan.Identity) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for procscan.Alive(id) {
		if time.Now().After(deadline) {
			t.Fatalf("PID %d did not end", id.PID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
