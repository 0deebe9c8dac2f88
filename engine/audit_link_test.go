package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"agentwatch/registry"
)

// The audit log is never written through a link planted where it goes, nor
// into a state directory that is a link.
func TestAuditNeverFollowsALink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("untouched\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("a link in the log's place", func(t *testing.T) {
		state := filepath.Join(dir, "state")
		if err := os.Mkdir(state, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(state, "audit.jsonl")); err != nil {
			t.Fatal(err)
		}
		err := NewAudit(state).Append(context.Background(), Entry{Action: "repair", Result: "ok"})
		if err == nil {
			t.Error("got no error, want a refusal of the link")
		}
	})
	t.Run("a link in the state directory's place", func(t *testing.T) {
		other := t.TempDir()
		link := filepath.Join(dir, "state-link")
		if err := os.Symlink(other, link); err != nil {
			t.Fatal(err)
		}
		err := NewAudit(link).Append(context.Background(), Entry{Action: "repair", Result: "ok"})
		if !errors.Is(err, registry.ErrForeignFile) {
			t.Errorf("got %v, want an error matching registry.ErrForeignFile", err)
		}
		if _, err := os.Stat(filepath.Join(other, "audit.jsonl")); err == nil {
			t.Error("the log was written through the link")
		}
	})
	if b, _ := os.ReadFile(target); string(b) != "untouched\n" {
		t.Errorf("the link's target was written: %q", b)
	}
}
