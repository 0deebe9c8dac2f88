package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"agentwatch/engine"
	"agentwatch/reconcile"
	"agentwatch/tmux"
)

// TestCheckTextNeverCutsANameKillNeeds: check's text prints agent ids and
// session names whole, however long, so that they can be passed to kill
// and found in the registry as printed.
func TestCheckTextNeverCutsANameKillNeeds(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	id := "rogue_agent_with_a_very_long_type_name-101700-68f7a1"
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	python(t, `
o = load(sys.argv[1]); a = dict(o['agents'][0]); a['id'] = sys.argv[2]; a['tmux_session'] = 'agent_' + sys.argv[2]
a['status'] = 'running'; o['agents'].append(a); save(sys.argv[1], o)`, tw, id)
	r := agentwatch(t, "check", "--workspace", base, "--tmux-socket-path", "/nonexistent/sock")
	if r.code != 1 {
		t.Fatalf("check: exit %d, want 1 (findings)\n%s%s", r.code, r.stdout, r.stderr)
	}
	var ghost string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "ghost ") && strings.Contains(l, id[:20]) {
			ghost = l
		}
	}
	if ghost == "" || !strings.Contains(ghost, " "+id) || strings.Contains(r.stdout, "…") {
		t.Errorf("check does not print the ghost's id %s whole:\n%s", id, r.stdout)
	}
	if !strings.Contains(r.stdout, "(agent_"+id+")") {
		t.Errorf("check does not print the session agent_%s whole:\n%s", id, r.stdout)
	}
}

