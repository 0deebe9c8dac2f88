package engine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/tmux"
)

// escapee is a real process started outside every pane, in a session of
// its own, and the one process it started, if any.
type escapee struct {
	cmd   *exec.Cmd
	child int32
}

// pid is the escapee's own PID.
func (e escapee) pid() int32 { return int32(e.cmd.Process.Pid) }

// startEscapee runs argv in a session of its own with env as its whole
// environment. With childComm set, argv is a shell that starts one
// process in the background, prints its PID and waits for it; startEscapee
// waits until that process runs the program named childComm. Killing the
// child ends the pair: the shell reaps it and exits, and the test reaps
// the shell.
func startEscapee(t *testing.T, env []string, childComm string, argv ...string) escapee {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := escapee{cmd: cmd}
	t.Cleanup(func() {
		if e.child <= 0 {
			_ = cmd.Process.Kill()
		} else {
			// The shell reaps its child, then exits by itself.
			_ = syscall.Kill(int(e.child), syscall.SIGKILL)
			timer := time.AfterFunc(5*time.Second, func() { _ = cmd.Process.Kill() })
			defer timer.Stop()
		}
		_ = cmd.Wait()
	})
	if childComm == "" {
		return e
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		t.Fatalf("%v printed %q: %v", argv, line, err)
	}
	e.child = int32(pid)
	comm := "/proc/" + strconv.Itoa(pid) + "/comm"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(comm); strings.TrimSpace(string(b)) == childComm {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d does not run %s", pid, childComm)
		}
	}
}

// TestEscapedProcessesKeepTheirPane: processes that left a pane's tree and
// its session but carry its TMUX_PANE are attributed to the pane, whether
// the variable is on the claude itself, only on a process above it, or
// only on a process below it; and the environments of processes that no
// verdict reads are not read.
func TestEscapedProcessesKeepTheirPane(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	base, _, _ := workspace(t)
	sock := filepath.Join(t.TempDir(), "sock")
	tm := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-S", sock, "-f", "/dev/null"}, args...)...).Output()
		if err != nil {
			t.Fatalf("tmux %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", sock, "kill-server").Run() })
	tieServer(t, sock)
	tm("new-session", "-d", "-s", "agent_a-1", "sleep 600")
	f := strings.Fields(tm("list-panes", "-a", "-F", "#{pane_id} #{pid} #{pane_pid}"))
	paneID, serverPID := f[0], f[1]
	panePID, _ := strconv.Atoi(f[2])

	// A claude is sleep or sh under the name claude: comm and argv[0] say
	// claude.
	claudeSleep, claudeSh := filepath.Join(t.TempDir(), "claude"), filepath.Join(t.TempDir(), "claude")
	for link, target := range map[string]string{claudeSleep: "/bin/sleep", claudeSh: "/bin/sh"} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	// A claude in a pane of its own, under the pane's shell.
	tm("new-session", "-d", "-s", "agent_a-2", "/bin/sh -c '"+claudeSleep+" 600; exit'")
	var inPaneShell int32
	for _, l := range strings.Split(tm("list-panes", "-a", "-F", "#{session_name} #{pane_pid}"), "\n") {
		if name, pid, _ := strings.Cut(l, " "); name == "agent_a-2" {
			n, _ := strconv.Atoi(pid)
			inPaneShell = int32(n)
		}
	}
	var plain []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMUX=") && !strings.HasPrefix(kv, "TMUX_PANE=") {
			plain = append(plain, kv)
		}
	}
	vars := "TMUX=" + sock + "," + serverPID + ",0 TMUX_PANE=" + paneID
	inPane := append(append([]string{}, plain...), strings.Fields(vars)...)

	// The claude carries the variables.
	own := startEscapee(t, inPane, "", claudeSleep, "600")
	// Only the shell above the claude does.
	above := startEscapee(t, inPane, "claude", "/bin/sh", "-c", "env -u TMUX -u TMUX_PANE "+claudeSleep+" 600 & echo $!; wait")
	// Only the process below the claude does.
	below := startEscapee(t, plain, "sleep", claudeSh, "-c", vars+" sleep 600 & echo $!; wait")

	// The screen's scan and a check's (lean: it reads the environment of
	// no process whose pane its ancestry tells) attribute alike.
	for _, lean := range []bool{false, true} {
		t.Run(fmt.Sprintf("lean=%v", lean), func(t *testing.T) {
			checkEscapees(t, base, sock, paneID, panePID, inPaneShell, lean, own, above, below)
		})
	}
}

