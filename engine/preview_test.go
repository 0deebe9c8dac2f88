package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPreviewReadsTheLogTail: the first candidate that exists is read (the
// archive when logs/ has none), its last lines only, a cut first line
// dropped.
func TestPreviewReadsTheLogTail(t *testing.T) {
	dir := t.TempDir()
	archived := filepath.Join(dir, "archive", "a_stream.jsonl")
	if err := os.MkdirAll(filepath.Dir(archived), 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(strings.Repeat("x", previewTail)) // a long first line, cut by the tail
	for _, l := range []string{"one", "two", "three"} {
		b.WriteString("\n" + l)
	}
	b.WriteString("\n")
	if err := os.WriteFile(archived, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e := New(Config{})
	p := e.Preview(context.Background(), &Snapshot{}, PreviewRequest{Logs: []string{filepath.Join(dir, "logs", "a_stream.jsonl"), archived}, Lines: 2})
	if p.Log != archived || p.LogErr != nil || !slices.Equal(p.LogLines, []string{"two", "three"}) || p.LogModified.IsZero() {
		t.Errorf("got log %q lines %q err %v; want the archive's last two lines", p.Log, p.LogLines, p.LogErr)
	}
	p = e.Preview(context.Background(), &Snapshot{}, PreviewRequest{Logs: []string{archived}, Lines: 10})
	if slices.Contains(p.LogLines, strings.Repeat("x", 10)) || len(p.LogLines) != 3 {
		t.Errorf("the cut first line is kept: %d lines", len(p.LogLines))
	}
	p = e.Preview(context.Background(), &Snapshot{}, PreviewRequest{Server: "-S /nowhere", Pane: "%1"})
	if p.PaneErr == nil || p.Log != "" {
		t.Errorf("a pane of a server not scanned: err %v, log %q", p.PaneErr, p.Log)
	}
}
