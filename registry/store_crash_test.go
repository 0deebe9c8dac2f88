package registry

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The crash tests run this test binary again as a writer that stops at one
// step of a transaction (AGENTWATCH_TEST_PAUSE_AT), kill it there with
// SIGKILL, and check what the next transaction makes of what it left.
const (
	childEnv         = "AGENTWATCH_TEST_CHILD"
	childRegistryEnv = "AGENTWATCH_TEST_REGISTRY"
	childStateEnv    = "AGENTWATCH_TEST_STATE"
	childNewEnv      = "AGENTWATCH_TEST_NEW"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "update" {
		os.Exit(runUpdateChild())
	}
	os.Exit(m.Run())
}

// runUpdateChild commits the bytes of the file named by childNewEnv to the
// registry; with AGENTWATCH_TEST_PAUSE_AT set it never returns.
func runUpdateChild() int {
	next, err := os.ReadFile(os.Getenv(childNewEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s := &Store{StateDir: os.Getenv(childStateEnv)}
	_, err = s.Update(context.Background(), os.Getenv(childRegistryEnv), UpdateOptions{}, func(*Snapshot) ([]byte, error) {
		return next, nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// crashAt runs a child writer that commits next to the registry, waits until
// it stands at step, and kills it there.
func crashAt(t *testing.T, step, registry, stateDir string, next []byte) {
	t.Helper()
	dir := t.TempDir()
	nextFile := filepath.Join(dir, "next.json")
	if err := os.WriteFile(nextFile, next, 0o600); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "paused")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnv+"=update",
		childRegistryEnv+"="+registry,
		childStateEnv+"="+stateDir,
		childNewEnv+"="+nextFile,
		"AGENTWATCH_TEST_PAUSE_AT="+step,
		"AGENTWATCH_TEST_PAUSE_MARKER="+marker,
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			<-done
		}
	})

	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		select {
		case err := <-done:
			killed = true
			t.Fatalf("child writer PID %d exited (%v) without stopping at %s: %s", pid, err, step, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("child writer PID %d did not reach %s in 30s", pid, step)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill child writer PID %d: %v", pid, err)
	}
	<-done // reaped: its descriptors, and so its lock, are gone
	killed = true
}

// crashContent returns a registry and a change of it whose new bytes differ
// from the old ones near the start, so that a half-written file is a splice
// that does not parse: grow adds a member at the front, shrink removes the
// "tasks" object near the front.
func crashContent(t *testing.T, variant string) (old, next []byte) {
	t.Helper()
	old = []byte(sampleRegistry)
	root, err := Parse(old)
	if err != nil {
		t.Fatal(err)
	}
	switch variant {
	case "grow":
		grown := NewObject()
		grown.Set("migrated_by", NewString("agentwatch crash test, a member long enough to shift everything after it"))
		for _, m := range root.Members() {
			grown.Set(m.Key, m.Value)
		}
		next = Encode(grown)
	case "shrink":
		root.Delete("tasks")
		next = Encode(root)
	}
	if variant == "grow" && len(next) <= len(old) || variant == "shrink" && len(next) >= len(old) {
		t.Fatalf("test data: %s gives %d bytes from %d", variant, len(next), len(old))
	}
	// The states a crash leaves mid-write must not parse, or the expected
	// outcomes below would be wrong.
	half := len(next) / 2
	partial := append(bytes.Clone(next[:half]), old[min(half, len(old)):]...)
	if _, err := Parse(partial); err == nil {
		t.Fatalf("test data: the %s registry half written parses; pick other content", variant)
	}
	if variant == "shrink" {
		untruncated := append(bytes.Clone(next), old[len(next):]...)
		if _, err := Parse(untruncated); err == nil {
			t.Fatalf("test data: the shrunk registry written but not truncated parses")
		}
	}
	return old, next
}

// TestCrashAtEveryStep kills a writer at each step of a transaction and
// checks that the next transaction finds the registry parsing, holding
// either the old bytes or the new ones as the step demands, and no journal.
func TestCrashAtEveryStep(t *testing.T) {
	type outcome struct {
		wantNew   bool
		recovered string
	}
	cases := []struct {
		step          string
		grow, shrink  outcome
		wantOldBackup bool
	}{
		{"locked", outcome{false, ""}, outcome{false, ""}, false},
		{"backup-written", outcome{false, ""}, outcome{false, ""}, true},
		{"journal-partial", outcome{false, recoveredTorn}, outcome{false, recoveredTorn}, true},
		{"journal-written", outcome{false, recoveredNotStarted}, outcome{false, recoveredNotStarted}, true},
		{"registry-partial", outcome{true, recoveredFinished}, outcome{true, recoveredFinished}, true},
		// Not yet truncated: a longer file is whole, a shorter one has the
		// old tail after it.
		{"registry-written", outcome{true, recoveredDone}, outcome{true, recoveredFinished}, true},
		{"truncated", outcome{true, recoveredDone}, outcome{true, recoveredDone}, true},
		{"synced", outcome{true, recoveredDone}, outcome{true, recoveredDone}, true},
		{"journal-removed", outcome{true, ""}, outcome{true, ""}, true},
	}
	for _, tc := range cases {
		for _, variant := range []string{"grow", "shrink"} {
			want := tc.grow
			if variant == "shrink" {
				want = tc.shrink
			}
			t.Run(tc.step+"/"+variant, func(t *testing.T) {
				t.Parallel()
				old, next := crashContent(t, variant)
				path := newRegistry(t, string(old))
				s := newStore(t)
				crashAt(t, tc.step, path, s.StateDir, next)

				wantBytes := old
				if want.wantNew {
					wantBytes = next
				}
				var seen []byte
				c, err := s.Update(context.Background(), path, UpdateOptions{}, func(cur *Snapshot) ([]byte, error) {
					seen = cur.Data
					return nil, nil
				})
				if err != nil {
					t.Fatalf("Update after the crash: %v", err)
				}
				if c.Recovered != want.recovered {
					t.Errorf("got Recovered %q, want %q", c.Recovered, want.recovered)
				}
				if !bytes.Equal(seen, wantBytes) {
					t.Errorf("change saw %q, want %s bytes %q", seen, map[bool]string{false: "old", true: "new"}[want.wantNew], wantBytes)
				}
				got := readFile(t, path)
				if _, err := Parse(got); err != nil {
					t.Errorf("registry does not parse after recovery: %v", err)
				}
				if !bytes.Equal(got, wantBytes) {
					t.Errorf("got registry %q, want %q", got, wantBytes)
				}
				assertNoJournal(t, path)
				backups, err := s.Backups(path)
				if err != nil {
					t.Fatal(err)
				}
				hasOld := false
				for _, b := range backups {
					hasOld = hasOld || b.Hash == HashBytes(old)
				}
				if hasOld != tc.wantOldBackup {
					t.Errorf("got a backup of the old bytes %v, want %v", hasOld, tc.wantOldBackup)
				}
			})
		}
	}
}

// TestCrashThenPythonWriterIsKept crashes a writer where the registry still
// parses, lets a Python writer change it under flock, and checks that the
// next transaction keeps the Python change: a stale journal never rolls
// another writer back.
func TestCrashThenPythonWriterIsKept(t *testing.T) {
	requirePython(t)
	cases := []struct {
		step    string
		wantNew bool // the crashed write had reached the file
	}{
		{"journal-written", false},
		{"registry-written", true}, // grow: the whole new bytes, untruncated
		{"truncated", true},
		{"synced", true},
	}
	for _, tc := range cases {
		t.Run(tc.step, func(t *testing.T) {
			t.Parallel()
			old, next := crashContent(t, "grow")
			path := newRegistry(t, string(old))
			s := newStore(t)
			crashAt(t, tc.step, path, s.StateDir, next)
			if _, err := os.Stat(path + JournalSuffix); err != nil {
				t.Fatalf("got %v, want the crash to leave a journal", err)
			}

			startPython(t, "increment.py", path, "1", "python_edits").wait(t)

			c, err := s.Update(context.Background(), path, UpdateOptions{}, setKey("aw_after", 1))
			if err != nil {
				t.Fatalf("Update after the crash and the python write: %v", err)
			}
			if c.Recovered != recoveredForeign {
				t.Errorf("got Recovered %q, want %q", c.Recovered, recoveredForeign)
			}
			root, err := Parse(readFile(t, path))
			if err != nil {
				t.Fatalf("registry does not parse: %v", err)
			}
			if n, _ := root.Get("python_edits").Int(); n != 1 {
				t.Errorf("got python_edits %v, want 1: the python change was rolled back", root.Get("python_edits"))
			}
			if !root.Has("aw_after") {
				t.Errorf("got no aw_after, want the new transaction's change")
			}
			if got := root.Has("migrated_by"); got != tc.wantNew {
				t.Errorf("got the crashed change present %v, want %v", got, tc.wantNew)
			}
			assertNoJournal(t, path)
		})
	}
}
