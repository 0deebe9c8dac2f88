package ui

import "agentwatch/reconcile"

// glyphs give every verdict a sign that renders in any terminal; the word
// always follows it, so colour is never the only carrier.
var glyphs = map[string]string{
	reconcile.VerdictOK:       "✓",
	reconcile.VerdictStarting: "◌",
	reconcile.VerdictSuspect:  "?",
	reconcile.VerdictGhost:    "✗",
	reconcile.VerdictStale:    "!",
	reconcile.VerdictDone:     "·",
	reconcile.VerdictLeak:     "⚠",
	reconcile.VerdictOther:    "○",
	reconcile.VerdictForeign:  "◇",
	reconcile.VerdictUnknown:  "¿",
	// Findings with rows of their own.
	reconcile.FindDrift:        "≠",
	reconcile.FindDuplicate:    "=",
	reconcile.FindDivergent:    "⇄",
	reconcile.FindCorrupt:      "✗",
	reconcile.FindUnreadable:   "✗",
	reconcile.FindSpawnBlocked: "⊘",
	reconcile.FindOrphanRow:    "∅",
}

// verdictWidth is the width of the widest glyph-and-word: "◌ starting".
const verdictWidth = 10

// verdictLabel is a verdict's glyph and word: "✗ ghost".
func verdictLabel(v string) string {
	g, ok := glyphs[v]
	if !ok {
		g = "?"
	}
	return g + " " + escape(v)
}

// meanings say in a sentence what each verdict means, for the detail view.
var meanings = map[string]string{
	reconcile.VerdictOK:        "healthy: it runs as the registry says",
	reconcile.VerdictStarting:  "active, started less than the grace period ago: never a ghost yet",
	reconcile.VerdictSuspect:   "active, but neither its session nor a claude of it was found on this look; a second miss makes it a ghost",
	reconcile.VerdictGhost:     "active in the registry, past grace, and neither its tmux session nor any claude attributable to it is alive",
	reconcile.VerdictStale:     "alive, but no last_update for longer than --stale (a warning only)",
	reconcile.VerdictDone:      "terminal status and nothing of it runs",
	reconcile.VerdictLeak:      "runs although its agent is finished or unknown: a candidate for a kill",
	reconcile.VerdictUnknown:   "a status outside both the active and the terminal set: shown, never repaired",
	reconcile.VerdictOther:     "not an agent session: shown, never touched",
	reconcile.VerdictForeign:   "a claude no agent owns (the operator's own): never killed without --force",
	reconcile.FindDrift:        "a counter of the registry differs from what its entries add up to",
	reconcile.FindDuplicate:    "an agent id is in one task's array more than once",
	reconcile.FindDivergent:    "two sources disagree on an agent's status",
	reconcile.FindCorrupt:      "a registry that does not parse: nothing it owns is judged",
	reconcile.FindUnreadable:   "a source that could not be read: nothing it owns is judged",
	reconcile.FindSpawnBlocked: "ghost rows count against the task's max_concurrent and block spawns",
	reconcile.FindOrphanRow:    "a progress or hierarchy row whose agent row is missing (a warning)",
}

// faulty reports whether a row with this verdict stays under "faults only".
func faulty(v string) bool {
	switch v {
	case reconcile.VerdictOK, reconcile.VerdictDone, reconcile.VerdictOther, reconcile.VerdictStarting, reconcile.VerdictForeign:
		return false
	}
	return true
}
