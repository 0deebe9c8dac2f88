package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"agentwatch/engine"
	"agentwatch/reconcile"
	"agentwatch/registry"
	"agentwatch/tmux"
)

// checkObject is the object `check --json` printed when it was encoded in
// one piece: the reference the stream must match byte for byte.
type checkObject struct {
	Healthy    bool                          `json:"healthy"`
	Summary    map[reconcile.FindingKind]int `json:"summary"`
	Workspaces []workspaceJSON               `json:"workspaces"`
	Servers    []serverJSON                  `json:"servers"`
	Registries []registryJSON                `json:"registries"`
	Agents     []agentJSON                   `json:"agents"`
	Sessions   []sessionJSON                 `json:"sessions"`
	Processes  []processJSON                 `json:"processes"`
	Findings   []reconcile.Finding           `json:"findings"`
}

// oneShotCheckJSON is how writeCheckJSON encoded the object before it was
// streamed: every row copied, the whole text encoded at once.
func oneShotCheckJSON(w io.Writer, indent bool, bases []registry.Base, snap *engine.Snapshot, rep reconcile.Report) error {
	out := checkObject{
		Healthy:    rep.Healthy(),
		Summary:    rep.Summary(),
		Servers:    serversOf(snap),
		Registries: []registryJSON{},
		Agents:     []agentJSON{},
		Sessions:   []sessionJSON{},
		Processes:  []processJSON{},
		Findings:   rep.Findings,
	}
	for _, a := range rep.Agents {
		out.Agents = append(out.Agents, agentJSON{AgentID: a.ID, TaskID: a.TaskID, Registry: a.Registry, Status: a.Status,
			TmuxSession: a.Session, Verdict: string(a.Verdict), Cause: string(a.Cause), Reason: a.Reason, PIDs: ints(a.PIDs)})
	}
	for _, s := range rep.Sessions {
		pids := s.PIDs
		if pids == nil {
			pids = []int32{}
		}
		out.Sessions = append(out.Sessions, sessionJSON{Name: s.Name, Server: s.Server, AgentID: s.AgentID,
			Verdict: string(s.Verdict), Cause: string(s.Cause), Reason: s.Reason, PIDs: pids})
	}
	for _, p := range rep.Processes {
		out.Processes = append(out.Processes, processJSON{PID: p.PID, PPID: p.PPID, Comm: p.Comm, Cmdline: p.Cmdline,
			Session: p.Session, SID: p.SID, Claude: p.Claude, AgentID: p.AgentID, Verdict: string(p.Verdict), Cause: string(p.Cause), Reason: p.Reason})
	}
	for _, b := range bases {
		out.Workspaces = append(out.Workspaces, workspaceJSON{Path: b.Dir, FoundBy: b.Source, Era: registry.Era(b.Dir)})
	}
	locked := lockedSources(snap)
	for _, r := range rep.Registries {
		out.Registries = append(out.Registries, registryJSON{RegistrySummary: r, Locked: locked[r.Path]})
	}
	out.Healthy = out.Healthy && len(locked) == 0
	if out.Findings == nil {
		out.Findings = []reconcile.Finding{}
	}
	enc := json.NewEncoder(safeJSON{w})
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(out)
}

// hostileStrings holds what a registry, a tmux server or a process may put in a
// string: terminal escapes, C1 controls, a bidi override, invalid UTF-8,
// HTML's specials, a character above U+FFFF, and quotes and backslashes.
var hostileStrings = []string{
	"\x1b]0;pwned\x07\x1b[2J",
	"x\u0085y\u009b31m",
	"abc\u202edcba",
	"bad\xff\xfe utf-8 \xe2\x82",
	"a && b < c > d",
	"tag\U000E0001 sep\u2028",
	`quote " back \ slash`,
	"héllo ✓ 日本",
}

