package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogShowsTheAuditLog(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	if r := agentwatch(t, "log"); r.code != 0 || !strings.Contains(r.stdout, "is empty") {
		t.Fatalf("log of an empty audit log: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	for i := 0; i < 3; i++ {
		python(t, fmt.Sprintf(`o = load(sys.argv[1]); o['active_count'] = %d; save(sys.argv[1], o)`, 5+i), tw)
		if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
			t.Fatalf("repair: exit %d\n%s", r.code, r.stderr)
		}
	}
	r := agentwatch(t, "log", "--json", "-n", "2")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 {
		t.Fatalf("log --json -n 2: exit %d, %d lines\n%s", r.code, len(lines), r.stdout)
	}
	for _, l := range lines {
		var e struct {
			Action, Result string
			Registries     []struct{ Path, Before, After string }
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Action != "repair" || e.Result != "ok" || len(e.Registries) != 1 || e.Registries[0].Path != tw {
			t.Errorf("entry %s: %+v %v", l, e, err)
		}
	}
	// A person's log: one short line per action, the registry named by its
	// task directory and file, never by its full path.
	r = agentwatch(t, "log")
	lines = strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 3 {
		t.Fatalf("log: exit %d, %d lines, want 3\n%s", r.code, len(lines), r.stdout)
	}
	short := taskWorking + "/AGENT_REGISTRY.json"
	for _, l := range lines {
		if !strings.Contains(l, " repair ") || !strings.Contains(l, " ok ") || !strings.Contains(l, short) || strings.Contains(l, tw) || len(l) > 160 {
			t.Errorf("log line %q: want the action, its result and %s, not the full path, in under 160 bytes", l, short)
		}
	}
	if r := agentwatch(t, "log", "--help"); !strings.Contains(r.stdout, "JSON Lines") {
		t.Errorf("log --help does not say that --json prints JSON Lines:\n%s", r.stdout)
	}
}
