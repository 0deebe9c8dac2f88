package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

// TestGoldenNewBadge: the main screen at three sizes, monochrome, with a
// NEW badge on the widest row of each pane: every line is as wide as the
// screen, and each pane's right border stands whole on every body line.
func TestGoldenNewBadge(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {200, 50}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			fb := newFakeBackend(t)
			markWidest(fb)
			opts := testOptions(fb)
			opts.NoColor = true
			m := scanned(t, fb, opts, w, h)
			m = selectRow(t, m, paneRegistry, keyImpl)
			m, _ = m.syncPreview()
			m.preview.data = &fb.preview // as if read: the golden shows the preview's frame
			view := m.View()
			checkSize(t, view, w, h)
			checkBorders(t, m, view)
			golden.RequireEqual(t, []byte(view))
		})
	}
}

// markWidest puts the NEW badge on the widest row of each pane.
func markWidest(fb *fakeBackend) {
	widest := func(n int, width func(int) int) int {
		best := 0
		for i := range n {
			if width(i) > width(best) {
				best = i
			}
		}
		return best
	}
	rep := &fb.rep
	a := widest(len(rep.Agents), func(i int) int { return len(rep.Agents[i].ID) })
	s := widest(len(rep.Sessions), func(i int) int { return len(rep.Sessions[i].Name) })
	p := widest(len(rep.Processes), func(i int) int { return len(rep.Processes[i].Cmdline) })
	rep.Agents[a].New, rep.Sessions[s].New, rep.Processes[p].New = true, true, true
	fb.preview.Pane = "$ go test ./...\nok  agentwatch/ui"
}

// checkBorders checks that on every line of the panes each pane's last
// column is its right border.
func checkBorders(t *testing.T, m Model, view string) {
	t.Helper()
	lines := strings.Split(view, "\n")
	top := m.header().height(&m.styles)
	if m.width < wideWidth {
		top++ // the tabs
	}
	var rights []int
	x := 0
	if m.width >= wideWidth {
		for id := range paneCount {
			x += m.panes[id].width
			rights = append(rights, x-1)
		}
	} else {
		x = m.width
		rights = append(rights, x-1)
	}
	if m.previewShown() && m.width >= previewWideWidth {
		rights = append(rights, x+m.preview.width-1)
	}
	for y := top; y < top+m.panes[paneRegistry].height; y++ {
		for _, r := range rights {
			c := ansi.Cut(lines[y], r, r+1)
			if !strings.ContainsAny(c, "┃│┓┛╮╯") {
				t.Errorf("line %d, column %d: %q, not a right border:\n%s", y, r, c, lines[y])
			}
		}
	}
}
