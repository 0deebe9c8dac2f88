package ui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// table is one pane: a titled, bordered list of rows with a cursor that
// skips task headings, scrolling, and the marks of tags and joined rows.
type table struct {
	id     paneID
	all    []row // every row of the last scan
	rows   []row // the rows shown: all, filtered
	cursor int   // index into rows
	offset int   // first row shown
	need   int   // needWidth of all, measured when all changes
	sortBy sortKey
	width  int
	height int
}

func newTable(id paneID) table { return table{id: id, need: measureWidth(nil)} }

// SetSize sets the pane's outer size, borders included.
func (t *table) SetSize(w, h int) {
	t.width, t.height = w, h
	t.ensureVisible()
}

// bodyHeight is how many rows fit below the border and the column heads.
func (t table) bodyHeight() int { return max(t.height-3, 1) }

// SetRows replaces the rows, keeping the cursor on the same row (by key)
// when it is still shown.
func (t *table) SetRows(all []row, f rowFilter) {
	prev, old := t.rows, t.cursor
	if !slices.Equal(all, t.all) { // a scan that changed nothing changes no width
		t.need = measureWidth(all)
	}
	t.all = all
	t.rows = sortRows(visibleRows(all, f), t.sortBy)
	t.cursor = -1
	// The same row, most often at the same place; when it is gone (a
	// killed process, a filter), the next one that is still there, else the
	// one before it.
	switch {
	case old < 0 || old >= len(prev):
	case old < len(t.rows) && t.rows[old].selectable() && t.rows[old].key == prev[old].key:
		t.cursor = old
	default:
		at := map[string]int{}
		for i, r := range t.rows {
			if r.selectable() {
				at[r.key] = i
			}
		}
		for i := old; i < len(prev) && t.cursor < 0; i++ {
			if j, ok := at[prev[i].key]; ok {
				t.cursor = j
			}
		}
		for i := old - 1; i >= 0 && t.cursor < 0; i-- {
			if j, ok := at[prev[i].key]; ok {
				t.cursor = j
			}
		}
	}
	if t.cursor < 0 {
		t.cursor = t.firstSelectable(0, 1)
	}
	t.ensureVisible()
}

// Selected returns the row under the cursor.
func (t table) Selected() (row, bool) {
	if t.cursor < 0 || t.cursor >= len(t.rows) || !t.rows[t.cursor].selectable() {
		return row{}, false
	}
	return t.rows[t.cursor], true
}

// firstSelectable finds a selectable row from i in direction dir; -1 if
// there is none.
func (t table) firstSelectable(i, dir int) int {
	for ; i >= 0 && i < len(t.rows); i += dir {
		if t.rows[i].selectable() {
			return i
		}
	}
	return -1
}

func (t *table) moveTo(i, dir int) {
	if len(t.rows) == 0 {
		return
	}
	i = min(max(i, 0), len(t.rows)-1)
	if j := t.firstSelectable(i, dir); j >= 0 {
		t.cursor = j
	} else if j := t.firstSelectable(i, -dir); j >= 0 {
		t.cursor = j
	}
	t.ensureVisible()
}

func (t *table) ensureVisible() {
	h := t.bodyHeight()
	if t.cursor < 0 {
		t.offset = 0
		return
	}
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	// Show the task heading above the first agent of a task.
	if t.cursor > 0 && t.offset == t.cursor && t.rows[t.cursor-1].kind == rowHeading {
		t.offset--
	}
	if t.cursor >= t.offset+h {
		t.offset = t.cursor - h + 1
	}
	t.offset = max(0, min(t.offset, len(t.rows)-h))
}

// Update moves the cursor.
func (t table) Update(msg tea.Msg, keys KeyMap) (table, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return t, nil
	}
	switch {
	case key.Matches(km, keys.Up):
		t.moveTo(t.cursor-1, -1)
	case key.Matches(km, keys.Down):
		t.moveTo(t.cursor+1, 1)
	case key.Matches(km, keys.PageUp):
		t.moveTo(t.cursor-t.bodyHeight(), -1)
	case key.Matches(km, keys.PageDown):
		t.moveTo(t.cursor+t.bodyHeight(), 1)
	case key.Matches(km, keys.Top):
		t.moveTo(0, 1)
	case key.Matches(km, keys.Bottom):
		t.moveTo(len(t.rows)-1, -1)
	}
	return t, nil
}

// paneView is what a pane needs from its parent to draw itself.
type paneView struct {
	styles  *Styles
	now     time.Time // the scan's time, for process ages
	focused bool
	link    *link // the selection of another pane, if any
	tags    map[string]bool
	empty   string // what to say when no row is shown
}

