package procscan

import (
	"context"
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func scan(t *testing.T, s *Scanner) *Table {
	t.Helper()
	tab, err := s.Scan(context.Background())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return tab
}

func TestScanFindsFakeClaude(t *testing.T) {
	before := time.Now()
	f := startFake(t, fakeSpec{
		role: "sleep",
		args: []string{"--print", "--output-format", "stream-json"},
		env:  []string{"TMUX=/tmp/x,1,0", "TMUX_PANE=%7"},
	})
	after := time.Now()
	s := NewScanner()
	tab := scan(t, s)

	p := tab.Procs[f.pid()]
	if p == nil {
		t.Fatalf("fake claude %d not in the table", f.pid())
	}
	if p.EnvReadable || p.TMUX != "" {
		t.Errorf("a scan read the environment unasked: TMUX %q", p.TMUX)
	}
	if err := s.ReadEnv(context.Background(), tab, []int32{f.pid()}); err != nil {
		t.Fatal(err)
	}
	self := int32(os.Getpid())
	pgid, _ := unix.Getpgid(int(self))
	sid, _ := unix.Getsid(int(self))
	wantArgv := []string{fakeClaude, "--print", "--output-format", "stream-json"}
	checks := []struct {
		name      string
		got, want any
	}{
		{"PPID", p.PPID, self},
		{"Comm", p.Comm, "claude"},
		{"Argv", strings.Join(p.Argv, "\x00"), strings.Join(wantArgv, "\x00")},
		{"Cmdline", p.Cmdline(), strings.Join(wantArgv, " ")},
		{"PGID", p.PGID, int32(pgid)},
		{"SID", p.SID, int32(sid)},
		{"UID", p.UID, uint32(os.Geteuid())},
		{"TMUX", p.TMUX, "/tmp/x,1,0"},
		{"TMUXPane", p.TMUXPane, "%7"},
		{"EnvReadable", p.EnvReadable, true},
		{"Identity", p.Identity(), f.id()},
		{"Zombie", p.Zombie(), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// gopsutil's start time comes from the boot time in whole seconds.
	if lo, hi := before.Add(-1500*time.Millisecond).UnixMilli(), after.Add(1500*time.Millisecond).UnixMilli(); p.Start < lo || p.Start > hi {
		t.Errorf("Start: got %d, want within [%d, %d]", p.Start, lo, hi)
	}
	if p.State != "S" && p.State != "R" {
		t.Errorf("State: got %q, want S or R", p.State)
	}
	if p.RSS == 0 {
		t.Errorf("RSS: got 0, want the fake's resident size")
	}
	if p.CPU != 0 {
		t.Errorf("CPU on a first scan: got %v, want 0", p.CPU)
	}
	if !DefaultMatcher().Match(p) {
		t.Errorf("the default matcher does not match the fake claude %q (comm %q)", p.Cmdline(), p.Comm)
	}
	if !slices.Contains(tab.Children[self], f.pid()) {
		t.Errorf("Children[%d] = %v, want it to hold %d", self, tab.Children[self], f.pid())
	}
}

func TestScanTree(t *testing.T) {
	// The test process → a → b → c, each a fake claude; a leads a session
	// of its own, so the session's members are known whatever session the
	// test runs in (under some CI runners that one is 0: its leader lives
	// outside the PID namespace).
	f := startFake(t, fakeSpec{role: "tree", setsid: true, env: []string{"PROCSCAN_TEST_DEPTH=2"}})
	c, b, a := f.ids[0].PID, f.ids[1].PID, f.ids[2].PID
	self := int32(os.Getpid())
	tab := scan(t, NewScanner())

	if got, want := tab.Descendants(a), []int32{b, c}; !slices.Equal(got, want) {
		t.Errorf("Descendants(a): got %v, want %v", got, want)
	}
	if got := tab.Descendants(c); len(got) != 0 {
		t.Errorf("Descendants(c): got %v, want none", got)
	}
	anc := tab.Ancestors(c)
	if len(anc) < 3 || !slices.Equal(anc[:3], []int32{b, a, self}) {
		t.Errorf("Ancestors(c): got %v, want it to start with %v", anc, []int32{b, a, self})
	}
	if slices.Contains(anc, 0) || slices.Contains(anc, c) {
		t.Errorf("Ancestors(c) = %v holds 0 or c itself", anc)
	}
	if want := tab.Ancestors(self); !slices.Equal(anc[3:], want) {
		t.Errorf("Ancestors(c) beyond the test: got %v, want the test's own %v", anc[3:], want)
	}
	want := []int32{a, b, c}
	slices.Sort(want)
	if got := tab.InSession(a); !slices.Equal(got, want) {
		t.Errorf("InSession(a): got %v, want %v", got, want)
	}
}

func TestScanSetsidChild(t *testing.T) {
	f := startFake(t, fakeSpec{role: "setsid-child"})
	child, parent := f.ids[0].PID, f.pid()
	tab := scan(t, NewScanner())
	p := tab.Procs[child]
	if p == nil {
		t.Fatalf("setsid child %d not in the table", child)
	}
	if p.PPID != parent || p.SID != child || p.PGID != child {
		t.Errorf("setsid child: got PPID %d SID %d PGID %d, want %d %d %d", p.PPID, p.SID, p.PGID, parent, child, child)
	}
	if got := tab.InSession(child); !slices.Equal(got, []int32{child}) {
		t.Errorf("InSession(child): got %v, want only the child", got)
	}
	if tab.Procs[parent].SID == child {
		t.Errorf("the parent moved to the child's session")
	}
}

// TestScanIncremental proves, on the real process table, that a second
// scan serves the fixed fields from the cache and re-reads PPID.
func TestScanIncremental(t *testing.T) {
	f := startFake(t, fakeSpec{role: "tree", env: []string{"PROCSCAN_TEST_DEPTH=2"}})
	c, b := f.ids[0], f.ids[1]
	s := NewScanner()
	t1 := scan(t, s)
	first := s.detailReads
	if first < len(t1.Procs) {
		t.Fatalf("first scan read details %d times for %d processes", first, len(t1.Procs))
	}
	t2 := scan(t, s)
	misses := s.detailReads - first
	if misses > len(t2.Procs)/4 {
		t.Errorf("second scan read details %d times for %d processes: the cache is not used", misses, len(t2.Procs))
	}
	p1, p2 := t1.Procs[c.PID], t2.Procs[c.PID]
	if p1 == nil || p2 == nil {
		t.Fatalf("process %d missing from a scan", c.PID)
	}
	if &p1.Argv[0] != &p2.Argv[0] {
		t.Errorf("the second scan read argv again instead of serving it from the cache")
	}
	// An environment read for one table is served to the next from the
	// cache.
	ctx := context.Background()
	if err := s.ReadEnv(ctx, t1, []int32{c.PID}); err != nil || s.envReads != 1 || !t1.Procs[c.PID].EnvReadable {
		t.Fatalf("ReadEnv on the first table: %v, %d reads, %+v", err, s.envReads, t1.Procs[c.PID])
	}
	if err := s.ReadEnv(ctx, t2, []int32{c.PID}); err != nil || s.envReads != 1 || !p2.EnvReadable {
		t.Errorf("ReadEnv on the second table: %v, %d reads in all, %+v; want the cached environment", err, s.envReads, p2)
	}

	// Kill c's parent: c is reparented, and the next scan says so while it
	// keeps c's cached argv.
	if err := unix.Kill(int(b.PID), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reparenting of c", func() bool {
		st, err := probe(context.Background(), c.PID)
		return err == nil && st.PPID != b.PID
	})
	t3 := scan(t, s)
	p3 := t3.Procs[c.PID]
	if p3 == nil {
		t.Fatalf("process %d missing after its parent died", c.PID)
	}
	if p3.PPID == b.PID {
		t.Errorf("PPID after reparenting: still %d", b.PID)
	}
	if &p3.Argv[0] != &p1.Argv[0] {
		t.Errorf("reparenting made the scanner read argv again")
	}
	if !p3.EnvReadable || s.envReads != 1 {
		t.Errorf("a later scan: environment read %v, %d reads in all; want the cached one", p3.EnvReadable, s.envReads)
	}
	if slices.Contains(t3.Descendants(f.pid()), c.PID) && p3.PPID != f.pid() {
		t.Errorf("c is still under a after it was reparented to %d", p3.PPID)
	}
}

func TestScanCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewScanner().Scan(ctx)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "scan processes: ") {
		t.Errorf("got %v, want a wrapped context.Canceled", err)
	}
}

