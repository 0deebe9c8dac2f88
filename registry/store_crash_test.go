package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"agentwatch/internal/pyscript"
	"agentwatch/registry/pyjson"
)

// The crash tests run this test binary again as a writer that stops at one
// step of a transaction (pauseEnv, which only this test binary reads: the
// child sets the store's pauseAt from it), kill it there with SIGKILL, and
// check what the next transaction makes of what it left.
const (
	childEnv         = "AGENTWATCH_TEST_CHILD"
	childRegistryEnv = "AGENTWATCH_TEST_REGISTRY"
	childStateEnv    = "AGENTWATCH_TEST_STATE"
	childNewEnv      = "AGENTWATCH_TEST_NEW"
	// childAheadEnv set makes the child derive its change ahead of the
	// lock, as the engine does: a Prepared read and the Ahead result.
	childAheadEnv = "AGENTWATCH_TEST_AHEAD"
	// pauseEnv names the step the child stops at, pauseMarkerEnv the
	// file it writes there.
	pauseEnv       = "AGENTWATCH_TEST_PAUSE_AT"
	pauseMarkerEnv = "AGENTWATCH_TEST_PAUSE_MARKER"
)

func TestMain(m *testing.M) {
	// The children of the crash tests stop where they are told: the hook
	// is set here, by the test binary, never by the shipped one.
	if os.Getenv(childEnv) != "" {
		pauseAt, pauseMarker = os.Getenv(pauseEnv), os.Getenv(pauseMarkerEnv)
	}
	switch os.Getenv(childEnv) {
	case "update":
		os.Exit(runUpdateChild())
	case "loop":
		os.Exit(runLoopChild())
	case "read", "readlean":
		pauseAt, pauseMarker = os.Getenv(pauseEnv), os.Getenv(pauseMarkerEnv)
		read := (*Store).Read
		if os.Getenv(childEnv) == "readlean" {
			read = (*Store).ReadLean
		}
		_, err := read(&Store{}, context.Background(), os.Getenv(childRegistryEnv))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runUpdateChild commits the bytes of the file named by childNewEnv to the
// registry; with pauseEnv set it never returns.
func runUpdateChild() int {
	next, err := os.ReadFile(os.Getenv(childNewEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s := &Store{StateDir: os.Getenv(childStateEnv)}
	// In parts, as an encoding that shares its source is; still parsed
	// under the lock, as Write's bytes are.
	third := len(next) / 3
	change := Change{next: pyjson.SplicedOf(next[:third], next[third:2*third], next[2*third:])}
	var p *Prepared
	if os.Getenv(childAheadEnv) != "" {
		read, err := s.Read(context.Background(), os.Getenv(childRegistryEnv))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// In parts, as a repair's encoding is: the prefix it shares with
		// the bytes read, from their memory, then the rest in two.
		k := pyjson.SplicedOf(next).PrefixWith(read.Data)
		mid := k + (len(next)-k)/2
		p = &Prepared{Read: read, Next: pyjson.SplicedOf(read.Data[:k], next[k:mid], next[mid:])}
		change = p.Use()
	}
	_, err = s.TransformPrepared(context.Background(), os.Getenv(childRegistryEnv), p, func(*Snapshot) (Change, error) {
		return change, nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// crashAt runs a child writer that commits next to the registry, waits until
// it stands at step, and kills it there.
func crashAt(t *testing.T, step, registry, stateDir string, next []byte, env ...string) {
	t.Helper()
	dir := t.TempDir()
	nextFile := filepath.Join(dir, "next.json")
	if err := os.WriteFile(nextFile, next, 0o600); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "paused")
	c := startChild(t, append([]string{
		childEnv + "=update",
		childRegistryEnv + "=" + registry,
		childStateEnv + "=" + stateDir,
		childNewEnv + "=" + nextFile,
		pauseEnv + "=" + step,
		pauseMarkerEnv + "=" + marker,
	}, env...)...)
	c.waitMarker(t, marker, "its stop at "+step, 30*time.Second)
	c.kill(t)
}

// crashContent returns a registry and a change of it. For grow and shrink
// the new bytes differ from the old ones near the start, so that a
// half-written file is a splice that does not parse: grow adds a member at
// the front, shrink removes the "tasks" object near the front. same makes
// same-length edits at the top and at the bottom, so that the half-written
// file is the top edit alone, and parses.
func crashContent(t *testing.T, variant string) (old, next []byte) {
	t.Helper()
	old = []byte(sampleRegistry)
	root, err := pyjson.Parse(old)
	if err != nil {
		t.Fatal(err)
	}
	switch variant {
	case "grow":
		grown := pyjson.NewObject()
		grown.Set("migrated_by", pyjson.NewString("agentwatch crash test, a member long enough to shift everything after it"))
		for _, m := range root.Members() {
			grown.Set(m.Key, m.Value)
		}
		next = pyjson.Encode(grown)
	case "shrink":
		root.Delete("tasks")
		next = pyjson.Encode(root)
	case "same":
		root.Set("created_at", pyjson.NewString("2025-10-17T21:35:12.999999"))
		root.Get("agents").Get("builder-215700-0a1b2c").Set("status", pyjson.NewString("stopped"))
		next = pyjson.Encode(root)
	default:
		t.Fatalf("test data: no variant %q", variant)
	}
	if variant == "grow" && len(next) <= len(old) || variant == "shrink" && len(next) >= len(old) ||
		variant == "same" && len(next) != len(old) {
		t.Fatalf("test data: %s gives %d bytes from %d", variant, len(next), len(old))
	}
	// The states a crash leaves mid-write must parse, or not, as the
	// variant says, or the expected outcomes below would test nothing.
	half := len(next) / 2
	partial := append(bytes.Clone(next[:half]), old[min(half, len(old)):]...)
	_, err = pyjson.Parse(partial)
	if parses := err == nil; parses != (variant == "same") {
		t.Fatalf("test data: the %s registry half written parses %v, want %v; pick other content", variant, parses, variant == "same")
	}
	if variant == "same" && (bytes.Equal(partial, old) || bytes.Equal(partial, next)) {
		t.Fatalf("test data: the same-length edits are not one in each half")
	}
	if variant == "shrink" {
		untruncated := append(bytes.Clone(next), old[len(next):]...)
		if _, err := pyjson.Parse(untruncated); err == nil {
			t.Fatalf("test data: the shrunk registry written but not truncated parses")
		}
	}
	return old, next
}

// TestCrashAtEveryStep kills a writer at each step of a transaction and
// checks that the next transaction finds the registry parsing, holding
// either the old bytes or the new ones as the step demands, and no journal.
// The same variant is the case of a half-written file that parses: it must
// be finished, not kept as if another writer had made it.
func TestCrashAtEveryStep(t *testing.T) {
	type outcome struct {
		wantNew   bool
		recovered string
	}
	var (
		oldBytes    = outcome{false, ""}
		torn        = outcome{false, recoveredTorn}
		notStarted  = outcome{false, recoveredNotStarted}
		finished    = outcome{true, recoveredFinished}
		done        = outcome{true, recoveredDone}
		newBytes    = outcome{true, ""}
		allVariants = func(o outcome) map[string]outcome {
			return map[string]outcome{"grow": o, "shrink": o, "same": o}
		}
	)
	cases := []struct {
		step          string
		want          map[string]outcome // by crashContent variant
		wantOldBackup bool
		// ahead: whether the step is reached when the change is derived
		// ahead of the lock (then the backup, and the journal whole, are
		// written before the lock is taken).
		ahead bool
	}{
		{"journal-ahead", allVariants(oldBytes), true, true},
		{"locked", allVariants(oldBytes), false, false},
		{"backup-written", allVariants(oldBytes), true, false},
		{"journal-partial", allVariants(torn), true, false},
		{"journal-written", allVariants(notStarted), true, true},
		// Until the first byte is written the file is marked, and does not
		// parse, whatever the variant: recovery finishes the write.
		{"registry-marked", allVariants(finished), true, true},
		{"registry-partial", allVariants(finished), true, true},
		{"registry-written", allVariants(finished), true, true},
		{"truncated", allVariants(finished), true, true},
		{"first-byte", allVariants(done), true, true},
		{"synced", allVariants(done), true, true},
		{"journal-removed", allVariants(newBytes), true, true},
	}
	for _, tc := range cases {
		for _, mode := range []string{"locked", "ahead"} {
			if mode == "ahead" && !tc.ahead || mode == "locked" && tc.step == "journal-ahead" {
				continue
			}
			for _, variant := range []string{"grow", "shrink", "same"} {
				want := tc.want[variant]
				wantOldBackup := tc.wantOldBackup || mode == "ahead"
				t.Run(mode+"/"+tc.step+"/"+variant, func(t *testing.T) {
					t.Parallel()
					old, next := crashContent(t, variant)
					path := newRegistry(t, string(old))
					s := newStore(t)
					var env []string
					if mode == "ahead" {
						env = append(env, childAheadEnv+"=1")
					}
					crashAt(t, tc.step, path, s.StateDir, next, env...)
					if early, _ := filepath.Glob(path + JournalSuffix + ".*" + earlyJournalSuffix); mode == "ahead" && tc.step != "journal-ahead" && len(early) != 0 {
						t.Errorf("the journal written ahead was not renamed into place: %v", early)
					}
					checkCrashOutcome(t, s, path, old, next, want.wantNew, want.recovered, wantOldBackup)
				})
			}
		}
	}
}

// checkCrashOutcome runs the transaction after a crash and checks what it
// found and left: the old or the new bytes, what recovery did, no journal,
// and whether the old bytes are backed up.
func checkCrashOutcome(t *testing.T, s *Store, path string, old, next []byte, wantNew bool, recovered string, wantOldBackup bool) {
	t.Helper()
	wantBytes := old
	if wantNew {
		wantBytes = next
	}
	var seen []byte
	c, err := s.Transform(context.Background(), path, func(cur *Snapshot) (Change, error) {
		seen = cur.Data
		return Keep(), nil
	})
	if err != nil {
		t.Fatalf("Update after the crash: %v", err)
	}
	if c.Recovered != recovered {
		t.Errorf("got Recovered %q, want %q", c.Recovered, recovered)
	}
	if !bytes.Equal(seen, wantBytes) {
		t.Errorf("change saw %q, want %s bytes %q", seen, map[bool]string{false: "old", true: "new"}[wantNew], wantBytes)
	}
	got := readFile(t, path)
	if _, err := pyjson.Parse(got); err != nil {
		t.Errorf("registry does not parse after recovery: %v", err)
	}
	if !bytes.Equal(got, wantBytes) {
		t.Errorf("got registry %q, want %q", got, wantBytes)
	}
	assertNoJournal(t, path)
	if retired, _ := filepath.Glob(path + JournalSuffix + ".*" + retiredJournalSuffix); len(retired) != 0 {
		t.Errorf("retired journals are left after the next transaction: %v", retired)
	}
	backups, err := s.Backups(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	hasOld := false
	for _, b := range backups {
		hasOld = hasOld || b.Hash == HashBytes(old)
	}
	if hasOld != wantOldBackup {
		t.Errorf("got a backup of the old bytes %v, want %v", hasOld, wantOldBackup)
	}
}

// TestCrashLeftEarlyJournalIsRemovedByTheNextTransaction crashes writers
// that had written their journals ahead of the lock: the registry is
// untouched, and the next transaction removes the temporary journals they
// left, at once, since no process holds them. One that a live process
// holds (its flock taken, as a transaction waiting for the lock holds its
// own), a link and another user's file with the same name pattern, and a
// file of another pattern are kept.
func TestCrashLeftEarlyJournalIsRemovedByTheNextTransaction(t *testing.T) {
	old, next := crashContent(t, "grow")
	path := newRegistry(t, string(old))
	s := newStore(t)
	for range 3 {
		crashAt(t, "journal-ahead", path, s.StateDir, next, childAheadEnv+"=1")
	}
	early, _ := filepath.Glob(path + JournalSuffix + ".*" + earlyJournalSuffix)
	if len(early) != 3 {
		t.Fatalf("got early journals %v, want the three crashed writers' ones", early)
	}
	if j, err := decodeJournal(readFile(t, early[0])); err != nil || !bytes.Equal(j.Data, next) || j.OldHash != HashBytes(old) {
		t.Fatalf("the early journal is not the crashed change's: %v", err)
	}
	held := path + JournalSuffix + ".777" + earlyJournalSuffix
	if err := os.WriteFile(held, []byte("in use"), 0o644); err != nil {
		t.Fatal(err)
	}
	holder := pyscript.Start(t, "hold.py", held, "ex")
	holder.Expect(t, "locked")
	link := path + JournalSuffix + ".778" + earlyJournalSuffix
	if err := os.Symlink(early[0], link); err != nil {
		t.Fatal(err)
	}
	other := path + JournalSuffix + ".779.tmp.keep"
	if err := os.WriteFile(other, []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Transform(context.Background(), path, setKey("a", 1)); err != nil {
		t.Fatal(err)
	}
	for _, e := range early {
		if _, err := os.Lstat(e); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the crashed writer's early journal %s was kept: %v", e, err)
		}
	}
	for _, keep := range []string{held, link, other} {
		if _, err := os.Lstat(keep); err != nil {
			t.Errorf("%s was removed: %v", keep, err)
		}
	}
	assertNoJournal(t, path)

	// Let go, and the next transaction removes it.
	fmt.Fprintln(holder.Stdin)
	holder.Expect(t, "released")
	if _, err := s.Transform(context.Background(), path, setKey("a", 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(held); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a temporary journal no one holds any more was kept: %v", err)
	}
}

// TestCrashThenPythonWriterIsKept crashes a writer where the registry still
// parses, lets a Python writer change it under flock, and checks that the
// next transaction keeps the Python change: a stale journal never rolls
// another writer back.
func TestCrashThenPythonWriterIsKept(t *testing.T) {
	pyscript.Python(t)
	cases := []struct {
		step    string
		wantNew bool // the crashed write had reached the file
	}{
		{"journal-written", false},
		{"first-byte", true},
		{"synced", true},
	}
	for _, tc := range cases {
		t.Run(tc.step, func(t *testing.T) {
			t.Parallel()
			old, next := crashContent(t, "grow")
			path := newRegistry(t, string(old))
			s := newStore(t)
			crashAt(t, tc.step, path, s.StateDir, next)
			if _, err := os.Stat(path + JournalSuffix); err != nil {
				t.Fatalf("got %v, want the crash to leave a journal", err)
			}

			pyscript.Start(t, "increment.py", path, "1", "python_edits").Wait(t)

			c, err := s.Transform(context.Background(), path, setKey("aw_after", 1))
			if err != nil {
				t.Fatalf("Update after the crash and the python write: %v", err)
			}
			if c.Recovered != recoveredForeign {
				t.Errorf("got Recovered %q, want %q", c.Recovered, recoveredForeign)
			}
			root, err := pyjson.Parse(readFile(t, path))
			if err != nil {
				t.Fatalf("registry does not parse: %v", err)
			}
			if n, _ := root.Get("python_edits").Int(); n != 1 {
				t.Errorf("got python_edits %v, want 1: the python change was rolled back", root.Get("python_edits"))
			}
			if !root.Has("aw_after") {
				t.Errorf("got no aw_after, want the new transaction's change")
			}
			if got := root.Has("migrated_by"); got != tc.wantNew {
				t.Errorf("got the crashed change present %v, want %v", got, tc.wantNew)
			}
			assertNoJournal(t, path)
		})
	}
}

// TestCrashThenTornByAnotherWriterKeepsJournal crashes a writer after its
// journal is written, lets a Python writer change the registry under flock,
// and then an unlocked writer tear it. The journal is stale: writing its
// bytes would lose the Python change, and the torn bytes are no one's
// document either. So the next transaction writes nothing, keeps the
// journal for restore to offer, and fails with a *CorruptError that says so.
func TestCrashThenTornByAnotherWriterKeepsJournal(t *testing.T) {
	pyscript.Python(t)
	ctx := context.Background()
	old, next := crashContent(t, "grow")
	path := newRegistry(t, string(old))
	s := newStore(t)
	crashAt(t, "journal-written", path, s.StateDir, next)
	pyscript.Start(t, "increment.py", path, "1", "python_edits").Wait(t)
	pyscript.Start(t, "tear.py", path, "careless_edits").Wait(t)
	torn := readFile(t, path)
	if _, err := pyjson.Parse(torn); err == nil {
		t.Fatalf("test setup: the torn registry parses: %q", torn)
	}

	called := false
	c, err := s.Transform(ctx, path, func(*Snapshot) (Change, error) {
		called = true
		return Keep(), nil
	})
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("got error %v, want a *CorruptError", err)
	}
	if ce.Journal != path+JournalSuffix {
		t.Errorf("got CorruptError.Journal %q, want %q", ce.Journal, path+JournalSuffix)
	}
	for _, want := range []string{"another writer tore it after agentwatch's interrupted write", "kept its journal",
		"agentwatch restore --registry " + path, "journal|salvage|backup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got error %q, want it to say %q", err, want)
		}
	}
	if c == nil || c.Recovered != recoveredKept || c.Changed {
		t.Errorf("got Commit %+v, want Recovered %q and nothing changed", c, recoveredKept)
	}
	if called {
		t.Errorf("change was called, want it not called for a torn registry")
	}
	if got := readFile(t, path); !bytes.Equal(got, torn) {
		t.Errorf("got registry %q, want the torn bytes untouched %q", got, torn)
	}
	j, err := ReadJournal(ctx, path)
	if err != nil {
		t.Fatalf("ReadJournal: got %v, want the kept journal for restore's preview", err)
	}
	if !bytes.Equal(j.Data, next) || j.OldHash != HashBytes(old) || j.Path != path+JournalSuffix {
		t.Errorf("got journal %s old %s data %q, want the crashed write's", j.Path, j.OldHash, j.Data)
	}

	// Asked again, it decides the same: nothing is written behind a
	// person's back.
	if _, err := s.Transform(ctx, path, func(*Snapshot) (Change, error) { return Keep(), nil }); !errors.As(err, &ce) || ce.Journal == "" {
		t.Errorf("second Update: got %v, want the same *CorruptError", err)
	}
	if got := readFile(t, path); !bytes.Equal(got, torn) {
		t.Errorf("second Update: got registry %q, want it untouched", got)
	}

	// restore's way: the change sees the torn bytes and writes what the
	// person chose; its own journal takes the kept one's place, and goes.
	chosen := []byte(sampleRegistry)
	c, err = s.TransformCorrupt(ctx, path, func(cur *Snapshot) (Change, error) {
		if !bytes.Equal(cur.Data, torn) {
			t.Errorf("restore's change saw %q, want the torn bytes", cur.Data)
		}
		return Write(chosen), nil
	})
	if err != nil {
		t.Fatalf("restore's Update: %v", err)
	}
	if c.Recovered != recoveredKept || !c.Changed {
		t.Errorf("restore's Update: got Recovered %q Changed %v, want %q and a change", c.Recovered, c.Changed, recoveredKept)
	}
	if got := readFile(t, path); !bytes.Equal(got, chosen) {
		t.Errorf("got registry %q after restore, want the chosen bytes", got)
	}
	if got := readFile(t, c.Backup); !bytes.Equal(got, torn) {
		t.Errorf("got backup %q, want the torn bytes kept", got)
	}
	assertNoJournal(t, path)
}

// TestCrashWithoutBackupOfOldBytes leaves a registry half written, with
// its journal and no backup of the old bytes (as pruning, or another state
// directory, would). A marked file (what writeInPlace leaves) is provably
// agentwatch's write without the old bytes, and is finished. An unmarked
// splice (what agentwatch wrote before the mark) cannot be proven: one that
// does not parse is left alone with its journal kept; one that parses is
// kept as another writer's, as DESIGN §4's fourth rule says.
func TestCrashWithoutBackupOfOldBytes(t *testing.T) {
	cases := []struct {
		variant     string
		marked      bool
		wantCorrupt bool
		recovered   string
	}{
		{"grow", true, false, recoveredFinished},
		{"same", true, false, recoveredFinished},
		{"grow", false, true, recoveredKept},
		{"same", false, false, recoveredForeign},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/marked=%v", tc.variant, tc.marked), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			old, next := crashContent(t, tc.variant)
			path := newRegistry(t, string(old))
			s := newStore(t)
			var left []byte
			if tc.marked {
				crashAt(t, "registry-partial", path, s.StateDir, next)
				if err := os.RemoveAll(filepath.Join(s.StateDir, "backups")); err != nil {
					t.Fatal(err)
				}
				left = readFile(t, path)
			} else {
				half := len(next) / 2
				left = append(bytes.Clone(next[:half]), old[half:]...)
				j := &Journal{Registry: path, OldHash: HashBytes(old), NewHash: HashBytes(next), Data: next}
				if err := os.WriteFile(path+JournalSuffix, encodeJournal(j), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, left, 0o644); err != nil {
					t.Fatal(err)
				}
			}

			c, err := s.Transform(ctx, path, func(*Snapshot) (Change, error) { return Keep(), nil })
			var ce *CorruptError
			if got := errors.As(err, &ce) && ce.Journal == path+JournalSuffix; got != tc.wantCorrupt {
				t.Errorf("got error %v, want a *CorruptError naming the kept journal %v", err, tc.wantCorrupt)
			}
			if !tc.wantCorrupt && err != nil {
				t.Errorf("got error %v, want none", err)
			}
			if c == nil || c.Recovered != tc.recovered {
				t.Errorf("got Commit %+v, want Recovered %q", c, tc.recovered)
			}
			want := left
			if tc.recovered == recoveredFinished {
				want = next
			}
			if got := readFile(t, path); !bytes.Equal(got, want) {
				t.Errorf("got registry %q, want %q", got, want)
			}
			_, jerr := ReadJournal(ctx, path)
			if kept := jerr == nil; kept != tc.wantCorrupt {
				t.Errorf("got journal kept %v (%v), want %v", kept, jerr, tc.wantCorrupt)
			}
		})
	}
}
