// Package procscan reads the process table, keeps it as a tree, decides
// which processes are claude agents, and kills processes safely.
//
// One Scan reads the whole process table once and builds the tree from the
// parent PIDs it read; it never asks for a process's children one by one.
// A process is identified by its PID and its start time together (an
// Identity): PIDs are reused, and every kill re-checks the start time
// immediately before it signals, so a reused PID is never hit.
//
// On Linux the package reads /proc itself; on macOS it reads the kernel's
// process list with one sysctl and asks gopsutil for the rest. Both build
// without cgo.
package procscan

import (
	"slices"
	"strings"
	"time"
)

// Proc is one process as one scan saw it. A Proc belongs to its Table and
// is read-only; Argv may be shared with the tables of later scans.
type Proc struct {
	// PID, PPID, PGID and SID are the process, parent, process-group and
	// session ids. SID is 0 when it could not be read.
	PID, PPID, PGID, SID int32
	// UID is the process's effective user id, unless OwnerUnknown: a
	// scan of an ownerless Scanner reads no owner, nor does one that could
	// not read it (UID is then 0).
	UID          uint32
	OwnerUnknown bool
	// Comm is the kernel's short command name (at most 15 characters on
	// Linux, 16 on macOS).
	Comm string
	// Argv is the command line; empty for kernel threads, for a process
	// first seen as a zombie, and where this user may not read it.
	Argv []string
	// Start is the process's creation time in milliseconds since the
	// epoch, computed as gopsutil v4 computes it (10 ms resolution on
	// Linux). With PID it is the process's identity.
	Start int64
	// TTY is the controlling terminal ("pts/3", "ttys004"), or "" for none.
	TTY string
	// State is the ps(1) state letter: R running, S sleeping, D disk wait,
	// T stopped, Z zombie, I idle.
	State string
	// RSS is the resident set size in bytes.
	RSS uint64
	// CPU is the percentage of one core the process used since the
	// previous scan of the same Scanner; 0 on the first scan that sees it.
	CPU float64
	// TMUX and TMUXPane are the TMUX and TMUX_PANE variables of the
	// process's environment, when it was read: a scan reads only the
	// environments Scanner.ReadEnv asks for.
	TMUX, TMUXPane string
	// EnvReadable tells whether the process's environment was read: false
	// when ReadEnv was not asked for it, or could not read it (another
	// user's process's environment, unless agentwatch runs as root).
	EnvReadable bool
}

// Cmdline returns the command line: Argv joined with spaces.
func (p *Proc) Cmdline() string { return strings.Join(p.Argv, " ") }

// Identity returns the process's PID and start time.
func (p *Proc) Identity() Identity { return Identity{PID: p.PID, Start: p.Start} }

// Zombie tells whether the process has exited and waits for its parent to
// reap it: it holds a PID and a table entry, nothing else.
func (p *Proc) Zombie() bool { return p.State == "Z" || p.State == "X" }

// Identity names one process for its whole life: a PID alone can name
// another process once the first has exited.
type Identity struct {
	PID int32
	// Start is the creation time in milliseconds since the epoch, as in
	// Proc.Start.
	Start int64
}

// Table is the process table as one scan read it.
type Table struct {
	// Time is when the scan started.
	Time time.Time
	// Procs holds every process by PID.
	Procs map[int32]*Proc
	// Children holds, for every process with children in the table, their
	// PIDs in ascending order.
	Children map[int32][]int32
	// sessions holds, for every session id but 0, its processes' PIDs in
	// ascending order; nil in a table built by hand, which InSession then
	// scans.
	sessions map[int32][]int32
}

// newTable builds a table and its Children and session indexes from procs.
func newTable(at time.Time, procs map[int32]*Proc) *Table {
	t := &Table{Time: at, Procs: procs, Children: make(map[int32][]int32), sessions: make(map[int32][]int32)}
	for pid, p := range procs {
		if p.PPID != pid {
			t.Children[p.PPID] = append(t.Children[p.PPID], pid)
		}
		if p.SID > 0 {
			t.sessions[p.SID] = append(t.sessions[p.SID], pid)
		}
	}
	for _, c := range t.Children {
		slices.Sort(c)
	}
	for _, c := range t.sessions {
		slices.Sort(c)
	}
	return t
}

// Ancestors returns pid's parent, its parent's parent and so on, parent
// first, up to but not including PID 0. It stops early at a parent that is
// not in the table (one that exited during the scan).
func (t *Table) Ancestors(pid int32) []int32 {
	var out []int32
	p := t.Procs[pid]
	for p != nil && p.PPID > 0 && p.PPID != p.PID {
		parent := t.Procs[p.PPID]
		if parent == nil || slices.Contains(out, p.PPID) {
			break
		}
		out = append(out, p.PPID)
		p = parent
	}
	return out
}

// Descendants returns every process below pid in the tree, depth-first,
// children in ascending PID order at each level. pid itself is not
// included.
func (t *Table) Descendants(pid int32) []int32 {
	var out []int32
	seen := map[int32]bool{pid: true}
	var walk func(int32)
	walk = func(parent int32) {
		for _, c := range t.Children[parent] {
			if seen[c] {
				continue
			}
			seen[c] = true
			out = append(out, c)
			walk(c)
		}
	}
	walk(pid)
	return out
}

// InSession returns the PIDs of every process whose session id is sid, the
// session leader included, in ascending order. Session 0 (kernel threads,
// or a session id that could not be read) is no session: it returns nil.
func (t *Table) InSession(sid int32) []int32 {
	if sid <= 0 {
		return nil
	}
	if t.sessions != nil {
		return slices.Clone(t.sessions[sid])
	}
	var out []int32
	for pid, p := range t.Procs {
		if p.SID == sid {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}
