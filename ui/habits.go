package ui

import (
	"cmp"
	"fmt"
	"slices"
)

// sortKey is the order of the Tmux and Processes panes: as scanned (the
// process tree), or by CPU, memory, age or verdict, worst first.
type sortKey int

const (
	sortNone sortKey = iota
	sortCPU
	sortRSS
	sortAge
	sortVerdict
	sortCount
)

var sortNames = [sortCount]string{"tree", "CPU", "RSS", "age", "verdict"}

// sortRows orders the rows of the Tmux or Processes pane by k, keeping the
// order of equal rows. A sorted process list is flat: its tree connectors
// would join rows that no longer stand together.
func sortRows(rows []row, k sortKey) []row {
	if k == sortNone || len(rows) == 0 || rows[0].kind == rowHeading || rows[0].kind == rowAgent {
		return rows
	}
	out := slices.Clone(rows) // rows may be shared with the pane's every row
	for i := range out {
		out[i].tree = ""
	}
	slices.SortStableFunc(out, func(a, b row) int {
		switch k {
		case sortCPU:
			return cmp.Compare(b.cpuOf(), a.cpuOf())
		case sortRSS:
			return cmp.Compare(b.rssOf(), a.rssOf())
		case sortAge:
			return cmp.Compare(a.startOf(), b.startOf()) // oldest first
		case sortVerdict:
			return cmp.Compare(severityOf(a.verdict()), severityOf(b.verdict()))
		}
		return 0
	})
	return out
}

func (r row) cpuOf() float64 {
	if r.kind == rowProc {
		if r.stats == nil {
			return -1
		}
		return r.stats.CPU
	}
	return r.cpu
}

func (r row) rssOf() uint64 {
	if r.kind == rowProc {
		if r.stats == nil {
			return 0
		}
		return r.stats.RSS
	}
	return r.rss
}

// startOf is when the row's process or session started, in Unix
// milliseconds; unknown sorts last.
func (r row) startOf() int64 {
	const unknown = int64(1) << 62
	switch r.kind {
	case rowProc:
		if r.proc.Start > 0 {
			return r.proc.Start
		}
	case rowSession:
		if !r.session.Created.IsZero() {
			return r.session.Created.UnixMilli()
		}
	}
	return unknown
}

// rowFilter is what the panes show now.
func (m Model) rowFilter() rowFilter {
	return rowFilter{text: m.filter.Value(), faultsOnly: m.faultsOnly, hideDone: m.hideDone, collapsed: m.collapsed}
}

// cycleSort moves the focused pane to its next order.
func (m *Model) cycleSort() {
	if m.focus == paneRegistry {
		m.setStatus("s sorts the Tmux and Processes panes: switch to one with tab")
		return
	}
	t := &m.panes[m.focus]
	t.sortBy = (t.sortBy + 1) % sortCount
	m.refreshRows()
	if t.sortBy == sortNone {
		m.setStatus(paneNames[m.focus] + " in scan order again")
		return
	}
	m.setStatus(fmt.Sprintf("%s sorted by %s (s for the next order)", paneNames[m.focus], sortNames[t.sortBy]))
}

// jumpFault moves the cursor to the next (dir 1) or previous (dir -1)
// row of the focused pane whose verdict is a fault, going round.
func (m *Model) jumpFault(dir int) {
	t := &m.panes[m.focus]
	n := len(t.rows)
	for step := 1; step <= n; step++ {
		i := ((t.cursor+dir*step)%n + n) % n
		if r := t.rows[i]; r.kind != rowHeading && faulty(r.verdict()) {
			t.cursor = i
			t.ensureVisible()
			m.setStatus(fmt.Sprintf("%s: %s", verdictLabel(r.verdict()), r.name()))
			return
		}
	}
	m.setStatus("no fault in the " + paneNames[m.focus] + " pane")
}

// toggleCollapse folds or opens the task of the selected Registry row.
func (m *Model) toggleCollapse() {
	if m.focus != paneRegistry {
		m.setStatus("c folds a task in the Registry pane: switch to it with tab")
		return
	}
	r, ok := m.panes[paneRegistry].Selected()
	if !ok {
		return
	}
	task := r.heading
	if r.kind == rowAgent {
		task = r.agent.TaskID
	}
	if m.collapsed == nil {
		m.collapsed = map[string]bool{}
	}
	name := task
	if name == "" {
		name = "(agents in no task registry)"
	}
	if m.collapsed[task] {
		delete(m.collapsed, task)
		m.setStatus("opened " + escape(name))
	} else {
		m.collapsed[task] = true
		m.setStatus("folded " + escape(name) + " (c opens it)")
	}
	m.refreshRows()
	// Stay on the task: its heading when folded.
	t := &m.panes[paneRegistry]
	for i, x := range t.rows {
		if x.kind == rowHeading && x.heading == task {
			t.cursor = i
			if !x.collapsed {
				t.moveTo(i+1, 1)
			}
			t.ensureVisible()
			break
		}
	}
}

// toggleHideDone hides or shows the agents that are done.
func (m *Model) toggleHideDone() {
	m.hideDone = !m.hideDone
	m.refreshRows()
	if m.hideDone {
		m.setStatus("finished agents hidden (H shows them)")
	} else {
		m.setStatus("finished agents shown")
	}
}
