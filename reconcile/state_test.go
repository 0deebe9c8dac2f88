package reconcile

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"agentwatch/procscan"
	"agentwatch/registry"
	"agentwatch/statedb"
	"agentwatch/tmux"
)

// A base of the SQLite era, as the 2026 orchestrator leaves it: its JSON
// files hold no agents and counters frozen at 0, its state database the
// truth.
const (
	sqBase = "/p/.agent-workspace"
	sqTask = "TASK-20261205-173221-188fc597"
	sqDB   = sqBase + "/registry/state.sqlite3"
)

// stateWorld is a SQLite-era scene: the database's rows, the live panes
// (each running the orchestrator's launch shape), what their stream logs say.
type stateWorld struct {
	agents   []statedb.Agent
	progress []statedb.Progress
	links    []statedb.Link
	// panes: agent id → pane (the session is agent_<id>); base names the
	// base its tee writes under (sqBase when empty).
	panes    map[string]string
	evidence map[string]bool
	failed   map[string]bool
	logMod   map[string]time.Duration // ago
	dbErr    error
	bases    []string
}

func (sw stateWorld) input(t *testing.T) Input {
	t.Helper()
	task := mustParse(t, `{"task_id": "`+sqTask+`", "agents": [], "total_spawned": 0, "active_count": 0, "completed_count": 0}`)
	global := mustParse(t, `{"total_tasks": 0, "active_tasks": 0, "total_agents_spawned": 0, "active_agents": 0, "tasks": {"`+sqTask+`": {"status": "INITIALIZED"}}, "agents": {}}`)
	in := Input{Now: now, Sets: registry.DefaultStatusSets(), Bases: sw.bases,
		Registries: []Registry{
			{Path: sqBase + "/registry/GLOBAL_REGISTRY.json", Kind: KindGlobal, Base: sqBase, Root: global},
			{Path: sqBase + "/" + sqTask + "/AGENT_REGISTRY.json", Kind: KindTask, Base: sqBase, TaskID: sqTask, Root: task},
		}}
	if in.Bases == nil {
		in.Bases = []string{sqBase}
	}
	st := &statedb.State{Path: sqDB, Tasks: []statedb.Task{{ID: sqTask, Status: "ACTIVE", MaxAgents: 45, MaxConcurrent: 20, HasConfig: true}},
		Agents: sw.agents, Progress: sw.progress, Hierarchy: sw.links, Version: "v1"}
	d := Database{Path: sqDB, Base: sqBase, State: st, Err: sw.dbErr}
	if sw.dbErr != nil {
		d.State, d.Unreadable = nil, true
	}
	in.Databases = []Database{d}

	snap := &tmux.Snapshot{Socket: tmux.Socket{Path: sock}, Running: true, ServerPID: 50}
	procs := map[int32]*procscan.Proc{1: proc(1, 0, 1, "/sbin/init"), 50: proc(50, 1, 50, "tmux")}
	pid := int32(100)
	for _, id := range slices.Sorted(maps.Keys(sw.panes)) {
		base := sw.panes[id]
		if base == "" {
			base = sqBase
		}
		log := base + "/" + sqTask + "/logs/" + id + "_stream.jsonl"
		snap.Panes = append(snap.Panes, tmux.Pane{Session: "agent_" + id, SessionID: fmt.Sprintf("$%d", pid), SessionCreated: now.Add(-time.Hour),
			PaneID: fmt.Sprintf("%%%d", pid), PanePID: int(pid), Command: "bash"})
		procs[pid] = proc(pid, 50, pid, "bash", "-c", "set -o pipefail; cd '/p' && cat '/p/x.txt' | /home/u/.local/share/claude/versions/2.1.97 --print | tee '"+log+"'; exit_code=$?")
		procs[pid+1] = proc(pid+1, pid, pid, "/home/u/.local/share/claude/versions/2.1.97", "--print", "--model", "claude-opus-4-7")
		procs[pid].Comm, procs[pid+1].Comm = "bash", "2.1.97"
		procs[pid+2] = proc(pid+2, pid, pid, "tee", log)
		pid += 10
	}
	children := map[int32][]int32{}
	for _, p := range procs {
		children[p.PPID] = append(children[p.PPID], p.PID)
	}
	for _, c := range children {
		slices.Sort(c)
	}
	table := &procscan.Table{Time: now, Procs: procs, Children: children}
	lv := &Live{Servers: []Server{{Socket: tmux.Socket{Path: sock}, Snapshot: snap, Why: "given"}}, Procs: table,
		Claude: map[int32]bool{}, Evidence: map[string]bool{}, EvidenceError: map[string]bool{}, Confirm: map[string]bool{},
		LogModified: map[string]time.Time{}, Grace: 30 * time.Second, Stale: 30 * time.Minute}
	m := procscan.DefaultMatcher()
	for p := range procs {
		if m.Match(procs[p]) {
			lv.Claude[p] = true
		}
	}
	for id := range sw.evidence {
		lv.Evidence[id] = true
	}
	for id := range sw.failed {
		lv.EvidenceError[id] = true
	}
	for id, ago := range sw.logMod {
		lv.LogModified[id] = now.Add(-ago)
	}
	in.Live = lv
	return in
}

