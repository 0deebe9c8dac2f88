package ui

// Scanning: the scan, tick and registry-watch messages, and what the
// screen does with a scan's result.

import (
	"context"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"agentwatch/engine"
	"agentwatch/reconcile"
)

// scanMsg is one scan's result.
type scanMsg struct {
	snap *engine.Snapshot
	rep  reconcile.Report
	mem  *reconcile.Memory
	// carried are the registries whose lock was busy and whose last good
	// document was kept from the previous snapshot.
	carried []reconcile.Registry
	// manual: asked for (ctrl+r, an action, a registry change), so it is
	// applied even while paused.
	manual bool
}

// scanErrMsg is a scan that failed; the last good data stays on screen.
type scanErrMsg struct {
	err    error
	manual bool
}

func (e scanErrMsg) Error() string { return "scan: " + e.err.Error() }
func (e scanErrMsg) Unwrap() error { return e.err }

// tickMsg arms the next scan. seq tells a current tick from a stale one.
type tickMsg struct{ seq int }

// watchStartedMsg carries the registry watch's channel, and the function
// that stops it when the program ends.
type watchStartedMsg struct {
	ch   <-chan struct{}
	stop context.CancelFunc
}

// watchErrMsg is a watch that could not start: scans go on by interval.
type watchErrMsg struct{ err error }

func (e watchErrMsg) Error() string { return "watch registries: " + e.err.Error() }
func (e watchErrMsg) Unwrap() error { return e.err }

// watchMsg is a change to the registries.
type watchMsg struct{}

// watchClosedMsg is the end of the watch channel.
type watchClosedMsg struct{}

// requestScan starts a scan, or, when one is in flight, asks for another
// as soon as it returns: scans never overlap.
func (m *Model) requestScan(manual bool) tea.Cmd {
	if m.scanning {
		m.rescanPending = m.rescanPending || manual
		return nil
	}
	m.scanning = true
	return scanCmd(m.opts.Backend, m.opts.Now(), m.snap, m.mem, manual)
}

// afterScan arms what follows a scan: a scan asked for meanwhile, or the
// next tick.
func (m *Model) afterScan() tea.Cmd {
	if m.rescanPending {
		m.rescanPending = false
		return m.requestScan(true)
	}
	if m.paused {
		return nil
	}
	m.tickSeq++
	return tickCmd(m.opts.Interval, m.tickSeq)
}

func (m Model) onScan(msg scanMsg) (tea.Model, tea.Cmd) {
	m.scanning = false
	if m.paused && !msg.manual {
		return m, m.afterScan() // paused: rows do not move
	}
	if m.tally == nil || !sameReport(m.rep, msg.rep) {
		m.tally = newTally(msg.snap.Input.Sets, &msg.rep, followedServers(msg.snap))
	}
	m.snap, m.rep, m.mem = msg.snap, msg.rep, msg.mem
	if n := len(msg.snap.Input.Bases); n > len(m.bases) {
		// The scan found bases that live agent panes name: show them.
		m.bases = m.opts.Backend.Bases()
	}
	m.updateLocks(msg)
	m.refreshRows()
	m.pruneTags()
	if (m.statusErr && strings.HasPrefix(m.status, "scan:")) || m.status == statusRescanning {
		m.status, m.statusErr = "", false
	}
	m.layout()
	return m, m.afterScan()
}

// sameReport reports whether two reports hold the very same rows, as when
// reconcile gives its previous report again because nothing changed.
func sameReport(a, b reconcile.Report) bool {
	return sameArray(a.Agents, b.Agents) && sameArray(a.Sessions, b.Sessions) &&
		sameArray(a.Processes, b.Processes) && sameArray(a.Findings, b.Findings)
}

// sameArray reports whether a and b are the same elements of the same array.
func sameArray[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// updateLocks keeps, for every registry whose lock was busy, since when
// it has been.
func (m *Model) updateLocks(msg scanMsg) {
	prev := map[string]time.Time{}
	for _, l := range m.locks {
		prev[l.path] = l.since
	}
	m.locks = nil
	m.locked = map[string]bool{}
	add := func(r reconcile.Registry, carried bool) {
		if m.locked[r.Path] {
			return
		}
		m.locked[r.Path] = true
		since, ok := prev[r.Path]
		if !ok {
			since = msg.snap.Time
		}
		pid, command, _ := engine.LockHolder(r.Err)
		m.locks = append(m.locks, lockBadge{path: r.Path, name: registryName(r.Path), pid: pid, command: command, since: since, carried: carried})
	}
	for _, r := range msg.carried {
		add(r, true)
	}
	for _, r := range msg.snap.Locked() {
		add(r, false)
	}
}

// refreshRows rebuilds the panes' rows from the report, the filter and
// "faults only".
func (m *Model) refreshRows() {
	all := buildRows(m.snap, &m.rep, m.locked)
	for i := range m.panes {
		m.panes[i].SetRows(all[i], m.rowFilter())
	}
}

// pruneTags drops the tags of rows that are gone.
func (m *Model) pruneTags() {
	if len(m.tags) == 0 {
		return
	}
	present := map[string]bool{}
	for _, p := range m.panes {
		for _, r := range p.all {
			present[r.key] = true
		}
	}
	for k := range m.tags {
		if !present[k] {
			delete(m.tags, k)
		}
	}
}
