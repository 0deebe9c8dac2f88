package reconcile

import (
	"reflect"
	"slices"
	"testing"

	"agentwatch/procscan"
)

// TestEnvNeededKeepsTheAnalysis: a table whose processes all carry their
// TMUX variables and the same table where only EnvNeeded's do give the
// same report. The world holds every way a TMUX variable reaches a
// verdict: on a claude, on a claude's descendant that left its tree, and
// only on an ancestor of a claude; and TMUX variables on processes that
// no verdict reads.
func TestEnvNeededKeepsTheAnalysis(t *testing.T) {
	okPane, okProcs := agentPane("a-ok", 100)
	finPane, finProcs := agentPane("a-fin", 200)
	withEnv := func(p *procscan.Proc, pane string) *procscan.Proc {
		p.TMUX, p.TMUXPane, p.EnvReadable = sock+",50,0", pane, true
		return p
	}
	procs := append(append(okProcs, finProcs...),
		// An escaped claude whose pane is gone, and its MCP server.
		withEnv(proc(220, 1, 220, "claude", "--print"), "%77"),
		withEnv(proc(221, 220, 220, "python3", "mcp.py"), "%77"),
		// A claude outside tmux whose child left for a live pane's
		// TMUX_PANE (it names the ok agent's pane).
		proc(300, 1, 300, "claude", "--print"),
		withEnv(proc(301, 300, 301, "node", "server.js"), "%100"),
		// A shell that escaped the finished agent's pane, carrying its
		// TMUX_PANE, with a claude under it whose own environment was
		// cleared: the claude is the shell's.
		withEnv(proc(400, 1, 400, "bash"), "%200"),
		proc(401, 400, 400, "claude", "--print"),
		// Processes no verdict reads, with TMUX variables of the panes.
		withEnv(proc(500, 1, 500, "sleep", "600"), "%100"),
		withEnv(proc(510, 1, 510, "python3", "helper.py"), "%200"),
		withEnv(proc(511, 510, 510, "sleep", "600"), "%77"),
	)
	for _, p := range procs {
		if p.PID < 220 {
			withEnv(p, "%"+map[bool]string{true: "100", false: "200"}[p.PID < 200])
		}
	}
	lw := liveWorld{agents: []agent{{id: "a-ok", status: "working"}, {id: "a-fin", status: "completed"}},
		sessions: []pane{okPane, finPane}, procs: procs}

	full := lw.input(t)
	need := EnvNeeded(full.Live.Procs, full.Live.Claude)
	for _, pid := range []int32{220, 221, 300, 301, 400, 401, 101, 100, 50} {
		if !slices.Contains(need, pid) {
			t.Errorf("EnvNeeded = %v, want it to hold %d", need, pid)
		}
	}
	for _, pid := range []int32{500, 510, 511} {
		if slices.Contains(need, pid) {
			t.Errorf("EnvNeeded = %v, want it without %d, which no verdict reads", need, pid)
		}
	}

	part := lw.input(t)
	for pid, p := range part.Live.Procs.Procs {
		if !slices.Contains(need, pid) {
			q := *p
			q.TMUX, q.TMUXPane, q.EnvReadable = "", "", false
			part.Live.Procs.Procs[pid] = &q
		}
	}
	// Two looks, so that the second reports ghosts and leaks.
	_, mem := Observe(full, nil)
	repFull, _ := Observe(full, mem)
	_, mem = Observe(part, nil)
	repPart, _ := Observe(part, mem)
	if !reflect.DeepEqual(repFull, repPart) {
		t.Errorf("the report changed when only EnvNeeded's environments were read:\nall:  %+v\nsome: %+v", repFull.Processes, repPart.Processes)
	}
	// The world reaches the verdicts it was built for.
	got := verdictsOf(repFull)
	for k, want := range map[string]string{"pid 301": "ok", "pid 401": "leak finished_agent", "pid 221": "foreign"} {
		if got[k] != want {
			t.Errorf("%s: got %q, want %q", k, got[k], want)
		}
	}
}
