package ui

import (
	"context"
	"errors"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Run shows the screen on the terminal (in the alternate screen) until the
// operator quits or ctx ends.
func Run(ctx context.Context, opts Options) error {
	// Ask the terminal for its background (for the adaptive colours) now,
	// before the program reads the keyboard: asked later, the terminal's
	// answer and the operator's first keys would be read by both.
	lipgloss.HasDarkBackground()
	p := tea.NewProgram(New(opts), tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithContext(ctx))
	final, err := p.Run()
	if m, ok := final.(Model); ok {
		m.Close()
	}
	if err != nil && errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // ended by ctx: a signal, or the demo ending
	}
	if err != nil {
		return fmt.Errorf("run tui: %w", err)
	}
	return nil
}
