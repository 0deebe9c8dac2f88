package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"agentwatch/internal/pyscript"
	"agentwatch/registry/pyjson"

	"github.com/gofrs/flock"
)

// sampleRegistry is a small global registry as the orchestrator writes it.
const sampleRegistry = `{
  "created_at": "2025-10-17T21:35:12.210818",
  "total_tasks": 1,
  "active_tasks": 1,
  "total_agents_spawned": 2,
  "active_agents": 2,
  "tasks": {
    "TASK-20251017-215604-df6a3cbd": {
      "description": "Implement persistent JSONL stream logs",
      "created_at": "2025-10-17T21:56:04.181762",
      "status": "INITIALIZED"
    }
  },
  "agents": {
    "planner-215642-c3f469": {
      "task_id": "TASK-20251017-215604-df6a3cbd",
      "type": "planner",
      "parent": "orchestrator",
      "started_at": "2025-10-17T21:56:42.112319",
      "tmux_session": "agent_planner-215642-c3f469"
    },
    "builder-215700-0a1b2c": {
      "task_id": "TASK-20251017-215604-df6a3cbd",
      "type": "builder",
      "parent": "planner-215642-c3f469",
      "started_at": "2025-10-17T21:57:00.000001",
      "tmux_session": "agent_builder-215700-0a1b2c",
      "status": "running",
      "note": "caf\u00e9 \ud83d\ude00"
    }
  }
}`

// oldTime is set as a registry's mtime so that any write shows.
var oldTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// newRegistry writes content as GLOBAL_REGISTRY.json in a fresh directory,
// with an old mtime, and returns its path.
func newRegistry(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "GLOBAL_REGISTRY.json")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, oldTime, oldTime); err != nil {
		t.Fatal(err)
	}
	return path
}

func newStore(t *testing.T) *Store {
	return &Store{StateDir: t.TempDir()}
}

// setKey is a change that sets one top-level key to an integer.
func setKey(key string, n int64) TransformFunc {
	return func(cur *Snapshot) (Change, error) {
		cur.Root.Set(key, pyjson.NewInt(n))
		return Write(pyjson.Encode(cur.Root)), nil
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mtime(t *testing.T, path string) time.Time {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}

func assertNoJournal(t *testing.T, registry string) {
	t.Helper()
	if _, err := os.Stat(registry + JournalSuffix); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("journal %s: got stat error %v, want it gone", registry+JournalSuffix, err)
	}
}

func TestUpdateWithoutChangeWritesNothing(t *testing.T) {
	cases := []struct {
		name   string
		change TransformFunc
	}{
		{"nil", func(*Snapshot) (Change, error) { return Keep(), nil }},
		{"same bytes", func(cur *Snapshot) (Change, error) { return Write(bytes.Clone(cur.Data)), nil }},
		{"re-encoded", func(cur *Snapshot) (Change, error) { return Write(pyjson.Encode(cur.Root)), nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := newRegistry(t, sampleRegistry)
			s := newStore(t)
			c, err := s.Transform(context.Background(), path, tc.change)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if c.Changed || c.Backup != "" || c.OldHash != c.NewHash {
				t.Errorf("got Commit{Changed: %v, Backup: %q, OldHash == NewHash: %v}, want no change",
					c.Changed, c.Backup, c.OldHash == c.NewHash)
			}
			if got := readFile(t, path); string(got) != sampleRegistry {
				t.Errorf("got bytes %q, want them untouched", got)
			}
			if got := mtime(t, path); !got.Equal(oldTime) {
				t.Errorf("got mtime %v, want it untouched at %v", got, oldTime)
			}
			if b, _ := s.Backups(context.Background(), path); len(b) != 0 {
				t.Errorf("got %d backups, want none", len(b))
			}
			assertNoJournal(t, path)
		})
	}
}

func TestUpdateRewritesInPlace(t *testing.T) {
	path := newRegistry(t, sampleRegistry)
	link := path + ".hardlink"
	if err := os.Link(path, link); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// A descriptor opened before the update, as a Python writer holds one.
	early, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()

	s := newStore(t)
	c, err := s.Transform(context.Background(), path, setKey("repaired", 1))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Errorf("got a new inode after Update, want the same file rewritten in place")
	}
	want, _ := pyjson.Parse([]byte(sampleRegistry))
	want.Set("repaired", pyjson.NewInt(1))
	wantBytes := pyjson.Encode(want)
	for name, got := range map[string][]byte{
		"path":             readFile(t, path),
		"hard link":        readFile(t, link),
		"early descriptor": must(io.ReadAll(early)),
	} {
		if !bytes.Equal(got, wantBytes) {
			t.Errorf("%s: got %q, want %q", name, got, wantBytes)
		}
	}
	if !c.Changed || c.OldHash != HashBytes([]byte(sampleRegistry)) || c.NewHash != HashBytes(wantBytes) {
		t.Errorf("got Commit{Changed: %v, OldHash: %s, NewHash: %s}, want a change from %s to %s",
			c.Changed, c.OldHash, c.NewHash, HashBytes([]byte(sampleRegistry)), HashBytes(wantBytes))
	}
	if got := readFile(t, c.Backup); string(got) != sampleRegistry {
		t.Errorf("backup %s: got %q, want the old bytes", c.Backup, got)
	}
	if c.LockHeld <= 0 {
		t.Errorf("got LockHeld %v, want > 0", c.LockHeld)
	}
	assertNoJournal(t, path)
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("got %v beside the registry, want only the registry and its hard link", names)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestUpdateThroughSymlinkKeepsLinkAndJournalsBesideTarget(t *testing.T) {
	path := newRegistry(t, sampleRegistry)
	link := filepath.Join(t.TempDir(), "via-link.json")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	if _, err := s.Transform(context.Background(), link, setKey("x", 1)); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("got %v, %v for the link, want it still a symlink", fi, err)
	}
	viaLink, _ := s.Backups(context.Background(), link)
	viaTarget, _ := s.Backups(context.Background(), path)
	if len(viaLink) != 1 || len(viaTarget) != 1 || viaLink[0] != viaTarget[0] {
		t.Errorf("got backups %v via the link and %v via the target, want the same one", viaLink, viaTarget)
	}
}

