// Which targets a kill refuses, and the trees their refusal protects.

package procscan

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// guard is what Kill never signals.
type guard struct {
	self      int32
	euid      uint32
	force     bool
	ancestors map[int32]bool
	protected map[int32]bool
}

// refusal says why id may not be killed, or "" when it may.
func (g guard) refusal(ctx context.Context, id Identity) string {
	if why := g.never(id.PID); why != "" {
		return why
	}
	// Another user's process: judged only while id still names it; a
	// process that is gone or reused is term's to report.
	uid, st, ok := ownerNow(ctx, id)
	if !ok || st.zombie() {
		return ""
	}
	return ownerRefusal(uid, g.euid, g.force)
}

// never says why pid is never killed, whoever owns it, or "".
func (g guard) never(pid int32) string {
	switch {
	case pid <= 1:
		return "PID 1 and below are never killed"
	case pid == g.self:
		return "agentwatch itself"
	case g.ancestors[pid]:
		return "an ancestor of agentwatch"
	case g.protected[pid]:
		return "protected (a tmux server)"
	}
	return ""
}

// ownerRefusal says why a process of uid may not be killed by euid, or "".
func ownerRefusal(uid, euid uint32, force bool) string {
	switch {
	case uid == euid || (euid == 0 && force):
		return ""
	case euid == 0:
		return fmt.Sprintf("owned by uid %d (needs --force)", uid)
	}
	return fmt.Sprintf("owned by uid %d", uid)
}

// Refusal says why Kill, called by the process self with the effective
// user id euid, would refuse the process pid names in table, as the table
// saw it: PID 1 and below, self and its ancestors, a PID in protect,
// another user's process (unless euid is root and force is set). It
// returns "" when Kill would go on to check and signal it. A planner asks
// it, so as not to plan a refused process's tree at all; it reads nothing
// but its arguments, except the owner of a process the table has none of
// (an ownerless Scanner's), which it asks the system for while the PID
// still names the process the table saw. Where it cannot (the process is
// gone, or its owner unreadable), it refuses: the process is planned alone
// and nothing of its tree, and the next scan judges what is left.
func Refusal(table *Table, pid, self int32, euid uint32, protect []int32, force bool) string {
	g := guard{self: self, euid: euid, force: force,
		ancestors: map[int32]bool{}, protected: map[int32]bool{}}
	for _, a := range table.Ancestors(g.self) {
		g.ancestors[a] = true
	}
	for _, p := range protect {
		g.protected[p] = true
	}
	if why := g.never(pid); why != "" {
		return why
	}
	if p := table.Procs[pid]; p != nil {
		uid := p.UID
		if p.OwnerUnknown {
			var ok bool
			if uid, _, ok = ownerNow(context.Background(), Identity{PID: p.PID, Start: p.Start}); !ok {
				return "gone since the scan, or its owner unreadable: scan again"
			}
		}
		return ownerRefusal(uid, g.euid, force)
	}
	return ""
}

// ownerNow reads the owner of the process id names, and its state; ok is
// false when id no longer names it (gone, or its PID reused) or its owner
// cannot be read.
func ownerNow(ctx context.Context, id Identity) (uid uint32, st procState, ok bool) {
	st, err := probe(ctx, id.PID)
	if err != nil || st.Start != id.Start {
		return 0, st, false
	}
	if uid, err = owner(id.PID); err != nil {
		return 0, st, false
	}
	// The PID may have been freed and taken again in between: the owner
	// counts only if the process is still the one id names.
	if again, err := probe(ctx, id.PID); err != nil || again.Start != id.Start {
		return 0, st, false
	}
	return uid, st, true
}

// spareTrees refuses every target in the tree of a refused target, as
// req.Trees groups them: a descendant of it, or a member of the session or
// process group it leads, as the system shows them now. A target refused
// so protects its own tree in turn. Each refused target's reason then says
// how many it spared.
func spareTrees(ctx context.Context, req KillRequest, out []KillOutcome, distinct []int) {
	tree := func(i int) int {
		if len(req.Trees) != len(req.Targets) {
			return 0
		}
		return req.Trees[i]
	}
	var refused []int
	for _, i := range distinct {
		if out[i].Result == KillRefused && out[i].PID > 0 {
			refused = append(refused, i)
		}
	}
	if len(refused) == 0 {
		return
	}
	links := make(map[int]map[int32]bool) // by target: the PIDs whose tree holds it
	for _, i := range distinct {
		if out[i].Result == "" {
			links[i] = treeLinks(ctx, out[i].PID)
		}
	}
	spared := make(map[int]int)
	for len(refused) > 0 {
		r := refused[0]
		refused = refused[1:]
		for _, i := range distinct {
			if out[i].Result != "" || tree(i) != tree(r) || !links[i][out[r].PID] {
				continue
			}
			out[i].Result = KillRefused
			out[i].Reason = fmt.Sprintf("in the tree of PID %d, which is refused (%s): not signaled", out[r].PID, out[r].Reason)
			spared[r]++
			refused = append(refused, i)
		}
	}
	for r, n := range spared {
		if n == 1 {
			out[r].Reason += "; 1 process of its tree was not signaled either"
		} else {
			out[r].Reason += fmt.Sprintf("; %d processes of its tree were not signaled either", n)
		}
	}
}

// treeLinks returns the PIDs in whose tree pid is now: its ancestors, the
// leader of its session and the leader of its process group.
func treeLinks(ctx context.Context, pid int32) map[int32]bool {
	links := map[int32]bool{}
	if sid, err := unix.Getsid(int(pid)); err == nil {
		links[int32(sid)] = true
	}
	if pgid, err := unix.Getpgid(int(pid)); err == nil {
		links[int32(pgid)] = true
	}
	seen := map[int32]bool{pid: true}
	for p := pid; len(seen) < 4096; {
		st, err := probe(ctx, p)
		if err != nil || st.PPID <= 0 || seen[st.PPID] {
			break
		}
		seen[st.PPID] = true
		links[st.PPID] = true
		p = st.PPID
	}
	delete(links, pid)
	return links
}

// selfAncestors returns the PIDs of the calling process's ancestors.
func selfAncestors(ctx context.Context) map[int32]bool {
	out := map[int32]bool{}
	pid := int32(os.Getppid())
	for pid > 0 && !out[pid] && len(out) < 4096 {
		out[pid] = true
		st, err := probe(ctx, pid)
		if err != nil {
			break
		}
		pid = st.PPID
	}
	return out
}
