package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"agentwatch/procscan"
	"agentwatch/tmux"
)

// The kill planner's scene, built by hand. Its PIDs:
const (
	kServer                    = 50                 // the tmux server
	kPaneX, kClaudeX, kNodeX   = 100, 101, 102      // the leaked session agent_x
	kDetachedX                 = 103                // a child of agent_x's claude in a session of its own
	kPaneOK, kClaudeOK         = 200, 201           // the healthy session agent_ok
	kSSHD, kShell, kSelf, kJob = 299, 300, 301, 302 // agentwatch, its ancestors, a job of its shell
	kForeign, kForeignChild    = 400, 401           // a foreign claude and its child
	kForeignSession            = 402                // in the session the foreign claude leads
	kUnrelated                 = 410                // a process of nobody's tree
	kOtherUser                 = 500                // another user's process
	kPaneY, kClaudeY           = 600, 601           // the leaked session agent_y, another user's
)

const me, someoneElse = 1000, 1001

// guard is agentwatch as the scene has it: PID kSelf, run by me.
var guard = KillGuard{Self: kSelf, EUID: me}

// server is the name of the scene's tmux server.
var server = tmux.Socket{Path: sock}.String()

// killScene is the live scan and the report the planner resolves targets
// against.
func killScene() (*Live, Report) {
	procs := map[int32]*procscan.Proc{}
	add := func(pid, ppid, sid int32, uid uint32, comm string) {
		p := proc(pid, ppid, sid, comm)
		p.UID = uid
		procs[pid] = p
	}
	add(1, 0, 1, 0, "init")
	add(kServer, 1, kServer, me, "tmux")
	add(kPaneX, kServer, kPaneX, me, "sh")
	add(kClaudeX, kPaneX, kPaneX, me, "claude")
	add(kNodeX, kClaudeX, kPaneX, me, "node")
	add(kDetachedX, kClaudeX, kDetachedX, me, "python3")
	add(kPaneOK, kServer, kPaneOK, me, "sh")
	add(kClaudeOK, kPaneOK, kPaneOK, me, "claude")
	add(kSSHD, 1, kSSHD, 0, "sshd")
	add(kShell, kSSHD, kShell, me, "bash")
	add(kSelf, kShell, kShell, me, "agentwatch")
	add(kJob, kShell, kShell, me, "sleep")
	add(kForeign, 1, kForeign, me, "claude")
	add(kForeignChild, kForeign, kForeign, me, "node")
	add(kForeignSession, 1, kForeign, me, "sleep")
	add(kUnrelated, 1, kUnrelated, me, "sleep")
	add(kOtherUser, 1, kOtherUser, someoneElse, "sleep")
	add(kPaneY, kServer, kPaneY, someoneElse, "sh")
	add(kClaudeY, kPaneY, kPaneY, someoneElse, "claude")
	table := &procscan.Table{Procs: procs, Children: map[int32][]int32{}}
	for pid, p := range procs {
		table.Children[p.PPID] = append(table.Children[p.PPID], pid)
	}
	for _, c := range table.Children {
		slices.Sort(c)
	}
	s := tmux.Socket{Path: sock}
	live := &Live{Procs: table, Servers: []Server{{Socket: s, Why: "given", Snapshot: &tmux.Snapshot{Socket: s, Running: true, ServerPID: kServer}}}}

	leak := Judgement{Verdict: VerdictLeak, Cause: CauseFinishedAgent, Reason: "the agent finished"}
	rep := Report{
		Sessions: []SessionRow{
			{Name: "agent_x", Server: s.String(), AgentID: "x", Judgement: leak, PIDs: []int32{kPaneX}},
			{Name: "agent_ok", Server: s.String(), AgentID: "ok", Judgement: Judgement{Verdict: VerdictOK, Reason: "working"}, PIDs: []int32{kPaneOK}},
			{Name: "agent_y", Server: s.String(), AgentID: "y", Judgement: leak, PIDs: []int32{kPaneY}},
			// A report gone wrong: it would have PID 1 killed.
			{Name: "agent_init", Server: s.String(), Judgement: leak, PIDs: []int32{1}},
		},
		Processes: []ProcRow{
			{PID: kClaudeX, Session: "agent_x", Server: s.String(), AgentID: "x", Judgement: leak},
			{PID: kClaudeOK, Session: "agent_ok", Server: s.String(), AgentID: "ok", Judgement: Judgement{Verdict: VerdictOK, Reason: "working"}},
			{PID: kForeign, Judgement: Judgement{Verdict: VerdictForeign, Reason: "attributable to no agent"}},
		},
	}
	return live, rep
}

