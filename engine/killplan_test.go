package engine

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"agentwatch/procscan"
	"agentwatch/reconcile"
)

// TestKillPlanIsGuardedByThisProcess: the engine plans with the running
// process as the guard, so agentwatch and its parent are planned as
// refused, each alone, while a process of neither is planned as its tree.
func TestKillPlanIsGuardedByThisProcess(t *testing.T) {
	const stranger, child = 5000000, 5000001
	self, parent := int32(os.Getpid()), int32(os.Getppid())
	euid := uint32(os.Geteuid())
	procs := map[int32]*procscan.Proc{
		parent:   {PID: parent, PPID: 1, SID: parent, Comm: "sh", UID: euid},
		self:     {PID: self, PPID: parent, SID: parent, Comm: "agentwatch", UID: euid},
		stranger: {PID: stranger, PPID: 1, SID: stranger, Comm: "sleep", UID: euid},
		child:    {PID: child, PPID: stranger, SID: stranger, Comm: "sleep", UID: euid},
	}
	table := &procscan.Table{Procs: procs, Children: map[int32][]int32{}}
	for pid, p := range procs {
		table.Children[p.PPID] = append(table.Children[p.PPID], pid)
	}
	for _, c := range table.Children {
		slices.Sort(c)
	}
	snap := &Snapshot{}
	snap.Input.Live = &reconcile.Live{Procs: table}
	targets := reconcile.ParseKillTargets([]string{fmt.Sprint(self), fmt.Sprint(parent), fmt.Sprint(stranger)})
	ops, err := KillPlan(snap, reconcile.Report{}, targets, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, op := range ops {
		line := fmt.Sprint(op.PID)
		if why, ok := reconcile.PlannedRefusal(op); ok {
			line += " " + why
		}
		got = append(got, line)
	}
	want := []string{
		fmt.Sprint(self) + " agentwatch itself; nothing of its tree is signaled",
		fmt.Sprint(parent) + " an ancestor of agentwatch; nothing of its tree is signaled",
		"5000000", "5000001",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if _, err := KillPlan(nil, reconcile.Report{}, targets, true); err == nil {
		t.Error("planned with no snapshot")
	}
}
