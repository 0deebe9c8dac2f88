package procscan

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/shirou/gopsutil/v4/process"
)

func TestParseStat(t *testing.T) {
	cases := []struct {
		name string
		line string
		want procStat
	}{
		{"plain", "4242 (claude) S 4000 4100 4100 34817 4242 4194304 10 0 0 0 150 25 0 0 20 0 12 0 98765 1000000 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
			procStat{pid: 4242, comm: "claude", state: 'S', ppid: 4000, pgrp: 4100, session: 4100, ttyNr: 34817, utime: 150, stime: 25, start: 98765, rssPages: 2048}},
		{"comm with spaces and parentheses", "77 (a) b (c)) Z 1 77 77 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 500 0 0 0\n",
			procStat{pid: 77, comm: "a) b (c)", state: 'Z', ppid: 1, pgrp: 77, session: 77, utime: 1, stime: 2, start: 500}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStat([]byte(c.line))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
	for _, bad := range []string{"", "12 (x", "12 (x) S 1 2", "x (y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q): no error", bad)
		}
	}
}

func TestTTYName(t *testing.T) {
	cases := []struct {
		dev  uint64
		want string
	}{
		{0, ""},
		{34817, "pts/1"},                   // 136:1
		{136<<8 | 0xff | 1<<20, "pts/511"}, // minor 0x1ff, split across the encoding
		{137 << 8, "pts/256"},
		{4<<8 | 1, "tty1"},
		{4<<8 | 65, "ttyS1"},
		{5<<8 | 1, "console"},
		{204<<8 | 64, "204:64"},
	}
	for _, c := range cases {
		if got := ttyName(c.dev); got != c.want {
			t.Errorf("ttyName(%#x): got %q, want %q", c.dev, got, c.want)
		}
	}
}

// TestAgreesWithGopsutil checks that what the package reads from /proc
// itself is what gopsutil reads, start time included to the millisecond.
func TestAgreesWithGopsutil(t *testing.T) {
	process.EnableBootTimeCache(true)
	f := startFake(t, fakeSpec{role: "sleep", args: []string{"--print", "a b"}})
	tab := scan(t, NewScanner())
	p := tab.Procs[f.pid()]
	if p == nil {
		t.Fatal("fake claude not in the table")
	}
	ctx := context.Background()
	gp, err := process.NewProcessWithContext(ctx, f.pid())
	if err != nil {
		t.Fatal(err)
	}
	created, _ := gp.CreateTimeWithContext(ctx)
	ppid, _ := gp.PpidWithContext(ctx)
	argv, _ := gp.CmdlineSliceWithContext(ctx)
	name, _ := gp.NameWithContext(ctx)
	uids, _ := gp.UidsWithContext(ctx)
	term, _ := gp.TerminalWithContext(ctx)
	if p.Start != created || p.PPID != ppid || !slices.Equal(p.Argv, argv) || p.Comm != name || len(uids) < 2 || p.UID != uids[1] || "/dev/"+p.TTY != term && !(p.TTY == "" && term == "") {
		t.Errorf("got start %d ppid %d argv %q comm %q uid %d tty %q, gopsutil says %d %d %q %q %v %q",
			p.Start, p.PPID, p.Argv, p.Comm, p.UID, p.TTY, created, ppid, argv, name, uids, term)
	}
}

// TestUIDBothWays: the uid a scan reads through a pidfd is the one
// /proc/PID/status gives, for every process, a fake run as another user
// included; and a scan that must use status gives the same table.
func TestUIDBothWays(t *testing.T) {
	if !pidfdCreds() {
		t.Skip("PIDFD_GET_INFO gives no credentials here (Linux before 6.13)")
	}
	var other *fake
	if os.Geteuid() == 0 {
		other = startFake(t, fakeSpec{role: "sleep", uid: 65534})
	}
	byPidfd := scan(t, NewScanner())
	pidfdCreds = func() bool { return false }
	t.Cleanup(func() { pidfdCreds = func() bool { return true } })
	byStatus := scan(t, NewScanner())
	compared := inBoth(byPidfd, byStatus, func(p, q *Proc) {
		if p.UID != q.UID {
			t.Errorf("PID %d (%s): uid %d through a pidfd, %d from status", p.PID, p.Comm, p.UID, q.UID)
		}
	})
	if compared < len(byPidfd.Procs)/2 {
		t.Errorf("compared %d of %d processes", compared, len(byPidfd.Procs))
	}
	if other != nil {
		if p := byPidfd.Procs[other.pid()]; p == nil || p.UID != 65534 {
			t.Errorf("the fake run as uid 65534: got %+v", p)
		}
	}
}

