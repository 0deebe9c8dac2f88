package reconcile

import (
	"slices"
	"testing"
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
