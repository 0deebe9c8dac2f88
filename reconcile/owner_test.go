package reconcile

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"agentwatch/procscan"
)

func TestBasesNamedIn(t *testing.T) {
	const task = "/TASK-20261205-173221-188fc597"
	cases := []struct {
		name  string
		texts []string
		want  []string
	}{
		{"tee's argument", []string{"tee", "/p/.agent-workspace" + task + "/logs/a_stream.jsonl"}, []string{"/p/.agent-workspace"}},
		{"a quoted path inside a shell line, with spaces in it",
			[]string{"set -o pipefail; cd '/my proj' && cat '/my proj/.agent-workspace" + task + "/agent_prompt_a.txt' | claude | tee '/my proj/.agent-workspace" + task + "/logs/a_stream.jsonl'"},
			[]string{"/my proj/.agent-workspace"}},
		{"two bases, each once, in order", []string{"/a/ws" + task + "/x", "/b/ws" + task, "/a/ws" + task + "/y"}, []string{"/a/ws", "/b/ws"}},
		{"a relative path names nothing", []string{"ws" + task + "/logs/x"}, nil},
		{"a task name that is not one", []string{"/p/TASK-2026-bad/logs/x", "/p/TASK-20261205-173221-188fc59Z/x", "/p/TASK-20261205-173221-188fc5970/x"}, nil},
		{"at the very end", []string{"/p/w" + task}, []string{"/p/w"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := BasesNamedIn(tc.texts...); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// respelled is ps with every argument's from replaced by to.
func respelled(ps []*procscan.Proc, from, to string) []*procscan.Proc {
	out := make([]*procscan.Proc, len(ps))
	for i, p := range ps {
		c := *p
		c.Argv = slices.Clone(p.Argv)
		for j, a := range c.Argv {
			c.Argv[j] = strings.ReplaceAll(a, from, to)
		}
		out[i] = &c
	}
	return out
}

// withBase moves every registry of in from /ws to base.
func withBase(in Input, base string) Input {
	for i := range in.Registries {
		r := &in.Registries[i]
		r.Base, r.Path = base, strings.Replace(r.Path, "/ws", base, 1)
	}
	return in
}

// TestASessionIsItsAgentsUnlessItsLogProvesOtherwise: a session named
// after an agent is another workspace's only when it tees that agent's
// stream log under another base, and under none that is the agent's own.
func TestASessionIsItsAgentsUnlessItsLogProvesOtherwise(t *testing.T) {
	const other = "/home/op/other/.agent-workspace"
	t.Run("a pane that names another scanned base, but tees its log here", func(t *testing.T) {
		okPane, okProcs := agentPane("a-ok", 100)
		okProcs[0].Argv = []string{"sh", "-c", "cd /x && claude --add-dir " + other + "/" + taskB + "/findings ... | tee /ws/" + taskA + "/logs/a-ok_stream.jsonl"}
		in := liveWorld{agents: []agent{{id: "a-ok", status: "working"}}, sessions: []pane{okPane}, procs: okProcs}.input(t)
		in.Registries = append(in.Registries, Registry{Path: other + "/" + taskB + "/AGENT_REGISTRY.json", Kind: KindTask,
			TaskID: taskB, Base: other, Root: mustParse(t, `{"task_id": "`+taskB+`", "agents": []}`)})
		got := verdictsOf(Analyze(in))
		if got["session agent_a-ok"] != "ok" || got["agent a-ok"] != "ok" || got["pid 101"] != "ok" {
			t.Errorf("got %v, want the session, the agent and its claude ok", got)
		}
	})
	t.Run("the base spelled through a symbolic link", func(t *testing.T) {
		real := filepath.Join(t.TempDir(), "real")
		link := filepath.Join(t.TempDir(), "link")
		if err := os.MkdirAll(real, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		okPane, okProcs := agentPane("a-ok", 100)
		finPane, finProcs := agentPane("a-fin", 200)
		lw := liveWorld{agents: []agent{{id: "a-ok", status: "working"}, {id: "a-fin", status: "completed"}},
			sessions: []pane{okPane, finPane}, procs: respelled(append(okProcs, finProcs...), "/ws/", real+"/")}
		got := verdictsOf(Analyze(withBase(lw.input(t), link)))
		if got["agent a-ok"] != "ok" || got["session agent_a-fin"] != "leak finished_agent" {
			t.Errorf("got %v, want a-ok ok and a-fin's session a leak", got)
		}
	})
	t.Run("an id that tmux spells otherwise, active in the base its session names", func(t *testing.T) {
		const id = "v1.2-120000-abc123"
		p, ps := agentPane(id, 100)
		p.session = "agent_" + TmuxName(id)
		in := liveWorld{agents: []agent{{id: id, status: "completed"}}, sessions: []pane{p}, procs: respelled(ps, "/ws/"+taskA, other+"/"+taskB)}.input(t)
		in.Registries = append(in.Registries, Registry{Path: other + "/" + taskB + "/AGENT_REGISTRY.json", Kind: KindTask, TaskID: taskB, Base: other,
			Root: mustParse(t, `{"task_id": "`+taskB+`", "agents": [{"id": "`+id+`", "status": "working", "tmux_session": "agent_`+id+`", "started_at": "2025-10-30T01:01:01.000001"}]}`)})
		got := verdictsOf(Analyze(in))
		if got["session agent_v1_2-120000-abc123"] != "ok" || got["agent "+id] != "done" {
			t.Errorf("got %v, want the session ok (the other base's active agent) and this base's finished one done", got)
		}
	})
	t.Run("an escaped claude is the orphan of the base whose log it names", func(t *testing.T) {
		for _, named := range []string{"/ws/" + taskA, other + "/" + taskB} {
			in := liveWorld{agents: []agent{{id: "a-esc", status: "terminated"}}, procs: []*procscan.Proc{
				proc(230, 1, 230, "claude", "--print", "--append-system-prompt", "log to "+named+"/logs/a-esc_stream.jsonl")}}.input(t)
			in.Registries = append(in.Registries, Registry{Path: other + "/" + taskB + "/AGENT_REGISTRY.json", Kind: KindTask, TaskID: taskB, Base: other,
				Root: mustParse(t, `{"task_id": "`+taskB+`", "agents": [{"id": "a-esc", "status": "completed", "started_at": "2025-10-18T21:31:15.000001"}]}`)})
			if got := verdictsOf(Analyze(in)); got["pid 230"] != "leak orphan_process" {
				t.Errorf("naming %s: pid 230 is %q, want leak orphan_process", named, got["pid 230"])
			}
		}
	})
}