// fakeSource is a process table in memory, for the cache's unit test.
type fakeSource struct {
	procs    map[int32]fakeProc
	detailed []int32 // PIDs whose details were read, in order
	envs     []int32 // PIDs whose environment was read, in order
}

type fakeProc struct {
	sample
	d      details
	env    envVars
	vanish bool // gone by the time its details or its environment are read
}

func (f *fakeSource) read(_ context.Context, known held, _ bool) ([]record, error) {
	var out []record
	for _, pid := range slices.Sorted(maps.Keys(f.procs)) {
		p := f.procs[pid]
		r := record{sample: p.sample}
		if start, comm, ok := known(pid); !ok || start != p.Start || comm != p.Comm {
			f.detailed = append(f.detailed, pid)
			if p.vanish {
				continue
			}
			r.details, r.fresh = p.d, true
		}
		out = append(out, r)
	}
	return out, nil
}

func (f *fakeSource) environ(_ context.Context, pid int32, start int64) (envVars, error) {
	f.envs = append(f.envs, pid)
	p, ok := f.procs[pid]
	if !ok || p.vanish || p.Start != start {
		return envVars{}, errVanished
	}
	return p.env, nil
}

// TestScanCache checks which scans read a process's fixed fields and its
// environment again.
func TestScanCache(t *testing.T) {
	src := &fakeSource{procs: map[int32]fakeProc{
		10: {sample: sample{PID: 10, PPID: 1, Comm: "claude", Start: 1000, CPUSeconds: 10}, d: details{Argv: []string{"claude", "a"}, UID: 7}},
		11: {sample: sample{PID: 11, PPID: 10, Comm: "node", Start: 1001}, d: details{Argv: []string{"node", "b"}},
			env: envVars{TMUX: "/t,1,0", Readable: true}},
	}}
	s := newScanner(src)
	now := time.Unix(1_700_000_000, 0)
	s.now = func() time.Time { return now }

	type step struct {
		name        string
		change      func()
		wantDetails []int32
		// readEnv is what ReadEnv is asked after the scan (and after
		// beforeEnv, when set); wantEnv the environments it reads.
		readEnv, wantEnv []int32
		check            func(t *testing.T, tab *Table)
		beforeEnv        func()
	}
	steps := []step{
		{"first scan reads every process's details, no environment", func() {}, []int32{10, 11}, nil, nil,
			func(t *testing.T, tab *Table) {
				if p := tab.Procs[10]; p.UID != 7 || p.Cmdline() != "claude a" || p.CPU != 0 {
					t.Errorf("got %+v", p)
				}
				if p := tab.Procs[11]; p.TMUX != "" || p.EnvReadable {
					t.Errorf("got %+v, want no environment read", p)
				}
			}, nil},
		{"ReadEnv reads the environments asked for, once", func() {}, nil, []int32{11, 11, 99}, []int32{11},
			func(t *testing.T, tab *Table) {
				if p := tab.Procs[11]; p.TMUX != "/t,1,0" || !p.EnvReadable {
					t.Errorf("got %+v", p)
				}
				if p := tab.Procs[10]; p.EnvReadable {
					t.Errorf("got %+v, want 10's environment not read", p)
				}
			}, nil},
		{"unchanged: nothing read, CPU and PPID fresh, environment cached", func() {
			now = now.Add(2 * time.Second)
			p := src.procs[10]
			p.CPUSeconds = 11 // 1 s of CPU in 2 s
			src.procs[10] = p
			q := src.procs[11]
			q.PPID, q.State, q.RSS = 1, "Z", 4096
			src.procs[11] = q
		}, nil, []int32{11}, nil, func(t *testing.T, tab *Table) {
			if got := tab.Procs[10].CPU; got != 50 {
				t.Errorf("CPU: got %v, want 50", got)
			}
			if p := tab.Procs[11]; p.PPID != 1 || p.State != "Z" || p.RSS != 4096 || p.Cmdline() != "node b" || p.TMUX != "/t,1,0" {
				t.Errorf("got %+v, want PPID 1, state Z, RSS 4096, cached argv and environment", p)
			}
			if got := tab.Children[10]; len(got) != 0 {
				t.Errorf("Children[10]: got %v after 11 was reparented", got)
			}
		}, nil},
		{"PID reused with another start: read again, no stale argv", func() {
			now = now.Add(time.Second)
			src.procs[10] = fakeProc{sample: sample{PID: 10, PPID: 1, Comm: "claude", Start: 5000, CPUSeconds: 3}, d: details{Argv: []string{"claude", "new"}}}
		}, []int32{10}, nil, nil, func(t *testing.T, tab *Table) {
			if p := tab.Procs[10]; p.Cmdline() != "claude new" || p.UID != 0 || p.Start != 5000 || p.CPU != 0 {
				t.Errorf("got %+v, want the new process's fields and CPU 0", p)
			}
		}, nil},
		{"comm changed (exec): details and environment read again", func() {
			p := src.procs[11]
			p.Comm = "claude"
			p.d.Argv = []string{"claude", "--print"}
			p.env = envVars{TMUX: "/t,1,0", TMUXPane: "%3", Readable: true}
			src.procs[11] = p
		}, []int32{11}, []int32{11}, []int32{11}, func(t *testing.T, tab *Table) {
			if p := tab.Procs[11]; p.Cmdline() != "claude --print" || p.TMUXPane != "%3" {
				t.Errorf("got %q and TMUX_PANE %q, want the argv and environment after exec", p.Cmdline(), p.TMUXPane)
			}
		}, nil},
		{"vanished while read: skipped, and not cached", func() {
			src.procs[12] = fakeProc{sample: sample{PID: 12, PPID: 10, Comm: "sh", Start: 6000}, vanish: true}
		}, []int32{12}, nil, nil, func(t *testing.T, tab *Table) {
			if _, ok := tab.Procs[12]; ok {
				t.Errorf("a process that vanished is in the table")
			}
			if _, ok := s.cache[12]; ok {
				t.Errorf("a process that vanished is in the cache")
			}
		}, nil},
		{"vanished before its environment is read: left unread, not cached", func() {
			src.procs[13] = fakeProc{sample: sample{PID: 13, PPID: 1, Comm: "sh", Start: 7000}, env: envVars{TMUX: "/t,1,0", Readable: true}}
			delete(src.procs, 12)
		}, []int32{13}, []int32{13}, []int32{13}, func(t *testing.T, tab *Table) {
			if p := tab.Procs[13]; p.EnvReadable || p.TMUX != "" || s.cache[13].envRead {
				t.Errorf("got %+v, want the environment of a vanished process unread", p)
			}
		}, func() {
			p := src.procs[13]
			p.vanish = true
			src.procs[13] = p
		}},
		{"exited: dropped from the cache", func() {
			delete(src.procs, 13)
			delete(src.procs, 11)
		}, nil, nil, nil, func(t *testing.T, tab *Table) {
			if _, ok := s.cache[11]; ok || len(tab.Procs) != 1 {
				t.Errorf("cache %v, table %v: want only 10", s.cache, tab.Procs)
			}
		}, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.change()
			src.detailed, src.envs = nil, nil
			tab, err := s.Scan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(src.detailed, st.wantDetails) {
				t.Errorf("details read for %v, want %v", src.detailed, st.wantDetails)
			}
			if st.beforeEnv != nil {
				st.beforeEnv()
			}
			if st.readEnv != nil {
				if err := s.ReadEnv(context.Background(), tab, st.readEnv); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(src.envs, st.wantEnv) {
				t.Errorf("environments read for %v, want %v", src.envs, st.wantEnv)
			}
			st.check(t, tab)
		})
	}
}

