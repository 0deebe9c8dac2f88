package reconcile

import (
	"strings"
	"testing"
	"time"

	"agentwatch/registry"
)

// TestStaleFromLastSignOfLife: stale is measured from the latest of
// last_update and the stream log's change, so a silent agent whose stream
// grows is not stale and one whose stream stopped too is.
func TestStaleFromLastSignOfLife(t *testing.T) {
	old := registry.FormatTimestamp(now.Add(-2 * time.Hour))
	tests := []struct {
		name    string
		logAgo  time.Duration // 0: no log time known
		verdict Verdict
		from    string
		ago     time.Duration
	}{
		{"no log known: last_update counts", 0, VerdictStale, "last_update", 2 * time.Hour},
		{"silent, but its stream grew 20s ago", 20 * time.Second, VerdictOK, "stream log", 20 * time.Second},
		{"its stream stopped an hour ago", time.Hour, VerdictStale, "stream log", time.Hour},
	}
	okPane, okProcs := agentPane("a-ok", 100)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lw := liveWorld{agents: []agent{{id: "a-ok", status: "working", lastUpdate: old}}, sessions: []pane{okPane}, procs: okProcs}
			in := lw.input(t)
			if tt.logAgo > 0 {
				in.Live.LogModified = map[string]time.Time{"a-ok": now.Add(-tt.logAgo)}
			}
			rep, _ := Observe(in, nil)
			a := rep.Agents[0]
			if a.Verdict != tt.verdict || a.LastSignFrom != tt.from || !a.LastSign.Equal(now.Add(-tt.ago)) {
				t.Errorf("got %s, last sign %s from %s; want %s, %s ago from %s", a.Verdict, a.LastSign, a.LastSignFrom, tt.verdict, tt.ago, tt.from)
			}
			if tt.verdict == VerdictStale && !strings.Contains(a.Reason, tt.from) {
				t.Errorf("reason %q does not name its %s", a.Reason, tt.from)
			}
		})
	}
}
