package registry

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"agentwatch/internal/pyscript"
	"agentwatch/registry/pyjson"
)

// carefulWrite runs testdata/careful.py once: a flock'd Python write that
// leaves a file that does not parse alone. It reports whether it wrote.
func carefulWrite(t *testing.T, path, field string) bool {
	t.Helper()
	p := pyscript.Start(t, "careful.py", path, field)
	line := <-p.Lines // "" when it exits without its word
	p.Wait(t)
	switch line {
	case "wrote":
		return true
	case "corrupt":
		return false
	}
	t.Fatalf("careful.py: got %q, want wrote or corrupt: %s", line, p.Stderr())
	return false
}

// TestCrashNeverLeavesAParseableWrongFile kills a writer at every step of
// its rewrite of the registry, for changes that shift an agent's fields,
// keep the length, or shrink the file, lets a flock'd Python writer (which
// leaves a file that does not parse alone) write once, and then reads and
// repairs as agentwatch's next run would. What the crash left must be the
// old bytes, the new ones, or a file that does not parse; and at the end
// every field of the crashed change and the Python write is there. Before
// the mark, a same-length change cut short parsed, the Python writer
// rewrote it, and recovery took it for another writer's and dropped the
// journal: the change's fields were lost.
func TestCrashNeverLeavesAParseableWrongFile(t *testing.T) {
	pyscript.Python(t)
	steps := []string{"registry-marked", "registry-partial", "registry-written", "truncated", "first-byte", "synced"}
	for _, mode := range []string{"locked", "ahead"} {
		for _, step := range steps {
			for _, variant := range []string{"grow", "shrink", "same"} {
				t.Run(mode+"/"+step+"/"+variant, func(t *testing.T) {
					t.Parallel()
					old, next := crashContent(t, variant)
					path := newRegistry(t, string(old))
					s := newStore(t)
					var env []string
					if mode == "ahead" {
						env = append(env, childAheadEnv+"=1")
					}
					crashAt(t, step, path, s.StateDir, next, env...)
					left := readFile(t, path)
					if _, err := pyjson.Parse(left); err == nil && !bytes.Equal(left, old) && !bytes.Equal(left, next) {
						t.Errorf("the crash left a file that parses and is neither the old bytes nor the new: %q", left)
					}
					wrote := carefulWrite(t, path, "python_edits")

					// The next run: a scan's read recovers first, then a repair.
					if _, err := s.Read(context.Background(), path); err != nil {
						t.Fatalf("Read after the crash: %v", err)
					}
					if _, err := s.Transform(context.Background(), path, setKey("aw_after", 1)); err != nil {
						t.Fatalf("Update after the crash: %v", err)
					}
					got, err := pyjson.Parse(readFile(t, path))
					if err != nil {
						t.Fatalf("the registry does not parse: %v", err)
					}
					want := must(pyjson.Parse(next))
					if wrote {
						want.Set("python_edits", pyjson.NewInt(1))
					}
					want.Set("aw_after", pyjson.NewInt(1))
					if !pyjson.Equal(got, want) {
						t.Errorf("got registry %s, want the crashed change, the Python write (%v) and the repair: %s", pyjson.Encode(got), wrote, pyjson.Encode(want))
					}
					assertNoJournal(t, path)
				})
			}
		}
	}
}

// bigRegistry returns a registry of about size bytes: agents with every
// field the orchestrator writes.
func bigRegistry(size int) []byte {
	root := pyjson.NewObject()
	root.Set("total_agents_spawned", pyjson.NewInt(0))
	agents := pyjson.NewObject()
	root.Set("agents", agents)
	for i := 0; len(pyjson.Encode(root)) < size; i++ {
		for range 500 {
			a := pyjson.NewObject()
			id := fmt.Sprintf("builder-%06d-%04x", i, i*7919%65536)
			a.Set("task_id", pyjson.NewString("TASK-20251017-215604-df6a3cbd"))
			a.Set("parent", pyjson.NewString("planner-215642-c3f469"))
			a.Set("depth", pyjson.NewInt(int64(i%4)))
			a.Set("status", pyjson.NewString([]string{"running", "completed", "failed"}[i%3]))
			a.Set("started_at", pyjson.NewString("2025-10-17T21:57:00.000001"))
			a.Set("tmux_session", pyjson.NewString("agent_"+id))
			agents.Set(id, a)
			i++
		}
	}
	return pyjson.Encode(root)
}

