package ui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

func init() {
	mainKeyCases = append(mainKeyCases, habitKeyCases...)
}

var habitKeyCases = []keyCase{
	{name: "Sort", setup: func(t *testing.T, m Model, _ *fakeBackend) Model {
		m.focus = paneProcs
		return m
	}, check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		p := m.panes[paneProcs]
		if p.sortBy != sortCPU || p.rows[0].proc.PID != 1002 || p.rows[0].tree != "" {
			t.Fatalf("sorted by %s, first PID %d (tree %q); want CPU, 1002 (12.5%%), flat", sortNames[p.sortBy], p.rows[0].proc.PID, p.rows[0].tree)
		}
		if !strings.Contains(m.View(), "CPU▼") {
			t.Error("the CPU column head does not show the order")
		}
		want := map[sortKey]int32{sortRSS: 1002, sortAge: 2001, sortVerdict: 3001, sortNone: 3001}
		for _, k := range []sortKey{sortRSS, sortAge, sortVerdict, sortNone} {
			m, _ = press(t, m, "s")
			if got := m.panes[paneProcs].rows[0].proc.PID; m.panes[paneProcs].sortBy != k || got != want[k] {
				t.Errorf("after s: %s with PID %d first, want %s with %d", sortNames[m.panes[paneProcs].sortBy], got, sortNames[k], want[k])
			}
		}
	}},
	{name: "Sort/sessions by CPU", setup: func(t *testing.T, m Model, _ *fakeBackend) Model {
		m.focus = paneTmux
		return m
	}, check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if got := m.panes[paneTmux].rows[0].session.Name; got != "agent_impl-214500-a1b2c3" {
			t.Errorf("first session %s, want impl's (12.9%% CPU)", got)
		}
		if !strings.Contains(m.View(), "SESSION (by CPU▼)") {
			t.Error("the session head does not show the order")
		}
	}},
	{name: "NextFault", check: wantSelected(keyLint)},
	{name: "NextFault/goes round", setup: at(paneRegistry, keyFix), check: wantSelected(keyLint)},
	{name: "PrevFault", check: wantSelected(keyFix)},
	{name: "Collapse", setup: at(paneRegistry, keyImpl), check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		r, ok := m.panes[paneRegistry].Selected()
		if !ok || !r.collapsed || r.count != 9 || countSelectable(m.panes[paneRegistry].rows) != 1 {
			t.Fatalf("selected %+v; want the folded heading of 9 agents alone", r.key)
		}
		if !strings.Contains(m.View(), "▸ "+testTaskA+" (9)") {
			t.Error("no folded heading on screen")
		}
		m, _ = press(t, m, "c")
		if countSelectable(m.panes[paneRegistry].rows) != 9 || selected(m) != keyPlan {
			t.Errorf("c again: %d rows, selected %s", countSelectable(m.panes[paneRegistry].rows), selected(m))
		}
	}},
	{name: "HideDone", check: func(t *testing.T, m Model, _ tea.Cmd, _ *fakeBackend) {
		if n := countSelectable(m.panes[paneRegistry].rows); n != 8 || selected(m) == keyPlan {
			t.Errorf("%d agents shown, selected %s; want 8 without plan (done)", n, selected(m))
		}
	}},
}
