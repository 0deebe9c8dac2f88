// Package quietterm keeps the program from querying the terminal when it
// starts. Bubble Tea v1 asks the terminal for its background colour in its
// package init (through Lip Gloss), for every command of the binary; at a
// terminal that never answers, that query stalls each command for five
// seconds, and its escape sequences land in the output of `log` or `check`.
// Importing quietterm settles the answer before Bubble Tea's init runs:
// packages are initialised in the order of their import paths once their
// own imports are, and "agentwatch/…" sorts before "github.com/…". The TUI,
// the one command that needs the real answer, asks again with Ask.
package quietterm

import (
	"os"

	"github.com/charmbracelet/lipgloss"
)

func init() {
	// Any answer will do for commands that print no colour.
	lipgloss.SetHasDarkBackground(true)
}

// Ask gives Lip Gloss a fresh renderer on standard output, so that the
// next style that needs the terminal's background asks it: for the TUI,
// just before it takes the terminal.
func Ask() {
	lipgloss.SetDefaultRenderer(lipgloss.NewRenderer(os.Stdout))
}
