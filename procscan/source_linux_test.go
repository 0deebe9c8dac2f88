package procscan

import (
	"context"
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