// hostileReport builds a snapshot and its report with n agents (and as many
// sessions and processes), every string of them hostile, one string longer
// than the stream's buffer, empty and nil PIDs, locked registries and
// databases, and findings of every shape.
func hostileReport(n int) ([]registry.Base, *engine.Snapshot, reconcile.Report) {
	h := func(i int) string { return hostileStrings[i%len(hostileStrings)] }
	long := strings.Repeat("long\u009b<&>\x1b", 20000)
	bases := []registry.Base{
		{Dir: "/work/base" + h(0), Source: "--workspace"},
		{Dir: "/work/" + h(2), Source: h(4)},
	}
	snap := &engine.Snapshot{Input: reconcile.Input{
		Registries: []reconcile.Registry{
			{Path: "/r/" + h(1) + "/registry.json", Locked: true, Err: errors.New("lock busy")},
			{Path: "/r/ok/registry.json"},
		},
		Databases: []reconcile.Database{{Path: "/db/" + h(3), Locked: true}, {Path: "/db/free"}},
		Live: &reconcile.Live{Servers: []reconcile.Server{
			{Socket: tmux.Socket{Path: "/tmp/" + h(0)}, Why: "given", Snapshot: &tmux.Snapshot{Running: true,
				Panes: []tmux.Pane{{Session: "s1", SessionID: "$1"}, {Session: h(1), SessionID: "$2"}}}},
			{Socket: tmux.Socket{Name: h(5)}, Why: h(6), Err: errors.New("tmux: " + h(2))},
			{Why: "default"},
		}},
	}}
	rep := reconcile.Report{Registries: []reconcile.RegistrySummary{
		{Path: "/r/" + h(1) + "/registry.json", Kind: reconcile.KindTask, TaskID: h(7), Agents: 3, Active: 1},
		{Path: "/r/ok/registry.json", Kind: reconcile.KindGlobal, Error: long},
		{Path: "/db/" + h(3), Kind: reconcile.KindState},
	}}
	for i := range n {
		var pids []int32
		switch i % 3 {
		case 1:
			pids = []int32{}
		case 2:
			pids = []int32{int32(1000 + i), int32(2000 + i)}
		}
		rep.Agents = append(rep.Agents, reconcile.AgentRow{ID: fmt.Sprintf("agent-%d-%s", i, h(i)), TaskID: h(i + 1),
			Registry: h(i + 2), Status: h(i + 3), Session: h(i + 4), PIDs: pids,
			Judgement: reconcile.Judgement{Verdict: reconcile.VerdictGhost, Cause: reconcile.Cause(h(i + 5)), Reason: h(i + 6)}})
		rep.Sessions = append(rep.Sessions, reconcile.SessionRow{Name: h(i), Server: h(i + 1), AgentID: h(i + 2), PIDs: pids,
			Judgement: reconcile.Judgement{Verdict: reconcile.VerdictLeak, Reason: h(i + 3)}})
		rep.Processes = append(rep.Processes, reconcile.ProcRow{PID: int32(i), PPID: 1, SID: int32(i), Comm: h(i), Cmdline: h(i + 1),
			Claude: i%2 == 0, Session: h(i + 2), AgentID: h(i + 3),
			Judgement: reconcile.Judgement{Verdict: reconcile.VerdictForeign, Reason: h(i + 4)}})
	}
	rep.Agents[0].Reason = long
	rep.Findings = []reconcile.Finding{
		{Kind: reconcile.FindGhost, AgentID: h(0), TaskID: h(1), Registry: h(2), Status: h(3), TmuxSession: h(4), Cause: reconcile.CauseSessionNotFound},
		{Kind: reconcile.FindLeak, TmuxSession: h(5), Cause: reconcile.Cause(h(6))},
		{Kind: reconcile.FindLeak, PIDs: []int{7, 8}},
		{Kind: reconcile.FindDrift, Registry: h(7), Field: h(0), Recorded: json.RawMessage("\"\u009b<&>\u202e\""), Actual: 3},
		{Kind: reconcile.FindCorrupt, Registry: h(1), Error: long},
		{Kind: reconcile.FindSpawnBlocked, TaskID: h(2), AgentIDs: []string{h(3), h(4)}, Limit: 2},
		{Kind: reconcile.FindSpawnBlocked},
		{Kind: reconcile.FindStale, AgentID: h(5), LastUpdate: h(6)},
	}
	return bases, snap, rep
}

// TestCheckJSONStreamsTheOneShotBytes: the streamed object is, byte for
// byte, the one encoded in one piece, compact and indented.
func TestCheckJSONStreamsTheOneShotBytes(t *testing.T) {
	bases, snap, rep := hostileReport(3000)
	tests := []struct {
		name  string
		bases []registry.Base
		snap  *engine.Snapshot
		rep   reconcile.Report
	}{
		{"hostile", bases, snap, rep},
		{"one agent", bases[:1], &engine.Snapshot{}, reconcile.Report{Agents: rep.Agents[1:2]}},
		{"locked, warnings only", bases, snap, reconcile.Report{Findings: []reconcile.Finding{{Kind: reconcile.FindStale}}}},
		{"empty", nil, &engine.Snapshot{}, reconcile.Report{}},
		{"empty slices", []registry.Base{}, &engine.Snapshot{Input: reconcile.Input{Live: &reconcile.Live{}}},
			reconcile.Report{Registries: []reconcile.RegistrySummary{}, Agents: []reconcile.AgentRow{},
				Sessions: []reconcile.SessionRow{}, Processes: []reconcile.ProcRow{}, Findings: []reconcile.Finding{}}},
	}
	for _, tt := range tests {
		for _, indent := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/indent=%v", tt.name, indent), func(t *testing.T) {
				var want, got bytes.Buffer
				if err := oneShotCheckJSON(&want, indent, tt.bases, tt.snap, tt.rep); err != nil {
					t.Fatal(err)
				}
				if err := streamCheckJSON(&got, indent, tt.bases, tt.snap, tt.rep); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Errorf("streamed output differs from the one-shot encoding at byte %d:\ngot  …%q…\nwant …%q…",
						firstDiff(got.Bytes(), want.Bytes()), around(got.Bytes(), want.Bytes()), around(want.Bytes(), got.Bytes()))
				}
			})
		}
	}
}

