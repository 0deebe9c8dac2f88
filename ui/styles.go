package ui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// Theme is the small set of colours the screen uses, each for dark and
// light terminals.
type Theme struct {
	OK      lipgloss.AdaptiveColor // healthy verdicts
	Warn    lipgloss.AdaptiveColor // starting, suspect, stale, unknown
	Bad     lipgloss.AdaptiveColor // ghost, leak, errors
	Foreign lipgloss.AdaptiveColor
	Dim     lipgloss.AdaptiveColor // done, other, hints
	Accent  lipgloss.AdaptiveColor // titles, the focused pane
	Border  lipgloss.AdaptiveColor
	Select  lipgloss.AdaptiveColor // background of the selected row
	Related lipgloss.AdaptiveColor // rows joined to the selected one
}

// DefaultTheme is agentwatch's palette.
func DefaultTheme() Theme {
	return Theme{
		OK:      lipgloss.AdaptiveColor{Light: "#1A7F37", Dark: "#3FB950"},
		Warn:    lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#D29922"},
		Bad:     lipgloss.AdaptiveColor{Light: "#CF222E", Dark: "#F85149"},
		Foreign: lipgloss.AdaptiveColor{Light: "#0550AE", Dark: "#58A6FF"},
		Dim:     lipgloss.AdaptiveColor{Light: "#6E7781", Dark: "#8B949E"},
		Accent:  lipgloss.AdaptiveColor{Light: "#8250DF", Dark: "#BC8CFF"},
		Border:  lipgloss.AdaptiveColor{Light: "#D0D7DE", Dark: "#30363D"},
		Select:  lipgloss.AdaptiveColor{Light: "#DDF4FF", Dark: "#1F3A5F"},
		Related: lipgloss.AdaptiveColor{Light: "#FFF8C5", Dark: "#3B2E00"},
	}
}

// Styles is every style of the screen, built once from a theme and passed
// down to the components.
type Styles struct {
	Title       lipgloss.Style
	Label       lipgloss.Style
	Marker      lipgloss.Style // PAUSED, READ-ONLY
	Badge       lipgloss.Style // a busy registry lock
	Pane        lipgloss.Style
	PaneFocused lipgloss.Style
	PaneTitle   lipgloss.Style
	PaneTitleOn lipgloss.Style
	ColumnHead  lipgloss.Style
	Heading     lipgloss.Style
	Selected    lipgloss.Style // the cursor row of the focused pane
	SelectedOff lipgloss.Style // the cursor row of another pane
	Related     lipgloss.Style
	New         lipgloss.Style
	Dim         lipgloss.Style
	Tab         lipgloss.Style
	TabActive   lipgloss.Style
	Detail      lipgloss.Style
	Status      lipgloss.Style
	StatusError lipgloss.Style
	Box         lipgloss.Style // dialogs and overlays
	BoxTitle    lipgloss.Style
	Button      lipgloss.Style
	ButtonOn    lipgloss.Style
	Warning     lipgloss.Style
	DiffAdd     lipgloss.Style
	DiffDel     lipgloss.Style
	Help        help.Styles

	tones map[tone]lipgloss.Style // the verdicts' styles
}

// DefaultStyles builds the styles from a theme. noColor drops every colour
// and keeps only bold, reverse and underline: glyphs and words carry every
// verdict, so the screen stays whole in monochrome.
func DefaultStyles(t Theme, noColor bool) Styles {
	fg := func(c lipgloss.AdaptiveColor) lipgloss.Style {
		if noColor {
			return lipgloss.NewStyle()
		}
		return lipgloss.NewStyle().Foreground(c)
	}
	border := func(c lipgloss.AdaptiveColor, b lipgloss.Border) lipgloss.Style {
		s := lipgloss.NewStyle().Border(b)
		if !noColor {
			s = s.BorderForeground(c)
		}
		return s
	}
	bg := func(s lipgloss.Style, c lipgloss.AdaptiveColor) lipgloss.Style {
		if noColor {
			return s.Reverse(true)
		}
		return s.Background(c)
	}
	s := Styles{
		Title:       fg(t.Accent).Bold(true),
		Label:       fg(t.Dim),
		Marker:      lipgloss.NewStyle().Bold(true).Reverse(true),
		Badge:       fg(t.Warn).Bold(true),
		Pane:        border(t.Border, lipgloss.RoundedBorder()),
		PaneFocused: border(t.Accent, lipgloss.ThickBorder()),
		PaneTitle:   fg(t.Dim),
		PaneTitleOn: fg(t.Accent).Bold(true),
		ColumnHead:  fg(t.Dim).Underline(true),
		Heading:     fg(t.Accent).Bold(true),
		Selected:    lipgloss.NewStyle().Reverse(true).Bold(true),
		SelectedOff: lipgloss.NewStyle().Underline(true),
		Related:     bg(lipgloss.NewStyle(), t.Related),
		New:         fg(t.Bad).Bold(true).Reverse(true),
		Dim:         fg(t.Dim),
		Tab:         fg(t.Dim).Padding(0, 1),
		TabActive:   fg(t.Accent).Bold(true).Reverse(true).Padding(0, 1),
		Detail:      lipgloss.NewStyle(),
		Status:      fg(t.Dim),
		StatusError: fg(t.Bad).Bold(true),
		Box:         border(t.Accent, lipgloss.RoundedBorder()).Padding(0, 1),
		BoxTitle:    fg(t.Accent).Bold(true),
		Button:      lipgloss.NewStyle().Padding(0, 1),
		ButtonOn:    lipgloss.NewStyle().Padding(0, 1).Reverse(true).Bold(true),
		Warning:     fg(t.Bad).Bold(true),
		DiffAdd:     fg(t.OK),
		DiffDel:     fg(t.Bad),
		Help: help.Styles{
			Ellipsis:       fg(t.Dim),
			ShortKey:       fg(t.Accent).Bold(true),
			ShortDesc:      fg(t.Dim),
			ShortSeparator: fg(t.Border),
			FullKey:        fg(t.Accent).Bold(true),
			FullDesc:       lipgloss.NewStyle(),
			FullSeparator:  fg(t.Border),
		},
	}
	s.tones = map[tone]lipgloss.Style{
		toneOK:       fg(t.OK),
		toneWarn:     fg(t.Warn),
		toneWarnBold: fg(t.Warn).Bold(true),
		toneBad:      fg(t.Bad).Bold(true),
		toneDim:      fg(t.Dim),
		toneForeign:  fg(t.Foreign),
	}
	return s
}

// Verdict is the style of a verdict's glyph and word: the tone its row of
// looks names.
func (s Styles) Verdict(v string) lipgloss.Style {
	if st, ok := s.tones[looks[v].tone]; ok {
		return st
	}
	return lipgloss.NewStyle()
}