func TestUpdateKeepsLast20Backups(t *testing.T) {
	path := newRegistry(t, sampleRegistry)
	s := newStore(t)
	var before []string // hash of the bytes before each update
	for i := range 25 {
		c, err := s.Transform(context.Background(), path, setKey("round", int64(i)))
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
		before = append(before, c.OldHash)
	}
	backups, err := s.Backups(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(backups) != keepBackups {
		t.Fatalf("got %d backups, want %d", len(backups), keepBackups)
	}
	for i, b := range backups {
		want := before[len(before)-1-i] // newest first
		if b.Hash != want {
			t.Errorf("backup %d: got hash %s, want %s", i, b.Hash, want)
		}
		if got := HashBytes(readFile(t, b.Path)); got != b.Hash {
			t.Errorf("backup %d: got content hash %s, want %s", i, got, b.Hash)
		}
		if b.Registry != path {
			t.Errorf("backup %d: got registry %s, want %s", i, b.Registry, path)
		}
		if i > 0 && !b.Time.Before(backups[i-1].Time) {
			t.Errorf("backup %d: got time %v not before %v, want newest first", i, b.Time, backups[i-1].Time)
		}
	}
	dir := filepath.Dir(backups[0].Path)
	if got := string(readFile(t, filepath.Join(dir, backupRecordName))); got != path+"\n" {
		t.Errorf("got record %q, want %q", got, path+"\n")
	}
	if !strings.HasPrefix(filepath.Base(dir), filepath.Base(filepath.Dir(path))+"_GLOBAL_REGISTRY.json-") {
		t.Errorf("got backup directory %s, want it named after the registry", dir)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != keepBackups+1 {
		t.Errorf("got %d files in %s, want %d backups and the record", len(entries), dir, keepBackups)
	}
}

func TestMissingRegistryIsAnErrorAndNotCreated(t *testing.T) {
	cases := []struct {
		name string
		call func(s *Store, path string) error
	}{
		{"Read", func(s *Store, path string) error {
			_, err := s.Read(context.Background(), path)
			return err
		}},
		{"Update", func(s *Store, path string) error {
			_, err := s.Transform(context.Background(), path, func(*Snapshot) (Change, error) {
				return Keep(), errors.New("change called for a missing registry")
			})
			return err
		}},
		{"Update AllowCorrupt", func(s *Store, path string) error {
			_, err := s.TransformCorrupt(context.Background(), path, func(*Snapshot) (Change, error) {
				return Write([]byte("{}")), nil
			})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "AGENT_REGISTRY.json")
			err := tc.call(newStore(t), path)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("got error %v, want one matching fs.ErrNotExist", err)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("got error %q, want it to name %s", err, path)
			}
			if _, serr := os.Stat(path); !errors.Is(serr, fs.ErrNotExist) {
				t.Errorf("got %v statting the registry, want it still missing", serr)
			}
			assertNoJournal(t, path)
		})
	}
}

func TestCorruptRegistryIsNotWritten(t *testing.T) {
	const corrupt = "{\n  \"agents\": {\n    \"a\": 1,,\n  }\n}"
	path := newRegistry(t, corrupt)
	s := newStore(t)
	called := false
	c, err := s.Transform(context.Background(), path, func(*Snapshot) (Change, error) {
		called = true
		return Write([]byte("{}")), nil
	})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got error %v, want ErrCorrupt", err)
	}
	var ce *CorruptError
	var se *pyjson.SyntaxError
	if !errors.As(err, &ce) || !errors.As(err, &se) {
		t.Fatalf("got %T, want a *CorruptError wrapping a *SyntaxError", err)
	}
	if ce.Path != path || se.Line != 3 || se.Column != 12 {
		t.Errorf("got path %s line %d column %d, want %s line 3 column 12", ce.Path, se.Line, se.Column, path)
	}
	if called {
		t.Errorf("change was called for a corrupt registry, want it not called")
	}
	if c == nil || c.Changed {
		t.Errorf("got Commit %+v, want one that changed nothing", c)
	}
	if got := readFile(t, path); string(got) != corrupt {
		t.Errorf("got %q, want the corrupt bytes untouched", got)
	}
	if got := mtime(t, path); !got.Equal(oldTime) {
		t.Errorf("got mtime %v, want it untouched", got)
	}
	if b, _ := s.Backups(context.Background(), path); len(b) != 0 {
		t.Errorf("got %d backups, want none", len(b))
	}

	snap, err := s.Read(context.Background(), path)
	if !errors.As(err, &ce) || snap == nil || snap.ParseErr == nil || snap.Root != nil || string(snap.Data) != corrupt {
		t.Fatalf("Read: got %+v, %v; want the snapshot with ParseErr and a *CorruptError", snap, err)
	}

	// restore's way: AllowCorrupt lets the change see and replace the bytes,
	// and the corrupt bytes are kept as a backup.
	var seen *Snapshot
	c, err = s.TransformCorrupt(context.Background(), path, func(cur *Snapshot) (Change, error) {
		seen = cur
		return Write([]byte(sampleRegistry)), nil
	})
	if err != nil {
		t.Fatalf("Update AllowCorrupt: %v", err)
	}
	if seen == nil || seen.Root != nil || seen.ParseErr == nil {
		t.Errorf("change saw %+v, want Root nil and ParseErr set", seen)
	}
	if got := readFile(t, path); string(got) != sampleRegistry {
		t.Errorf("got %q, want the restored bytes", got)
	}
	if got := readFile(t, c.Backup); string(got) != corrupt {
		t.Errorf("got backup %q, want the corrupt bytes", got)
	}
}

func TestUpdateRefusesNewBytesThatDoNotParse(t *testing.T) {
	path := newRegistry(t, sampleRegistry)
	_, err := newStore(t).Transform(context.Background(), path, func(*Snapshot) (Change, error) {
		return Write([]byte(`{"a": `)), nil
	})
	var se *pyjson.SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("got %v, want a *SyntaxError", err)
	}
	if got := readFile(t, path); string(got) != sampleRegistry {
		t.Errorf("got %q, want the registry untouched", got)
	}
}