// View draws the pane at its size.
func (t table) View(v paneView) string {
	inner := t.width - 2
	if inner < 4 || t.height < 4 {
		return blank(t.width, t.height)
	}
	shown := len(t.rows)
	title := fmt.Sprintf("%s %d", paneNames[t.id], countSelectable(t.rows))
	if shown != len(t.all) {
		title = fmt.Sprintf("%s %d/%d", paneNames[t.id], countSelectable(t.rows), countSelectable(t.all))
	}
	body := []string{v.styles.ColumnHead.Render(fit(t.columnHeads(inner), inner))}
	h := t.bodyHeight()
	if len(t.rows) == 0 {
		body = append(body, v.styles.Dim.Render(fit("  "+v.empty, inner)))
	}
	for i := t.offset; i < len(t.rows) && i < t.offset+h; i++ {
		r := t.rows[i]
		st := rowState{
			cursor:  i == t.cursor,
			focused: v.focused,
			related: v.link != nil && v.link.from != t.id && r.joined(*v.link),
			tagged:  v.tags[r.key],
		}
		body = append(body, renderRow(r, inner, st, v))
	}
	style, ts := v.styles.Pane, v.styles.PaneTitle
	if v.focused {
		style, ts = v.styles.PaneFocused, v.styles.PaneTitleOn
	}
	if more := len(t.rows) - (t.offset + h); more > 0 {
		title += fmt.Sprintf(" ↓%d", more)
	}
	if t.offset > 0 {
		title += fmt.Sprintf(" ↑%d", t.offset)
	}
	return box(style, ts, title, body, t.width, t.height)
}

func countSelectable(rows []row) int {
	n := 0
	for _, r := range rows {
		if r.selectable() {
			n++
		}
	}
	return n
}

// Column layout of each pane, from the inner width.

const (
	markWidth   = 2 // cursor or join mark, tag mark
	statusWidth = 10
	pidsWidth   = 4
	pidWidth    = 7
	ageWidth    = 4
	cpuWidth    = 5
	rssWidth    = 5
	// minNameWidth: below it an id or session name loses its column's
	// neighbour (the status, the PID count) rather than more of itself.
	minNameWidth = 20
)

func (t table) columnHeads(w int) string {
	mark := func(s string, k sortKey) string {
		if t.sortBy == k {
			return s + "▼"
		}
		return s
	}
	pre := strings.Repeat(" ", markWidth) + fit(mark("VERDICT", sortVerdict), verdictWidth) + " "
	rest := w - markWidth - verdictWidth - 1
	switch t.id {
	case paneRegistry:
		if rest-statusWidth-1 >= minNameWidth {
			return pre + fit("AGENT", rest-statusWidth-1) + " " + "STATUS"
		}
		return pre + "AGENT"
	case paneTmux:
		head := "SESSION"
		switch t.sortBy {
		case sortCPU, sortRSS, sortAge:
			head += " (by " + sortNames[t.sortBy] + "▼)"
		}
		if rest-pidsWidth-1 >= minNameWidth {
			return pre + fit(head, rest-pidsWidth-1) + " " + fitRight("PIDS", pidsWidth)
		}
		return pre + head
	}
	if procStats(rest) {
		return pre + fitRight("PID", pidWidth) + " " + fitRight(mark("AGE", sortAge), ageWidth) + " " + fitRight(mark("CPU", sortCPU), cpuWidth) + " " +
			fitRight(mark("RSS", sortRSS), rssWidth) + " COMMAND"
	}
	head := " COMMAND"
	switch t.sortBy {
	case sortCPU, sortRSS:
		head += " (by " + sortNames[t.sortBy] + "▼)"
	}
	return pre + fitRight("PID", pidWidth) + " " + fitRight(mark("AGE", sortAge), ageWidth) + head
}

// procStats reports whether a process row is wide enough for CPU and RSS.
func procStats(rest int) bool { return rest >= 44 }

// needWidth is the outer width at which no row of the pane is cut; the
// Processes pane takes what the others leave.
func (t table) needWidth() int { return t.need }

// measureWidth is needWidth of rows: every row is measured, so it is done
// when the rows change, not on every layout.
func measureWidth(rows []row) int {
	fixed := 2 + markWidth + verdictWidth + 1
	longest := 0
	for _, r := range rows {
		n := 0
		switch r.kind {
		case rowAgent:
			n = lipgloss.Width(escape(r.agent.ID)) + 1 + statusWidth
		case rowSession:
			n = lipgloss.Width(escape(r.session.Name)) + 1 + pidsWidth
		}
		if r.isNew() {
			n += len("NEW ")
		}
		longest = max(longest, n+len(r.server))
	}
	return fixed + longest
}

