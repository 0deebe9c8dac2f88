package registry

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"agentwatch/registry/pyjson"
)

func TestTimestampsMatchPythonIsoformat(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed; it is the oracle for timestamps")
	}
	times := []time.Time{
		time.Date(2025, 10, 17, 21, 56, 42, 112319000, time.Local),
		time.Date(2025, 10, 17, 21, 56, 42, 0, time.Local),         // isoformat drops zero microseconds
		time.Date(2025, 1, 2, 3, 4, 5, 1000, time.Local),           // leading zeros
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.Local), // nanoseconds truncate to microseconds
	}
	var args []string
	for _, tm := range times {
		args = append(args, tm.Format("2006 1 2 15 4 5")+" "+strings.TrimLeft(tm.Format(".000000"), ".0"))
	}
	script := `import sys, datetime
for a in sys.argv[1:]:
    y, mo, d, h, mi, s, us = (a.split() + ['0'])[:7]
    print(datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), int(us or 0)).isoformat())`
	out, err := exec.Command("python3", append([]string{"-c", script}, args...)...).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, tm := range times {
		got := FormatTimestamp(tm)
		if got != want[i] {
			t.Errorf("FormatTimestamp(%v) = %q, want python's %q", tm, got, want[i])
		}
		back, err := ParseTimestamp(got)
		if err != nil || !back.Equal(tm.Truncate(time.Microsecond)) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", got, back, err, tm.Truncate(time.Microsecond))
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"2025-10-17T21:56:42.112319", time.Date(2025, 10, 17, 21, 56, 42, 112319000, time.Local), false},
		{"2025-10-17T21:56:42", time.Date(2025, 10, 17, 21, 56, 42, 0, time.Local), false},
		{"2025-10-17T21:56:42.5", time.Date(2025, 10, 17, 21, 56, 42, 500000000, time.Local), false},
		{"2025-10-17T21:56:42.112319+02:00", time.Date(2025, 10, 17, 19, 56, 42, 112319000, time.UTC), false},
		{"", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTimestamp(tt.in)
			if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
				t.Errorf("got %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestStatusSets(t *testing.T) {
	def := DefaultStatusSets()
	for status, want := range map[string]StatusClass{
		"running": StatusActive, "working": StatusActive, "blocked": StatusActive, "reviewing": StatusActive,
		"completed": StatusTerminal, "terminated": StatusTerminal, "error": StatusTerminal, "failed": StatusTerminal,
		"killed": StatusTerminal, "phase_completed": StatusTerminal,
		"paused": StatusUnknown, "": StatusUnknown, "Working": StatusUnknown,
	} {
		if got := def.Classify(status); got != want {
			t.Errorf("Classify(%q) = %s, want %s", status, got, want)
		}
	}
	custom := StatusSets{Active: []string{"paused"}, Terminal: []string{"done"}}
	if custom.Classify("paused") != StatusActive || custom.Classify("working") != StatusUnknown || custom.Classify("done") != StatusTerminal {
		t.Error("configured sets are not used")
	}
	for status, want := range map[string]bool{"ARCHIVED": true, "COMPLETED": true, "FAILED": true, "CANCELLED": true, "INITIALIZED": false, "ACTIVE": false} {
		if got := def.TaskDone(status); got != want {
			t.Errorf("TaskDone(%q) = %v, want %v", status, got, want)
		}
	}
}

func TestViewsOverFixtures(t *testing.T) {
	dir := filepath.Join("..", "testdata", "orchestrator-2025-10", ".agent-workspace")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the fixtures are missing from the repository: %v", err)
	}
	read := func(rel string) *pyjson.Value {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		v, err := pyjson.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	g, err := NewGlobalFile(read("registry/GLOBAL_REGISTRY.json"))
	if err != nil {
		t.Fatal(err)
	}
	agents := g.Agents()
	if len(agents) != 27 || len(g.Tasks()) != 5 {
		t.Fatalf("global: got %d agents and %d tasks, want 27 and 5", len(agents), len(g.Tasks()))
	}
	var planner Agent
	for _, a := range agents {
		if a.ID == "jsonl_architecture_planner-215640-c3f469" {
			planner = a
		}
	}
	if planner.Status != "working" || !planner.HasStatus || planner.TaskID != "TASK-20251017-215604-df6a3cbd" ||
		planner.Session() != "agent_jsonl_architecture_planner-215640-c3f469" || planner.Index != -1 {
		t.Errorf("global planner entry = %+v", planner)
	}
	if ts, ok := planner.Started(); !ok || ts.Nanosecond() != 112319000 {
		t.Errorf("started_at parsed as %v, %v", ts, ok)
	}

	tf, err := NewTaskFile(read("TASK-20251017-215604-df6a3cbd/AGENT_REGISTRY.json"))
	if err != nil {
		t.Fatal(err)
	}
	tas := tf.Agents()
	if tf.ID() != "TASK-20251017-215604-df6a3cbd" || len(tas) != 13 || tas[1].Status != "working" || tas[1].Index != 1 || tas[1].TaskID != tf.ID() {
		t.Errorf("task view: id %q, %d agents, second %+v", tf.ID(), len(tas), tas[1])
	}
	if c, ok := tf.Counter("active_count"); !ok || !c.OK || c.Value != 1 {
		t.Errorf("active_count = %+v, %v", c, ok)
	}
	if got, want := StreamLogPath("/b/TASK-x/AGENT_REGISTRY.json", "a-1"), "/b/TASK-x/logs/a-1_stream.jsonl"; got != want {
		t.Errorf("StreamLogPath = %q, want %q", got, want)
	}
}

func TestViewsRejectWrongShapes(t *testing.T) {
	tests := []struct {
		name, doc string
		global    bool
		wantErr   string
	}{
		{"task is an array", `[]`, false, "task registry is a JSON array, want an object"},
		{"task agents is an object", `{"agents": {}}`, false, `"agents" is a JSON object, want an array`},
		{"task agent is a string", `{"agents": ["x"]}`, false, "agents[0] is a JSON string"},
		{"global agents is an array", `{"agents": []}`, true, `"agents" is a JSON array, want an object keyed by id`},
		{"global task is a number", `{"tasks": {"T": 1}}`, true, `tasks["T"] is a JSON number`},
		{"task without agents is fine", `{"task_id": "T"}`, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := pyjson.Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if tt.global {
				_, err = NewGlobalFile(v)
			} else {
				_, err = NewTaskFile(v)
			}
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("got error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestNaiveISOAgreesWithLayouts holds the fast path of ParseTimestamp to
// time's layouts: whatever it takes, they take, at the same instant, and
// the orchestrator's own shapes it always takes.
func TestNaiveISOAgreesWithLayouts(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	for i := range 20000 {
		s := pick("2025", "1999", "0000", "20x5", "202") + pick("-", "/") + pick("01", "02", "12", "13", "00", "1") + "-" +
			pick("01", "28", "29", "30", "31", "32", "00") + pick("T", "T", " ", "t") + pick("00", "23", "24", "9") + ":" +
			pick("00", "59", "60") + ":" + pick("00", "59", "60", "5") + pick("", "", ".5", ".112319", ".1123190", ".", ".12a", "Z", "+02:00")
		fast, ok := parseNaiveISO(s)
		slow, err := parseTimestampLayouts(s)
		if ok && (err != nil || !fast.Equal(slow) || fast.Location() != slow.Location()) {
			t.Fatalf("%d: %q: fast path %v, layouts %v (%v)", i, s, fast, slow, err)
		}
	}
	for _, s := range []string{"2025-10-17T21:56:39.948962", "2025-10-17T21:56:39", "2024-02-29T00:00:00.000001", "2025-10-17T21:56:39.5"} {
		if _, ok := parseNaiveISO(s); !ok {
			t.Errorf("the fast path leaves %q to the layouts", s)
		}
	}
}

func BenchmarkParseTimestamp(b *testing.B) {
	for b.Loop() {
		if _, err := ParseTimestamp("2025-10-17T21:56:39.948962"); err != nil {
			b.Fatal(err)
		}
	}
}