// TestOwnerlessScanLeavesOwnersToRefusal: an ownerless Scanner reads no
// process's owner, and Refusal on its table asks the system for the owner
// of the process it judges: another user's fake is refused as it is on a
// table that read owners, this process's own fake is not, and a process
// that is gone is refused (planned alone).
func TestOwnerlessScanLeavesOwnersToRefusal(t *testing.T) {
	mine := startFake(t, fakeSpec{role: "sleep"})
	var other *fake
	if os.Geteuid() == 0 {
		other = startFake(t, fakeSpec{role: "sleep", uid: 65534})
	}
	lean, full := scan(t, NewOwnerlessScanner()), scan(t, NewScanner())
	for pid, p := range lean.Procs {
		if !p.OwnerUnknown || p.UID != 0 {
			t.Fatalf("PID %d (%s): the ownerless scan read uid %d (unknown %v)", pid, p.Comm, p.UID, p.OwnerUnknown)
		}
	}
	self, euid := int32(os.Getpid()), uint32(os.Geteuid())
	judge := func(tab *Table, pid int32) string { return Refusal(tab, pid, self, euid, nil, false) }
	if why := judge(lean, mine.pid()); why != "" {
		t.Errorf("this user's fake, on the ownerless table: refused %q", why)
	}
	if other != nil {
		want := judge(full, other.pid())
		if want == "" {
			t.Fatal("another user's fake, on the full table: not refused")
		}
		if got := judge(lean, other.pid()); got != want {
			t.Errorf("another user's fake, on the ownerless table: %q, want %q as on the full table", got, want)
		}
	}
	// Gone (its identity no longer holds), its owner unknown: refused, so
	// that nothing of its tree is planned from the old table.
	gone := *lean.Procs[mine.pid()]
	gone.Start--
	lean.Procs[mine.pid()] = &gone
	if got := judge(lean, mine.pid()); got == "" {
		t.Error("a process the PID no longer names, its owner unknown: not refused")
	}
}

// TestFreshReadsAYoungProcessTwice: a process born after the scan began
// (here every process, with since 0) is read again until two stat reads
// around its details agree; one born before is read once.
func TestFreshReadsAYoungProcessTwice(t *testing.T) {
	f := startFake(t, fakeSpec{role: "sleep", args: []string{"--young"}})
	src := newSystemSource().(*procSource)
	for _, since := range []uint64{0, bootTicks()} {
		st, d, err := src.fresh(f.pid(), since, nil, true)
		if err != nil {
			t.Fatalf("since %d: %v", since, err)
		}
		if st.pid != f.pid() || len(d.Argv) != 2 || d.Argv[1] != "--young" || d.UID != uint32(os.Geteuid()) {
			t.Errorf("since %d: got %+v %+v", since, st, d)
		}
	}
}

// TestReadEnvOfAnExitedProcess: the environment of a process that exited
// after the scan is left unread, without an error.
func TestReadEnvOfAnExitedProcess(t *testing.T) {
	f := startFake(t, fakeSpec{role: "sleep", env: []string{"TMUX=/tmp/x,1,0", "TMUX_PANE=%7"}})
	s := NewScanner()
	tab := scan(t, s)
	f.stop(t)
	if err := s.ReadEnv(context.Background(), tab, []int32{f.pid()}); err != nil {
		t.Fatal(err)
	}
	if p := tab.Procs[f.pid()]; p == nil || p.EnvReadable || p.TMUXPane != "" {
		t.Errorf("got %+v, want the exited fake's environment unread", p)
	}
}

func TestParsePID(t *testing.T) {
	for name, want := range map[string]int32{"1": 1, "4194304": 4194304, "2147483647": 2147483647,
		"0": 0, "01": 0, "": 0, "self": 0, "12a": 0, "-1": 0, "2147483648": 0, "99999999999": 0} {
		got, ok := parsePID([]byte(name))
		if got != want || ok != (want != 0) {
			t.Errorf("parsePID(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
}

// TestSharedReadAgreesWithOneReader: the table read by several workers is
// the table one reader reads, process for process (those that lived
// through the scans unchanged: one reader's scans before and after agree
// on them; a process may be reparented or call setsid in between), the
// comm of a kernel thread aside (a kernel worker renames itself each time
// it takes other work, back and forth).
func TestSharedReadAgreesWithOneReader(t *testing.T) {
	defer func(n int) { parallelFrom = n }(parallelFrom)
	scan := func(from int) *Table {
		parallelFrom = from
		tab, err := NewScanner().Scan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	one, shared, again := scan(1<<30), scan(2), scan(1<<30)
	if len(shared.Procs) < 2 {
		t.Fatalf("%d processes", len(shared.Procs))
	}
	same := func(p, q *Proc) bool {
		kthread := p.PPID == 2 || p.PID == 2 // kthreadd and its children
		return p.PPID == q.PPID && (p.Comm == q.Comm || kthread) && slices.Equal(p.Argv, q.Argv) && p.UID == q.UID && p.SID == q.SID
	}
	both := inBoth(shared, one, func(p, q *Proc) {
		if r := again.Procs[p.PID]; r == nil || r.Start != q.Start || !same(q, r) {
			return // changed while the scans ran
		}
		if !same(p, q) {
			t.Errorf("PID %d: shared %+v, one reader %+v", p.PID, p, q)
		}
	})
	if both < len(one.Procs)/2 {
		t.Errorf("only %d of %d processes in both scans", both, len(one.Procs))
	}
}

// inBoth calls f with each process of a and the same process in b (the
// same PID and start: one that lived through both scans), and returns how
// many there were.
func inBoth(a, b *Table, f func(p, q *Proc)) int {
	n := 0
	for pid, p := range a.Procs {
		if q := b.Procs[pid]; q != nil && q.Start == p.Start {
			n++
			f(p, q)
		}
	}
	return n
}
