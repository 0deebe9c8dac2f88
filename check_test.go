package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckTextNeverCutsANameKillNeeds: check's text prints agent ids and
// session names whole, however long, so that they can be passed to kill
// and found in the registry as printed.
func TestCheckTextNeverCutsANameKillNeeds(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	id := "rogue_agent_with_a_very_long_type_name-101700-68f7a1"
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	python(t, `
o = load(sys.argv[1]); a = dict(o['agents'][0]); a['id'] = sys.argv[2]; a['tmux_session'] = 'agent_' + sys.argv[2]
a['status'] = 'running'; o['agents'].append(a); save(sys.argv[1], o)`, tw, id)
	r := agentwatch(t, "check", "--workspace", base, "--tmux-socket-path", "/nonexistent/sock")
	if r.code != 1 {
		t.Fatalf("check: exit %d, want 1 (findings)\n%s%s", r.code, r.stdout, r.stderr)
	}
	var ghost string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "ghost ") && strings.Contains(l, id[:20]) {
			ghost = l
		}
	}
	if ghost == "" || !strings.Contains(ghost, " "+id) || strings.Contains(r.stdout, "…") {
		t.Errorf("check does not print the ghost's id %s whole:\n%s", id, r.stdout)
	}
	if !strings.Contains(r.stdout, "(agent_"+id+")") {
		t.Errorf("check does not print the session agent_%s whole:\n%s", id, r.stdout)
	}
}
