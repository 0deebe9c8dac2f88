package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"agentwatch/demo"
)

// The TUI's t and R on a ghost of the SQLite era: the row in the state
// database is set failed, or completed with its log's result, as the command
// line does it.
func TestTUIRepairsAStateDatabaseFromTheKeyboard(t *testing.T) {
	state := sandbox(t)
	s := buildSceneWith(t, demo.Options{State: true})
	c := s.StateCast
	db := filepath.Join(s.StateBase, "registry", "state.sqlite3")
	sc := openScreen(t, s, filepath.Dir(state), "--workspace", s.StateBase)
	sc.waitFor("the 2026 ghosts", 20*time.Second, func(v string) bool {
		return strings.Contains(line(v, tail(c.Ghost)), "ghost") && strings.Contains(line(v, tail(c.GhostDone)), "ghost")
	})

	sc.keys("/")
	sc.keys(strings.Split(tail(c.Ghost), "")...)
	sc.keys("Enter", "g", "t")
	sc.waitFor("the mark dialog", 5*time.Second, func(v string) bool {
		return strings.Contains(v, "Cancel") && strings.Contains(v, "state database")
	})
	sc.keys("Tab", "Enter")
	sc.waitFor("the ghost marked failed", 10*time.Second, func(v string) bool {
		return strings.Contains(line(v, tail(c.Ghost)), "done") && strings.Contains(line(v, tail(c.Ghost)), "failed")
	})
	sc.keys("Escape")

	sc.keys("R")
	sc.waitFor("the repair preview", 5*time.Second, func(v string) bool { return strings.Contains(v, "Cancel") })
	sc.keys("Tab", "Enter")
	sc.waitFor("the completed ghost", 10*time.Second, func(v string) bool {
		return strings.Contains(line(v, tail(c.GhostDone)), "done") && strings.Contains(line(v, tail(c.GhostDone)), "completed")
	})

	rows := pyQuery(t, db, "SELECT agent_id, status FROM agents WHERE agent_id IN (?, ?) ORDER BY agent_id", c.Ghost, c.GhostDone)
	got := map[string]string{}
	for _, r := range rows {
		got[r[0].(string)] = r[1].(string)
	}
	if got[c.Ghost] != "failed" || got[c.GhostDone] != "completed" {
		t.Errorf("rows after the TUI's repairs: %v", got)
	}
}
