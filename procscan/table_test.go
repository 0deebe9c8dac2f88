package procscan

import (
	"slices"
	"testing"
	"time"
)

// TestTableWalks checks the walks on a hand-built table with branches,
// which the real chain of fakes does not have.
func TestTableWalks(t *testing.T) {
	//   1 ─ 10 ─┬─ 12 ── 14
	//           └─ 11 ── 13      20 (its parent 99 is not in the table)
	procs := map[int32]*Proc{}
	for _, p := range []Proc{
		{PID: 1, PPID: 0, SID: 1},
		{PID: 10, PPID: 1, SID: 10},
		{PID: 12, PPID: 10, SID: 10},
		{PID: 11, PPID: 10, SID: 10},
		{PID: 13, PPID: 11, SID: 13},
		{PID: 14, PPID: 12, SID: 10},
		{PID: 20, PPID: 99, SID: 20},
	} {
		procs[p.PID] = &p
	}
	tab := newTable(time.Now(), procs)
	cases := []struct {
		name      string
		got, want []int32
	}{
		{"Children[10]", tab.Children[10], []int32{11, 12}},
		{"Descendants(10)", tab.Descendants(10), []int32{11, 13, 12, 14}},
		{"Descendants(1)", tab.Descendants(1), []int32{10, 11, 13, 12, 14}},
		{"Descendants(14)", tab.Descendants(14), nil},
		{"Descendants(missing)", tab.Descendants(500), nil},
		{"Ancestors(14)", tab.Ancestors(14), []int32{12, 10, 1}},
		{"Ancestors(1)", tab.Ancestors(1), nil},
		{"Ancestors(20)", tab.Ancestors(20), nil},
		{"InSession(10)", tab.InSession(10), []int32{10, 11, 12, 14}},
		{"InSession(0)", tab.InSession(0), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}
