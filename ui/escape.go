package ui

import "agentwatch/termsafe"

// escape makes a string from a registry, a command line or tmux safe to
// print (see termsafe.String): no string can move the cursor, change the
// terminal's state or hide text. Every such string goes through escape
// before it reaches a view.
func escape(s string) string { return termsafe.String(s) }

// escapeLines escapes a multi-line text line by line: its own newlines are
// kept, everything else is escaped.
func escapeLines(s string) string { return termsafe.Lines(s) }
