package ui

import (
	"time"

	"agentwatch/reconcile"
)

// lifeText is an agent's last sign of life as a person reads it: "active
// 12s ago (stream log)". The last sign is the latest of its last_update,
// its last progress report and its stream log's last change.
func lifeText(a *reconcile.AgentRow, now time.Time) string {
	if a == nil || a.LastSign.IsZero() {
		return ""
	}
	d := now.Sub(a.LastSign)
	if d < 0 {
		d = 0
	}
	return "active " + fmtAge(d) + " ago (" + a.LastSignFrom + ")"
}
