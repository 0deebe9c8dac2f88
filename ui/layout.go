package ui

import (
	"regexp"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// fit cuts a plain string to w columns, with an ellipsis where it cuts, and
// pads it to exactly w.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - lipgloss.Width(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// fitMiddle is fit, cutting in the middle: ids and session names differ
// at their ends ("agent_impl-214500-a1b2c3"), so both ends stay.
func fitMiddle(s string, w int) string {
	sw := lipgloss.Width(s)
	if sw <= w || w < 5 {
		return fit(s, w)
	}
	left := (w - 1) / 2
	right := w - 1 - left
	return ansi.Truncate(s, left, "") + "…" + ansi.TruncateLeft(s, sw-right, "")
}

// idTail matches the end of an agent id, "-HHMMSS-hex": what tells agents
// of one type apart.
var idTail = regexp.MustCompile(`-[0-9]{6}-[0-9a-f]{6}$`)

// fitName is fit for an agent id or session name: when it must be cut, the
// id's tail ("-214500-a1b2c3") stays whole and the head is cut, since
// names of one type share their head; else it is cut in the middle.
func fitName(s string, w int) string {
	sw := lipgloss.Width(s)
	loc := idTail.FindStringIndex(s)
	if sw <= w || loc == nil || w < len(s)-loc[0]+4 {
		return fitMiddle(s, w)
	}
	tail := s[loc[0]+1:]
	return ansi.Truncate(s, w-1-len(tail), "") + "…" + tail
}

// fitRight is fit, aligned right.
func fitRight(s string, w int) string {
	if lipgloss.Width(s) >= w {
		return fit(s, w)
	}
	return strings.Repeat(" ", w-lipgloss.Width(s)) + s
}

// clipLine cuts a rendered (possibly styled) line to w columns.
func clipLine(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// spread puts left and right on one line of width w, right-aligned right;
// left is cut when both do not fit.
func spread(left, right string, w int) string {
	rw := lipgloss.Width(right)
	if rw >= w {
		return clipLine(right, w)
	}
	left = clipLine(left, w-rw-1)
	gap := w - lipgloss.Width(left) - rw
	return left + strings.Repeat(" ", gap) + right
}

// blank is an empty block of w×h.
func blank(w, h int) string {
	if h <= 0 {
		return ""
	}
	return strings.TrimSuffix(strings.Repeat(strings.Repeat(" ", max(w, 0))+"\n", h), "\n")
}

// frame makes a screen exactly w×h: each line cut or padded to w, lines
// cut or added to h.
func frame(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		l = clipLine(l, w)
		if pad := w - lipgloss.Width(l); pad > 0 {
			l += strings.Repeat(" ", pad)
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// box draws a bordered block of exactly w×h with a title in its top border.
func box(style, titleStyle lipgloss.Style, title string, body []string, w, h int) string {
	if w < 4 || h < 2 {
		return blank(w, h)
	}
	inner := w - 2
	lines := make([]string, h-2)
	for i := range lines {
		if i < len(body) {
			if lipgloss.Width(body[i]) <= inner {
				lines[i] = body[i] + strings.Repeat(" ", inner-lipgloss.Width(body[i]))
			} else {
				lines[i] = clipLine(body[i], inner)
			}
		} else {
			lines[i] = strings.Repeat(" ", inner)
		}
	}
	b := style.GetBorderStyle()
	bs := lipgloss.NewStyle().Foreground(style.GetBorderTopForeground())
	t := ""
	if title != "" {
		t = titleStyle.Render(" " + ansi.Truncate(title, max(inner-4, 0), "…") + " ")
	}
	rest := inner - 1 - lipgloss.Width(t)
	if rest < 0 {
		t, rest = "", inner-1
	}
	top := bs.Render(b.TopLeft+b.Top) + t + bs.Render(strings.Repeat(b.Top, rest)+b.TopRight)
	bodyStyle := style.BorderTop(false).Padding(0).Width(inner)
	return lipgloss.JoinVertical(lipgloss.Left, top, bodyStyle.Render(strings.Join(lines, "\n")))
}
