package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRepairCountersOnDamagedFixtures(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	damage(t, base)
	g := filepath.Join(base, "registry", "GLOBAL_REGISTRY.json")
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	td := filepath.Join(base, taskDone, "AGENT_REGISTRY.json")
	dupID := "architecture_analyzer-213538-2fff2c"

	out, code := checkJSONOf(t, base)
	if code != 1 || out.Healthy {
		t.Fatalf("check: exit %d healthy %v, want exit 1 and not healthy", code, out.Healthy)
	}
	want := []string{
		fmt.Sprintf(`{"actual":1,"field":"active_count","kind":"drift","recorded":15,"registry":%q}`, tw),
		fmt.Sprintf(`{"actual":27,"field":"total_agents_spawned","kind":"drift","recorded":95,"registry":%q}`, g),
		fmt.Sprintf(`{"actual":2,"field":"active_agents","kind":"drift","recorded":1,"registry":%q}`, g),
		fmt.Sprintf(`{"actual":7,"field":"completed_count","kind":"drift","recorded":6,"registry":%q}`, td),
		fmt.Sprintf(`{"agent_id":%q,"count":2,"kind":"duplicate","registry":%q}`, dupID, td),
		fmt.Sprintf(`{"agent_id":"code_auditor-213536-71587d","global_registry":%q,"global_status":"working","kind":"divergent","task_registry":%q,"task_status":"completed"}`,
			g, filepath.Join(base, taskDone, "AGENT_REGISTRY.json")),
		// Alive (liveFlags runs it) but silent since 2025: a warning.
		`{"agent_id":"jsonl_architecture_planner-215640-c3f469","kind":"stale","last_update":"2025-10-17T21:57:50.252741"}`,
	}
	slices.Sort(want)
	if got := findingLines(out.Findings); !slices.Equal(got, want) {
		t.Errorf("findings:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if out.Summary["drift"] != 4 || out.Summary["duplicate"] != 1 || out.Summary["divergent"] != 1 || out.Summary["ghost"] != 0 {
		t.Errorf("summary = %v", out.Summary)
	}

	// The plan: exactly the fixes of the counter table and the sync rules.
	// The completed_count and active_agents drifts vanish with the dedupe
	// and the sync, so they are not recounted.
	wantOps := []string{
		fmt.Sprintf("dedupe %s %s  2→1", td, dupID),
		fmt.Sprintf("recount %s  active_count 15→1", tw),
		fmt.Sprintf(`sync %s code_auditor-213536-71587d status "working"→"completed"`, g),
		fmt.Sprintf("recount %s  total_agents_spawned 95→27", g),
	}
	before := snapshotFiles(t, base)
	r := agentwatch(t, append([]string{"repair", "--dry-run", "--json", "--workspace", base}, liveFlags(t, base)...)...)
	if r.code != 0 {
		t.Fatalf("repair --dry-run exit %d\n%s", r.code, r.stderr)
	}
	var planned repairJSON
	if err := json.Unmarshal([]byte(r.stdout), &planned); err != nil {
		t.Fatal(err)
	}
	if got := opLines(planned.Planned); !slices.Equal(got, wantOps) {
		t.Errorf("planned:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(wantOps, "\n     "))
	}
	for p, st := range snapshotFiles(t, base) {
		if !bytes.Equal(st.data, before[p].data) {
			t.Errorf("dry run wrote %s", p)
		}
	}

	r = agentwatch(t, append([]string{"repair", "--yes", "--json", "--workspace", base}, liveFlags(t, base)...)...)
	if r.code != 0 {
		t.Fatalf("repair --yes exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res repairJSON
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	var applied []string
	for _, it := range res.Applied {
		applied = append(applied, opLine2(it.Op.Op, it.Registry, it.AgentID, it.Field, it.Old, it.New))
	}
	if !slices.Equal(applied, wantOps) || len(res.Skipped)+len(res.Failed) != 0 {
		t.Errorf("applied:\ngot  %s\nwant %s\nskipped %v failed %v", strings.Join(applied, "\n     "), strings.Join(wantOps, "\n     "), res.Skipped, res.Failed)
	}

	// Exactly those changes and nothing else: every file equals the
	// pristine fixture, except the deduplicated entry, which gained the
	// field only its copy had — as python3 itself writes that document.
	pristine := copyFixtures(t)
	python(t, `
p = sys.argv[1] + '/TASK-20251017-213512-5169d812/AGENT_REGISTRY.json'
o = load(p); o['agents'][1]['note'] = 'from the copy'; save(p, o)
`, pristine)
	for p, st := range snapshotFiles(t, base) {
		rel, _ := filepath.Rel(base, p)
		want, err := os.ReadFile(filepath.Join(pristine, rel))
		if err != nil {
			t.Errorf("%s: %v (a file agentwatch should not have left)", rel, err)
			continue
		}
		if !bytes.Equal(st.data, want) {
			t.Errorf("%s after repair differs from the expected document", rel)
		}
	}
	if out, code := checkJSONOf(t, base); code != 0 || !out.Healthy {
		t.Errorf("check after repair: exit %d, findings %v", code, findingLines(out.Findings))
	}

	// And undo puts back the damaged bytes exactly.
	r = agentwatch(t, "undo", "--yes")
	if r.code != 0 {
		t.Fatalf("undo exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for p, st := range snapshotFiles(t, base) {
		if !bytes.Equal(st.data, before[p].data) {
			t.Errorf("after undo %s is not as it was before the repair", p)
		}
	}
}

func TestLockHeldByPython(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	path := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	python(t, `o = load(sys.argv[1]); o['active_count'] = 4; save(sys.argv[1], o)`, path)
	liveFlags(t, base) // started for the whole test, not a subtest

	t.Run("past --lock-timeout: exit 75 naming the holder", func(t *testing.T) {
		holder := holdLock(t, path)
		start := time.Now()
		r := agentwatch(t, append([]string{"repair", "--yes", "--lock-timeout", "700ms", "--workspace", base}, liveFlags(t, base)...)...)
		waited := time.Since(start)
		if r.code != 75 {
			t.Fatalf("exit %d, want 75\n%s%s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout+r.stderr, fmt.Sprintf("PID %d", holder.Process.Pid)) {
			t.Errorf("output does not name PID %d:\n%s%s", holder.Process.Pid, r.stdout, r.stderr)
		}
		if waited < 700*time.Millisecond {
			t.Errorf("gave up after %v, want it to wait the lock timeout", waited)
		}
		if got, _ := os.ReadFile(path); !strings.Contains(string(got), `"active_count": 4`) {
			t.Error("the registry was written without the lock")
		}
	})
	t.Run("check past --lock-timeout: exit 75, the JSON marks it, one wait", func(t *testing.T) {
		holdLock(t, path)
		start := time.Now()
		r := agentwatch(t, append([]string{"check", "--json", "--lock-timeout", "2s", "--workspace", base}, liveFlags(t, base)...)...)
		waited := time.Since(start)
		if r.code != 75 {
			t.Fatalf("exit %d, want 75\n%s%s", r.code, r.stdout, r.stderr)
		}
		var out struct {
			Healthy    bool `json:"healthy"`
			Registries []struct {
				Path   string `json:"path"`
				Locked bool   `json:"locked"`
			} `json:"registries"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("stdout is not the JSON: %v\n%s", err, r.stdout)
		}
		found := false
		for _, reg := range out.Registries {
			if reg.Locked != (reg.Path == path) {
				t.Errorf("registry %s: got locked %v", reg.Path, reg.Locked)
			}
			found = found || reg.Path == path
		}
		if !found || out.Healthy {
			t.Errorf("got registries %+v healthy %v, want %s listed as locked and not healthy", out.Registries, out.Healthy, path)
		}
		// Two waits would be 2s each and the 1.5s settle between them.
		if waited >= 5500*time.Millisecond {
			t.Errorf("check took %v with a 2s lock timeout, want one wait, not two", waited)
		}
	})
	t.Run("released in time: agentwatch waits and repairs", func(t *testing.T) {
		holder := holdLock(t, path)
		go func() {
			time.Sleep(500 * time.Millisecond)
			holder.release()
		}()
		start := time.Now()
		r := agentwatch(t, append([]string{"repair", "--yes", "--lock-timeout", "10s", "--workspace", base}, liveFlags(t, base)...)...)
		if r.code != 0 {
			t.Fatalf("exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
		}
		if waited := time.Since(start); waited < 400*time.Millisecond {
			t.Errorf("repair finished after %v while the lock was held for 500ms", waited)
		}
		if got, _ := os.ReadFile(path); !strings.Contains(string(got), `"active_count": 1`) {
			t.Error("the repair did not land")
		}
	})
}
