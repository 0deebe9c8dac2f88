package ui

import (
	"strings"

	"agentwatch/reconcile"
)

// tone is which of the theme's styles a verdict is drawn in.
type tone int

const (
	tonePlain    tone = iota // no colour
	toneOK                   // healthy
	toneWarn                 // starting, stale, unknown
	toneWarnBold             // suspect: one more miss makes it a ghost
	toneBad                  // ghost, leak (bold)
	toneDim                  // done, other
	toneForeign              // not an agent's
)

// look is how the screen shows one verdict, or one finding kind.
type look struct {
	// glyph renders in any terminal; the word always follows it, so colour
	// is never the only carrier.
	glyph string
	// meaning says in a sentence what the word means, for the detail view.
	meaning string
	tone    tone
	// faulty: a row with this word stays under "faults only".
	faulty bool
	// rank orders the verdicts worst first, for a pane sorted by verdict.
	rank int
	// short is the word of a finding kind that has rows of its own, in
	// their verdict column; empty for the kinds that are an agent's or a
	// session's row already (ghost, leak, stale).
	short string
}

// rankLast sorts after every verdict: a word that is no verdict.
const rankLast = 99

// looks is the one table of the screen's words: every reconcile.Verdict
// and every reconcile.FindingKind (the two share ghost, leak, stale and
// unknown) has its row, and a test keeps it so.
var looks = map[string]look{
	string(reconcile.VerdictOK): {glyph: "✓", tone: toneOK, rank: 7,
		meaning: "healthy: it runs as the registry says"},
	string(reconcile.VerdictStarting): {glyph: "◌", tone: toneWarn, rank: 6,
		meaning: "active, started less than the grace period ago: never a ghost yet"},
	string(reconcile.VerdictSuspect): {glyph: "?", tone: toneWarnBold, faulty: true, rank: 2,
		meaning: "active, but neither its session nor a claude of it was found on this look; a second miss makes it a ghost"},
	string(reconcile.VerdictGhost): {glyph: "✗", tone: toneBad, faulty: true, rank: 1,
		meaning: "active in the registry, past grace, and neither its tmux session nor any claude attributable to it is alive"},
	string(reconcile.VerdictStale): {glyph: "!", tone: toneWarn, faulty: true, rank: 3,
		meaning: "alive, but no last_update for longer than --stale (a warning only)"},
	string(reconcile.VerdictDone): {glyph: "·", tone: toneDim, rank: 9,
		meaning: "terminal status and nothing of it runs"},
	string(reconcile.VerdictLeak): {glyph: "⚠", tone: toneBad, faulty: true, rank: 0,
		meaning: "runs although its agent is finished or unknown: a candidate for a kill"},
	string(reconcile.VerdictUnknown): {glyph: "¿", tone: toneWarn, faulty: true, rank: 4, short: "unknown",
		meaning: "a status outside both the active and the terminal set: shown, never repaired"},
	string(reconcile.VerdictOther): {glyph: "○", tone: toneDim, rank: 8,
		meaning: "not an agent session: shown, never touched"},
	string(reconcile.VerdictForeign): {glyph: "◇", tone: toneForeign, rank: 5,
		meaning: "a claude no agent owns (the operator's own): never killed without --force"},
	// Finding kinds that are no verdict: each has rows of its own.
	string(reconcile.FindDrift): {glyph: "≠", faulty: true, rank: rankLast, short: "drift",
		meaning: "a counter of the registry differs from what its entries add up to"},
	string(reconcile.FindDuplicate): {glyph: "=", faulty: true, rank: rankLast, short: "dup",
		meaning: "an agent id is in one task's array more than once"},
	string(reconcile.FindDivergent): {glyph: "⇄", faulty: true, rank: rankLast, short: "diverge",
		meaning: "two sources disagree on an agent's status"},
	string(reconcile.FindCorrupt): {glyph: "✗", faulty: true, rank: rankLast, short: "corrupt",
		meaning: "a registry that does not parse: nothing it owns is judged"},
	string(reconcile.FindUnreadable): {glyph: "✗", faulty: true, rank: rankLast, short: "unread",
		meaning: "a source that could not be read: nothing it owns is judged"},
	string(reconcile.FindSpawnBlocked): {glyph: "⊘", faulty: true, rank: rankLast, short: "blocked",
		meaning: "ghost rows count against the task's max_concurrent and block spawns"},
	string(reconcile.FindOrphanRow): {glyph: "∅", faulty: true, rank: rankLast, short: "orphan",
		meaning: "a progress or hierarchy row whose agent row is missing (a warning)"},
}

// verdictWidth is the width of the widest glyph-and-word: "◌ starting".
const verdictWidth = 10

// verdictLabel is a verdict's glyph and word: "✗ ghost".
func verdictLabel(v string) string {
	l, ok := looks[v]
	if !ok {
		l.glyph = "?"
	}
	return l.glyph + " " + escape(v)
}

// findingLabel is a finding kind's glyph and short word, in the verdict
// column of its row: "≠ drift".
func findingLabel(k reconcile.FindingKind) string {
	l := looks[string(k)]
	if l.short == "" {
		return ""
	}
	return l.glyph + " " + l.short
}

// findingRow reports whether a finding kind has a row of its own.
func findingRow(k reconcile.FindingKind) bool { return looks[string(k)].short != "" }

// faulty reports whether a row with this verdict stays under "faults only".
func faulty(v string) bool {
	if l, ok := looks[v]; ok {
		return l.faulty
	}
	return true
}

// severityOf orders verdicts worst first.
func severityOf(v string) int {
	if l, ok := looks[v]; ok {
		return l.rank
	}
	return rankLast
}

// verdictLegend is every verdict's glyph and word, for the help screen.
func verdictLegend() string {
	var b strings.Builder
	for _, v := range reconcile.Verdicts {
		b.WriteString(verdictLabel(string(v)) + "   ")
	}
	return b.String()
}
