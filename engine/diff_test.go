package engine

import (
	"strings"
	"testing"
)

// TestDiffKeepsLinesWhole removes one agent object from an array: the diff
// shows its lines removed, and the lines around it as context, not a
// shifted "[" removed and added again.
func TestDiffKeepsLinesWhole(t *testing.T) {
	entry := func(id string) string {
		return "    {\n      \"id\": \"" + id + "\",\n      \"status\": \"working\"\n    }"
	}
	doc := func(ids ...string) string {
		var es []string
		for _, id := range ids {
			es = append(es, entry(id))
		}
		return "{\n  \"task_id\": \"T\",\n  \"agents\": [\n" + strings.Join(es, ",\n") + "\n  ],\n  \"active_count\": 2\n}"
	}
	before, after := doc("a", "b", "c"), doc("a", "c")
	got := Diff("now", "after", []byte(before), []byte(after))
	var removed, added []string
	for _, l := range strings.Split(got, "\n")[2:] {
		switch {
		case strings.HasPrefix(l, "-"):
			removed = append(removed, l)
		case strings.HasPrefix(l, "+"):
			added = append(added, l)
		}
	}
	// Which four lines go is the LCS's choice ("b"'s object, or the same
	// lines shifted by one object); that they are four whole lines, and
	// nothing is added, is the point.
	if len(removed) != 4 || len(added) != 0 || strings.Count(got, "@@") != 2 || !strings.Contains(got, ",10 +") || !strings.Contains(got, ",6 @@") {
		t.Errorf("removing one object: got\n%s\nwant four lines removed, none added, in one hunk of 10 lines to 6", got)
	}
	if !strings.Contains(got, "-      \"id\": \"b\",\n") {
		t.Errorf("removing one object: the removed id is not shown:\n%s", got)
	}
	// A newline added at the end: the last line changed, and the diff says
	// which side had none.
	changed := strings.TrimSuffix(before, "}") + "}\n"
	if got := Diff("now", "after", []byte(before), []byte(changed)); !strings.HasSuffix(got, "-}\n\\ No newline at end of file\n+}\n") {
		t.Errorf("a change of the last line:\n%s", got)
	}
	// Texts that differ everywhere still diff, line against line.
	x, y := strings.Repeat("a\n", 2000), strings.Repeat("b\n", 2000)
	if got := Diff("x", "y", []byte(x), []byte(y)); strings.Count(got, "\n-a") != 2000 || strings.Count(got, "\n+b") != 2000 {
		t.Errorf("a whole-text change: %d lines removed, %d added, want 2000 and 2000", strings.Count(got, "\n-a"), strings.Count(got, "\n+b"))
	}
}
