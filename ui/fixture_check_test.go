package ui

import (
	"testing"

	"agentwatch/reconcile"
)

// TestFixtureHasEveryVerdict keeps the fixed world honest: the goldens are
// meant to show every verdict, cause and finding kind.
func TestFixtureHasEveryVerdict(t *testing.T) {
	f := newFakeBackend(t)
	seen := map[string]bool{}
	news := 0
	for _, a := range f.rep.Agents {
		seen["agent "+string(a.Verdict)] = true
		if a.New {
			news++
		}
		if a.Verdict == reconcile.VerdictLeak {
			seen["cause "+string(a.Cause)] = true
		}
	}
	for _, s := range f.rep.Sessions {
		seen["session "+string(s.Verdict)] = true
		seen["cause "+string(s.Cause)] = true
	}
	for _, p := range f.rep.Processes {
		seen["process "+string(p.Verdict)] = true
		seen["cause "+string(p.Cause)] = true
	}
	for _, fd := range f.rep.Findings {
		seen["finding "+string(fd.Kind)] = true
	}
	want := []string{"agent ok", "agent starting", "agent suspect", "agent ghost", "agent stale", "agent done", "agent leak", "agent unknown",
		"session ok", "session leak", "session other", "process ok", "process leak", "process foreign",
		"cause finished_agent", "cause untracked_session", "cause orphan_process", "finding drift", "finding ghost", "finding leak"}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("fixture lacks %s; have %v", w, seen)
		}
	}
	if news != 1 {
		t.Errorf("got %d NEW agents, want 1", news)
	}
	if len(f.in.Registries) == 0 || !f.in.Registries[2].Locked {
		t.Error("fixture lacks a locked registry")
	}
}
