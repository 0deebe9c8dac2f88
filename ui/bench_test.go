package ui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// benchAgents is the bench scene's size: 10,000 agents in one task, most
// of them done, a tenth working.
func benchAgents() []testAgent {
	out := make([]testAgent, 0, 10000)
	for i := range 10000 {
		a := testAgent{id: fmt.Sprintf("worker-%06d-%06x", 100000+i%800000, i), typ: "worker", status: "completed",
			started: 3 * time.Hour, updated: 2 * time.Hour}
		if i%10 == 0 {
			a.status, a.updated = "working", time.Minute
		}
		out = append(out, a)
	}
	return append(out, testAgents...)
}

// benchModel is the screen at 200×50 (the preview beside the panes) after
// one scan of the 10,000-agent world.
func benchModel(b *testing.B) Model {
	in := testWorld(b, benchAgents())
	rep, mem := testReport(in)
	fb := &fakeBackend{in: in, rep: rep, mem: mem, watch: make(chan struct{}, 1)}
	m := scanned(b, fb, testOptions(fb), 200, 50)
	if n := countAgents(m.panes[paneRegistry].all); n < 10000 {
		b.Fatalf("%d agents on screen, want 10,000", n)
	}
	return m
}

// BenchmarkKeypress is keypress-to-frame: Update of one key and the View
// that follows, on a world of 10,000 agents. The budget is a frame at
// 60 Hz, 16 ms.
func BenchmarkKeypress(b *testing.B) {
	for _, tc := range []struct {
		name  string
		setup []string
		keys  []string
	}{
		{"down-up", nil, []string{"j", "k"}},
		{"next-fault", nil, []string{"n", "N"}},
		{"faults-only", nil, []string{"f"}},
		{"hide-finished", nil, []string{"H"}},
		{"filter-typing", []string{"/"}, []string{"w", "backspace"}},
		{"sort-processes", []string{"tab", "tab"}, []string{"s"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := benchModel(b)
			m, _ = press(b, m, tc.setup...)
			msgs := make([]tea.KeyMsg, len(tc.keys))
			for i, k := range tc.keys {
				msgs[i] = keyMsg(b, k)
			}
			i := 0
			for b.Loop() {
				next, _ := m.Update(msgs[i%len(msgs)])
				m = next.(Model)
				_ = m.View()
				i++
			}
		})
	}
}