// TestCheckJSONIsSafeAndParses: the stream holds none of the hostile bytes
// raw, and a script reads it back.
func TestCheckJSONIsSafeAndParses(t *testing.T) {
	bases, snap, rep := hostileReport(10)
	var b bytes.Buffer
	if err := writeCheckJSON(&b, engine.New(engine.Config{Bases: bases}), snap, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"\x1b", "\x07", "\u0085", "\u009b", "\u202e", "\U000E0001", "\u2028", "\xff"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q raw", bad)
		}
	}
	if !strings.HasSuffix(out, "}\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("output is not one compact line ending with a newline: …%q", out[max(0, len(out)-40):])
	}
	var got checkOut
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	if got.Healthy {
		t.Errorf("got healthy with locked registries and ghosts, want unhealthy")
	}
}

// TestCheckJSONReturnsTheWriteError: a failing writer's error comes back,
// whether it fails on the first write, in the middle of the stream, or on
// the flush of an object that fits the stream's buffer.
func TestCheckJSONReturnsTheWriteError(t *testing.T) {
	bases, snap, rep := hostileReport(3000)
	tests := []struct {
		name  string
		rep   reconcile.Report
		after int
	}{
		{"at once", rep, 0},
		{"midway", rep, 100 << 10},
		{"at the flush", reconcile.Report{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &failingWriter{after: tt.after}
			if err := streamCheckJSON(w, false, bases, snap, tt.rep); !errors.Is(err, errWriteFailed) {
				t.Errorf("got %v, want %v", err, errWriteFailed)
			}
		})
	}
}

var errWriteFailed = errors.New("write failed")

// failingWriter takes after bytes, then fails.
type failingWriter struct{ after, n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.after {
		return 0, errWriteFailed
	}
	w.n += len(p)
	return len(p), nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// around is a's bytes about the first place a and b differ.
func around(a, b []byte) []byte {
	i := firstDiff(a, b)
	return a[max(0, i-60):min(len(a), i+60)]
}

// TestAgentRowsWriteAsEncodingJSON holds the agents' reflection-free
// writer to encoding/json's text for agentJSON, compact and indented,
// over strings of every control byte, quotes, backslashes, HTML's
// specials, invalid UTF-8, U+2028 and U+2029 and characters of every
// width, with and without a cause and PIDs.
func TestAgentRowsWriteAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "Z", " ", "\"", "\\", "<", ">", "&", "\x7f", "\xff", "\xc3", "\xe2\x82", "é", "✓", "😀",
		"\u2028", "\u2029", "\ufffd", "\u0085", "\u202e", "/", "'"}
	for b := range 0x20 {
		pieces = append(pieces, string(rune(b)))
	}
	str := func() string {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	for i := range 3000 {
		a := reconcile.AgentRow{ID: str(), TaskID: str(), Registry: str(), Status: str(), Session: str(),
			Judgement: reconcile.Judgement{Verdict: reconcile.Verdict(str()), Reason: str()}}
		if i%2 == 0 {
			a.Cause = reconcile.Cause(str())
		}
		for range r.IntN(3) {
			a.PIDs = append(a.PIDs, r.Int32())
		}
		if i%5 == 0 {
			a.PIDs = []int32{}
		}
		ref := agentJSON{AgentID: a.ID, TaskID: a.TaskID, Registry: a.Registry, Status: a.Status,
			TmuxSession: a.Session, Verdict: string(a.Verdict), Cause: string(a.Cause), Reason: a.Reason, PIDs: ints(a.PIDs)}
		for _, indent := range []bool{false, true} {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if indent {
				enc.SetIndent(jsonDepth[2], "  ")
			}
			if err := enc.Encode(ref); err != nil {
				t.Fatal(err)
			}
			got := agentOut{&a}.appendJSON(nil, 2, indent)
			if w := strings.TrimSuffix(want.String(), "\n"); string(got) != w {
				t.Fatalf("row %d (indent %v):\ngot  %q\nwant %q", i, indent, got, w)
			}
		}
	}
}

// ints is PIDs as agentJSON holds them.
func ints(xs []int32) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}

// agentJSON is an agent as `check --json` prints it, for encoding/json:
// the reference agentOut is held to.
type agentJSON struct {
	AgentID     string `json:"agent_id"`
	TaskID      string `json:"task_id"`
	Registry    string `json:"registry"`
	Status      string `json:"status"`
	TmuxSession string `json:"tmux_session"`
	Verdict     string `json:"verdict"`
	Cause       string `json:"cause,omitempty"`
	Reason      string `json:"reason"`
	PIDs        []int  `json:"pids"`
}
