package keys

import "github.com/charmbracelet/bubbles/key"

// Priority says which keys the one-line footer keeps when the terminal is
// too narrow for all of them: lower priorities give way first, and the
// essential ones (help, quit, back) always show, since `?` leads to the rest.
type Priority int

// Priorities, lowest first.
const (
	// PriorityNavigation: moving the cursor, which every list does alike.
	PriorityNavigation Priority = iota
	// PriorityGlobal: keys that work on every pane (next pane, rescan).
	PriorityGlobal
	// PriorityAction: what the focused pane offers (details, cancel…).
	PriorityAction
	// PriorityEssential: never dropped.
	PriorityEssential
)

// Priority ranks a binding for the footer. Bindings are told apart by
// their help text, so a pane's own binding (built from this keymap, or
// made on the spot like a filter's "enter apply") ranks as an action
// unless it is one of the keymap's navigation, global or essential keys.
func (k *KeyMap) Priority(b key.Binding) Priority {
	h := b.Help()
	is := func(bs ...key.Binding) bool {
		for _, x := range bs {
			if x.Help() == h {
				return true
			}
		}
		return false
	}
	switch {
	case is(k.Help, k.Quit, k.Back):
		return PriorityEssential
	case is(k.Navigation()...):
		return PriorityNavigation
	case is(k.Global()...):
		return PriorityGlobal
	}
	return PriorityAction
}

// Fit returns the bindings that fit in width cells when each takes
// widthOf(b) cells plus sep between two, dropping the lowest priority
// first and, within a priority, the last listed first (navigation keys go
// all together). Order is kept.
// Essential bindings are never dropped, even when they alone overflow.
// The caller may filter bindings first (by role, say): Fit only ranks.
func (k *KeyMap) Fit(bindings []key.Binding, width, sep int, widthOf func(key.Binding) int) []key.Binding {
	kept := make([]bool, len(bindings))
	total := 0
	n := 0
	for i, b := range bindings {
		if !b.Enabled() {
			continue
		}
		kept[i] = true
		total += widthOf(b)
		n++
	}
	if n > 1 {
		total += sep * (n - 1)
	}
	for total > width {
		drop := -1
		for i := len(bindings) - 1; i >= 0; i-- {
			if !kept[i] || k.Priority(bindings[i]) == PriorityEssential {
				continue
			}
			if drop < 0 || k.Priority(bindings[i]) < k.Priority(bindings[drop]) {
				drop = i
			}
		}
		if drop < 0 {
			break
		}
		// Navigation goes as a whole: "↑/k up" without "↓/j down" reads
		// as a mistake.
		for i := range bindings {
			if i == drop || kept[i] && k.Priority(bindings[drop]) == PriorityNavigation && k.Priority(bindings[i]) == PriorityNavigation {
				kept[i] = false
				total -= widthOf(bindings[i])
				if n--; n > 0 {
					total -= sep
				}
			}
		}
	}
	out := make([]key.Binding, 0, n)
	for i, b := range bindings {
		if kept[i] {
			out = append(out, b)
		}
	}
	return out
}