// checkEscapees scans and holds each escapee of TestEscapedProcessesKeepTheirPane
// to its pane; the claude in a pane is its pane's, its shell's environment
// read for the screen only.
func checkEscapees(t *testing.T, base, sock, paneID string, panePID int, inPaneShell int32, lean bool, own, above, below escapee) {
	e := New(Config{
		Bases: []registry.Base{{Dir: base, Source: "test"}}, Sets: registry.DefaultStatusSets(), Live: true,
		Store: &registry.Store{StateDir: t.TempDir(), LockTimeout: 2 * time.Second}, Audit: NewAudit(t.TempDir()),
		Sockets: []tmux.Socket{{Path: sock}}, Matcher: procscan.DefaultMatcher(),
		Grace: 30 * time.Second, Stale: 30 * time.Minute, Lean: lean,
	})
	snap, rep, _, err := e.Observe(context.Background(), time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int32]reconcile.ProcRow{}
	for _, r := range rep.Processes {
		rows[r.PID] = r
	}
	want := []struct {
		what    string
		pid     int32
		session string
		how     string
	}{
		{"the claude with TMUX_PANE", own.pid(), "agent_a-1", "TMUX_PANE=" + paneID},
		{"the claude under a shell with TMUX_PANE", above.child, "agent_a-1", "child of PID " + strconv.Itoa(int(above.pid()))},
		{"the child with TMUX_PANE of a claude without", below.child, "agent_a-1", "TMUX_PANE=" + paneID},
		{"the claude without TMUX_PANE", below.pid(), "", "not in any tmux pane"},
	}
	for _, w := range want {
		r, ok := rows[w.pid]
		if !ok {
			t.Errorf("%s (PID %d): no process row", w.what, w.pid)
			continue
		}
		if r.Session != w.session || !strings.Contains(r.Reason, w.how) {
			t.Errorf("%s (PID %d): session %q, reason %q; want session %q, a reason with %q", w.what, w.pid, r.Session, r.Reason, w.session, w.how)
		}
	}
	procs := snap.Input.Live.Procs.Procs
	if p := procs[own.pid()]; p == nil || !p.EnvReadable || p.TMUXPane != paneID {
		t.Errorf("the escaped claude's environment was not read: %+v", p)
	}
	if p := procs[int32(panePID)]; p == nil || p.EnvReadable {
		t.Errorf("the environment of the pane's sleep, which no verdict reads, was read: %+v", p)
	}
	table := snap.Input.Live.Procs
	kids := table.Children[inPaneShell]
	if len(kids) != 1 || rows[kids[0]].Session != "agent_a-2" {
		t.Fatalf("the claude in pane agent_a-2: children of its shell %v, row %+v", kids, rows[kids[0]])
	}
	// Every claude's environment is read, for the server its TMUX names;
	// the shell's, an ancestor of a claude, only for the screen.
	if p := procs[kids[0]]; p == nil || !p.EnvReadable {
		t.Errorf("lean %v: the claude in a pane, its environment not read: %+v", lean, p)
	}
	if p := procs[inPaneShell]; p == nil || p.EnvReadable == lean {
		t.Errorf("lean %v: the shell of a claude's pane, its environment read %v", lean, p != nil && p.EnvReadable)
	}
}