type rowState struct {
	cursor, focused, related, tagged bool
}

// renderRow draws one row, exactly w columns wide. The marks are
// characters, so the cursor, a tag and a join show without colour too:
// ▶ the cursor (▷ in a pane without focus), • a row joined to the
// selection, * a tagged row, NEW a row that just turned ghost or leak.
func renderRow(r row, w int, st rowState, v paneView) string {
	s := v.styles
	if r.kind == rowHeading {
		text := "▾ "
		if r.collapsed {
			text = "▸ "
		}
		if r.locked {
			text += "⊠ " // its lock is busy: the rows are its last good copy
		}
		if r.heading == "" {
			text += "(agents in no task registry)"
		} else {
			text += escape(r.heading)
		}
		text += fmt.Sprintf(" (%d)", r.count)
		if st.cursor && st.focused {
			return s.Selected.Render(fit(text, w))
		}
		return s.Heading.Render(fit(text, w))
	}
	mark := " "
	switch {
	case st.cursor && st.focused:
		mark = "▶"
	case st.related:
		mark = "•"
	case st.cursor:
		mark = "▷"
	}
	tag := " "
	if st.tagged {
		tag = "*"
	}
	verdict := fit(verdictLabel(r.verdict()), verdictWidth)
	if r.kind == rowFinding {
		verdict = fit(findingLabel(r.finding.Kind), verdictWidth)
	}
	rest := w - markWidth - verdictWidth - 1
	cells := rowCells(r, rest, v.now)
	if st.cursor && st.focused {
		return s.Selected.Render(mark + tag + verdict + " " + cells)
	}
	if st.cursor && !st.related {
		return s.SelectedOff.Render(mark + tag + verdict + " " + cells)
	}
	vs := s.Verdict(r.verdict())
	if r.isNew() {
		vs = s.New
	}
	line := mark + tag + vs.Render(verdict) + " " + cells
	if st.related {
		return s.Related.Render(mark+tag) + vs.Render(verdict) + s.Related.Render(" "+cells)
	}
	return line
}

// rowCells draws the cells after the verdict, exactly w columns wide.
func rowCells(r row, w int, now time.Time) string {
	newMark := ""
	if r.isNew() {
		newMark = "NEW "
	}
	switch r.kind {
	// The columns are laid out from w alone, so a NEW badge takes its room
	// from the name, never from the next column.
	case rowAgent:
		a := r.agent
		id := escape(a.ID)
		if w-statusWidth-1 >= minNameWidth {
			return newMark + fitName(id, w-statusWidth-1-len(newMark)) + " " + fit(escape(a.Status), statusWidth)
		}
		return newMark + fitName(id, w-len(newMark))
	case rowSession:
		ss := r.session
		name := escape(ss.Name)
		pre := newMark + r.server
		if w-pidsWidth-1 >= minNameWidth {
			return pre + fitName(name, w-pidsWidth-1-len(pre)) + " " + fitRight(strconv.Itoa(len(ss.PIDs)), pidsWidth)
		}
		return pre + fitName(name, w-len(pre))
	case rowProc:
		p := r.proc
		age := "-"
		if p.Start > 0 {
			age = fmtAge(now.Sub(time.UnixMilli(p.Start)))
		}
		cmd := shortCommand(p.Cmdline)
		if cmd == "" {
			cmd = "[" + p.Comm + "]"
		}
		cells := fitRight(strconv.Itoa(int(p.PID)), pidWidth) + " " + fitRight(age, ageWidth) + " "
		if procStats(w) {
			cells += fitRight(fmtCPU(r.stats), cpuWidth) + " " + fitRight(fmtRSS(r.stats), rssWidth) + " "
		}
		cw := w - lipgloss.Width(cells) - lipgloss.Width(r.tree) - len(newMark)
		// Pane shells differ at their ends (the stream log's agent id).
		return cells + fit(r.tree+newMark+fitMiddle(escape(cmd), cw), w-lipgloss.Width(cells))
	case rowFinding:
		return fit(escape(findingText(r.finding)), w)
	}
	return fit("", w)
}

// shortCommand shows a command line with its program's directory dropped:
// the program's name and its arguments are what tell processes apart.
func shortCommand(cmdline string) string {
	prog, rest, _ := strings.Cut(cmdline, " ")
	if i := strings.LastIndexByte(prog, '/'); i >= 0 && i < len(prog)-1 {
		prog = prog[i+1:]
	}
	if rest == "" {
		return prog
	}
	return prog + " " + rest
}
