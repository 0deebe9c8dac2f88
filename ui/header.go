package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"agentwatch/engine"
	"agentwatch/reconcile"
	"agentwatch/registry"
)

// lockBadge is a registry whose lock was busy during the last scan.
type lockBadge struct {
	path    string
	name    string
	pid     int
	command string
	since   time.Time
	carried bool // its last good document is on screen
}

// registryName names a registry by what tells it apart
// (registry.ShortName), escaped.
func registryName(path string) string { return escape(registry.ShortName(path)) }

// header is the top of the screen: where agentwatch looks, what it counts,
// what is wrong, and the state of the scans.
type header struct {
	title    string
	bases    []registry.Base
	snap     *engine.Snapshot
	tally    *tally // nil before the first scan
	locks    []lockBadge
	paused   bool
	readonly bool
	scanning bool
	width    int
}

const maxLockLines = 2

// lines draws the header's lines, each cut to the width. At 120 columns
// and more the counts and the findings share a line.
func (h header) lines(s *Styles) []string {
	w := h.width
	title := s.Title.Render("agentwatch")
	if h.title != "" {
		title += s.Title.Render(" · " + escape(h.title))
	}
	var right []string
	if h.readonly {
		right = append(right, s.Marker.Render(" READ-ONLY "))
	}
	if h.paused {
		right = append(right, s.Marker.Render(" PAUSED "))
	}
	switch {
	case h.snap == nil && h.scanning:
		right = append(right, s.Label.Render("first scan…"))
	case h.snap != nil:
		scan := fmt.Sprintf("scanned %s in %s", h.snap.Time.Format("15:04:05"), roundDuration(h.snap.Duration))
		if h.scanning {
			scan += " ⟳"
		}
		right = append(right, s.Label.Render(scan))
	}
	out := []string{spread(title, strings.Join(right, " "), w)}

	sqlite := map[string]bool{}
	if h.snap != nil {
		for _, d := range h.snap.Input.Databases {
			sqlite[d.Base] = true
		}
	}
	var ws []string
	for _, b := range h.bases {
		w := escape(b.Dir)
		if sqlite[b.Dir] {
			w += s.Label.Render(" (sqlite)")
		}
		ws = append(ws, w)
	}
	where := s.Label.Render("workspaces ") + strings.Join(ws, ", ")
	if len(ws) == 0 {
		where = s.Label.Render("workspaces ") + "none"
	}
	where += s.Label.Render("  │  tmux ") + h.servers()
	out = append(out, clipLine(where, w))

	counts, findings := h.counts(s), h.findings(s)
	if w >= wideWidth {
		out = append(out, clipLine(counts+"    "+findings, w))
	} else {
		out = append(out, clipLine(counts, w), clipLine(findings, w))
	}
	for i, l := range h.locks {
		if i == maxLockLines {
			out = append(out, s.Badge.Render(fmt.Sprintf("⊠ and %d more registries locked", len(h.locks)-maxLockLines)))
			break
		}
		out = append(out, clipLine(s.Badge.Render(l.text(h.snap)), w))
	}
	return out
}

func (l lockBadge) text(snap *engine.Snapshot) string {
	holder := "(holder unknown)"
	switch {
	case l.pid > 0 && l.command != "":
		holder = fmt.Sprintf("by PID %d (%s)", l.pid, escape(l.command))
	case l.pid > 0:
		holder = fmt.Sprintf("by PID %d", l.pid)
	}
	since := time.Duration(0)
	if snap != nil {
		since = snap.Time.Sub(l.since)
	}
	t := fmt.Sprintf("⊠ %s locked %s for %s", l.name, holder, roundDuration(since.Truncate(time.Second)))
	if l.carried {
		return t + " — showing its last good copy"
	}
	return t + " — not read yet"
}

func (h header) servers() string {
	if h.snap == nil {
		return "…"
	}
	if h.snap.Input.Live == nil {
		return "not scanned"
	}
	var out []string
	for i, sv := range h.snap.Input.Live.Servers {
		t := escape(sv.Socket.String())
		if len(h.snap.Input.Live.Servers) > 1 {
			t = fmt.Sprintf("#%d %s", i+1, t)
		}
		if sv.Why != "" {
			t += " (" + escape(sv.Why) + ")"
		}
		switch {
		case sv.Err != nil:
			t += " error: " + escape(sv.Err.Error())
		case sv.Snapshot != nil && !sv.Snapshot.Running:
			t += " no server running"
		}
		out = append(out, t)
	}
	return strings.Join(out, ", ")
}

