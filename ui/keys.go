package ui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// KeyMap is every key of the main screen. Match keys only with key.Matches;
// switch actions off only through SetReadonly.
type KeyMap struct {
	NextPane   key.Binding
	PrevPane   key.Binding
	Up         key.Binding
	Down       key.Binding
	PageUp     key.Binding
	PageDown   key.Binding
	Top        key.Binding
	Bottom     key.Binding
	Filter     key.Binding
	Back       key.Binding
	Detail     key.Binding
	FaultsOnly key.Binding
	Tag        key.Binding
	Kill       key.Binding
	ForceKill  key.Binding
	Mark       key.Binding
	Repair     key.Binding
	Undo       key.Binding
	Pause      key.Binding
	Rescan     key.Binding
	Log        key.Binding
	Help       key.Binding
	Preview    key.Binding
	Attach     key.Binding
	Sort       key.Binding
	NextFault  key.Binding
	PrevFault  key.Binding
	Collapse   key.Binding
	HideDone   key.Binding
	CopyID     key.Binding
	CopyPath   key.Binding
	Quit       key.Binding
	Interrupt  key.Binding

	// off holds enabled copies of the actions SetReadonly switched off, so
	// that a press of one can be told apart and answered.
	off []namedBinding
}

type namedBinding struct {
	name string
	b    key.Binding
}

// DefaultKeyMap returns the keys of k9s, htop and lazygit that DESIGN §6 names.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		NextPane:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "pane")),
		PrevPane:   key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Up:         key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "up")),
		Down:       key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "down")),
		PageUp:     key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:   key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:        key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:     key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close / clear filter")),
		Detail:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		FaultsOnly: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "faults")),
		Tag:        key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "tag")),
		Kill:       key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "kill")),
		ForceKill:  key.NewBinding(key.WithKeys("X"), key.WithHelp("X", "force kill: any row, choice of signal")),
		Mark:       key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "mark ghost")),
		Repair:     key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "repair")),
		Undo:       key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "undo")),
		Pause:      key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause")),
		Rescan:     key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "rescan")),
		Log:        key.NewBinding(key.WithKeys("@"), key.WithHelp("@", "action log")),
		Help:       key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Preview:    key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "preview")),
		Attach:     key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "attach")),
		Sort:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort: CPU, RSS, age, verdict")),
		NextFault:  key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next fault")),
		PrevFault:  key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "previous fault")),
		Collapse:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "fold task")),
		HideDone:   key.NewBinding(key.WithKeys("H"), key.WithHelp("H", "hide finished")),
		CopyID:     key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy id")),
		CopyPath:   key.NewBinding(key.WithKeys("Y"), key.WithHelp("Y", "copy path / command")),
		Quit:       key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		Interrupt:  key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit from anywhere")),
	}
}

// actions are the bindings that change something outside agentwatch (and
// Tag, which only chooses kill targets): the ones --readonly switches off.
func (k *KeyMap) actions() []struct {
	name string
	b    *key.Binding
} {
	return []struct {
		name string
		b    *key.Binding
	}{
		{"tag", &k.Tag}, {"kill", &k.Kill}, {"force kill", &k.ForceKill}, {"mark", &k.Mark}, {"repair", &k.Repair}, {"undo", &k.Undo},
	}
}

// SetReadonly switches every action off (and so out of the help), in this
// one place.
func (k *KeyMap) SetReadonly(readonly bool) {
	k.off = nil
	for _, a := range k.actions() {
		if readonly {
			k.off = append(k.off, namedBinding{a.name, *a.b})
		}
		a.b.SetEnabled(!readonly)
	}
}

// disabledAction names the switched-off action a key press is bound to.
func (k KeyMap) disabledAction(msg tea.KeyMsg) (string, bool) {
	for _, a := range k.off {
		if key.Matches(msg, a.b) {
			return a.name, true
		}
	}
	return "", false
}

// ShortHelp is the key-hint bar, most wanted first: a narrow bar cuts
// from the end.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.NextPane, k.Detail, k.Kill, k.Mark, k.Repair, k.Help, k.Quit, k.Filter, k.FaultsOnly, k.Preview, k.Attach, k.Tag, k.Undo, k.Pause, k.Log}
}

// FullHelp is the help overlay, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.NextPane, k.PrevPane, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.NextFault, k.PrevFault},
		{k.Sort, k.Collapse, k.HideDone, k.CopyID, k.CopyPath},
		{k.Filter, k.Back, k.Detail, k.FaultsOnly, k.Preview, k.Attach, k.Pause, k.Rescan, k.Log, k.Help, k.Quit, k.Interrupt},
		{k.Tag, k.Kill, k.ForceKill, k.Mark, k.Repair, k.Undo},
	}
}

// DialogKeyMap is the keys of a confirmation dialog. Cancel is focused when
// a dialog opens: enter alone never confirms.
type DialogKeyMap struct {
	Left     key.Binding
	Right    key.Binding
	Press    key.Binding
	Cancel   key.Binding
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
}

// DefaultDialogKeyMap returns the dialog keys.
func DefaultDialogKeyMap() DialogKeyMap {
	return DialogKeyMap{
		Left:     key.NewBinding(key.WithKeys("left", "h", "shift+tab"), key.WithHelp("←/h", "previous button")),
		Right:    key.NewBinding(key.WithKeys("right", "l", "tab"), key.WithHelp("→/l/tab", "next button")),
		Press:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "press the focused button")),
		Cancel:   key.NewBinding(key.WithKeys("esc", "q", "n"), key.WithHelp("esc", "cancel")),
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "scroll up")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "scroll down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d", " "), key.WithHelp("pgdn", "page down")),
	}
}

// ShortHelp is the dialog's key-hint bar.
func (k DialogKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Right, k.Press, k.Cancel, k.Down}
}

// FullHelp lists the dialog keys.
func (k DialogKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Left, k.Right, k.Press, k.Cancel}, {k.Up, k.Down, k.PageUp, k.PageDown}}
}
