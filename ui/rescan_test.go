package ui

import (
	"maps"
	"strings"
	"testing"
)

// TestUnchangedReportNewTable: a scan whose report is the previous one
// (reconcile gives it again when nothing changed) still shows the new
// process table's CPU; a scan with a new report counts the header again.
func TestUnchangedReportNewTable(t *testing.T) {
	fb := newFakeBackend(t)
	m := scanned(t, fb, testOptions(fb), 200, 50)
	if !strings.Contains(m.View(), "12.5%") || !strings.Contains(m.View(), "registry active 6") {
		t.Fatalf("fixture: no 12.5%% CPU or 6 active agents:\n%s", m.View())
	}

	live := *fb.in.Live
	table := *live.Procs
	table.Procs = maps.Clone(table.Procs)
	p := *table.Procs[1002]
	p.CPU = 87.5
	table.Procs[1002] = &p
	live.Procs = &table
	fb.in.Live = &live
	m.scanning = true
	m, _ = update(t, m, scanCmd(fb, testNow, m.snap, m.mem, false)())
	if view := m.View(); !strings.Contains(view, "87.5%") || strings.Contains(view, "12.5%") {
		t.Errorf("the same report over a new table: the CPU column is not the new table's:\n%s", view)
	}

	fb.in = testWorld(t, testAgents[:3])
	fb.rep, fb.mem = testReport(fb.in)
	m.scanning = true
	m, _ = update(t, m, scanCmd(fb, testNow, m.snap, m.mem, false)())
	if view := m.View(); !strings.Contains(view, "registry active 3") {
		t.Errorf("a new report: the header still counts the old one:\n%s", view)
	}
}
