package reconcile

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"agentwatch/procscan"
	"agentwatch/registry"
	"agentwatch/statedb"
	"agentwatch/tmux"
)

// liveWorld is a constructed snapshot: registries, one tmux server, a
// process table.
type liveWorld struct {
	agents   []agent
	started  map[string]time.Duration // agent id → started ago (default 10m)
	sessions []pane
	procs    []*procscan.Proc
	evidence map[string]bool
	confirm  map[string]bool
	logs     map[string]time.Time // agent id → its stream log's time
}

type pane struct {
	session string
	id      string
	pid     int32
	created time.Duration // ago
}

const sock = "/tmp/aw/sock"

func proc(pid, ppid, sid int32, argv ...string) *procscan.Proc {
	return &procscan.Proc{PID: pid, PPID: ppid, SID: sid, PGID: sid, Comm: argv[0][strings.LastIndex(argv[0], "/")+1:], Argv: argv, Start: int64(pid) * 1000}
}

func (lw liveWorld) input(t *testing.T) Input {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"task_id": "` + taskA + `", "agents": [`)
	for i, a := range lw.agents {
		if i > 0 {
			b.WriteString(",")
		}
		ago := 10 * time.Minute
		if d, ok := lw.started[a.id]; ok {
			ago = d
		}
		upd := a.lastUpdate
		if upd == "" {
			upd = registry.FormatTimestamp(now.Add(-time.Minute))
		}
		fmt.Fprintf(&b, `{"id": %q, "tmux_session": "agent_%s", "status": %q, "started_at": %q, "last_update": %q}`,
			a.id, a.id, a.status, registry.FormatTimestamp(now.Add(-ago)), upd)
	}
	b.WriteString("]}")
	in := input(Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: mustParse(t, b.String())})

	snap := &tmux.Snapshot{Socket: tmux.Socket{Path: sock}, Running: true, ServerPID: 50}
	for _, p := range lw.sessions {
		snap.Panes = append(snap.Panes, tmux.Pane{Session: p.session, SessionID: "$" + p.session, SessionCreated: now.Add(-p.created - time.Hour),
			PaneID: p.id, PanePID: int(p.pid), Command: "sh"})
	}
	procs := map[int32]*procscan.Proc{1: proc(1, 0, 1, "/sbin/init"), 50: proc(50, 1, 50, "tmux")}
	for _, p := range lw.procs {
		procs[p.PID] = p
	}
	children := map[int32][]int32{}
	for _, p := range procs {
		children[p.PPID] = append(children[p.PPID], p.PID)
	}
	for _, c := range children {
		slices.Sort(c)
	}
	claude := map[int32]bool{}
	m := procscan.DefaultMatcher()
	for pid, p := range procs {
		if m.Match(p) {
			claude[pid] = true
		}
	}
	in.Live = &Live{Servers: []Server{{Socket: tmux.Socket{Path: sock}, Snapshot: snap, Why: "given"}},
		Procs: &procscan.Table{Time: now, Procs: procs, Children: children}, Claude: claude,
		Evidence: lw.evidence, Confirm: lw.confirm, LogModified: lw.logs, Grace: 30 * time.Second, Stale: 30 * time.Minute}
	if in.Live.Evidence == nil {
		in.Live.Evidence = map[string]bool{}
	}
	if in.Live.Confirm == nil {
		in.Live.Confirm = map[string]bool{}
	}
	return in
}

// agentPane is an agent's session: pane shell, claude, tee.
func agentPane(id string, base int32, claudeExtra ...string) (pane, []*procscan.Proc) {
	argv := append([]string{"/usr/local/bin/claude", "--print", "--output-format", "stream-json"}, claudeExtra...)
	return pane{session: "agent_" + id, id: fmt.Sprintf("%%%d", base), pid: base}, []*procscan.Proc{
		proc(base, 50, base, "sh", "-c", "cd /x && claude ... | tee log"),
		proc(base+1, base, base, argv...),
		proc(base+2, base, base, "tee", "/ws/"+taskA+"/logs/"+id+"_stream.jsonl"),
	}
}

// elsewhereProcs is an agent pane's processes with its log tee'd into
// another workspace: the same agent id, another project's session.
func elsewhereProcs(ps []*procscan.Proc) []*procscan.Proc {
	out := make([]*procscan.Proc, len(ps))
	for i, p := range ps {
		c := *p
		c.Argv = slices.Clone(p.Argv)
		for j, a := range c.Argv {
			c.Argv[j] = strings.ReplaceAll(a, "/ws/", "/other/.agent-workspace/")
		}
		out[i] = &c
	}
	return out
}

func verdictsOf(rep Report) map[string]string {
	out := map[string]string{}
	for _, a := range rep.Agents {
		out["agent "+a.ID] = strings.TrimSuffix(string(a.Verdict)+" "+string(a.Cause), " ")
	}
	for _, s := range rep.Sessions {
		out["session "+s.Name] = strings.TrimSuffix(string(s.Verdict)+" "+string(s.Cause), " ")
	}
	for _, p := range rep.Processes {
		out[fmt.Sprintf("pid %d", p.PID)] = strings.TrimSuffix(string(p.Verdict)+" "+string(p.Cause), " ")
	}
	return out
}

func TestLiveVerdicts(t *testing.T) {
	okPane, okProcs := agentPane("a-ok", 100)
	finPane, finProcs := agentPane("a-fin", 200)
	untrPane, untrProcs := agentPane("a-untracked", 300)
	emptyPane := pane{session: "agent_a-empty", id: "%4", pid: 400}
	otherPane := pane{session: "main", id: "%5", pid: 500}
	tests := []struct {
		name string
		lw   liveWorld
		prev func(Report) *Memory
		want map[string]string
	}{
		{
			name: "healthy agent, its session and its tree",
			lw: liveWorld{agents: []agent{{id: "a-ok", status: "working"}}, sessions: []pane{okPane},
				procs: append(okProcs, proc(103, 101, 100, "python3", "real_mcp_server.py"))},
			want: map[string]string{"agent a-ok": "ok", "session agent_a-ok": "ok",
				"pid 100": "ok", "pid 101": "ok", "pid 103": "ok"},
		},
		{
			name: "inside grace an agent without a session is starting",
			lw:   liveWorld{agents: []agent{{id: "a-new", status: "running"}}, started: map[string]time.Duration{"a-new": 10 * time.Second}},
			want: map[string]string{"agent a-new": "starting"},
		},
		{
			name: "a first miss is only suspect",
			lw:   liveWorld{agents: []agent{{id: "a-gone", status: "working"}}},
			want: map[string]string{"agent a-gone": "suspect session_not_found"},
		},
		{
			name: "a second miss is a ghost",
			lw:   liveWorld{agents: []agent{{id: "a-gone", status: "working"}}},
			prev: func(Report) *Memory { return &Memory{Suspects: map[string]bool{"/ws|a-gone": true}} },
			want: map[string]string{"agent a-gone": "ghost session_not_found"},
		},
		{
			name: "a session without claude makes a ghost with no_agent_process",
			lw: liveWorld{agents: []agent{{id: "a-empty", status: "working"}}, sessions: []pane{emptyPane},
				procs: []*procscan.Proc{proc(400, 50, 400, "sh")}},
			prev: func(Report) *Memory { return &Memory{Suspects: map[string]bool{"/ws|a-empty": true}} },
			want: map[string]string{"agent a-empty": "ghost no_agent_process", "session agent_a-empty": "ok"},
		},
		{
			name: "has-session finding the session on re-check clears a suspect's session_not_found",
			lw:   liveWorld{agents: []agent{{id: "a-gone", status: "working"}}, confirm: map[string]bool{"agent_a-gone": true}},
			prev: func(Report) *Memory { return &Memory{Suspects: map[string]bool{"/ws|a-gone": true}} },
			want: map[string]string{"agent a-gone": "ghost no_agent_process"},
		},
		{
			name: "stale: alive but silent",
			lw: liveWorld{agents: []agent{{id: "a-ok", status: "working", lastUpdate: registry.FormatTimestamp(now.Add(-2 * time.Hour))}},
				sessions: []pane{okPane}, procs: okProcs},
			want: map[string]string{"agent a-ok": "stale", "session agent_a-ok": "ok", "pid 101": "ok"},
		},
		{
			name: "finished agent whose session runs is a leak, tree and all",
			lw:   liveWorld{agents: []agent{{id: "a-fin", status: "completed"}}, sessions: []pane{finPane}, procs: finProcs},
			want: map[string]string{"agent a-fin": "leak finished_agent", "session agent_a-fin": "leak finished_agent",
				"pid 200": "leak finished_agent", "pid 201": "leak finished_agent"},
		},
		{
			name: "a finished agent's name on another workspace's session: that session is not its, and not a leak",
			lw: liveWorld{agents: []agent{{id: "a-fin", status: "completed"}}, sessions: []pane{finPane},
				procs: elsewhereProcs(finProcs)},
			want: map[string]string{"agent a-fin": "done", "session agent_a-fin": "other", "pid 200": "foreign", "pid 201": "foreign"},
		},
		{
			name: "an active agent's name on another workspace's session does not keep it alive",
			lw: liveWorld{agents: []agent{{id: "a-ok", status: "working"}}, sessions: []pane{okPane},
				procs: elsewhereProcs(okProcs)},
			want: map[string]string{"agent a-ok": "suspect session_not_found", "session agent_a-ok": "other", "pid 101": "foreign"},
		},
		{
			name: "finished and gone is done; unknown status is unknown",
			lw:   liveWorld{agents: []agent{{id: "a-done", status: "completed"}, {id: "a-odd", status: "paused"}}},
			want: map[string]string{"agent a-done": "done", "agent a-odd": "unknown"},
		},
		{
			name: "an agent session in no registry is untracked; a non-agent session is other and its claude foreign",
			lw: liveWorld{sessions: []pane{untrPane, otherPane},
				procs: append(untrProcs, proc(500, 50, 500, "bash"), proc(501, 500, 500, "claude"))},
			want: map[string]string{"session agent_a-untracked": "leak untracked_session", "pid 301": "leak untracked_session",
				"session main": "other", "pid 501": "foreign", "pid 500": "foreign"},
		},
		{
			name: "an untracked session inside grace is starting, not a leak yet",
			lw: liveWorld{sessions: []pane{{session: "agent_a-fresh", id: "%9", pid: 900, created: -time.Hour + 5*time.Second}},
				procs: []*procscan.Proc{proc(900, 50, 900, "sh", "-c", "claude | tee '/ws/"+taskA+"/logs/a-fresh_stream.jsonl'")}},
			want: map[string]string{"session agent_a-fresh": "starting"},
		},
		{
			name: "an agent session that names no workspace is other, never a leak",
			lw: liveWorld{sessions: []pane{{session: "agent_a-anon", id: "%9", pid: 900}},
				procs: []*procscan.Proc{proc(900, 50, 900, "sh"), proc(901, 900, 900, "claude")}},
			want: map[string]string{"session agent_a-anon": "other", "pid 901": "foreign"},
		},
		{
			name: "an agent session of a workspace not scanned is other, and so is its claude",
			lw: liveWorld{sessions: []pane{{session: "agent_b-busy", id: "%9", pid: 900}},
				procs: []*procscan.Proc{proc(900, 50, 900, "bash", "-c", "cd /p && cat x | claude --print | tee '/p/.agent-workspace/TASK-20261205-173222-bfcbcbec/logs/b-busy_stream.jsonl'"),
					proc(901, 900, 900, "claude", "--print"),
					proc(902, 900, 900, "tee", "/p/.agent-workspace/TASK-20261205-173222-bfcbcbec/logs/b-busy_stream.jsonl")}},
			want: map[string]string{"session agent_b-busy": "other", "pid 901": "foreign"},
		},
		{
			name: "orphans: reparented but in the pane's session id; naming an agent. A dead TMUX_PANE naming no agent is foreign",
			lw: liveWorld{agents: []agent{{id: "a-fin", status: "completed"}, {id: "a-esc", status: "terminated"}},
				sessions: []pane{finPane}, procs: append(finProcs,
					// reparented to init, same SID as the live pane: still the leaked session's
					proc(210, 1, 200, "python3", "real_mcp_server.py"),
					// escaped with setsid; its pane is gone
					func() *procscan.Proc {
						p := proc(220, 1, 220, "claude", "--print")
						p.TMUX, p.TMUXPane = sock+",50,0", "%77"
						return p
					}(),
					// names an agent whose session is gone
					proc(230, 1, 230, "node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js", "You are a-esc"),
					// the operator's own claude
					proc(240, 1, 240, "claude"))},
			want: map[string]string{"pid 220": "foreign",
				"pid 230": "leak orphan_process", "pid 240": "foreign", "agent a-esc": "leak finished_agent"},
		},
		{
			name: "an active agent whose session is gone but whose claude runs is ok, and so is the claude",
			lw: liveWorld{agents: []agent{{id: "a-live", status: "working"}}, procs: []*procscan.Proc{
				func() *procscan.Proc {
					p := proc(600, 1, 600, "claude", "--agent", "a-live")
					p.TMUX, p.TMUXPane = sock+",50,0", "%66"
					return p
				}()}},
			want: map[string]string{"agent a-live": "ok", "pid 600": "ok"},
		},
		{
			name: "TMUX_PANE of a live pane attributes a process that left the tree and the session",
			lw: liveWorld{agents: []agent{{id: "a-ok", status: "working"}}, sessions: []pane{okPane}, procs: append(okProcs,
				func() *procscan.Proc {
					p := proc(150, 1, 150, "claude", "--print")
					p.TMUX, p.TMUXPane = sock+",50,0", "%100"
					return p
				}())},
			want: map[string]string{"pid 150": "ok", "agent a-ok": "ok"},
		},
	}
	tests = append(tests, struct {
		name string
		lw   liveWorld
		prev func(Report) *Memory
		want map[string]string
	}{
		name: "a claude outside tmux is shown without the shell chain above it",
		lw:   liveWorld{procs: []*procscan.Proc{proc(700, 1, 700, "bash"), proc(701, 700, 700, "claude"), proc(702, 701, 700, "node", "mcp.js")}},
		want: map[string]string{"pid 701": "foreign", "pid 702": "foreign", "pid 700": ""},
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.lw.input(t)
			var prev *Memory
			if tt.prev != nil {
				prev = tt.prev(Report{})
			}
			rep, _ := Observe(in, prev)
			got := verdictsOf(rep)
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s: got %q, want %q", k, got[k], want)
				}
			}
			for _, r := range rep.Agents {
				if r.Reason == "" {
					t.Errorf("agent %s has no reason", r.ID)
				}
			}
			for _, r := range rep.Processes {
				if r.Reason == "" {
					t.Errorf("PID %d has no reason", r.PID)
				}
			}
		})
	}
}

func TestLiveFindingsAndPlan(t *testing.T) {
	okPane, okProcs := agentPane("a-ok", 100)
	finPane, finProcs := agentPane("a-fin", 200)
	lw := liveWorld{
		agents: []agent{{id: "a-ok", status: "working"}, {id: "a-fin", status: "completed"},
			{id: "a-ghost", status: "working"}, {id: "a-done-ghost", status: "working"}, {id: "a-esc", status: "terminated"}},
		sessions: []pane{okPane, finPane},
		procs: append(append(okProcs, finProcs...),
			func() *procscan.Proc {
				p := proc(220, 1, 220, "claude", "--print")
				p.TMUX, p.TMUXPane = sock+",50,0", "%77"
				return p
			}(),
			proc(221, 220, 220, "python3", "real_mcp_server.py"),
			proc(230, 1, 230, "claude", "--prompt", "You are a-esc"),
			proc(240, 1, 240, "claude")),
		evidence: map[string]bool{"a-done-ghost": true},
	}
	in := lw.input(t)
	rep1, mem := Observe(in, nil)
	if !slices.ContainsFunc(rep1.Agents, func(a AgentRow) bool { return a.Verdict == VerdictSuspect }) {
		t.Fatal("first look: no suspects")
	}
	for _, f := range rep1.Findings {
		if f.Kind == FindGhost {
			t.Fatalf("first look reported a ghost: %+v", f)
		}
	}
	rep, _ := Observe(in, mem)
	got := findingKeys(rep.Findings)
	want := []string{
		`{"kind":"ghost","agent_id":"a-done-ghost","task_id":"` + taskA + `","registry":"` + aPath + `","status":"working","tmux_session":"agent_a-done-ghost","cause":"session_not_found","completed_evidence":true}`,
		`{"kind":"ghost","agent_id":"a-ghost","task_id":"` + taskA + `","registry":"` + aPath + `","status":"working","tmux_session":"agent_a-ghost","cause":"session_not_found","completed_evidence":false}`,
		`{"kind":"leak","cause":"finished_agent","agent_id":"a-fin","tmux_session":"agent_a-fin","pids":[200,201,202]}`,
		`{"kind":"leak","cause":"orphan_process","agent_id":"a-esc","tmux_session":"agent_a-esc","pids":[230]}`,
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("findings:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	for _, r := range rep.Agents {
		if r.ID == "a-ghost" && !r.New {
			t.Error("a row that just turned ghost is not marked new")
		}
		if r.ID == "a-fin" && r.New {
			t.Error("a leak that was a leak on the last look is marked new")
		}
	}

	plan := PlanRepair(in, rep, true)
	var ops []string
	for _, op := range plan.Ops {
		switch op.Op {
		case OpKillProcess:
			ops = append(ops, fmt.Sprintf("kill_process %d", op.PID))
		case OpKillSession:
			ops = append(ops, "kill_session "+op.Session)
		case OpTerminate, OpComplete:
			ops = append(ops, fmt.Sprintf("%s %s reason=%q", op.Op, op.AgentID, op.Reason))
		default:
			ops = append(ops, fmt.Sprintf("%s %s %s→%s", op.Op, op.Field, op.Old, op.New))
		}
	}
	wantOps := []string{
		`terminate a-ghost reason="session_not_found"`,
		`complete a-done-ghost reason="session_not_found"`,
		"recount completed_count <nil>",
		"kill_process 200", "kill_process 201", "kill_process 202", "kill_session agent_a-fin",
		"kill_process 230",
	}
	// The test registry has no counters, so no recount is planned.
	wantOps = slices.DeleteFunc(wantOps, func(s string) bool { return strings.HasPrefix(s, "recount") })
	if !slices.Equal(ops, wantOps) {
		t.Errorf("plan:\ngot  %s\nwant %s", strings.Join(ops, "\n     "), strings.Join(wantOps, "\n     "))
	}
	for _, op := range plan.Ops {
		if op.Op == OpKillProcess && (op.PID == 50 || op.PID == 240 || op.PID == 100 || op.PID == 1 || op.PID == 220) {
			t.Errorf("the plan kills PID %d, which is not a leak", op.PID)
		}
	}
}

func TestSessionNamesAsTmuxStoresThem(t *testing.T) {
	// An agent type with a dot: tmux names the session agent_v1_2-…
	p, procs := agentPane("v1_2-101500-a1b2c3", 100)
	lw := liveWorld{agents: []agent{{id: "v1.2-101500-a1b2c3", status: "working"}}, sessions: []pane{p}, procs: procs}
	rep, _ := Observe(lw.input(t), nil)
	got := verdictsOf(rep)
	if got["agent v1.2-101500-a1b2c3"] != "ok" || got["session agent_v1_2-101500-a1b2c3"] != "ok" {
		t.Errorf("got %v; want the agent and its session ok", got)
	}
}

func TestFollowedServersDoNotJudgeOthersSessions(t *testing.T) {
	p, procs := agentPane("someone-elses-101500-a1b2c3", 100)
	lw := liveWorld{sessions: []pane{p}, procs: procs}
	in := lw.input(t)
	in.Live.Servers[0].Followed = true
	rep, _ := Observe(in, nil)
	got := verdictsOf(rep)
	if got["session agent_someone-elses-101500-a1b2c3"] != "other" || got["pid 101"] != "foreign" {
		t.Errorf("got %v; on a followed server an unknown agent session is other, its claude foreign", got)
	}
	for _, f := range rep.Findings {
		if f.Kind == FindLeak {
			t.Errorf("a session on a followed server is a leak: %+v", f)
		}
	}
}

// TestAgentRowsKeepTheirFieldsInReportOrder lists agents in the global and
// task registries in scrambled orders, some in one registry only, and
// holds the report's rows to the order of task and start, each row whole:
// its key, type, session and registry those of its own entries. A second
// base, of the SQLite era, holds more agents, one of them an id the first
// base has too: a row each. Some finished agents left a claude behind: its
// leak names the agent's session.
func TestAgentRowsKeepTheirFieldsInReportOrder(t *testing.T) {
	// Rows filled by one fill, and by two fills of halves side by side.
	for _, at := range []int{parallelRows, 2} {
		t.Run(fmt.Sprintf("parallel-from-%d", at), func(t *testing.T) {
			defer func(was int) { parallelRows = was }(parallelRows)
			parallelRows = at
			agentRowsKeepTheirFields(t)
		})
	}
}

func agentRowsKeepTheirFields(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	type spec struct {
		id, task, started string
		inGlobal, inTask  bool
	}
	var specs []spec
	for i := range 300 {
		s := spec{id: fmt.Sprintf("a-%03d", i), task: []string{taskA, taskB}[r.IntN(2)],
			started:  registry.FormatTimestamp(now.Add(-time.Duration(r.IntN(1_000_000)) * time.Second)),
			inGlobal: r.IntN(4) != 0}
		s.inTask = !s.inGlobal || r.IntN(3) != 0
		specs = append(specs, s)
	}
	procs := map[int32]*procscan.Proc{1: proc(1, 0, 1, "/sbin/init")}
	children := map[int32][]int32{0: {1}}
	var wantLeaks []string
	status := func(i int) string {
		if i%37 == 0 { // finished, a claude left behind
			return "terminated"
		}
		return "working"
	}
	for i, s := range specs {
		if status(i) == "terminated" {
			pid := int32(1000 + i)
			procs[pid] = proc(pid, 1, pid, "claude", "--prompt", "You are "+s.id)
			children[1] = append(children[1], pid)
			wantLeaks = append(wantLeaks, fmt.Sprintf(`{"kind":"leak","cause":"orphan_process","agent_id":%q,"tmux_session":"agent_%s","pids":[%d]}`, s.id, s.id, pid))
		}
	}
	index := map[string]int{}
	for i, s := range specs {
		index[s.id] = i
	}
	// The global entry's type differs from the task entry's: the task's
	// wins where the agent has both.
	entry := func(s spec, kind string) string {
		return fmt.Sprintf(`{"id": %q, "task_id": %q, "type": "%s-%s", "tmux_session": "agent_%s", "status": %q, "started_at": %q, "last_update": %q}`,
			s.id, s.task, kind, s.id, s.id, status(index[s.id]), s.started, registry.FormatTimestamp(now.Add(-time.Minute)))
	}
	docs := map[string][]string{}
	var global []string
	for _, k := range r.Perm(len(specs)) {
		s := specs[k]
		if s.inTask {
			docs[s.task] = append(docs[s.task], entry(s, "t"))
		}
	}
	for _, k := range r.Perm(len(specs)) {
		if s := specs[k]; s.inGlobal {
			global = append(global, fmt.Sprintf("%q: %s", s.id, entry(s, "g")))
		}
	}
	in := input(
		Registry{Path: gPath, Kind: KindGlobal, Root: mustParse(t, `{"tasks": {}, "agents": {`+strings.Join(global, ", ")+`}}`)},
		Registry{Path: aPath, Kind: KindTask, TaskID: taskA, Root: mustParse(t, `{"task_id": "`+taskA+`", "agents": [`+strings.Join(docs[taskA], ", ")+`]}`)},
		Registry{Path: bPath, Kind: KindTask, TaskID: taskB, Root: mustParse(t, `{"task_id": "`+taskB+`", "agents": [`+strings.Join(docs[taskB], ", ")+`]}`)})
	// The second base: its rows, in their own order; a-001 again.
	type dbSpec struct{ id, started string }
	var dbAgents []statedb.Agent
	var dbSpecs []dbSpec
	for i := range 80 {
		id := fmt.Sprintf("s-%03d", i)
		if i == 40 {
			id = "a-001"
		}
		started := registry.FormatTimestamp(now.Add(-time.Duration(r.IntN(1_000_000)) * time.Second))
		dbAgents = append(dbAgents, statedb.Agent{ID: id, TaskID: sqTask, Type: "db-" + id, TmuxSession: "agent_db_" + id,
			Status: "running", StartedAt: started, LastUpdate: registry.FormatTimestamp(now.Add(-time.Minute))})
		dbSpecs = append(dbSpecs, dbSpec{id, started})
	}
	in.Bases = []string{"/ws", sqBase}
	in.Databases = []Database{{Path: sqDB, Base: sqBase, State: &statedb.State{Path: sqDB, Agents: dbAgents, Version: "v1",
		Tasks: []statedb.Task{{ID: sqTask, Status: "ACTIVE", MaxAgents: 500, MaxConcurrent: 500, HasConfig: true}}}}}
	claude := map[int32]bool{}
	for pid := range procs {
		claude[pid] = pid >= 1000
	}
	in.Live = &Live{Servers: []Server{{Socket: tmux.Socket{Path: sock}, Snapshot: &tmux.Snapshot{Socket: tmux.Socket{Path: sock}, Running: true}, Why: "given"}},
		Procs: &procscan.Table{Time: now, Procs: procs, Children: children}, Claude: claude,
		Evidence: map[string]bool{}, Confirm: map[string]bool{}, Grace: 30 * time.Second, Stale: 30 * time.Minute}

	rep, _ := Observe(in, nil)
	if len(rep.Agents) != len(specs)+len(dbSpecs) {
		t.Fatalf("%d rows for %d agents", len(rep.Agents), len(specs)+len(dbSpecs))
	}
	byID := map[string]spec{}
	for _, s := range specs {
		byID[s.id] = s
	}
	inDB := map[string]dbSpec{}
	for _, s := range dbSpecs {
		inDB[s.id] = s
	}
	for i, a := range rep.Agents {
		if i > 0 {
			p := rep.Agents[i-1]
			if p.TaskID > a.TaskID || (p.TaskID == a.TaskID && p.Started > a.Started) {
				t.Errorf("row %d (%s %s) after row %d (%s %s): not in order of task and start", i, a.TaskID, a.Started, i-1, p.TaskID, p.Started)
			}
		}
		if a.Base == sqBase {
			s, ok := inDB[a.ID]
			if !ok || a.Key != sqBase+"|"+a.ID || a.Type != "db-"+a.ID || a.Session != "agent_db_"+a.ID || a.Started != s.started ||
				a.Registry != sqDB || a.Source != SourceState {
				t.Errorf("row %d: %+v, want the database's row %+v", i, a, s)
			}
			delete(inDB, a.ID)
			continue
		}
		s, ok := byID[a.ID]
		if !ok {
			t.Fatalf("row %d: unknown agent %q", i, a.ID)
		}
		delete(byID, a.ID)
		reg, typ := gPath, "g-"+s.id
		if s.inTask {
			reg, typ = map[string]string{taskA: aPath, taskB: bPath}[s.task], "t-"+s.id
		}
		if a.Key != "/ws|"+s.id || a.TaskID != s.task || a.Type != typ || a.Session != "agent_"+s.id ||
			a.Started != s.started || a.Registry != reg {
			t.Errorf("row %d (%s): key %q task %q type %q session %q started %q registry %q, want its own (%+v)",
				i, a.ID, a.Key, a.TaskID, a.Type, a.Session, a.Started, a.Registry, s)
		}
	}
	if len(inDB) != 0 {
		t.Errorf("database rows missing from the report: %v", inDB)
	}
	var leaks []Finding
	for _, f := range rep.Findings {
		if f.Kind == FindLeak {
			leaks = append(leaks, f)
		}
	}
	slices.Sort(wantLeaks)
	if got := findingKeys(leaks); !slices.Equal(got, wantLeaks) {
		t.Errorf("leaks:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(wantLeaks, "\n     "))
	}
}

// TestASilentServerHoldsItsPossibleGhosts: an active agent whose session
// is on no server that answered is a ghost at its second miss, unless a
// server's scan failed (stopped, refused: it may hold the session) or a
// server did not answer when asked for that session again: then it stays
// a suspect, and says why.
func TestASilentServerHoldsItsPossibleGhosts(t *testing.T) {
	prev := &Memory{Suspects: map[string]bool{"/ws|a-gone": true}}
	for _, tt := range []struct {
		name   string
		mod    func(*Live)
		want   Verdict
		reason string
	}{
		{"all answered", func(*Live) {}, VerdictGhost, ""},
		{"a server stopped", func(lv *Live) {
			lv.Servers = append(lv.Servers, Server{Socket: tmux.Socket{Path: "/tmp/stopped"}, Why: "given",
				Err: fmt.Errorf("list-panes: %w", context.DeadlineExceeded)})
		}, VerdictSuspect, "is on no server that answered; tmux server -S /tmp/stopped gave no answer, and may hold it"},
		{"a server refused", func(lv *Live) {
			lv.Servers = append(lv.Servers, Server{Socket: tmux.Socket{Path: "/tmp/theirs"}, Why: "given",
				Err: errors.New("protocol version mismatch (client 8, server 7)")})
		}, VerdictSuspect, "tmux server -S /tmp/theirs gave no answer"},
		{"no answer when asked again", func(lv *Live) { lv.Unanswered = map[string]bool{"agent_a-gone": true} },
			VerdictSuspect, "did not answer when asked for it again"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := liveWorld{agents: []agent{{id: "a-gone", status: "working"}}}.input(t)
			tt.mod(in.Live)
			rep, _ := Observe(in, prev)
			if len(rep.Agents) != 1 {
				t.Fatalf("agents: %+v", rep.Agents)
			}
			a := rep.Agents[0]
			if a.Verdict != tt.want || !strings.Contains(a.Reason, tt.reason) {
				t.Errorf("verdict %s (%s), want %s saying %q", a.Verdict, a.Reason, tt.want, tt.reason)
			}
			for _, f := range rep.Findings {
				if f.Kind == FindGhost && tt.want != VerdictGhost {
					t.Errorf("a ghost finding beside a suspect: %+v", f)
				}
			}
		})
	}
}

// TestRowsTurnedBadAreNew: a row is New when it turns ghost or leak, or
// from one to the other, never when it stays what it was or turns good,
// and never in a first analysis; the memory keeps what a next analysis
// needs to tell, across an analysis in which the row was good.
func TestRowsTurnedBadAreNew(t *testing.T) {
	report := func(vs ...Verdict) *Report {
		rep := &Report{}
		for i, v := range vs {
			rep.Agents = append(rep.Agents, AgentRow{Key: fmt.Sprintf("a%d", i), Judgement: Judgement{Verdict: v}})
			rep.Sessions = append(rep.Sessions, SessionRow{Key: fmt.Sprintf("s%d", i), Judgement: Judgement{Verdict: v}})
			rep.Processes = append(rep.Processes, ProcRow{Key: fmt.Sprintf("p%d", i), Judgement: Judgement{Verdict: v}})
		}
		return rep
	}
	news := func(rep *Report) string {
		var b strings.Builder
		for i := range rep.Agents {
			fmt.Fprintf(&b, "%v%v%v ", rep.Agents[i].New, rep.Sessions[i].New, rep.Processes[i].New)
		}
		return b.String()
	}
	var prev *Memory
	for i, step := range []struct {
		verdicts []Verdict
		want     string
	}{
		{[]Verdict{VerdictOK, VerdictGhost, VerdictLeak, VerdictGhost}, "falsefalsefalse falsefalsefalse falsefalsefalse falsefalsefalse "},
		{[]Verdict{VerdictGhost, VerdictGhost, VerdictGhost, VerdictOK}, "truetruetrue falsefalsefalse truetruetrue falsefalsefalse "},
		{[]Verdict{VerdictGhost, VerdictLeak, VerdictGhost, VerdictGhost}, "falsefalsefalse truetruetrue falsefalsefalse truetruetrue "},
	} {
		rep, mem := report(step.verdicts...), &Memory{Verdicts: map[string]Verdict{}}
		markNew(rep, prev, mem)
		if got := news(rep); got != step.want {
			t.Errorf("analysis %d: New %s, want %s", i+1, got, step.want)
		}
		prev = mem
	}
}

// TestGoCatchPanicsOnTheCallersGoroutine: a panic in the analysis's other
// goroutine reaches the caller's recover, as a panic of a call would.
func TestGoCatchPanicsOnTheCallersGoroutine(t *testing.T) {
	var got any
	func() {
		defer func() { got = recover() }()
		wait := goCatch(func() { panic("in the other half") })
		wait()
	}()
	if got != "in the other half" {
		t.Errorf("recovered %v, want the other goroutine's panic", got)
	}
	ran := false
	goCatch(func() { ran = true })()
	if !ran {
		t.Error("wait returned before f ran")
	}
}