// TestStoppedServersAreReportedNotWaitedFor: tmux servers that answer
// nobody (stopped) cost the scan their own budget each, side by side, and
// are reported; the other server is still scanned, and so is the process
// table.
func TestStoppedServersAreReportedNotWaitedFor(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	base, _, _ := workspace(t)
	dir := t.TempDir()
	socks := []string{filepath.Join(dir, "stopped1"), filepath.Join(dir, "stopped2"), filepath.Join(dir, "live")}
	var pids, stopped []int
	t.Cleanup(func() {
		for _, pid := range stopped {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
		for _, sock := range socks {
			_ = exec.Command("tmux", "-S", sock, "kill-server").Run()
		}
	})
	for _, sock := range socks {
		if out, err := exec.Command("tmux", "-S", sock, "-f", "/dev/null", "new-session", "-d", "-s", "agent_a-1", "sleep 600").CombinedOutput(); err != nil {
			t.Fatalf("tmux: %v\n%s", err, out)
		}
		out, err := exec.Command("tmux", "-S", sock, "display-message", "-p", "#{pid}").Output()
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
		pids = append(pids, pid)
		tieServer(t, sock, pid) // continued first, should the run end while it is stopped
	}
	for _, pid := range pids[:2] {
		stopped = append(stopped, pid)
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	e := New(Config{
		Bases: []registry.Base{{Dir: base, Source: "test"}}, Sets: registry.DefaultStatusSets(), Live: true,
		Store: &registry.Store{StateDir: t.TempDir(), LockTimeout: 2 * time.Second}, Audit: NewAudit(t.TempDir()),
		Sockets: []tmux.Socket{{Path: socks[0]}, {Path: socks[1]}, {Path: socks[2]}}, Matcher: procscan.DefaultMatcher(),
		Grace: 30 * time.Second, Stale: 30 * time.Minute,
	})
	snap, err := e.Gather(context.Background(), time.Now())
	if err != nil {
		t.Fatalf("gather beside stopped servers: %v", err)
	}
	servers := snap.Input.Live.Servers // the three given first, then any a claude on this host names
	if len(servers) < 3 || servers[0].Err == nil || servers[1].Err == nil || servers[2].Err != nil || servers[2].Snapshot == nil || len(servers[2].Snapshot.Panes) != 1 {
		t.Fatalf("servers: %+v, want the stopped ones with their errors and the live one scanned", servers)
	}
	if snap.Input.Live.Procs == nil || len(snap.Input.Live.Procs.Procs) == 0 {
		t.Fatal("no process table beside stopped servers")
	}
	// Asked again for a session (as before a ghost's status is written),
	// a stopped server is an error, not a wait without end.
	if _, err := e.SessionAlive(context.Background(), snap, "agent_a-2"); err == nil {
		t.Error("SessionAlive beside stopped servers: no error")
	}
	// A check takes its second look, and judges: a-1's session is on the
	// live server and runs no claude, a ghost; a-2's is on no server that
	// answered, and a stopped one may hold it: a suspect still.
	e.cfg.Settle = time.Millisecond
	_, rep, err := e.Check(context.Background())
	if err != nil {
		t.Fatalf("check beside stopped servers: %v", err)
	}
	got := map[string]reconcile.AgentRow{}
	for _, a := range rep.Agents {
		got[a.ID] = a
	}
	if a := got["a-1"]; a.Verdict != reconcile.VerdictGhost || a.Cause != reconcile.CauseNoAgentProcess {
		t.Errorf("a-1: %s %s (%s), want a ghost whose session runs no claude", a.Verdict, a.Cause, a.Reason)
	}
	if a := got["a-2"]; a.Verdict != reconcile.VerdictSuspect || !strings.Contains(a.Reason, "gave no answer, and may hold it") {
		t.Errorf("a-2: %s (%s), want a suspect held by the stopped servers", a.Verdict, a.Reason)
	}
}