// TestRandomKillsMidRepairLoseNothing kills, at random points, children
// that rewrite a 4 MB registry over and over, flipping agents' statuses
// (which changes lengths in the middle of the file) and bumping a counter;
// between kills a flock'd Python writer adds 1 to its own counter. After
// the last kill, one clean run: the registry parses, holds every Python
// write, every agent's fields are whole, and no journal or temporary file
// is left.
func TestRandomKillsMidRepairLoseNothing(t *testing.T) {
	pyscript.Python(t)
	kills := 50
	if testing.Short() {
		kills = 8
	}
	orig := bigRegistry(4 << 20)
	path := newRegistry(t, string(orig))
	s := newStore(t)
	origRoot := must(pyjson.Parse(orig))
	pyWrites := 0
	for i := range kills {
		killLoopChild(t, path, s.StateDir, rand.N(40*time.Millisecond))
		if carefulWrite(t, path, "python_edits") {
			pyWrites++
		}
		if i%5 == 4 {
			// Now and then agentwatch's next scan comes between kills.
			if _, err := s.Read(context.Background(), path); err != nil {
				t.Fatalf("Read after kill %d: %v", i, err)
			}
		}
	}
	if _, err := s.Transform(context.Background(), path, setKey("aw_final", 1)); err != nil {
		t.Fatalf("the clean run: %v", err)
	}
	got, err := pyjson.Parse(readFile(t, path))
	if err != nil {
		t.Fatalf("the registry does not parse: %v", err)
	}
	if n, _ := got.Get("python_edits").Int(); int(n) != pyWrites {
		t.Errorf("got python_edits %d, want %d: a Python write was lost", n, pyWrites)
	}
	if pyWrites == 0 {
		t.Errorf("no Python write landed between %d kills", kills)
	}
	for _, m := range origRoot.Get("agents").Members() {
		a := got.Get("agents").Get(m.Key)
		if a == nil {
			t.Fatalf("agent %s is gone", m.Key)
		}
		for _, f := range []string{"task_id", "parent", "depth", "started_at", "tmux_session"} {
			if !pyjson.Equal(a.Get(f), m.Value.Get(f)) {
				t.Fatalf("agent %s: got %s %s, want %s", m.Key, f, pyjson.Encode(a.Get(f)), pyjson.Encode(m.Value.Get(f)))
			}
		}
	}
	assertNoJournal(t, path)
	left, _ := filepath.Glob(path + JournalSuffix + "*")
	if len(left) != 0 {
		t.Errorf("journals or temporary journals left after the clean run: %v", left)
	}
	t.Logf("%d kills, %d Python writes between them", kills, pyWrites)
}

// killLoopChild starts a child that rewrites the registry in a loop, waits
// until it has committed once, lets it run for after, and kills it.
func killLoopChild(t *testing.T, path, stateDir string, after time.Duration) {
	t.Helper()
	dir := t.TempDir()
	marker := dir + "/committed"
	c := startChild(t, childEnv+"=loop", childRegistryEnv+"="+path, childStateEnv+"="+stateDir,
		"AGENTWATCH_TEST_PAUSE_MARKER="+marker)
	c.waitMarker(t, marker, "its first commit", time.Minute)
	select {
	case <-c.done:
		t.Fatalf("loop child PID %d exited (%v): %s", c.pid, c.err, c.Stderr())
	case <-time.After(after): // a random point of its work, not a wait for it
	}
	c.kill(t)
}

// runLoopChild rewrites the registry until it is killed: each round flips
// the status of a few agents and bumps aw_rounds, and after the first one
// writes AGENTWATCH_TEST_PAUSE_MARKER.
func runLoopChild() int {
	s := &Store{StateDir: os.Getenv(childStateEnv)}
	path := os.Getenv(childRegistryEnv)
	for round := 0; ; round++ {
		_, err := s.Transform(context.Background(), path, func(cur *Snapshot) (Change, error) {
			n, _ := cur.Root.Get("aw_rounds").Int()
			cur.Root.Set("aw_rounds", pyjson.NewInt(n+1))
			for i, m := range cur.Root.Get("agents").Members() {
				if (i+round)%97 == 0 {
					st := "failed"
					if cur, _ := m.Value.Get("status").Str(); cur == "failed" {
						st = "running"
					}
					m.Value.Set("status", pyjson.NewString(st))
				}
			}
			return Write(pyjson.Encode(cur.Root)), nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if round == 0 {
			_ = os.WriteFile(os.Getenv("AGENTWATCH_TEST_PAUSE_MARKER"), []byte(strconv.Itoa(round)), 0o600)
		}
	}
}

// TestReadParsesWithoutTheLock stops a reading child just before it parses
// what it read and checks, while the child is stopped there, that a Python
// writer can take the registry's exclusive lock: the shared lock covers
// only the reading of bytes, so the orchestrator's writers never wait for a
// big registry's parse.
func TestReadParsesWithoutTheLock(t *testing.T) {
	for _, tc := range []struct{ name, child, at string }{
		{"read", "read", "read-parse"},
		{"lean read", "readlean", "read-scan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.child == "readlean" && runtime.GOOS != "linux" {
				t.Skip("a lean read scans under the lock where it has no memfd to copy into")
			}
			readsWithoutTheLock(t, tc.child, tc.at)
		})
	}
}

// readsWithoutTheLock stops a reading child at step and checks that a
// python writer can take the exclusive lock meanwhile.
func readsWithoutTheLock(t *testing.T, child, step string) {
	path := newRegistry(t, sampleRegistry)
	marker := filepath.Join(t.TempDir(), "paused")
	c := startChild(t, childEnv+"="+child, childRegistryEnv+"="+path,
		"AGENTWATCH_TEST_PAUSE_AT="+step, "AGENTWATCH_TEST_PAUSE_MARKER="+marker)
	c.waitMarker(t, marker, "its stop before the parse", time.Minute)
	holder := pyscript.Start(t, "hold.py", path, "ex")
	holder.Expect(t, "locked")
	select {
	case <-c.done:
		t.Fatalf("reader PID %d exited (%v) before the check was over", c.pid, c.err)
	default:
	}
	fmt.Fprintln(holder.Stdin)
	holder.Expect(t, "released")
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
