package engine

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"agentwatch/procscan"
	"agentwatch/reconcile"
	"agentwatch/tmux"
)

func TestKillPlanPrefersTheServerNamedOverOnesFollowed(t *testing.T) {
	given, other, third := tmux.Socket{Path: "/tmp/given.sock"}, tmux.Socket{Path: "/tmp/other.sock"}, tmux.Socket{Path: "/tmp/third.sock"}
	snap := &Snapshot{}
	snap.Input.Live = &reconcile.Live{
		Servers: []reconcile.Server{{Socket: given, Why: "given"}, {Socket: other, Followed: true}, {Socket: third, Followed: true}},
		Procs:   &procscan.Table{Procs: map[int32]*procscan.Proc{}},
	}
	leak := func(server tmux.Socket) reconcile.SessionRow {
		return reconcile.SessionRow{Name: "agent_x-1", Server: server.String(), Judgement: reconcile.Judgement{Verdict: reconcile.VerdictLeak}}
	}

	// On the named server and on a followed one: the named one.
	rep := reconcile.Report{Sessions: []reconcile.SessionRow{leak(other), leak(given)}}
	ops, err := KillPlan(snap, rep, []string{"agent_x-1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1 || ops[0].Op != reconcile.OpKillSession || ops[0].Server != given.String() {
		t.Errorf("got %+v, want the session on %s", ops, given)
	}

	// On tmux's default server, which nobody named, and a followed one:
	// no guess either.
	snap.Input.Live.Servers[0].Why = "default"
	rep = reconcile.Report{Sessions: []reconcile.SessionRow{leak(other), leak(given)}}
	if _, err := KillPlan(snap, rep, []string{"agent_x-1"}, false); err == nil || !strings.Contains(err.Error(), "several servers") {
		t.Errorf("got %v, want a refusal: the default server was not named", err)
	}

	// Only on followed servers, twice: no guess.
	rep = reconcile.Report{Sessions: []reconcile.SessionRow{leak(other), leak(third)}}
	if _, err := KillPlan(snap, rep, []string{"agent_x-1"}, false); err == nil ||
		!strings.Contains(err.Error(), "several servers") || !strings.Contains(err.Error(), other.String()) {
		t.Errorf("got %v, want a refusal that names the servers", err)
	}
}

// TestKillPlanRefusedTargetsAlone: a target that is never killed is planned
// alone, without the tree killing it would sweep in; a process of that
// tree named as a target of its own is planned as its own tree.
func TestKillPlanRefusedTargetsAlone(t *testing.T) {
	const server, pane, claude, child, sibling, other = 5000000, 5000001, 5000002, 5000003, 5000004, 5000005
	self, parent := int32(os.Getpid()), int32(os.Getppid())
	euid := uint32(os.Geteuid())
	procs := map[int32]*procscan.Proc{
		server:  {PID: server, PPID: 1, SID: server, Comm: "tmux: server", UID: euid},
		pane:    {PID: pane, PPID: server, SID: pane, Comm: "sh", UID: euid},
		claude:  {PID: claude, PPID: pane, SID: pane, Comm: "claude", UID: euid},
		child:   {PID: child, PPID: claude, SID: pane, Comm: "node", UID: euid},
		parent:  {PID: parent, PPID: 1, SID: parent, Comm: "sh", UID: euid},
		self:    {PID: self, PPID: parent, SID: parent, Comm: "agentwatch", UID: euid},
		sibling: {PID: sibling, PPID: parent, SID: parent, Comm: "sleep", UID: euid},
		other:   {PID: other, PPID: 1, SID: other, Comm: "sleep", UID: euid + 1},
	}
	table := &procscan.Table{Procs: procs, Children: map[int32][]int32{}}
	for pid, p := range procs {
		table.Children[p.PPID] = append(table.Children[p.PPID], pid)
	}
	for _, c := range table.Children {
		slices.Sort(c)
	}
	sock := tmux.Socket{Path: "/tmp/given.sock"}
	snap := &Snapshot{}
	snap.Input.Live = &reconcile.Live{
		Servers: []reconcile.Server{{Socket: sock, Why: "given", Snapshot: &tmux.Snapshot{Socket: sock, Running: true, ServerPID: server}}},
		Procs:   table,
	}
	otherWant := []string{"5000005 owned by uid"}
	if euid == 0 {
		otherWant = []string{"5000005"} // root with --force kills it
	}
	for _, c := range []struct {
		name    string
		targets []string
		// want is each planned process: its PID, then its refusal if any.
		want []string
	}{
		{"the tmux server", []string{"5000000"}, []string{"5000000 protected (a tmux server)"}},
		{"agentwatch's parent shell", []string{fmt.Sprint(parent)}, []string{fmt.Sprint(parent) + " an ancestor of agentwatch"}},
		{"agentwatch itself", []string{fmt.Sprint(self)}, []string{fmt.Sprint(self) + " agentwatch itself"}},
		{"another user's", []string{"5000005"}, otherWant},
		{"the server, then a claude of it", []string{"5000000", "5000002"}, []string{"5000000 protected (a tmux server)", "5000002", "5000003"}},
		{"a claude, then its server", []string{"5000002", "5000000"}, []string{"5000002", "5000003", "5000000 protected (a tmux server)"}},
		{"a pane, its tree", []string{"5000001"}, []string{"5000001", "5000002", "5000003"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ops, err := KillPlan(snap, reconcile.Report{}, c.targets, true)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, op := range ops {
				line := fmt.Sprint(op.PID)
				if why, ok := PlannedRefusal(op); ok {
					line += " " + why
				}
				got = append(got, line)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], c.want[i]) {
					t.Errorf("op %d: got %q, want %q", i, got[i], c.want[i])
				}
			}
		})
	}
}
