package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// forgetFields rewrites the audit log as agentwatch wrote it before it
// recorded the fields each action changed: undo then falls back to putting
// whole files back.
func forgetFields(t *testing.T, state string) {
	t.Helper()
	path := filepath.Join(state, "audit.jsonl")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var e map[string]any
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		regs, _ := e["registries"].([]any)
		for _, r := range regs {
			delete(r.(map[string]any), "fields")
		}
		b, _ := json.Marshal(e)
		out = append(append(out, b...), '\n')
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestUndoOfAnOldEntryRefusesWhatChangedSince(t *testing.T) {
	state := sandbox(t)
	base := copyFixtures(t)
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	python(t, `o = load(sys.argv[1]); o['active_count'] = 9; save(sys.argv[1], o)`, tw)
	damaged, _ := os.ReadFile(tw)

	if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
		t.Fatalf("repair exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	forgetFields(t, state) // an entry written before fields were recorded
	// An orchestrator writer changes the file after the repair.
	python(t, `o = load(sys.argv[1]); o['priority'] = 'P0'; save(sys.argv[1], o)`, tw)
	changed, _ := os.ReadFile(tw)

	r := agentwatch(t, "undo", "--yes")
	if r.code != 1 || !strings.Contains(r.stdout, "changed since by someone else") {
		t.Fatalf("undo of a file changed since: exit %d, want 1 and a refusal\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(tw); !bytes.Equal(got, changed) {
		t.Fatal("a refused undo wrote the file")
	}
	if r := agentwatch(t, "undo", "--yes", "--force"); r.code != 0 {
		t.Fatalf("undo --force exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(tw); !bytes.Equal(got, damaged) {
		t.Fatal("undo --force did not put back the bytes from before the repair")
	}
	// The undo is itself undoable: undoing it brings the writer's change back.
	if r := agentwatch(t, "undo", "--yes"); r.code != 0 {
		t.Fatalf("undo of the undo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(tw); !bytes.Equal(got, changed) {
		t.Fatal("undoing the undo did not bring back the bytes it replaced")
	}
	// Every write is in the audit log: repair, refused undo, undo, undo.
	lines := auditActions(t, state)
	if want := []string{"repair:ok", "undo:failed", "undo:ok", "undo:ok"}; !slices.Equal(lines, want) {
		t.Errorf("audit log actions = %v, want %v", lines, want)
	}
}

func TestUndoOfAnOldEntryIsAllOrNothing(t *testing.T) {
	state := sandbox(t)
	base := copyFixtures(t)
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	g := filepath.Join(base, "registry", "GLOBAL_REGISTRY.json")
	python(t, `o = load(sys.argv[1]); o['active_count'] = 9; save(sys.argv[1], o)`, tw)
	python(t, `o = load(sys.argv[1]); o['total_tasks'] = 9; save(sys.argv[1], o)`, g)
	damagedT, _ := os.ReadFile(tw)
	damagedG, _ := os.ReadFile(g)
	if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
		t.Fatalf("repair exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	forgetFields(t, state) // an entry written before fields were recorded
	repairedT, _ := os.ReadFile(tw)
	python(t, `o = load(sys.argv[1]); o['max_concurrent_agents'] = 21; save(sys.argv[1], o)`, g)
	changedG, _ := os.ReadFile(g)

	r := agentwatch(t, "undo", "--yes")
	if r.code != 1 {
		t.Fatalf("undo with one file changed since: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(tw); !bytes.Equal(got, repairedT) {
		t.Error("a refused undo put back the other file anyway")
	}
	if got, _ := os.ReadFile(g); !bytes.Equal(got, changedG) {
		t.Error("a refused undo wrote the file that changed since")
	}
	// The advice it gives does what it says: --force puts both back.
	if r := agentwatch(t, "undo", "--yes", "--force"); r.code != 0 {
		t.Fatalf("undo --force exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(tw); !bytes.Equal(got, damagedT) {
		t.Error("undo --force did not put back the task registry")
	}
	if got, _ := os.ReadFile(g); !bytes.Equal(got, damagedG) {
		t.Error("undo --force did not put back the global registry")
	}
}
