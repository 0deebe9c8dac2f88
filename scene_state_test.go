package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"agentwatch/demo"
)

// The orchestrator as operators run it today keeps its state in SQLite, and
// shares the default tmux server with the operator's other projects. These
// tests run the scene's second project (state.sqlite3 written by python3,
// panes of today's shape) beside its first on one private tmux server.

// stateFlags point agentwatch at the scene's 2026 project alone.
func stateFlags(s *demo.Scene) []string { return append(s.StateFlags(), "--grace", "1s") }

// pyQuery runs SQL on a state database with python3's sqlite3, as the
// orchestrator's own code would, and returns the rows as JSON.
func pyQuery(t *testing.T, db, sql string, args ...any) [][]any {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	params, _ := json.Marshal(args)
	out, err := exec.Command("python3", "-c", `
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
c.execute("PRAGMA busy_timeout=10000")
rows = c.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()
print(json.dumps(rows))
`, db, sql, string(params)).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 sqlite3: %v\n%s", err, out)
	}
	var rows [][]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("python3 sqlite3 output %q: %v", out, err)
	}
	return rows
}

// hashFiles hashes every regular file under dir whose name ends in suffix.
func hashFiles(t *testing.T, dir, suffix string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && strings.HasSuffix(p, suffix) {
			data, _ := os.ReadFile(p)
			out[p] = sha256.Sum256(data)
		}
		return nil
	})
	return out
}

func processVerdicts(out checkOut) map[int]string {
	v := map[int]string{}
	for _, p := range out.Processes {
		m := p.(map[string]any)
		v[int(m["pid"].(float64))] = m["verdict"].(string)
	}
	return v
}

func sessionRows(out checkOut) map[string]map[string]any {
	rows := map[string]map[string]any{}
	for _, s := range out.Sessions {
		m := s.(map[string]any)
		rows[m["name"].(string)] = m
	}
	return rows
}

