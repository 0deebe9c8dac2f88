package engine

import (
	"fmt"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"github.com/aymanbagabas/go-udiff/lcs"
)

// Diff returns a unified diff of two texts, line by line, with three lines
// of context: the preview shown before a restore or an undo writes. Equal
// texts have an empty diff.
func Diff(oldName, newName string, a, b []byte) string {
	before, after := string(a), string(b)
	d, err := udiff.ToUnified(oldName, newName, before, lineEdits(before, after), udiff.DefaultContextLines)
	if err != nil {
		// Cannot happen: the edits are computed from before itself. Say
		// so rather than show a preview that hides the change.
		return fmt.Sprintf("--- %s\n+++ %s\n(no preview: %v)\n", oldName, newName, err)
	}
	return d
}

// lineEdits returns the edits from before to after in whole lines. The
// lines are matched as units (each distinct line is one symbol for the
// LCS), so an edit never starts inside a line that did not change: a
// removed array entry shows as its own lines, not as a shifted "[" removed
// and added.
func lineEdits(before, after string) []udiff.Edit {
	if before == after {
		return nil
	}
	symbol := map[string]rune{}
	symbols := func(lines []string) []rune {
		out := make([]rune, len(lines))
		for i, l := range lines {
			s, ok := symbol[l]
			if !ok {
				s = rune(len(symbol))
				symbol[l] = s
			}
			out[i] = s
		}
		return out
	}
	x, y := splitLines(before), splitLines(after)
	// offset[i] is the byte offset of line i of before.
	offset := make([]int, len(x)+1)
	for i, l := range x {
		offset[i+1] = offset[i] + len(l)
	}
	diffs := lcs.DiffRunes(symbols(x), symbols(y))
	edits := make([]udiff.Edit, len(diffs))
	for i, d := range diffs {
		edits[i] = udiff.Edit{Start: offset[d.Start], End: offset[d.End], New: strings.Join(y[d.ReplStart:d.ReplEnd], "")}
	}
	return edits
}

// splitLines cuts s after each newline; a last line without one is kept.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
