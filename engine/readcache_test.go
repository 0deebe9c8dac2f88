package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"agentwatch/registry"
)

func TestReadCache(t *testing.T) {
	ctx := context.Background()
	store := &registry.Store{StateDir: t.TempDir(), ReadTimeout: 50 * time.Millisecond}
	old := time.Now().Add(-time.Hour)
	tests := []struct {
		name   string
		setup  func(t *testing.T, path string) // between the two reads
		fresh  bool                            // the file was written just now, before the first read
		shared bool                            // the second read is served from the cache
	}{
		{name: "unchanged and quiet", shared: true},
		{name: "written just before the first read", fresh: true},
		{name: "rewritten in place, same size", setup: func(t *testing.T, path string) {
			write(t, path, `{"active_count": 2}`)
		}},
		{name: "rewritten in place, modification time put back", setup: func(t *testing.T, path string) {
			write(t, path, `{"active_count": 3}`)
			if err := os.Chtimes(path, old, old.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "replaced by another file", setup: func(t *testing.T, path string) {
			other := path + ".new"
			write(t, other, `{"active_count": 1}`)
			if err := os.Chtimes(other, old, old); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "locked by a writer", setup: func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
		}},
		{name: "removed", setup: func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "AGENT_REGISTRY.json")
			write(t, path, `{"active_count": 1}`)
			if !tt.fresh {
				if err := os.Chtimes(path, old, old); err != nil {
					t.Fatal(err)
				}
			}
			c := newReadCache()
			first, err := c.read(ctx, store, path, false)
			if err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(t, path)
			}
			second, err := c.read(ctx, store, path, false)
			if tt.name == "locked by a writer" {
				if !errors.Is(err, registry.ErrLockBusy) {
					t.Fatalf("got %v reading a registry a writer holds locked, want ErrLockBusy", err)
				}
				return
			}
			if tt.name == "removed" {
				if err == nil {
					t.Fatalf("got no error reading a removed registry, want one")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := second.Root == first.Root; got != tt.shared {
				t.Errorf("second read served from the cache: got %v, want %v", got, tt.shared)
			}
			data, _ := os.ReadFile(path)
			if second.Hash != registry.HashBytes(data) {
				t.Errorf("got hash %s, want the file's %s", second.Hash, registry.HashBytes(data))
			}
		})
	}
}
