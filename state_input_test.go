package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"agentwatch/demo"
	"agentwatch/tmux"
)

// stateFixture is the 2026 fixture's workspace (a state database and the JSON
// files the orchestrator still creates), copied into the repository.
const stateFixture = "testdata/orchestrator-2026-sqlite"

// copyStateBase copies the fixture's project into dir and returns its base.
func copyStateBase(t *testing.T, dir string) string {
	t.Helper()
	if err := os.CopyFS(filepath.Join(dir, "project"), os.DirFS(filepath.Join(stateFixture, "project"))); err != nil {
		t.Fatalf("copy the 2026 fixture: %v", err)
	}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			os.Chmod(p, fi.Mode()|0o200)
		}
		return err
	})
	return filepath.Join(dir, "project", ".agent-workspace")
}

// strayPane starts, on a private tmux server, an agent session in the 2026
// launch shape writing its stream log under base, for an agent no registry
// records; it returns the tmux flags. Server and processes end with the test.
func strayPane(t *testing.T, base string) []string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "awsq-")
	if err != nil {
		t.Fatal(err)
	}
	sock := tmux.Socket{Path: filepath.Join(dir, "sock")}
	remember(dir, sock)
	t.Cleanup(func() {
		if err := demo.Teardown(context.Background(), dir, sock); err != nil {
			t.Errorf("tear down %s: %v", dir, err)
		}
	})
	c := tmux.NewClient(sock)
	c.Config = "/dev/null"
	// The agent: sleep under a name in dir, so that the teardown finds it.
	agent := filepath.Join(dir, "agent")
	if err := os.Symlink("/bin/sleep", agent); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(base, "TASK-20261205-173221-188fc597", "logs", "stray-173300-abcdef_stream.jsonl")
	line := fmt.Sprintf("set -o pipefail; cd %s && %s 86400 | tee %s; exit_code=$?", demo.ShellQuote(dir), demo.ShellQuote(agent), demo.ShellQuote(log))
	if err := c.NewSession(context.Background(), tmux.NewSessionRequest{Name: "agent_stray-173300-abcdef", Dir: dir, Command: []string{"bash", "-c", line}}); err != nil {
		t.Fatal(err)
	}
	return []string{"--tmux-socket-path", sock.Path}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

