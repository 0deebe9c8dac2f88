package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lockedPython edits a registry as the orchestrator's careful writers do:
// under flock(LOCK_EX) on the file itself, read, change, rewrite in place.
func lockedPython(t *testing.T, path, stmt string) {
	t.Helper()
	python(t, "import fcntl\nwith open(sys.argv[1], 'r+') as f:\n    fcntl.flock(f, fcntl.LOCK_EX)\n    o = json.load(f)\n    "+
		stmt+"\n    f.seek(0); f.write(json.dumps(o, indent=2)); f.truncate()\n", path)
}

// expectedAfter is what python3 makes of a registry's bytes with stmt applied.
func expectedAfter(t *testing.T, before []byte, stmt string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "AGENT_REGISTRY.json")
	if err := os.WriteFile(p, before, 0o644); err != nil {
		t.Fatal(err)
	}
	lockedPython(t, p, stmt)
	b, _ := os.ReadFile(p)
	return b
}

func TestUndoPutsBackTheRepairedFieldAndKeepsTheOrchestratorsWrite(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	lockedPython(t, tw, "o['active_count'] = 9")
	damaged, _ := os.ReadFile(tw)
	if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
		t.Fatalf("repair exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(tw); bytes.Equal(got, damaged) {
		t.Fatal("the repair did not recount active_count")
	}
	// The orchestrator writes another field of the same file.
	const write = "o['priority'] = 'P0'"
	lockedPython(t, tw, write)

	r := agentwatch(t, "undo", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "put back  "+tw) || strings.Contains(r.stdout, "kept") {
		t.Fatalf("undo: exit %d, want 0, the file put back and nothing kept\n%s%s", r.code, r.stdout, r.stderr)
	}
	// active_count is 9 again; priority is the orchestrator's.
	if got, want := mustRead(t, tw), expectedAfter(t, damaged, write); !bytes.Equal(got, want) {
		t.Errorf("after undo:\n%s\nwant:\n%s", got, want)
	}
}

func TestUndoKeepsTheOrchestratorsValueOfARepairedField(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	lockedPython(t, tw, "o['active_count'] = 9")
	if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
		t.Fatalf("repair exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The orchestrator writes the repaired field itself.
	lockedPython(t, tw, "o['active_count'] = 3")
	before := mustRead(t, tw)

	r := agentwatch(t, "undo", "--yes")
	want := "kept      active_count is now 3, agentwatch wrote 1: kept"
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("undo: exit %d, want 0 and %q\n%s%s", r.code, want, r.stdout, r.stderr)
	}
	if got := mustRead(t, tw); !bytes.Equal(got, before) {
		t.Errorf("undo wrote over the orchestrator's value:\n%s", got)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