// planLines plans targets in the scene and writes each op as a line: the
// PID killed, "refuse PID why" for one planned alone, or "session NAME".
func planLines(t *testing.T, g KillGuard, force bool, targets ...string) []string {
	t.Helper()
	live, rep := killScene()
	ops, err := PlanKill(live, rep, ParseKillTargets(targets), force, g)
	if err != nil {
		t.Fatalf("plan %q: %v", targets, err)
	}
	var out []string
	for _, op := range ops {
		switch {
		case op.Op == OpKillSession:
			out = append(out, "session "+op.Session)
		case strings.HasPrefix(op.Why, refusedWhy):
			why, _ := PlannedRefusal(op)
			why, _, _ = strings.Cut(why, ";")
			out = append(out, fmt.Sprintf("refuse %d %s", op.PID, why))
		default:
			p := live.Procs.Procs[int32(op.PID)]
			if p == nil || op.Start != p.Start || op.Comm != p.Comm {
				t.Errorf("op %+v does not name its process by PID and start time", op)
			}
			out = append(out, fmt.Sprint(op.PID))
		}
	}
	return out
}

func wantLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestPlanKillLeakAsTreeThenSession(t *testing.T) {
	// A leaked session: each process of its pane's tree, even one that
	// left the session, then the session.
	wantLines(t, planLines(t, guard, false, "agent_x"), "100", "101", "102", "103", "session agent_x")
	// A leaked process: its tree; the session is not the target.
	wantLines(t, planLines(t, guard, false, "101"), "101", "102", "103")

	live, rep := killScene()
	ops, err := PlanKill(live, rep, ParseKillTargets([]string{"agent_x"}), false, guard)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if op.AgentID != "x" || op.Session != "agent_x" || op.Server != server || op.Why != "leak: the agent finished" {
			t.Errorf("op %+v: want agent x's session agent_x on %s, as a leak", op, server)
		}
	}
}

func TestPlanKillRefusesWhatIsNotALeak(t *testing.T) {
	live, rep := killScene()
	for _, c := range []struct {
		targets []string
		force   bool
		want    string
	}{
		{[]string{"agent_ok"}, false, "session agent_ok is ok (working): only leaks are killed"},
		{[]string{"201"}, false, "PID 201 is ok (working): only leaks are killed"},
		{[]string{"400"}, false, "PID 400 is foreign (attributable to no agent): only leaks are killed"},
		{[]string{"410"}, false, "PID 410 is not a claude process or part of an agent's tree"},
		{[]string{"agent_x", "400"}, false, "PID 400 is foreign"},
		{[]string{"999"}, true, "no process has PID 999"},
		{[]string{"1"}, true, "PID 1 is never killed"},
		{[]string{"agent_none"}, true, `no tmux session is named exactly "agent_none" on the servers scanned (` + server + ")"},
	} {
		ops, err := PlanKill(live, rep, ParseKillTargets(c.targets), c.force, guard)
		if err == nil || !strings.Contains(err.Error(), c.want) || ops != nil {
			t.Errorf("plan %q (force %v): got %v, %v; want no plan and %q", c.targets, c.force, ops, err, c.want)
		}
	}
	if _, err := PlanKill(nil, rep, ParseKillTargets([]string{"agent_x"}), true, guard); err == nil ||
		!strings.Contains(err.Error(), "no process table was scanned") {
		t.Errorf("with no scan: got %v", err)
	}
}

func TestPlanKillForceIsNoWiderThanTheTree(t *testing.T) {
	// The foreign claude: its child and the member of the session it
	// leads; not its parent, not the unrelated process.
	wantLines(t, planLines(t, guard, true, "400"), "400", "401", "402")
	wantLines(t, planLines(t, guard, true, "agent_ok"), "200", "201", "session agent_ok")
	wantLines(t, planLines(t, guard, true, "201"), "201")
	wantLines(t, planLines(t, guard, true, "410"), "410")
	// A process of agentwatch's shell that is neither agentwatch nor an
	// ancestor of it is a process like any other.
	wantLines(t, planLines(t, guard, true, "302"), "302")
}

// TestPlanKillRefusedTargetsAlone: a target that is never killed is planned
// alone, without the tree killing it would sweep in; a process of that
// tree named as a target of its own is planned as its own tree.
func TestPlanKillRefusedTargetsAlone(t *testing.T) {
	root := KillGuard{Self: kSelf, EUID: 0}
	for _, c := range []struct {
		name    string
		g       KillGuard
		force   bool
		targets []string
		want    []string
	}{
		{"the tmux server", guard, true, []string{"50"}, []string{"refuse 50 protected (a tmux server)"}},
		{"agentwatch's shell", guard, true, []string{"300"}, []string{"refuse 300 an ancestor of agentwatch"}},
		{"its shell's parent", guard, true, []string{"299"}, []string{"refuse 299 an ancestor of agentwatch"}},
		{"agentwatch itself", guard, true, []string{"301"}, []string{"refuse 301 agentwatch itself"}},
		{"PID 1 in a leak", guard, false, []string{"agent_init"}, []string{"refuse 1 PID 1 and below are never killed", "session agent_init"}},
		{"another user's", guard, true, []string{"500"}, []string{"refuse 500 owned by uid 1001"}},
		{"another user's, by root", root, true, []string{"500"}, []string{"500"}},
		{"another user's leak", guard, false, []string{"agent_y"}, []string{"refuse 600 owned by uid 1001", "session agent_y"}},
		{"another user's leak, by root", root, false, []string{"agent_y"}, []string{"refuse 600 owned by uid 1001 (needs --force)", "session agent_y"}},
		{"another user's leak, by root with force", root, true, []string{"agent_y"}, []string{"600", "601", "session agent_y"}},
		{"the server, then a claude of it", guard, true, []string{"50", "101"}, []string{"refuse 50 protected (a tmux server)", "101", "102", "103"}},
		{"a claude, then its server", guard, true, []string{"101", "50"}, []string{"101", "102", "103", "refuse 50 protected (a tmux server)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantLines(t, planLines(t, c.g, c.force, c.targets...), c.want...)
		})
	}
}