// A state database that cannot be read yields a clear line, an exit code of
// the contract, no write, and no leak verdict for what its base owns.
func TestStateDatabaseBadInput(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	type damage func(t *testing.T, db string) (cleanup func())
	sqlite := func(sql string) damage {
		return func(t *testing.T, db string) func() {
			pyQuery(t, db, sql)
			return nil
		}
	}
	cases := []struct {
		name    string
		damage  damage
		code    int
		kind    string // the finding that says why, "" for none
		say     string // in the output
		judged  bool   // the stray session is judged (a leak): the database was read
		noWrite bool
	}{
		{name: "not a database", damage: func(t *testing.T, db string) func() {
			os.WriteFile(db, []byte("this is a text file, not a database\n"), 0o644)
			return nil
		}, code: 1, kind: "corrupt", say: "not an SQLite database", noWrite: true},
		{name: "truncated", damage: func(t *testing.T, db string) func() {
			data, _ := os.ReadFile(db)
			os.WriteFile(db, data[:4096], 0o644)
			return nil
		}, code: 1, kind: "corrupt", noWrite: true},
		{name: "no agents table", damage: sqlite("DROP TABLE agents"), code: 1, kind: "corrupt", say: "agents", noWrite: true},
		{name: "extra columns are read past", damage: sqlite("ALTER TABLE agents ADD COLUMN mood TEXT"), code: 1, kind: "leak", judged: true},
		{name: "a status in neither set", damage: sqlite("UPDATE agents SET status = 'in_progress' WHERE agent_id = 'builder-173224-364e3b'"),
			code: 1, kind: "unknown", say: "in_progress", judged: true},
		{name: "another user's, without -shm", damage: func(t *testing.T, db string) func() {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the database to another user")
			}
			os.Remove(db + "-shm")
			os.Remove(db + "-wal")
			if err := os.Chown(db, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return nil
		}, code: 2, kind: "unreadable", say: "run agentwatch as", noWrite: true},
		{name: "locked past the timeout", damage: func(t *testing.T, db string) func() {
			cmd := exec.Command("python3", "statedb/testdata/hold.py", db, "wal-exclusive")
			in, _ := cmd.StdinPipe()
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			if strings.TrimSpace(line) != "locked" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("hold.py: %q", line)
			}
			return func() {
				io.WriteString(in, "\n")
				in.Close()
				if err := cmd.Wait(); err != nil {
					t.Errorf("hold.py: %v", err)
				}
			}
		}, code: 75, say: "locked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sandbox(t)
			base := copyStateBase(t, t.TempDir())
			db := filepath.Join(base, "registry", "state.sqlite3")
			if done := tc.damage(t, db); done != nil {
				t.Cleanup(done)
			}
			before := fileHash(t, db)
			flags := append([]string{"--workspace", base, "--grace", "0s", "--lock-timeout", "300ms"}, strayPane(t, base)...)
			// Let the stray session be seen: wait for its tee.
			deadline := time.Now().Add(10 * time.Second)
			for _, err := os.Stat(filepath.Join(base, "TASK-20261205-173221-188fc597", "logs", "stray-173300-abcdef_stream.jsonl")); err != nil; _, err = os.Stat(filepath.Join(base, "TASK-20261205-173221-188fc597", "logs", "stray-173300-abcdef_stream.jsonl")) {
				if time.Now().After(deadline) {
					t.Fatal("the stray session's tee did not start")
				}
				time.Sleep(20 * time.Millisecond)
			}
			r := agentwatch(t, append([]string{"check", "--json"}, flags...)...)
			text := agentwatch(t, append([]string{"check"}, flags...)...)
			if r.code != tc.code {
				t.Errorf("check --json exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			all := r.stdout + r.stderr + text.stdout + text.stderr
			if tc.kind != "" && !strings.Contains(r.stdout, `"kind":"`+tc.kind+`"`) {
				t.Errorf("no %s finding; findings: %s", tc.kind, findingsOf(r.stdout))
			}
			if tc.say != "" && !strings.Contains(all, tc.say) {
				t.Errorf("the output does not say %q:\n%s%s", tc.say, text.stdout, text.stderr)
			}
			leak := strings.Contains(r.stdout, `"cause":"untracked_session"`)
			if leak != tc.judged {
				t.Errorf("stray session judged a leak: %v, want %v; findings: %s", leak, tc.judged, findingsOf(r.stdout))
			}
			if tc.noWrite && fileHash(t, db) != before {
				t.Errorf("the database was written")
			}
			rr := agentwatch(t, append([]string{"repair", "--yes", "--kill-leaks", "--dry-run"}, flags...)...)
			if !tc.judged && strings.Contains(rr.stdout, "stray-173300-abcdef") && strings.Contains(rr.stdout, "kill") {
				t.Errorf("repair plans to kill the stray session of a base it could not read:\n%s", rr.stdout)
			}
		})
	}
}

// The 2026 fixture, opened by check and repair --dry-run, is left
// byte-identical: a read never writes.
func TestStateFixtureIsLeftAlone(t *testing.T) {
	sandbox(t)
	dir := t.TempDir()
	base := copyStateBase(t, dir)
	before := hashFiles(t, dir, "")
	flags := []string{"--workspace", base, "--tmux-socket-path", filepath.Join(t.TempDir(), "none")}
	r := agentwatch(t, append([]string{"check", "--json"}, flags...)...)
	if r.code != 1 || !strings.Contains(r.stdout, `"era":"sqlite"`) {
		t.Errorf("check exit %d, want 1 with a sqlite era\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, `"kind":"drift"`) {
		t.Errorf("JSON counters frozen by the orchestrator reported as drift:\n%s", r.stdout)
	}
	agentwatch(t, append([]string{"repair", "--dry-run"}, flags...)...)
	after := hashFiles(t, dir, "")
	for p, h := range before {
		if after[p] != h {
			t.Errorf("%s changed", p)
		}
	}
}

// findingsOf gives the findings of a check --json output, for a message.
func findingsOf(stdout string) string {
	var out checkOut
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		return "(no JSON: " + err.Error() + ")"
	}
	return strings.Join(findingLines(out.Findings), "\n")
}