func TestFixturesAreHealthyAndRepairWritesNothing(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	before := snapshotFiles(t, base)
	// Let an mtime change be visible even on coarse file systems.
	time.Sleep(20 * time.Millisecond)

	if r := agentwatch(t, append([]string{"check", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
		t.Fatalf("check exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := agentwatch(t, append([]string{"repair", "--workspace", base, "--yes", "--json"}, liveFlags(t, base)...)...)
	if r.code != 0 {
		t.Fatalf("repair exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res repairJSON
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("repair --json: %v\n%s", err, r.stdout)
	}
	if len(res.Applied)+len(res.Skipped)+len(res.Failed) != 0 {
		t.Errorf("repair on healthy fixtures did something: %s", r.stdout)
	}
	after := snapshotFiles(t, base)
	if len(after) != len(before) {
		t.Errorf("got %d files after repair, want %d (no journal or new file may remain)", len(after), len(before))
	}
	for p, b := range before {
		a := after[p]
		if !bytes.Equal(a.data, b.data) || !a.mtime.Equal(b.mtime) {
			t.Errorf("%s changed: bytes equal %v, mtime %v → %v", p, bytes.Equal(a.data, b.data), b.mtime, a.mtime)
		}
	}
}

func TestCorruptRegistries(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(orig []byte) []byte
		// wantPos is the line and column check reports.
		wantPos string
		// mendable says restore can mend it without a backup.
		mendable bool
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, "", false},
		{"trailing garbage", func(b []byte) []byte { return append(b, []byte("\n  }\n}")...) }, "line 32 column 3", true},
		{"longer earlier version left behind", func(b []byte) []byte {
			return append(b[:len(b):len(b)], b[len(b)-200:]...)
		}, "line 31 column 2", true},
		{"empty", func([]byte) []byte { return nil }, "line 1 column 1", false},
		{"not JSON at all", func([]byte) []byte { return []byte("<html>502 Bad Gateway</html>\n") }, "line 1 column 1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sandbox(t)
			base := copyFixtures(t)
			path := filepath.Join(base, taskEmpty, "AGENT_REGISTRY.json")
			orig, _ := os.ReadFile(path)
			bad := tt.corrupt(orig)
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			out, code := checkJSONOf(t, base)
			if code != 1 || out.Summary["corrupt"] != 1 {
				t.Fatalf("check: exit %d summary %v, want exit 1 and one corrupt", code, out.Summary)
			}
			var f map[string]any
			for _, x := range out.Findings {
				if x["kind"] == "corrupt" {
					f = x
				}
			}
			msg, _ := f["error"].(string)
			if f["registry"] != path || !regexp.MustCompile(`line \d+ column \d+`).MatchString(msg) || !strings.Contains(msg, tt.wantPos) {
				t.Errorf("corrupt finding = %v, want registry %s and an error with %q", f, path, tt.wantPos)
			}

			if r := agentwatch(t, append([]string{"repair", "--yes", "--workspace", base}, liveFlags(t, base)...)...); r.code != 0 {
				t.Errorf("repair exit %d, want 0 (nothing it may touch)\n%s%s", r.code, r.stdout, r.stderr)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, bad) {
				t.Fatal("repair wrote a corrupt registry")
			}

			r := agentwatch(t, "restore", "--registry", path, "--yes")
			if !tt.mendable {
				if r.code != 2 || !strings.Contains(r.stderr, "nothing can mend it automatically") {
					t.Errorf("restore of an unmendable file: exit %d, want 2 and a plain refusal\n%s%s", r.code, r.stdout, r.stderr)
				}
				if got, _ := os.ReadFile(path); !bytes.Equal(got, bad) {
					t.Fatal("a failed restore wrote the file")
				}
				return
			}
			if r.code != 0 || !strings.Contains(r.stdout, "salvage") || !strings.Contains(r.stdout, "@@") {
				t.Fatalf("restore: exit %d, want 0 with a salvage diff\n%s%s", r.code, r.stdout, r.stderr)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, orig) {
				t.Errorf("restored file is not the complete document:\n%s", got)
			}
			// The corrupt bytes are kept in the backups, and undo says where
			// rather than write them back.
			r = agentwatch(t, "undo", "--yes")
			m := regexp.MustCompile(`kept in (\S+),`).FindStringSubmatch(r.stdout)
			if r.code != 1 || m == nil {
				t.Fatalf("undo of restore: exit %d, want 1 naming the backup\n%s%s", r.code, r.stdout, r.stderr)
			}
			if kept, err := os.ReadFile(m[1]); err != nil || !bytes.Equal(kept, bad) {
				t.Errorf("the backup %s does not hold the corrupt bytes (%v)", m[1], err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, orig) {
				t.Error("the refused undo wrote the file")
			}
		})
	}
}

func TestCheckSuggestsCommandsThatRunAsPrinted(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	tw := filepath.Join(base, taskWorking, "AGENT_REGISTRY.json")
	python(t, `o = load(sys.argv[1]); o['active_count'] = 9; save(sys.argv[1], o)`, tw)
	empty := filepath.Join(base, taskEmpty, "AGENT_REGISTRY.json")
	if err := os.WriteFile(empty, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := liveFlags(t, base)
	r := agentwatch(t, append([]string{"check", "--workspace", base}, flags...)...)
	want := []string{
		"agentwatch restore --registry " + empty,
		"agentwatch repair --dry-run --workspace " + base + " --tmux-socket-path " + flags[1],
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("check output lacks %q:\n%s", w, r.stdout)
		}
	}
}

func TestCheckWarnsOfAGivenServerThatIsNotRunning(t *testing.T) {
	sandbox(t)
	base := copyFixtures(t)
	missing := filepath.Join(t.TempDir(), "no-such-socket")
	r := agentwatch(t, "check", "--workspace", base, "--tmux-socket-path", missing)
	if want := "tmux -S " + missing + "  (given): no server running — if agents should be running on it, check the socket"; !strings.Contains(r.stdout, want) {
		t.Errorf("check output lacks %q:\n%s", want, r.stdout)
	}
}

// TestSilentErrorNamesTheServersThatDidNotAnswer: a server whose scan
// failed fails the check (after its report), named with its error, while
// it holds agents suspects; with no suspect, or no failed server, the
// check's findings decide.
func TestSilentErrorNamesTheServersThatDidNotAnswer(t *testing.T) {
	snap := &engine.Snapshot{Input: reconcile.Input{Live: &reconcile.Live{Servers: []reconcile.Server{
		{Socket: tmux.Socket{Path: "/tmp/ok"}, Snapshot: &tmux.Snapshot{Running: true}},
		{Socket: tmux.Socket{Name: "none"}, Snapshot: &tmux.Snapshot{}},
	}}}}
	suspect := reconcile.Report{Agents: []reconcile.AgentRow{{ID: "a", Judgement: reconcile.Judgement{Verdict: reconcile.VerdictOK}},
		{ID: "b", Judgement: reconcile.Judgement{Verdict: reconcile.VerdictSuspect}}}}
	if err := silentError(snap, suspect); err != nil {
		t.Errorf("no server failed: %v", err)
	}
	snap.Input.Live.Servers = append(snap.Input.Live.Servers,
		reconcile.Server{Socket: tmux.Socket{Path: "/tmp/stopped"}, Err: fmt.Errorf("tmux: %w", context.DeadlineExceeded)})
	if err := silentError(snap, suspect); err == nil || !strings.Contains(err.Error(), "tmux server -S /tmp/stopped (tmux: context deadline exceeded) gave no answer: 1 agent(s)") {
		t.Errorf("a stopped server, a suspect: %v", err)
	}
	if err := silentError(snap, reconcile.Report{Agents: suspect.Agents[:1]}); err != nil {
		t.Errorf("a stopped server, no suspect: %v", err)
	}
	if err := silentError(&engine.Snapshot{}, suspect); err != nil {
		t.Errorf("no live scan: %v", err)
	}
}

// check's findings line up in their columns whatever their kind, the
// longest (spawn_blocked) included.
func TestCheckTextColumnsHoldEveryKind(t *testing.T) {
	var b strings.Builder
	for _, k := range reconcile.FindingKinds {
		writeFinding(&b, string(k), "TASK-20261205-101500-5e1f2a3b", "detail")
	}
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if at := strings.Index(l, "TASK-"); at != kindWidth+1 {
			t.Errorf("the place starts at column %d, want %d: %q", at, kindWidth+1, l)
		}
	}
}

// A repair's plan names a registry by its directory, which comes from the
// file system: escaped like every outside string.
func TestOpLineEscapesTheRegistrysName(t *testing.T) {
	op := reconcile.Op{Op: reconcile.OpRecount, Kind: reconcile.KindTask, Registry: "/ws/.agent-workspace/TASK-\x1b]0;owned\x07\x1b[31m/AGENT_REGISTRY.json", Field: "active_count"}
	if line := opLine(op); strings.ContainsAny(line, "\x1b\x07") {
		t.Errorf("opLine = %q: a control character of the registry's name reaches the output", line)
	}
}