// TestUnknownOwnersAreReadAgainWhereOwnersAreRead: a process whose owner a
// scan could not read is read again by the next scan of a Scanner that
// reads owners, until it is known; an ownerless Scanner keeps it as it is.
func TestUnknownOwnersAreReadAgainWhereOwnersAreRead(t *testing.T) {
	for _, ownerless := range []bool{false, true} {
		src := &fakeSource{procs: map[int32]fakeProc{
			10: {sample: sample{PID: 10, PPID: 1, Comm: "claude", Start: 1000}, d: details{Argv: []string{"claude"}, OwnerUnknown: true}},
			11: {sample: sample{PID: 11, PPID: 1, Comm: "node", Start: 1001}, d: details{Argv: []string{"node"}, UID: 7}},
		}}
		s := newScanner(src)
		s.ownerless = ownerless
		scan(t, s)
		src.detailed = nil
		scan(t, s)
		want := []int32{10}
		if ownerless {
			want = nil
		}
		if !slices.Equal(src.detailed, want) {
			t.Errorf("ownerless %v: details read again for %v, want %v", ownerless, src.detailed, want)
		}
		if ownerless {
			continue
		}
		// Now readable: read once more, then kept.
		p := src.procs[10]
		p.d.UID, p.d.OwnerUnknown = 9, false
		src.procs[10] = p
		scan(t, s)
		src.detailed = nil
		if tab := scan(t, s); len(src.detailed) != 0 || tab.Procs[10].OwnerUnknown || tab.Procs[10].UID != 9 {
			t.Errorf("once known: details read again for %v, process %+v", src.detailed, tab.Procs[10])
		}
	}
}