func TestStateEraIsJudgedByItsDatabaseAndRepaired(t *testing.T) {
	sandbox(t)
	s := buildSceneWith(t, demo.Options{State: true})
	c := s.StateCast
	db := filepath.Join(s.StateBase, "registry", "state.sqlite3")
	flags := stateFlags(s)

	out, code := checkJSONArgs(t, append([]string{"check", "--json"}, flags...)...)
	if code != 1 {
		t.Fatalf("check exit %d, want 1", code)
	}
	if len(out.Workspaces) != 1 || out.Workspaces[0]["era"] != "sqlite" || out.Workspaces[0]["path"] != s.StateBase {
		t.Errorf("workspaces: got %v, want the 2026 base, era sqlite", out.Workspaces)
	}
	var got []string
	for _, f := range out.Findings {
		switch f["kind"] {
		case "ghost":
			got = append(got, fmt.Sprintf("ghost %s evidence=%v registry=%s", f["agent_id"], f["completed_evidence"], f["registry"]))
		case "leak":
			got = append(got, fmt.Sprintf("leak %s %s", f["cause"], f["tmux_session"]))
		case "unknown", "spawn_blocked":
			got = append(got, fmt.Sprintf("%s %v", f["kind"], f["agent_id"]))
		default:
			b, _ := json.Marshal(f)
			got = append(got, string(b))
		}
	}
	slices.Sort(got)
	want := []string{
		fmt.Sprintf("ghost %s evidence=false registry=%s", c.Ghost, db),
		fmt.Sprintf("ghost %s evidence=true registry=%s", c.GhostDone, db),
		"leak finished_agent agent_" + c.Finished,
		"leak untracked_session agent_" + c.Untracked,
		"spawn_blocked <nil>",
		"unknown " + c.Odd,
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("findings (no drift of the frozen JSON counters, no live agent a leak):\ngot  %s\nwant %s",
			strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	roles := s.Roles()
	verdict := processVerdicts(out)
	for role, want := range map[string]string{"sqlite:native": "ok", "sqlite:live": "ok", "mcp:" + c.Live: "ok",
		"sqlite:finished": "leak", "sqlite:untracked": "leak",
		// the first project's processes: another base, not scanned
		"agent:" + s.Cast.Healthy1: "foreign", "agent:" + s.Cast.Untracked: "foreign", "agent:" + s.Cast.Finished: "foreign"} {
		for _, pid := range roles[role] {
			if verdict[pid] != want {
				t.Errorf("%s (PID %d) is %q, want %q", role, pid, verdict[pid], want)
			}
		}
	}
	if r := sessionRows(out)["agent_"+s.Cast.Untracked]; r["verdict"] != "other" || !strings.Contains(fmt.Sprint(r["reason"]), s.Base) {
		t.Errorf("the first project's untracked session: %v, want other, naming %s", r, s.Base)
	}

	jsonBefore := hashFiles(t, s.StateBase, ".json")
	leaked := rolePIDs(t, s, "sqlite:finished", "sqlite:untracked")
	kept := rolePIDs(t, s, "sqlite:native", "sqlite:live", "agent:"+s.Cast.Healthy1, "agent:"+s.Cast.Untracked, "agent:"+s.Cast.Finished)
	r := agentwatch(t, append([]string{"repair", "--yes", "--kill-leaks", "--json", "--term-timeout", "2s"}, flags...)...)
	if r.code != 0 {
		t.Fatalf("repair exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res struct{ Applied, Skipped, Failed []map[string]any }
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("repair --json: %v\n%s", err, r.stdout)
	}
	var ops []string
	for _, op := range res.Applied {
		switch op["op"] {
		case "kill_process":
			ops = append(ops, "kill_process")
		default:
			ops = append(ops, fmt.Sprintf("%s %v %v %v", op["op"], op["agent_id"], op["tmux_session"], op["new"]))
		}
	}
	slices.Sort(ops)
	ops = slices.Compact(ops)
	wantOps := []string{
		fmt.Sprintf("complete %s agent_%s completed", c.GhostDone, c.GhostDone),
		"kill_process",
		fmt.Sprintf("kill_session %s agent_%s <nil>", c.Finished, c.Finished),
		fmt.Sprintf("kill_session %s agent_%s <nil>", c.Untracked, c.Untracked),
		fmt.Sprintf("terminate %s agent_%s failed", c.Ghost, c.Ghost),
	}
	slices.Sort(wantOps)
	if !slices.Equal(ops, wantOps) || len(res.Failed) > 0 {
		t.Errorf("repair applied:\ngot  %s\nwant %s\nfailed %v", strings.Join(ops, "\n     "), strings.Join(wantOps, "\n     "), res.Failed)
	}
	for _, pid := range leaked {
		if alive(pid) {
			t.Errorf("leaked PID %d still runs after repair --kill-leaks", pid)
		}
	}
	for _, pid := range kept {
		if !alive(pid) {
			t.Errorf("PID %d (a live agent, or another project's) was killed", pid)
		}
	}
	rows := pyQuery(t, db, "SELECT agent_id, status, completed_at IS NOT NULL, last_update FROM agents WHERE agent_id IN (?, ?) ORDER BY agent_id", c.Ghost, c.GhostDone)
	states := map[string]string{}
	for _, row := range rows {
		states[row[0].(string)] = fmt.Sprintf("%v completed_at=%v", row[1], row[2])
	}
	if states[c.Ghost] != "failed completed_at=1" || states[c.GhostDone] != "completed completed_at=1" {
		t.Errorf("rows after repair: %v", states)
	}
	if after := hashFiles(t, s.StateBase, ".json"); !mapsEqual(jsonBefore, after) {
		t.Errorf("repair rewrote a JSON file of a SQLite-era base")
	}
	if integrity := pyQuery(t, db, "PRAGMA integrity_check"); fmt.Sprint(integrity) != "[[ok]]" {
		t.Errorf("integrity_check: %v", integrity)
	}

	// The orchestrator writes the ghost's row since; undo puts back the
	// other row and keeps the orchestrator's write, saying why.
	pyQuery(t, db, "UPDATE agents SET status = 'working', last_update = '2026-12-05T18:00:00.000001' WHERE agent_id = ?", c.Ghost)
	u := agentwatch(t, append([]string{"undo", "--yes"}, flags...)...)
	rows = pyQuery(t, db, "SELECT agent_id, status, last_update FROM agents WHERE agent_id IN (?, ?) ORDER BY agent_id", c.Ghost, c.GhostDone)
	for _, row := range rows {
		switch row[0] {
		case c.Ghost:
			if row[1] != "working" || row[2] != "2026-12-05T18:00:00.000001" {
				t.Errorf("undo reverted the orchestrator's later write: %v", row)
			}
		case c.GhostDone:
			if row[1] != "running" {
				t.Errorf("undo did not put back %s: %v\n%s%s", c.GhostDone, row, u.stdout, u.stderr)
			}
		}
	}
	if !strings.Contains(u.stdout+u.stderr, c.Ghost) || !strings.Contains(u.stdout+u.stderr, "working") {
		t.Errorf("undo does not say why it kept %s's row:\n%s%s", c.Ghost, u.stdout, u.stderr)
	}
}

func mapsEqual(a, b map[string][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestTwoProjectsOnOneServer(t *testing.T) {
	sandbox(t)
	s := buildSceneWith(t, demo.Options{State: true})
	live := rolePIDs(t, s, "sqlite:live")
	// The first project holds, finished, an agent of the second's live
	// agent's id (a copy of a project beside the original holds all of
	// them): the session of that name is still the second's.
	python(t, `
import fcntl
p, id = sys.argv[1], sys.argv[2]
with open(p, 'r+') as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    o = json.load(f)
    o['agents'].append({'id': id, 'type': 'copied', 'tmux_session': 'agent_' + id, 'status': 'completed',
                        'started_at': '2025-10-17T21:56:39.948962', 'last_update': '2025-10-17T21:59:51.549066'})
    o['total_spawned'] += 1; o['completed_count'] += 1
    f.seek(0); f.write(json.dumps(o, indent=2)); f.truncate()
`, filepath.Join(s.Base, demo.TaskMain, "AGENT_REGISTRY.json"), s.StateCast.Live)

	// Pointed at the first project, the second's agents are not judged.
	out, _ := checkJSONArgs(t, append([]string{"check", "--json"}, sceneFlags(s)...)...)
	row := sessionRows(out)["agent_"+s.StateCast.Live]
	if row["verdict"] != "other" || !strings.Contains(fmt.Sprint(row["reason"]), s.StateBase) || !strings.Contains(fmt.Sprint(row["reason"]), "--workspace") {
		t.Errorf("the other project's healthy session: %v, want other, naming %s and --workspace", row, s.StateBase)
	}
	for _, a := range out.Agents {
		if a["agent_id"] == s.StateCast.Live && a["verdict"] != "done" {
			t.Errorf("the first project's finished agent of the same id: %v, want done (the session of its name is the other project's)", a)
		}
	}
	r := agentwatch(t, append([]string{"repair", "--yes", "--kill-leaks", "--term-timeout", "2s"}, sceneFlags(s)...)...)
	if r.code != 0 {
		t.Fatalf("repair exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, pid := range live {
		if !alive(pid) {
			t.Errorf("repair --kill-leaks of the first project killed the second's healthy claude (PID %d)", pid)
		}
	}

	// With no --workspace, both projects are found through their panes,
	// and each one's agents are judged by its own registry.
	cwd := t.TempDir()
	old, _ := os.Getwd()
	if err := os.Chdir(cwd); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(old)
	out, _ = checkJSONArgs(t, "check", "--json", "--grace", "1s", "--tmux-socket-path", s.Socket.Path)
	found := map[string]string{}
	for _, w := range out.Workspaces {
		found[w["path"]] = w["era"] + " " + w["found_by"]
	}
	for _, base := range []string{s.Base, s.StateBase} {
		if !strings.Contains(found[base], "named by the pane") {
			t.Errorf("workspace %s: got %q, want found through a pane (all: %v)", base, found[base], found)
		}
	}
	verdicts := map[string]string{}
	for _, a := range out.Agents {
		verdicts[a["agent_id"].(string)] = a["verdict"].(string)
	}
	for _, id := range []string{s.Cast.Healthy1, s.StateCast.Live, s.StateCast.Native} {
		if verdicts[id] != "ok" {
			t.Errorf("agent %s: got %q, want ok", id, verdicts[id])
		}
	}
}