func sqAgent(id, status string) statedb.Agent {
	return statedb.Agent{ID: id, TaskID: sqTask, Type: strings.SplitN(id, "-", 2)[0], TmuxSession: "agent_" + id, Status: status,
		StartedAt: registry.FormatTimestamp(now.Add(-10 * time.Minute)), LastUpdate: registry.FormatTimestamp(now.Add(-time.Minute))}
}

func TestStateEra(t *testing.T) {
	ghostsAgain := func(ids ...string) *Memory {
		m := &Memory{Suspects: map[string]bool{}}
		for _, id := range ids {
			m.Suspects[sqBase+"|"+id] = true
		}
		return m
	}
	tests := []struct {
		name     string
		sw       stateWorld
		prev     *Memory
		want     map[string]string
		findings []string // kinds, sorted
		ops      []string // op registry-kind agent new
	}{
		{
			name: "live agents of the database are ok, their native-installer claude too, and frozen JSON counters are no drift",
			sw: stateWorld{agents: []statedb.Agent{sqAgent("investigator-173222-159664", "running"), sqAgent("builder-173224-364e3b", "working")},
				panes: map[string]string{"investigator-173222-159664": "", "builder-173224-364e3b": ""}},
			want: map[string]string{"agent investigator-173222-159664": "ok", "agent builder-173224-364e3b": "ok",
				"session agent_investigator-173222-159664": "ok", "pid 101": "ok", "pid 111": "ok"},
		},
		{
			name: "ghosts: no evidence fails, a result completes, a result that is an error fails; they block spawns",
			sw: stateWorld{agents: []statedb.Agent{sqAgent("a-173222-000001", "working"), sqAgent("b-173222-000002", "running"), sqAgent("c-173222-000003", "blocked")},
				evidence: map[string]bool{"b-173222-000002": true, "c-173222-000003": true}, failed: map[string]bool{"c-173222-000003": true}},
			prev: ghostsAgain("a-173222-000001", "b-173222-000002", "c-173222-000003"),
			want: map[string]string{"agent a-173222-000001": "ghost session_not_found", "agent b-173222-000002": "ghost session_not_found",
				"agent c-173222-000003": "ghost session_not_found"},
			findings: []string{"ghost", "ghost", "ghost", "spawn_blocked"},
			ops: []string{"terminate sqlite a-173222-000001 \"failed\"", "complete sqlite b-173222-000002 \"completed\"",
				"terminate sqlite c-173222-000003 \"failed\""},
		},
		{
			name: "a finished agent still running is a leak only with its log's word for it",
			sw: stateWorld{agents: []statedb.Agent{sqAgent("done-173222-000001", "completed"), sqAgent("wrongly-173222-000002", "failed"), sqAgent("idle-173222-000003", "failed")},
				panes:    map[string]string{"done-173222-000001": "", "wrongly-173222-000002": "", "idle-173222-000003": ""},
				evidence: map[string]bool{"done-173222-000001": true},
				logMod:   map[string]time.Duration{"wrongly-173222-000002": 5 * time.Second, "idle-173222-000003": 2 * time.Hour}},
			want: map[string]string{"agent done-173222-000001": "leak finished_agent", "session agent_done-173222-000001": "leak finished_agent",
				"agent wrongly-173222-000002": "ok", "session agent_wrongly-173222-000002": "ok", "pid 121": "ok", "pid 101": "leak finished_agent",
				"agent idle-173222-000003": "leak finished_agent"},
			findings: []string{"leak", "leak"},
		},
		{
			name: "an untracked session of this base is a leak; one of another project's base is other",
			sw: stateWorld{agents: []statedb.Agent{sqAgent("x-173222-000001", "running")},
				panes: map[string]string{"x-173222-000001": "", "rogue-173222-000009": "", "theirs-173222-000008": "/q/.agent-workspace"}},
			want: map[string]string{"session agent_rogue-173222-000009": "leak untracked_session", "pid 101": "leak untracked_session",
				"session agent_theirs-173222-000008": "other", "pid 111": "foreign", "pid 121": "ok"},
			findings: []string{"leak"},
		},
		{
			name:     "an unreadable database judges nothing of its base",
			sw:       stateWorld{dbErr: fmt.Errorf("owned by uid 1000"), panes: map[string]string{"y-173222-000001": ""}},
			want:     map[string]string{"session agent_y-173222-000001": "other", "pid 101": "foreign"},
			findings: []string{"unreadable"},
		},
		{
			name: "unknown statuses, progress rows that disagree, rows without their agent",
			sw: stateWorld{agents: []statedb.Agent{sqAgent("odd-173222-000001", "in_progress"), sqAgent("rev-173222-000002", "working")},
				panes: map[string]string{"rev-173222-000002": ""},
				progress: []statedb.Progress{{TaskID: sqTask, AgentID: "rev-173222-000002", Status: "completed"},
					{TaskID: sqTask, AgentID: "nobody-173222-000003", Status: "working"}},
				links: []statedb.Link{{TaskID: sqTask, Parent: "rev-173222-000002", Child: "child-173222-000004"}}},
			want:     map[string]string{"agent odd-173222-000001": "unknown", "agent rev-173222-000002": "ok"},
			findings: []string{"divergent", "orphan_row", "orphan_row", "unknown"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.sw.input(t)
			rep, _ := Observe(in, tt.prev)
			got := verdictsOf(rep)
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s: got %q, want %q", k, got[k], want)
				}
			}
			var kinds []string
			for _, f := range rep.Findings {
				kinds = append(kinds, string(f.Kind))
			}
			slices.Sort(kinds)
			if !slices.Equal(kinds, tt.findings) {
				t.Errorf("findings: got %v, want %v\n%s", kinds, tt.findings, strings.Join(findingKeys(rep.Findings), "\n"))
			}
			var ops []string
			for _, op := range PlanRepair(in, rep, false).Ops {
				ops = append(ops, fmt.Sprintf("%s %s %s %s", op.Op, op.Kind, op.AgentID, op.New))
			}
			if !slices.Equal(ops, tt.ops) {
				t.Errorf("plan: got %q, want %q", ops, tt.ops)
			}
		})
	}
}

// The reason a session of another project gives names its base and says
// how to have it judged.
func TestStateEraOtherSessionNamesItsBase(t *testing.T) {
	in := stateWorld{panes: map[string]string{"theirs-173222-000008": "/q/.agent-workspace"}}.input(t)
	rep, _ := Observe(in, nil)
	for _, s := range rep.Sessions {
		if s.Name != "agent_theirs-173222-000008" {
			continue
		}
		for _, want := range []string{"/q/.agent-workspace", "--workspace /q/.agent-workspace"} {
			if !strings.Contains(s.Reason, want) {
				t.Errorf("reason %q does not contain %q", s.Reason, want)
			}
		}
		return
	}
	t.Fatal("the session is not in the report")
}

func TestSpawnBlockedJSON(t *testing.T) {
	f := Finding{Kind: FindSpawnBlocked, TaskID: sqTask, Registry: sqDB, AgentIDs: []string{"a", "b"}, Limit: 20}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"spawn_blocked","task_id":"` + sqTask + `","registry":"` + sqDB + `","agent_ids":["a","b"],"limit":20}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
