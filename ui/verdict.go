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
	reconcile.VerdictOK:       "healthy: it runs as the registry says",
	reconcile.VerdictStarting: "active, started less than the grace period ago: never a ghost yet",
	reconcile.VerdictSuspect:  "active, but neither its session nor a claude of it was found on this look; a second miss makes it a ghost",
	reconcile.VerdictGhost:    "active in the registry, past grace, and neither its tmux session nor any claude attributable to it is alive",
	reconcile.VerdictStale:    "alive, but no last_update for longer than --stale (a warning only)",
	reconcile.VerdictDone:     "terminal status and nothing of it runs",
	reconcile.VerdictLeak:     "runs although its agent is finished or unknown: a candidate for a kill",
	reconcile.VerdictUnknown:  "a status outside both the active and the terminal set: shown, never repaired",
	reconcile.VerdictOther:    "not an agent session: shown, never touched",
	reconcile.VerdictForeign:  "a claude no agent owns (the operator's own): never killed without --force",
}

// faulty reports whether a row with this verdict stays under "faults only".
func faulty(v string) bool {
	switch v {
	case reconcile.VerdictOK, reconcile.VerdictDone, reconcile.VerdictOther, reconcile.VerdictStarting, reconcile.VerdictForeign:
		return false
	}
	return true
}
