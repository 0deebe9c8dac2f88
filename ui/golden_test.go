package ui

import (
	"bytes"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
)

// TestGolden runs the screen as a program on the fixed world and compares
// what it shows with testdata/TestGolden/*.golden; `go test ./ui -update`
// writes them anew.
func TestGolden(t *testing.T) {
	tests := []struct {
		name     string
		w, h     int
		readonly bool
		keys     []string
		want     string // shown once the keys took effect
	}{
		{name: "main_160x45", w: 160, h: 45, keys: []string{"j", "j", "j", "j", "j", "j"}, want: "impl-214500-a1b2c3: ✓ ok"},
		{name: "main_80x24", w: 80, h: 24, want: "plan-190000-aabbcc: · done"},
		{name: "detail", w: 120, h: 40, keys: []string{"j", "j", "j", "j", "j", "enter"}, want: "Detail: agent review"},
		{name: "kill_dialog", w: 120, h: 40, keys: []string{"tab", "j", "j", "j", "x"}, want: "Kill 1 target"},
		{name: "mark_dialog", w: 120, h: 40, keys: []string{"j", "j", "j", "j", "j", "t"}, want: "Mark review"},
		{name: "repair_preview", w: 120, h: 40, keys: []string{"R"}, want: "Repair plan"},
		{name: "help", w: 120, h: 40, keys: []string{"?"}, want: "In a dialog"},
		{name: "readonly", w: 120, h: 30, readonly: true, keys: []string{"x"}, want: "kill is disabled"},
		{name: "faults_only_80x24", w: 80, h: 24, keys: []string{"f", "tab", "tab"}, want: "faults only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newFakeBackend(t)
			opts := testOptions(b)
			opts.Readonly = tt.readonly
			opts.Interval = time.Hour // no tick during the test
			tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(tt.w, tt.h))
			if len(tt.keys) > 0 {
				waitFor(t, tm, "scanned 22:00:00")
			}
			for _, k := range tt.keys {
				tm.Send(keyMsg(t, k))
			}
			waitFor(t, tm, tt.want)
			if err := tm.Quit(); err != nil {
				t.Fatal(err)
			}
			final := tm.FinalModel(t, teatest.WithFinalTimeout(20*time.Second))
			golden.RequireEqual(t, []byte(final.View()))
		})
	}
}

func waitFor(t *testing.T, tm *teatest.TestModel, s string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
		teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}
