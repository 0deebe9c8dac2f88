package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// dialogResult is what a key did to a dialog.
type dialogResult int

const (
	dialogOpen dialogResult = iota
	dialogCancelled
	dialogConfirmed
)

// dialog asks to confirm an action: a title, a scrollable body that names
// every target, and two buttons. Cancel has the focus when it opens, so a
// stray enter never confirms.
type dialog struct {
	title   string
	body    string
	confirm string // the confirm button's label
	// choices, when set, are several confirm buttons (the signals of a
	// force kill); focus i > 0 is choices[i-1].
	choices []string
	focus   int // 0 Cancel, 1 confirm
	keys    DialogKeyMap
	vp      viewport.Model
	width   int
	height  int
	compact bool
}

func newDialog(title, body, confirm string, keys DialogKeyMap) dialog {
	return dialog{title: title, body: body, confirm: confirm, keys: keys, vp: viewport.New(0, 0)}
}

// newChoiceDialog is a dialog whose confirm buttons are choices.
func newChoiceDialog(title, body string, choices []string, keys DialogKeyMap) dialog {
	d := newDialog(title, body, choices[0], keys)
	d.choices = choices
	return d
}

// buttons is how many buttons the dialog has, Cancel included.
func (d dialog) buttons() int {
	switch {
	case len(d.choices) > 0:
		return len(d.choices) + 1
	case d.confirm != "":
		return 2
	}
	return 1
}

// choice is the confirm button pressed.
func (d dialog) choice() string {
	if len(d.choices) > 0 && d.focus > 0 {
		return d.choices[d.focus-1]
	}
	return d.confirm
}

// SetSize fits the dialog into the area it is drawn in.
func (d *dialog) SetSize(areaW, areaH int) {
	// As wide as the screen allows: a diff of a registry line must not wrap.
	d.width = max(min(areaW-4, 200), 20)
	inner := d.width - 4 // border and padding
	content := wrapText(d.body, inner)
	lines := strings.Count(content, "\n") + 1
	// Around the body: the border, a blank line, the buttons and a hint;
	// in a short window only the border and the buttons.
	d.compact = areaH < 8
	chrome := 5
	if d.compact {
		chrome = 3
	}
	vpH := max(min(lines, areaH-chrome), 1)
	d.height = vpH + chrome
	d.vp.Width, d.vp.Height = inner, vpH
	d.vp.SetContent(content)
}

// Update handles the dialog's keys; the result says whether it closed and how.
func (d dialog) Update(msg tea.Msg) (dialog, dialogResult, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return d, dialogOpen, nil
	}
	switch {
	case key.Matches(km, d.keys.Cancel):
		return d, dialogCancelled, nil
	case key.Matches(km, d.keys.Press):
		if d.focus > 0 && d.confirm != "" {
			return d, dialogConfirmed, nil
		}
		return d, dialogCancelled, nil
	case key.Matches(km, d.keys.Left):
		d.focus = (d.focus + d.buttons() - 1) % d.buttons()
	case key.Matches(km, d.keys.Right):
		d.focus = (d.focus + 1) % d.buttons()
	case key.Matches(km, d.keys.Up):
		d.vp.ScrollUp(1)
	case key.Matches(km, d.keys.Down):
		d.vp.ScrollDown(1)
	case key.Matches(km, d.keys.PageUp):
		d.vp.PageUp()
	case key.Matches(km, d.keys.PageDown):
		d.vp.PageDown()
	}
	return d, dialogOpen, nil
}

// View draws the dialog box.
func (d dialog) View(s *Styles) string {
	inner := d.width - 4
	cancel, ok := s.Button.Render("  Cancel  "), s.Button.Render("  "+d.confirm+"  ")
	if d.focus == 0 {
		cancel = s.ButtonOn.Render("[ Cancel ]")
	} else {
		ok = s.ButtonOn.Render("[ " + d.confirm + " ]")
	}
	buttons := lipgloss.PlaceHorizontal(inner, lipgloss.Center, cancel+"    "+ok)
	if len(d.choices) > 0 {
		row := cancel
		for i, c := range d.choices {
			b := s.Button.Render("  " + c + "  ")
			if d.focus == i+1 {
				b = s.ButtonOn.Render("[ " + c + " ]")
			}
			row += "  " + b
		}
		buttons = lipgloss.PlaceHorizontal(inner, lipgloss.Center, row)
	}
	hint := "tab switch · enter press · esc cancel"
	if d.confirm == "" { // a dialog that only tells
		buttons = lipgloss.PlaceHorizontal(inner, lipgloss.Center, s.ButtonOn.Render("[ Close ]"))
		hint = "enter or esc close"
	}
	if !d.vp.AtTop() || !d.vp.AtBottom() {
		hint = "j/k scroll · " + hint
	}
	if !d.vp.AtBottom() {
		hint = "↓ more below · " + hint
	}
	body := strings.Split(d.vp.View(), "\n")
	if d.compact {
		body = append(body, buttons)
	} else {
		body = append(body, "", buttons, s.Dim.Render(lipgloss.PlaceHorizontal(inner, lipgloss.Center, hint)))
	}
	for i, l := range body {
		body[i] = " " + l
	}
	return box(s.Box, s.BoxTitle, d.title, body, d.width, d.height)
}

// wrapText wraps every line of a plain text to w columns. A continued
// line hangs under its value ("field      value…") or under its first
// word's indent, so wrapped detail and plan lines stay readable.
func wrapText(s string, w int) string {
	if w <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	var out []string
	for _, l := range lines {
		if lipgloss.Width(l) <= w {
			out = append(out, l)
			continue
		}
		out = append(out, hangWrap(l, w, hangingIndent(l, w))...)
	}
	return strings.Join(out, "\n")
}

// hangingIndent is where a wrapped line's continuation starts.
func hangingIndent(l string, w int) int {
	lead := len(l) - len(strings.TrimLeft(l, " "))
	indent := lead + 2
	rest := l[lead:]
	if i := strings.Index(rest, "  "); i > 0 && !strings.Contains(rest[:i], " ") {
		j := i + len(rest[i:]) - len(strings.TrimLeft(rest[i:], " "))
		indent = lead + lipgloss.Width(rest[:j])
	}
	if indent > w/2 {
		return 0
	}
	return indent
}

// hangWrap cuts a line into pieces of at most w columns, at spaces where it
// can; every piece after the first is indented.
func hangWrap(l string, w, indent int) []string {
	var out []string
	prefix, width := "", w
	for lipgloss.Width(l) > width {
		first, _, _ := strings.Cut(ansi.Wrap(l, width, ""), "\n")
		if first == "" || !strings.HasPrefix(l, first) {
			first = ansi.Truncate(l, width, "")
		}
		out = append(out, prefix+first)
		l = strings.TrimPrefix(l[len(first):], " ")
		prefix, width = strings.Repeat(" ", indent), w-indent
	}
	return append(out, prefix+l)
}
