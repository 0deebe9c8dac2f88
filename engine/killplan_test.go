package engine

import (
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
		return reconcile.SessionRow{Name: "agent_x-1", Server: server.String(), Verdict: reconcile.VerdictLeak}
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
