// What a status says (active, terminal, unknown) and the orchestrator's
// timestamps.

package registry

import (
	"fmt"
	"slices"
	"time"
)

// StatusClass sorts a free-text status into the sets agentwatch acts on.
type StatusClass uint8

// The classes of an agent status.
const (
	StatusUnknown StatusClass = iota
	StatusActive
	StatusTerminal
)

func (c StatusClass) String() string {
	switch c {
	case StatusActive:
		return "active"
	case StatusTerminal:
		return "terminal"
	}
	return "unknown"
}

// StatusSets says which agent statuses are active and which are terminal,
// and which task statuses are terminal. Anything else is unknown: shown,
// never repaired.
type StatusSets struct {
	Active       []string
	Terminal     []string
	TaskTerminal []string
}

// DefaultStatusSets returns the orchestrator's statuses as found in the field.
func DefaultStatusSets() StatusSets {
	return StatusSets{
		Active:       []string{"running", "working", "blocked", "reviewing"},
		Terminal:     []string{"completed", "terminated", "error", "failed", "killed", "phase_completed"},
		TaskTerminal: []string{"ARCHIVED", "COMPLETED", "FAILED", "CANCELLED"},
	}
}

// Classify returns the class of an agent status.
func (s StatusSets) Classify(status string) StatusClass {
	switch {
	case slices.Contains(s.Active, status):
		return StatusActive
	case slices.Contains(s.Terminal, status):
		return StatusTerminal
	}
	return StatusUnknown
}

// TaskDone reports whether a task status is terminal.
func (s StatusSets) TaskDone(status string) bool { return slices.Contains(s.TaskTerminal, status) }

// Timestamp layouts of Python's datetime.isoformat(): microseconds are
// omitted when they are zero, and an aware datetime carries an offset.
var timestampLayouts = []string{
	"2006-01-02T15:04:05.999999",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05.999999-07:00",
	"2006-01-02T15:04:05-07:00",
	"2006-01-02 15:04:05.999999",
	"2006-01-02 15:04:05",
}

// ParseTimestamp reads a timestamp as the orchestrator writes it: Python's
// naive datetime.now().isoformat(), which is local time without a zone.
func ParseTimestamp(s string) (time.Time, error) {
	if t, ok := parseNaiveISO(s); ok {
		return t, nil
	}
	if len(s) < len("2006-01-02T15:04:05") { // shorter than every layout
		return time.Time{}, fmt.Errorf("parse timestamp %q: not an ISO 8601 date and time", s)
	}
	return parseTimestampLayouts(s)
}

// parseTimestampLayouts is ParseTimestamp by time's layouts, for every
// shape parseNaiveISO leaves to it.
func parseTimestampLayouts(s string) (time.Time, error) {
	for _, layout := range timestampLayouts {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("parse timestamp %q: not an ISO 8601 date and time", s)
}

// parseNaiveISO reads the one shape the orchestrator writes, a naive
// YYYY-MM-DDTHH:MM:SS with 1 to 6 fractional digits or none, exactly as
// time.ParseInLocation reads it in the first two layouts, without its
// layout interpretation: a scan reads tens of thousands of them. ok is
// false for every other shape and for values out of range.
func parseNaiveISO(s string) (t time.Time, ok bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return t, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return t, false
	}
	if day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return t, false
	}
	nsec := 0
	if frac := s[19:]; frac != "" {
		if len(frac) < 2 || len(frac) > 7 || frac[0] != '.' {
			return t, false
		}
		f := num(20, len(frac)-1)
		if f < 0 {
			return t, false
		}
		for range 10 - len(frac) {
			f *= 10
		}
		nsec = f
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.Local), true
}

// FormatTimestamp writes t as Python's datetime.now().isoformat() would: local
// time, no zone, microseconds unless they are zero.
func FormatTimestamp(t time.Time) string {
	t = t.In(time.Local)
	if us := t.Nanosecond() / 1000; us != 0 {
		return t.Format("2006-01-02T15:04:05") + fmt.Sprintf(".%06d", us)
	}
	return t.Format("2006-01-02T15:04:05")
}