func TestReadRetriesATornRead(t *testing.T) {
	const torn = `{"agents": {"a"`
	cases := []struct {
		name        string
		fixMeantime bool // an unlocked writer finishes between the two reads
		wantCorrupt bool
	}{
		{"writer finishes", true, false},
		{"stays corrupt", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := newRegistry(t, torn)
			retried := false
			start := time.Now()
			snap, err := newStore(t).read(context.Background(), path, func() {
				retried = true
				if tc.fixMeantime {
					if err := os.WriteFile(path, []byte(sampleRegistry), 0o644); err != nil {
						t.Error(err)
					}
				}
			})
			if !retried {
				t.Errorf("got no retry, want one")
			}
			if d := time.Since(start); d < tornReadRetry {
				t.Errorf("got the retry after %v, want it after %v", d, tornReadRetry)
			}
			if got := errors.Is(err, ErrCorrupt); got != tc.wantCorrupt {
				t.Errorf("got corrupt %v (%v), want %v", got, err, tc.wantCorrupt)
			}
			if !tc.wantCorrupt && (snap == nil || snap.Root == nil || string(snap.Data) != sampleRegistry) {
				t.Errorf("got snapshot %+v, want the finished bytes parsed", snap)
			}
		})
	}
}

func TestReadSnapshot(t *testing.T) {
	path := newRegistry(t, sampleRegistry)
	snap, err := newStore(t).Read(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Path != path || string(snap.Data) != sampleRegistry || snap.Hash != HashBytes([]byte(sampleRegistry)) ||
		!snap.ModTime.Equal(oldTime) || snap.Root.Get("agents").Len() != 2 {
		t.Errorf("got %+v, want the registry's path, bytes, hash, mtime and document", snap)
	}
}

// TestJournalRecovery drives each rule of recovery with a journal as a crash
// would leave it, and with the backup of the old bytes that the transaction
// saved before its journal, or without it.
func TestJournalRecovery(t *testing.T) {
	// grow's change is near the front, so that half written it does not
	// parse; same's half-written file does.
	oldBytes, newBytes := crashContent(t, "grow")
	_, sameBytes := crashContent(t, "same")
	other, _ := pyjson.Parse(oldBytes)
	other.Set("python_wrote_this", pyjson.NewInt(7))
	otherBytes := pyjson.Encode(other)
	splice := func(next []byte, k int) []byte {
		return append(bytes.Clone(next[:k]), oldBytes[min(k, len(oldBytes)):]...)
	}
	half := splice(newBytes, len(newBytes)/2)
	sameHalf := splice(sameBytes, len(sameBytes)/2)

	journal := func(next []byte) []byte {
		return encodeJournal(&Journal{Registry: "r", OldHash: HashBytes(oldBytes), NewHash: HashBytes(next), Data: next})
	}
	whole := journal(newBytes)
	cases := []struct {
		name      string
		registry  []byte
		journal   []byte
		oldBackup bool // the transaction's backup of oldBytes is there
		want      []byte
		recovered string
	}{
		{"torn journal", oldBytes, whole[:len(whole)-10], true, oldBytes, recoveredTorn},
		{"torn journal, header only", oldBytes, whole[:60], true, oldBytes, recoveredTorn},
		{"empty journal", oldBytes, nil, true, oldBytes, recoveredTorn},
		{"registry is the new bytes", newBytes, whole, true, newBytes, recoveredDone},
		{"registry is the old bytes", oldBytes, whole, true, oldBytes, recoveredNotStarted},
		{"registry is the old bytes, no backup", oldBytes, whole, false, oldBytes, recoveredNotStarted},
		{"registry torn mid-write", half, whole, true, newBytes, recoveredFinished},
		{"registry torn mid-write, six bytes in (and it parses)", splice(newBytes, 6), whole, true, newBytes, recoveredFinished},
		{"registry half written and parses", sameHalf, journal(sameBytes), true, sameBytes, recoveredFinished},
		{"registry changed by another writer", otherBytes, whole, true, otherBytes, recoveredForeign},
		// Without the old bytes our own write cannot be proven.
		{"registry half written and parses, no backup", sameHalf, journal(sameBytes), false, sameHalf, recoveredForeign},
		// Not parsing and not provably ours: nothing is written and the
		// journal is kept (Transform then reports a *CorruptError).
		{"registry torn mid-write, no backup", half, whole, false, half, recoveredKept},
		{"registry empty", nil, whole, true, nil, recoveredKept},
		{"registry torn by another writer", otherBytes[:len(otherBytes)/2], whole, true, otherBytes[:len(otherBytes)/2], recoveredKept},
		{"registry torn mid-write, then its tail torn by another writer", half[:len(half)-5], whole, true, half[:len(half)-5], recoveredKept},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := newRegistry(t, string(tc.registry))
			if err := os.WriteFile(path+JournalSuffix, tc.journal, 0o644); err != nil {
				t.Fatal(err)
			}
			s := newStore(t)
			if tc.oldBackup {
				if _, err := s.saveBackup(must(resolve(path)), oldBytes, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			kept := tc.recovered == recoveredKept
			called := false
			c, err := s.Transform(ctx, path, func(cur *Snapshot) (Change, error) {
				called = true
				if !bytes.Equal(cur.Data, tc.want) {
					t.Errorf("change saw %q, want the recovered bytes", cur.Data)
				}
				return Keep(), nil
			})
			var ce *CorruptError
			switch {
			case kept && (!errors.As(err, &ce) || ce.Journal != path+JournalSuffix):
				t.Errorf("got error %v, want a *CorruptError naming the kept journal", err)
			case !kept && err != nil:
				t.Fatalf("Update: %v", err)
			}
			if called == kept {
				t.Errorf("got change called %v, want %v", called, !kept)
			}
			if c.Recovered != tc.recovered {
				t.Errorf("got Recovered %q, want %q", c.Recovered, tc.recovered)
			}
			if got := readFile(t, path); !bytes.Equal(got, tc.want) {
				t.Errorf("got registry %q, want %q", got, tc.want)
			}
			if kept {
				if j, err := ReadJournal(ctx, path); err != nil || !bytes.Equal(j.Data, newBytes) {
					t.Errorf("ReadJournal: got %v, want the kept journal's new bytes", err)
				}
			} else {
				assertNoJournal(t, path)
			}
			var want []string
			if tc.recovered == recoveredFinished {
				want = append(want, HashBytes(tc.registry)) // the torn bytes are kept too
			}
			if tc.oldBackup {
				want = append(want, HashBytes(oldBytes))
			}
			backups, _ := s.Backups(ctx, path)
			var got []string
			for _, b := range backups {
				got = append(got, b.Hash)
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("got backups %v, want %v", got, want)
			}
		})
	}
}

// TestJournalRecoveryRereadsATornRegistry checks that recovery reads a
// registry that does not parse again after tornReadRetry before it judges
// it: an unlocked writer may have been caught mid-write.
func TestJournalRecoveryRereadsATornRegistry(t *testing.T) {
	oldBytes, newBytes := crashContent(t, "grow")
	other, _ := pyjson.Parse(oldBytes)
	other.Set("careless_edits", pyjson.NewInt(1))
	otherBytes := pyjson.Encode(other)
	half := append(bytes.Clone(newBytes[:len(newBytes)/2]), oldBytes[len(newBytes)/2:]...)
	cases := []struct {
		name      string
		registry  []byte
		meantime  []byte // what an unlocked writer leaves before the second read; nil: nothing
		want      []byte
		recovered string
	}{
		{"writer finishes", otherBytes[:100], otherBytes, otherBytes, recoveredForeign},
		{"stays torn", otherBytes[:100], nil, otherBytes[:100], recoveredKept},
		{"our torn write", half, nil, newBytes, recoveredFinished},
		{"writer puts back the old bytes", otherBytes[:100], oldBytes, oldBytes, recoveredNotStarted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := newRegistry(t, string(tc.registry))
			j := &Journal{Registry: "r", OldHash: HashBytes(oldBytes), NewHash: HashBytes(newBytes), Data: newBytes}
			if err := os.WriteFile(path+JournalSuffix, encodeJournal(j), 0o644); err != nil {
				t.Fatal(err)
			}
			s := newStore(t)
			if _, err := s.saveBackup(must(resolve(path)), oldBytes, time.Now()); err != nil {
				t.Fatal(err)
			}
			retried := false
			start := time.Now()
			c, _ := s.update(context.Background(), path, txOptions{}, func(*Snapshot) (Change, error) { return Keep(), nil }, func() {
				retried = true
				if tc.meantime != nil {
					if err := os.WriteFile(path, tc.meantime, 0o644); err != nil {
						t.Error(err)
					}
				}
			})
			if !retried {
				t.Errorf("got no second read, want one")
			}
			if d := time.Since(start); d < tornReadRetry {
				t.Errorf("got the second read after %v, want it after %v", d, tornReadRetry)
			}
			if c.Recovered != tc.recovered {
				t.Errorf("got Recovered %q, want %q", c.Recovered, tc.recovered)
			}
			if got := readFile(t, path); !bytes.Equal(got, tc.want) {
				t.Errorf("got registry %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOurTornWrite checks the test of what an interrupted writeInPlace can
// leave against every cut of a growing, a shrinking and a same-length write.
func TestOurTornWrite(t *testing.T) {
	old := []byte(`{"a": 1, "b": 2}`)
	for _, next := range [][]byte{[]byte(`{"a": 1, "b": 2, "c": 3}`), []byte(`{"b": 2}`), []byte(`{"a": 5, "b": 6}`)} {
		for k := range len(next) + 1 {
			cur := append(bytes.Clone(next[:k]), old[min(k, len(old)):]...)
			if !ourTornWrite(cur, old, next) {
				t.Errorf("next %s cut at %d: got %q not ours, want ours", next, k, cur)
			}
		}
	}
	next := []byte(`{"a": 1, "b": 2, "c": 3}`)
	cases := []struct {
		name string
		cur  string
	}{
		{"empty", ""},
		{"shorter than old", `{"a": 1}`},
		{"longer than both", `{"a": 1, "b": 2, "c": 3}  `},
		{"another document of old's length", `{"a": 7, "b": 2}`},
		{"new bytes, then not old's tail", `{"a": 1, "b": 2, "X`},
		{"old's tail after a byte that is not new's", `{"a": 1, "b"X 2}`},
		{"past old's end, not new's bytes", `{"a": 1, "b": 2, "d"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if ourTornWrite([]byte(tc.cur), old, next) {
				t.Errorf("got %q ours, want not ours", tc.cur)
			}
		})
	}
}

func TestCorruptErrorNamesAKeptJournal(t *testing.T) {
	se := &pyjson.SyntaxError{Msg: "Expecting value", Line: 1, Column: 1}
	plain := &CorruptError{Path: "/r/GLOBAL_REGISTRY.json", Err: se}
	if got := plain.Error(); strings.Contains(got, "journal") {
		t.Errorf("got %q, want no word of a journal", got)
	}
	kept := &CorruptError{Path: "/r/GLOBAL_REGISTRY.json", Err: se, Journal: "/r/GLOBAL_REGISTRY.json" + JournalSuffix}
	got := kept.Error()
	for _, want := range []string{
		"registry /r/GLOBAL_REGISTRY.json does not parse",
		"another writer tore it after agentwatch's interrupted write",
		"wrote nothing and kept its journal /r/GLOBAL_REGISTRY.json.agentwatch-journal",
		"`agentwatch restore --registry /r/GLOBAL_REGISTRY.json`",
		"journal|salvage|backup",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("got %q, want it to say %q", got, want)
		}
	}
	if !errors.Is(kept, ErrCorrupt) {
		t.Errorf("got errors.Is(ErrCorrupt) false, want true")
	}
}

func TestJournalDetectsEveryTear(t *testing.T) {
	data := []byte(sampleRegistry)
	j := &Journal{Registry: "/w/GLOBAL_REGISTRY.json", OldHash: HashBytes([]byte("{}")), NewHash: HashBytes(data), Data: data}
	raw := encodeJournal(j)
	got, err := decodeJournal(raw)
	if err != nil {
		t.Fatalf("whole journal: %v", err)
	}
	if got.Registry != j.Registry || got.OldHash != j.OldHash || got.NewHash != j.NewHash || !bytes.Equal(got.Data, data) {
		t.Errorf("got %+v, want %+v", got, j)
	}
	for n := range len(raw) {
		if _, err := decodeJournal(raw[:n]); !errors.Is(err, errTornJournal) {
			t.Fatalf("journal cut at %d of %d bytes: got %v, want errTornJournal", n, len(raw), err)
		}
	}
	for _, at := range []int{0, 30, len(raw) / 2, len(raw) - 20} {
		bad := bytes.Clone(raw)
		bad[at] ^= 0x20
		if _, err := decodeJournal(bad); !errors.Is(err, errTornJournal) {
			t.Errorf("journal with byte %d flipped: got %v, want errTornJournal", at, err)
		}
	}
}

func TestLockBusyErrorMessage(t *testing.T) {
	cases := []struct {
		err  LockBusyError
		want string
	}{
		{LockBusyError{Path: "/x/y.json", PID: 1234, Command: "python3", Waited: 10*time.Second + 3*time.Millisecond},
			"registry /x/y.json is locked by PID 1234 (python3): waited 10s; try again, or raise --lock-timeout"},
		{LockBusyError{Path: "/x/y.json", PID: 1234, Waited: 503 * time.Millisecond},
			"registry /x/y.json is locked by PID 1234: waited 500ms; try again, or raise --lock-timeout"},
		{LockBusyError{Path: "/x/y.json", Waited: 2 * time.Second},
			"registry /x/y.json is locked (holder unknown): waited 2s; try again, or raise --lock-timeout"},
		{LockBusyError{Path: "/x/y.json", PID: 9, Command: "python3", Waited: 250 * time.Millisecond, shared: true},
			"registry /x/y.json is locked by PID 9 (python3): waited 250ms; try again"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if !errors.Is(fmt.Errorf("lock registry: %w", &tc.err), ErrLockBusy) {
				t.Errorf("got errors.Is false, want a wrapped *LockBusyError to be ErrLockBusy")
			}
		})
	}
}

func TestUpdateGivesUpWhenContextEnds(t *testing.T) {
	path := newRegistry(t, sampleRegistry)
	holder := flock.New(path, flock.SetFlag(os.O_RDWR))
	if err := holder.Lock(); err != nil {
		t.Fatal(err)
	}
	defer holder.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&Store{StateDir: t.TempDir(), LockTimeout: time.Minute}).Transform(ctx, path, setKey("x", 1))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrLockBusy) {
		t.Errorf("got %v, want the context's error", err)
	}
	// The lock timeout is a minute: a wait that ends well before it ended
	// with the context.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("got a wait of %v, want it to end with the context", d)
	}
}

func TestDefaultStateDir(t *testing.T) {
	cases := []struct {
		name, xdg, home, want string
	}{
		{"XDG_STATE_HOME", "/xdg/state", "/home/u", "/xdg/state/agentwatch"},
		{"unset", "", "/home/u", "/home/u/.local/state/agentwatch"},
		{"relative is ignored", "rel/state", "/home/u", "/home/u/.local/state/agentwatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XDG_STATE_HOME", tc.xdg)
			t.Setenv("HOME", tc.home)
			if got := DefaultStateDir(); got != filepath.FromSlash(tc.want) {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// --- Against real Python writers ---------------------------------------

func TestUpdateLockBusyNamesPythonHolder(t *testing.T) {
	path := newRegistry(t, sampleRegistry)
	holder := pyscript.Start(t, "hold.py", path, "ex")
	holder.Expect(t, "locked")

	const timeout = 500 * time.Millisecond
	s := &Store{StateDir: t.TempDir(), LockTimeout: timeout}
	called := false
	start := time.Now()
	_, err := s.Transform(context.Background(), path, func(*Snapshot) (Change, error) {
		called = true
		return Keep(), nil
	})
	elapsed := time.Since(start)

	if elapsed < timeout || elapsed > timeout+20*time.Second {
		t.Errorf("got a wait of %v, want the lock timeout %v and not much more", elapsed, timeout)
	}
	var busy *LockBusyError
	if !errors.Is(err, ErrLockBusy) || !errors.As(err, &busy) {
		t.Fatalf("got %v, want a *LockBusyError", err)
	}
	if busy.Waited < timeout || busy.Path != path {
		t.Errorf("got Waited %v Path %s, want >= %v and %s", busy.Waited, busy.Path, timeout, path)
	}
	if runtime.GOOS == "linux" {
		pid := holder.PID()
		if busy.PID != pid {
			t.Errorf("got holder PID %d, want python's %d", busy.PID, pid)
		}
		if !strings.HasPrefix(busy.Command, "python") {
			t.Errorf("got holder command %q, want python…", busy.Command)
		}
		if want := fmt.Sprintf("is locked by PID %d (%s): waited", pid, busy.Command); !strings.Contains(err.Error(), want) {
			t.Errorf("got message %q, want it to contain %q", err, want)
		}
	}
	if called {
		t.Errorf("change was called without the lock")
	}
	if got := readFile(t, path); string(got) != sampleRegistry {
		t.Errorf("got %q, want the registry untouched", got)
	}

	// Read waits only ReadTimeout for its shared lock.
	s.ReadTimeout = 100 * time.Millisecond
	start = time.Now()
	_, err = s.Read(context.Background(), path)
	if !errors.As(err, &busy) || !strings.HasSuffix(err.Error(), "; try again") {
		t.Errorf("Read: got %v, want a *LockBusyError", err)
	}
	// Its own wait, as the store measured it, is the read timeout's, not
	// the lock timeout's (500ms).
	if d := time.Since(start); d < 100*time.Millisecond || (busy != nil && busy.Waited >= timeout) {
		t.Errorf("Read: got a wait of %v (the store's: %v), want about 100ms", d, busy.Waited)
	}
}

func TestLockHolderIsNotAWaiter(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux lists lock holders")
	}
	path := newRegistry(t, sampleRegistry)
	holder := pyscript.Start(t, "hold.py", path, "ex")
	holder.Expect(t, "locked")
	waiter := pyscript.Start(t, "hold.py", path, "ex")
	// Wait until the kernel lists the waiter ("->") behind the holder.
	waiting := func() bool {
		locks, _ := os.ReadFile("/proc/locks")
		for _, line := range strings.Split(string(locks), "\n") {
			f := strings.Fields(line)
			if len(f) > 5 && f[1] == "->" && f[5] == strconv.Itoa(waiter.PID()) {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(10 * time.Second); !waiting(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("python PID %d not listed as a waiter in /proc/locks after 10s", waiter.PID())
		}
	}
	_, err := (&Store{StateDir: t.TempDir(), LockTimeout: 100 * time.Millisecond}).Transform(
		context.Background(), path, setKey("x", 1))
	var busy *LockBusyError
	if !errors.As(err, &busy) || busy.PID != holder.PID() {
		t.Errorf("got %v, want the holder's PID %d, not the waiter's %d", err, holder.PID(), waiter.PID())
	}
}

func TestUpdateWaitsForPythonHolder(t *testing.T) {
	path := newRegistry(t, sampleRegistry)
	holder := pyscript.Start(t, "hold.py", path, "ex")
	holder.Expect(t, "locked")

	type result struct {
		c        *Commit
		err      error
		calledAt time.Time
	}
	out := make(chan result, 1)
	s := &Store{StateDir: t.TempDir(), LockTimeout: 10 * time.Second}
	go func() {
		var r result
		r.c, r.err = s.Transform(context.Background(), path, func(cur *Snapshot) (Change, error) {
			r.calledAt = time.Now()
			return setKey("after_python", 1)(cur)
		})
		out <- r
	}()

	const hold = 300 * time.Millisecond
	time.Sleep(hold)
	releasedAt := time.Now()
	if _, err := io.WriteString(holder.Stdin, "\n"); err != nil {
		t.Fatal(err)
	}
	holder.Expect(t, "released")
	r := <-out
	if r.err != nil {
		t.Fatalf("got %v, want Update to wait for the lock and succeed", r.err)
	}
	if r.calledAt.Before(releasedAt) {
		t.Errorf("change ran %v before python let go, want it after", releasedAt.Sub(r.calledAt))
	}
	if r.c.LockWait < hold-50*time.Millisecond || r.c.LockWait > 5*time.Second {
		t.Errorf("got LockWait %v, want about %v", r.c.LockWait, hold)
	}
	if root, err := pyjson.Parse(readFile(t, path)); err != nil || !root.Has("after_python") {
		t.Errorf("got %v, want the change written", err)
	}
}

func TestReadSharesTheLockWithPythonReaders(t *testing.T) {
	path := newRegistry(t, sampleRegistry)
	reader := pyscript.Start(t, "hold.py", path, "sh")
	reader.Expect(t, "locked")
	s := &Store{ReadTimeout: 100 * time.Millisecond}
	if _, err := s.Read(context.Background(), path); err != nil {
		t.Errorf("got %v, want Read to share the lock with a LOCK_SH holder", err)
	}
}

// TestNoLostUpdateAgainstPythonWriters is the field report's race, run for
// real: python3 writers each add 1 to a counter many times under flock, the
// careful orchestrator way, while agentwatch commits its own changes to the
// same file. Nothing may be lost on either side.
func TestNoLostUpdateAgainstPythonWriters(t *testing.T) {
	const (
		writers    = 8
		increments = 200
		goWorkers  = 2
		minGoEach  = 25
	)
	path := newRegistry(t, sampleRegistry)
	var procs []*pyscript.Proc
	for range writers {
		procs = append(procs, pyscript.Start(t, "increment.py", path, strconv.Itoa(increments), "counter"))
	}
	allDone := make(chan struct{})
	go func() {
		for _, p := range procs {
			<-p.Done
		}
		close(allDone)
	}()

	s := &Store{StateDir: t.TempDir(), LockTimeout: 20 * time.Second}
	var (
		mu      sync.Mutex
		written []string // keys agentwatch committed
		maxWait time.Duration
	)
	var wg sync.WaitGroup
	for w := range goWorkers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-allDone:
					if i >= minGoEach {
						return
					}
				default:
				}
				key := fmt.Sprintf("aw_%d_%d", w, i)
				c, err := s.Transform(context.Background(), path, setKey(key, int64(i)))
				if err != nil {
					t.Errorf("Update %s: %v", key, err)
					return
				}
				mu.Lock()
				written = append(written, key)
				maxWait = max(maxWait, c.LockWait)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, p := range procs {
		p.Wait(t)
	}

	snap, err := s.Read(context.Background(), path)
	if err != nil {
		t.Fatalf("final Read: %v", err)
	}
	if got, _ := snap.Root.Get("counter").Int(); got != writers*increments {
		t.Errorf("got counter %d, want %d: python increments were lost", got, writers*increments)
	}
	for _, key := range written {
		if !snap.Root.Has(key) {
			t.Errorf("got no %s, want every agentwatch change kept", key)
		}
	}
	if !snap.Root.Get("agents").Has("builder-215700-0a1b2c") {
		t.Errorf("got the agents lost, want them kept")
	}
	t.Logf("%d agentwatch transactions among %d python ones; longest lock wait %v", len(written), writers*increments, maxWait)
}

// unlockedWrite rewrites a registry as the orchestrator's careless writers
// do: python3, json.load, change, json.dumps in place, no lock at all.
func unlockedWrite(t *testing.T, path, stmt string) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	script := "import json, sys\np = sys.argv[1]\no = json.load(open(p))\n" + stmt + "\nf = open(p, 'r+'); f.write(json.dumps(o, indent=2)); f.truncate(); f.close()\n"
	if out, err := exec.Command("python3", "-c", script, path).CombinedOutput(); err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
}

func TestUpdateDetectsAWriterThatTakesNoLock(t *testing.T) {
	path := newRegistry(t, `{"a": 1}`)
	s := newStore(t)
	calls := 0
	c, err := s.Transform(context.Background(), path, func(cur *Snapshot) (Change, error) {
		calls++
		if calls == 1 {
			// While agentwatch holds the lock, a writer without one
			// rewrites the file.
			unlockedWrite(t, path, "o['b'] = 2")
		}
		cur.Root.Set("c", pyjson.NewInt(3))
		return Write(pyjson.Encode(cur.Root)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !c.UnlockedWrite || calls != 2 {
		t.Errorf("UnlockedWrite %v after %d derivations; want true after 2", c.UnlockedWrite, calls)
	}
	if got, want := string(readFile(t, path)), "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}"; got != want {
		t.Errorf("got %q, want %q: the unlocked writer's change and ours both", got, want)
	}

	// A writer that never stops: agentwatch gives up rather than write
	// over it.
	n := 0
	_, err = s.Transform(context.Background(), path, func(cur *Snapshot) (Change, error) {
		n++
		unlockedWrite(t, path, fmt.Sprintf("o['d'] = %d", n))
		cur.Root.Set("e", pyjson.NewInt(5))
		return Write(pyjson.Encode(cur.Root)), nil
	})
	if !errors.Is(err, ErrUnlockedWriter) {
		t.Errorf("got %v, want ErrUnlockedWriter", err)
	}
	if strings.Contains(string(readFile(t, path)), `"e"`) {
		t.Error("agentwatch wrote over a writer that kept changing the file")
	}
}

// TestUpdateNeverSplicesAWriteThatTakesNoLock: a writer without the lock
// rewrites the file after the transaction last compared it: before it
// writes, once its mark is down, once its bytes are written. The write
// starts where the file stopped holding the new bytes, and reads the file
// back before unmarking it: the registry is the transaction's change,
// never the other writer's bytes up to the change and the transaction's
// after it (which parsed, with "total": 12), and the race is reported.
func TestUpdateNeverSplicesAWriteThatTakesNoLock(t *testing.T) {
	for _, at := range []string{"backup-written", "registry-marked", "registry-written"} {
		t.Run(at, func(t *testing.T) {
			path := newRegistry(t, "{\n  \"agents\": {\n    \"a\": {\n      \"status\": \"running\"\n    },\n    \"b\": {\n      \"status\": \"running\"\n    }\n  },\n  \"total\": 1\n}")
			s := newStore(t)
			// The other writer reads the registry before the transaction
			// marks it, and rewrites it (truncate, write) at the step.
			var theirs []byte
			raced := false
			atStep = func(step string) {
				if step == "backup-written" {
					theirs = bytes.Replace(readFile(t, path), []byte(`"running"`), []byte(`"failed"`), 1)
				}
				if step == at && !raced {
					raced = true
					if err := os.WriteFile(path, theirs, 0o644); err != nil {
						t.Error(err)
					}
				}
			}
			t.Cleanup(func() { atStep = nil })
			var want []byte
			c, err := s.Transform(context.Background(), path, func(cur *Snapshot) (Change, error) {
				cur.Root.Set("total", pyjson.NewInt(2))
				want = pyjson.Encode(cur.Root)
				return Write(want), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !raced {
				t.Fatal("the unlocked writer never ran")
			}
			if got := readFile(t, path); !bytes.Equal(got, want) {
				t.Errorf("got registry %s, want the transaction's %s", got, want)
			}
			if !c.UnlockedWrite {
				t.Error("UnlockedWrite false: the race went unreported")
			}
			assertNoJournal(t, path)
		})
	}
}

func TestUpdatePreparedReadIsUsedOnlyWhenTheBytesAreTheSame(t *testing.T) {
	path := newRegistry(t, `{"a": 1}`)
	s := newStore(t)
	ctx := context.Background()
	prep, err := s.Read(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var seen *pyjson.Value
	if _, err := s.TransformPrepared(ctx, path, &Prepared{Read: prep}, func(cur *Snapshot) (Change, error) {
		seen = cur.Root
		cur.Root.Set("b", pyjson.NewInt(2))
		return Write(pyjson.Encode(cur.Root)), nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen != prep.Root {
		t.Error("the prepared parse was not used for the same bytes")
	}
	// The file changes between the prepared read and the lock: the change
	// must see the new bytes, not the prepared ones.
	prep, _ = s.Read(ctx, path)
	unlockedWrite(t, path, "o['x'] = 9")
	if _, err := s.TransformPrepared(ctx, path, &Prepared{Read: prep}, func(cur *Snapshot) (Change, error) {
		if cur.Root == prep.Root || !cur.Root.Has("x") {
			t.Error("a stale prepared read stood for changed bytes")
		}
		cur.Root.Set("c", pyjson.NewInt(3))
		return Write(pyjson.Encode(cur.Root)), nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := string(readFile(t, path)), "{\n  \"a\": 1,\n  \"b\": 2,\n  \"x\": 9,\n  \"c\": 3\n}"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// backupHashes returns the hashes of the registry's backups, newest first.
func backupHashes(t *testing.T, s *Store, path string) []string {
	t.Helper()
	backups, err := s.Backups(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range backups {
		if got := HashBytes(readFile(t, b.Path)); got != b.Hash {
			t.Errorf("backup %s holds bytes of hash %s", b.Path, got)
		}
		out = append(out, b.Hash)
	}
	return out
}

func TestUpdatePreparedBacksUpTheBytesUnderTheLock(t *testing.T) {
	path := newRegistry(t, `{"a": 1}`)
	s := newStore(t)
	ctx := context.Background()
	// ahead derives what set(key) would from a read of its own, as the
	// engine does before it takes the lock.
	ahead := func(prep *Snapshot, key string) *pyjson.Spliced {
		v := must(pyjson.ParseShared(prep.Data))
		v.Set(key, pyjson.NewInt(1))
		return pyjson.EncodeSpliced(v, prep.Data)
	}

	// Same bytes under the lock: the change returns what was derived
	// ahead, whose backup and journal, written ahead, are the backup and
	// the journal.
	prep := must(s.Read(ctx, path))
	next := ahead(prep, "b")
	p := &Prepared{Read: prep, Next: next}
	c, err := s.TransformPrepared(ctx, path, p, func(*Snapshot) (Change, error) { return p.Use(), nil })
	if err != nil {
		t.Fatal(err)
	}
	if !c.Ahead {
		t.Errorf("the change derived ahead was not written as it was")
	}
	if got, want := backupHashes(t, s, path), []string{prep.Hash}; !slices.Equal(got, want) {
		t.Errorf("after a prepared update: got backups %v, want %v", got, want)
	}
	if c.Backup == "" || HashBytes(readFile(t, c.Backup)) != c.OldHash {
		t.Errorf("Commit.Backup %q does not hold the old bytes %s", c.Backup, c.OldHash)
	}
	if c.NewHash != HashBytes(next.Bytes()) || !bytes.Equal(readFile(t, path), next.Bytes()) {
		t.Errorf("got new bytes %q, want the change's %q", readFile(t, path), next.Bytes())
	}

	// Other bytes under the lock: the change derives again; the backup
	// holds the bytes under the lock, and what was written ahead is gone.
	prep = must(s.Read(ctx, path))
	stale := ahead(prep, "c")
	unlockedWrite(t, path, "o['x'] = 9")
	underLock := HashBytes(readFile(t, path))
	c, err = s.TransformPrepared(ctx, path, &Prepared{Read: prep, Next: stale}, func(cur *Snapshot) (Change, error) {
		cur.Root.Set("c", pyjson.NewInt(1))
		return Write(pyjson.Encode(cur.Root)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Ahead {
		t.Errorf("a change derived ahead from other bytes was written")
	}
	got := backupHashes(t, s, path)
	if len(got) != 2 || got[0] != underLock {
		t.Errorf("after a stale prepared update: got backups %v, want the bytes under the lock %s first, of 2", got, underLock)
	}
	if slices.Contains(got, prep.Hash) {
		t.Errorf("the backup of the stale prepared read %s was kept: %v", prep.Hash, got)
	}
	if want := "{\n  \"a\": 1,\n  \"b\": 1,\n  \"x\": 9,\n  \"c\": 1\n}"; string(readFile(t, path)) != want {
		t.Errorf("got %q, want %q", readFile(t, path), want)
	}

	// An early backup pruned while the transaction waited is not taken
	// for the backup: it is written again under the lock.
	prep = must(s.Read(ctx, path))
	next = ahead(prep, "d")
	p = &Prepared{Read: prep, Next: next}
	c, err = s.TransformPrepared(ctx, path, p, func(cur *Snapshot) (Change, error) {
		for _, b := range must(s.Backups(ctx, path)) {
			if b.Hash == prep.Hash {
				os.Remove(b.Path) // as another transaction's pruning would
			}
		}
		return p.Use(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Backup == "" || HashBytes(readFile(t, c.Backup)) != prep.Hash {
		t.Errorf("after the early backup was pruned: Commit.Backup %q does not hold the old bytes", c.Backup)
	}
	got = backupHashes(t, s, path)

	// Nothing to write: no backup is left behind.
	prep = must(s.Read(ctx, path))
	if _, err := s.TransformPrepared(ctx, path, &Prepared{Read: prep, Next: ahead(prep, "d")}, func(*Snapshot) (Change, error) { return Keep(), nil }); err != nil {
		t.Fatal(err)
	}
	if after := backupHashes(t, s, path); !slices.Equal(after, got) {
		t.Errorf("an update that wrote nothing changed the backups: got %v, want %v", after, got)
	}
	// Nothing of agentwatch's is left beside the registry: no journal,
	// early or retired.
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("got %v beside the registry, want it alone", names)
	}
}

func TestJournalVersion1IsStillRead(t *testing.T) {
	data := []byte(sampleRegistry)
	body := fmt.Appendf(nil, "%s\nregistry %q\nold %s\nnew %s\nsize %d\n\n%s",
		journalMagicV1, "/w/GLOBAL_REGISTRY.json", HashBytes([]byte("{}")), HashBytes(data), len(data), data)
	raw := fmt.Appendf(bytes.Clone(body), "\nsum %s\n", HashBytes(body))
	j, err := decodeJournal(raw)
	if err != nil {
		t.Fatalf("a version 1 journal: %v", err)
	}
	if !bytes.Equal(j.Data, data) || j.NewHash != HashBytes(data) {
		t.Errorf("a version 1 journal decoded to %+v", j)
	}
	raw[len(body)/2] ^= 0x20
	if _, err := decodeJournal(raw); !errors.Is(err, errTornJournal) {
		t.Errorf("a version 1 journal with a byte flipped: got %v, want errTornJournal", err)
	}
}

func TestReadAllReadsTheWholeFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 511, 512, 513, 4096, 1 << 20} {
		want := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		path := filepath.Join(dir, fmt.Sprintf("f%d", n))
		if err := os.WriteFile(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		f := must(os.Open(path))
		got, err := readAll(f)
		f.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("readAll of %d bytes: got %d bytes, %v", n, len(got), err)
		}
	}
	// A file longer than the size expected (one that grew since fstat, or
	// one in /proc, whose size fstat says is 0) is still read whole.
	want := bytes.Repeat([]byte("grown "), 100_000)
	path := filepath.Join(dir, "grown")
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	f := must(os.Open(path))
	defer f.Close()
	for _, size := range []int64{0, 100, int64(len(want)) - 1} {
		if got, err := readAllFrom(f, size); err != nil || !bytes.Equal(got, want) {
			t.Errorf("readAllFrom(%d bytes, expecting %d): got %d bytes, %v", len(want), size, len(got), err)
		}
	}
}

func TestSameContent(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<17) // 2 MiB: more than one chunk
	cases := []struct {
		name       string
		file, want []byte
		same       bool
	}{
		{"empty", nil, nil, true},
		{"empty file, bytes wanted", nil, []byte("{}"), false},
		{"same", []byte(`{"a": 1}`), []byte(`{"a": 1}`), true},
		{"file longer", []byte(`{"a": 1}` + "\n"), []byte(`{"a": 1}`), false},
		{"file shorter", []byte(`{"a": 1`), []byte(`{"a": 1}`), false},
		{"one byte differs", []byte(`{"a": 2}`), []byte(`{"a": 1}`), false},
		{"big, same", big, big, true},
		{"big, the last byte differs", big, append(bytes.Clone(big[:len(big)-1]), 'x'), false},
		{"big, one chunk longer", append(bytes.Clone(big), big[:1<<20]...), big, false},
	}
	for i, c := range cases {
		path := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(path, c.file, 0o600); err != nil {
			t.Fatal(err)
		}
		f := must(os.Open(path))
		got, err := sameContent(f, pyjson.SplicedOf(c.want))
		f.Close()
		if err != nil || got != c.same {
			t.Errorf("%s: got %v, %v; want %v", c.name, got, err, c.same)
		}
	}
}

// encodeJournal returns a journal file's whole content, as writeJournal
// writes it.
func encodeJournal(j *Journal) []byte {
	header, trailer := journalParts(j, len(j.Data))
	return slices.Concat(header, j.Data, trailer)
}

// TestTransformRefusesAPreparedChangeItWasNotGiven: a transform can answer
// only the Use of the Prepared its transaction has, and only for the bytes
// that Prepared read; anything else is refused with nothing written.
func TestTransformRefusesAPreparedChangeItWasNotGiven(t *testing.T) {
	path := newRegistry(t, `{"a": 1}`)
	s := newStore(t)
	ctx := context.Background()
	prepare := func(key string) *Prepared {
		read := must(s.Read(ctx, path))
		v := must(pyjson.Parse(read.Data))
		v.Set(key, pyjson.NewInt(1))
		return &Prepared{Read: read, Next: pyjson.SplicedOf(pyjson.Encode(v))}
	}
	mine, other := prepare("b"), prepare("c")
	before := readFile(t, path)
	if _, err := s.TransformPrepared(ctx, path, mine, func(*Snapshot) (Change, error) { return other.Use(), nil }); err == nil {
		t.Error("another Prepared's change was taken")
	}
	if _, err := s.Transform(ctx, path, func(*Snapshot) (Change, error) { return mine.Use(), nil }); err == nil {
		t.Error("a prepared change was taken by a transaction given none")
	}
	empty := &Prepared{Read: mine.Read}
	unlockedWrite(t, path, "o['x'] = 9")
	changed := readFile(t, path)
	if _, err := s.TransformPrepared(ctx, path, empty, func(*Snapshot) (Change, error) { return empty.Use(), nil }); err == nil {
		t.Error("a prepared no-change was taken for bytes it did not read")
	}
	if got := readFile(t, path); !bytes.Equal(got, changed) || bytes.Equal(got, before) {
		t.Errorf("the registry holds %q, want the unlocked writer's %q", got, changed)
	}
}