func TestPlanKillTargetNamedTwicePlannedOnce(t *testing.T) {
	tree := []string{"100", "101", "102", "103", "session agent_x"}
	wantLines(t, planLines(t, guard, false, "agent_x", "agent_x"), tree...)
	wantLines(t, planLines(t, guard, false, "101", "101"), "101", "102", "103")
	// A process of the session and the session: each op once.
	wantLines(t, planLines(t, guard, false, "agent_x", "101"), tree...)
	wantLines(t, planLines(t, guard, false, "101", "agent_x"), "101", "102", "103", "100", "session agent_x")

	// The session by its name, and by its name on its server.
	live, rep := killScene()
	ops, err := PlanKill(live, rep, []KillTarget{{Session: "agent_x"}, {Session: "agent_x", Server: server}}, false, guard)
	if err != nil || len(ops) != len(tree) {
		t.Errorf("got %d ops (%v), want %d", len(ops), err, len(tree))
	}
}

func TestPlanKillPrefersTheServerNamedOverOnesFollowed(t *testing.T) {
	given, other, third := tmux.Socket{Path: "/tmp/given.sock"}, tmux.Socket{Path: "/tmp/other.sock"}, tmux.Socket{Path: "/tmp/third.sock"}
	live := &Live{
		Servers: []Server{{Socket: given, Why: "given"}, {Socket: other, Followed: true}, {Socket: third, Followed: true}},
		Procs:   &procscan.Table{Procs: map[int32]*procscan.Proc{}},
	}
	leak := func(server tmux.Socket) SessionRow {
		return SessionRow{Name: "agent_x-1", Server: server.String(), Judgement: Judgement{Verdict: VerdictLeak}}
	}
	target := []KillTarget{{Session: "agent_x-1"}}

	// On the named server and on a followed one: the named one.
	rep := Report{Sessions: []SessionRow{leak(other), leak(given)}}
	ops, err := PlanKill(live, rep, target, false, guard)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1 || ops[0].Op != OpKillSession || ops[0].Server != given.String() {
		t.Errorf("got %+v, want the session on %s", ops, given)
	}

	// On tmux's default server, which nobody named, and a followed one:
	// no guess either.
	live.Servers[0].Why = "default"
	if _, err := PlanKill(live, rep, target, false, guard); err == nil || !strings.Contains(err.Error(), "several servers") {
		t.Errorf("got %v, want a refusal: the default server was not named", err)
	}

	// Only on followed servers, twice: no guess.
	rep = Report{Sessions: []SessionRow{leak(other), leak(third)}}
	if _, err := PlanKill(live, rep, target, false, guard); err == nil ||
		!strings.Contains(err.Error(), "several servers") || !strings.Contains(err.Error(), other.String()) {
		t.Errorf("got %v, want a refusal that names the servers", err)
	}

	// Named with its server: that one.
	ops, err = PlanKill(live, rep, []KillTarget{{Session: "agent_x-1", Server: third.String()}}, false, guard)
	if err != nil || len(ops) != 1 || ops[0].Server != third.String() {
		t.Errorf("got %+v, %v; want the session on %s", ops, err, third)
	}
}

// TestPlanKillFromAnAnalysis: the leak an analysis finds is planned as the
// repair plans it.
func TestPlanKillFromAnAnalysis(t *testing.T) {
	okPane, okProcs := agentPane("a-ok", 100)
	finPane, finProcs := agentPane("a-fin", 200)
	lw := liveWorld{agents: []agent{{id: "a-ok", status: "working"}, {id: "a-fin", status: "completed"}},
		sessions: []pane{okPane, finPane}, procs: append(okProcs, finProcs...)}
	in := lw.input(t)
	rep, _ := Observe(in, nil)
	ops, err := PlanKill(in.Live, rep, ParseKillTargets([]string{"agent_a-fin"}), false, KillGuard{Self: 9999, EUID: 0})
	if err != nil {
		t.Fatal(err)
	}
	var got, want []int
	for _, op := range ops {
		got = append(got, op.PID)
	}
	for _, op := range LeakOps(rep, in.Live.Procs) {
		want = append(want, op.PID)
	}
	if len(want) < 2 || !slices.Equal(got, want) {
		t.Errorf("kill agent_a-fin planned PIDs %v; the repair plans %v", got, want)
	}
	if _, err := PlanKill(in.Live, rep, ParseKillTargets([]string{"agent_a-ok"}), false, KillGuard{Self: 9999}); err == nil {
		t.Error("the healthy agent's session was planned without force")
	}
}