// tally is what the header counts in a report. It is counted once per
// scan: a report can hold 10,000 agents, and the header is drawn on every
// frame.
type tally struct {
	active, sessions, claude, suspects int
	// followedSessions and followedClaude are on servers scanned only
	// because a claude's TMUX named them: other projects' perhaps, so
	// they are counted apart from the scanned workspaces'.
	followedSessions, followedClaude int
	findings                         map[reconcile.FindingKind]int // by kind
}

func newTally(sets registry.StatusSets, rep *reconcile.Report, followed map[string]bool) *tally {
	t := &tally{findings: rep.Summary()}
	for _, a := range rep.Agents {
		if sets.Classify(a.Status) == registry.StatusActive {
			t.active++
		}
		if a.Verdict == reconcile.VerdictSuspect {
			t.suspects++
		}
	}
	for _, x := range rep.Sessions {
		switch {
		case x.AgentID == "":
		case followed[x.Server]:
			t.followedSessions++
		default:
			t.sessions++
		}
	}
	for _, p := range rep.Processes {
		switch {
		case !p.Claude:
		case followed[p.Server]:
			t.followedClaude++
		default:
			t.claude++
		}
	}
	return t
}

// followedServers are the servers of a snapshot scanned only because a
// claude's TMUX named them.
func followedServers(snap *engine.Snapshot) map[string]bool {
	out := map[string]bool{}
	if snap == nil || snap.Input.Live == nil {
		return out
	}
	for _, s := range snap.Input.Live.Servers {
		if s.Followed {
			out[s.Socket.String()] = true
		}
	}
	return out
}

func (h header) counts(s *Styles) string {
	if h.snap == nil || h.tally == nil {
		return s.Label.Render("registry active – │ live sessions – │ claude procs –")
	}
	sep := s.Label.Render(" │ ")
	return s.Label.Render("registry active ") + fmt.Sprint(h.tally.active) + sep +
		s.Label.Render("live sessions ") + fmt.Sprint(h.tally.sessions) + sep +
		s.Label.Render("claude procs ") + fmt.Sprint(h.tally.claude) + h.followed(s)
}

// followed is what the followed servers hold, apart.
func (h header) followed(s *Styles) string {
	if h.tally.followedSessions == 0 && h.tally.followedClaude == 0 {
		return ""
	}
	return s.Label.Render(fmt.Sprintf(" (followed servers: %d sessions, %d claude)", h.tally.followedSessions, h.tally.followedClaude))
}

func (h header) findings(s *Styles) string {
	if h.tally == nil || h.snap == nil {
		return ""
	}
	sum, suspects := h.tally.findings, h.tally.suspects
	item := func(n int, word string, bad bool) string {
		t := fmt.Sprintf("%s %d", word, n)
		if n > 0 && bad {
			return s.Warning.Render(t)
		}
		if n == 0 {
			return s.Label.Render(t)
		}
		return t
	}
	parts := []string{
		item(sum[reconcile.FindGhost], "ghosts", true),
		item(sum[reconcile.FindLeak], "leaks", true),
		item(sum[reconcile.FindDrift], "drift", true),
	}
	for _, k := range []struct {
		kind reconcile.FindingKind
		word string
	}{{reconcile.FindCorrupt, "corrupt"}, {reconcile.FindDuplicate, "duplicate"}, {reconcile.FindDivergent, "divergent"}, {reconcile.FindStale, "stale"}} {
		if sum[k.kind] > 0 {
			parts = append(parts, item(sum[k.kind], k.word, k.kind != reconcile.FindStale))
		}
	}
	if suspects > 0 {
		parts = append(parts, item(suspects, "suspects", false))
	}
	return strings.Join(parts, s.Label.Render(" · "))
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Microsecond)
}

// headerHeight is how many lines the header takes.
func (h header) height(s *Styles) int { return lipgloss.Height(strings.Join(h.lines(s), "\n")) }
