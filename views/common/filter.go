package common

import (
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// Filter is a pane's live filter: `/` starts typing, every keystroke
// re-filters, enter keeps the text and returns to the list, esc clears it.
type Filter struct {
	c       *Common
	input   textinput.Model
	editing bool
}

// NewFilter returns an empty filter.
func NewFilter(c *Common) Filter {
	in := textinput.New()
	in.Prompt = ""
	in.Placeholder = "type to filter"
	// A static cursor keeps frames (and golden files) stable.
	in.Cursor.SetMode(cursor.CursorStatic)
	in.CharLimit = 200
	return Filter{c: c, input: in}
}

// Editing reports whether keys go to the filter.
func (f *Filter) Editing() bool { return f.editing }

// Active reports whether a filter text is set.
func (f *Filter) Active() bool { return f.input.Value() != "" }

// Value is the filter text.
func (f *Filter) Value() string { return f.input.Value() }

// Start begins editing.
func (f *Filter) Start() tea.Cmd {
	f.editing = true
	return f.input.Focus()
}

// Clear removes the filter text and stops editing.
func (f *Filter) Clear() {
	f.editing = false
	f.input.Blur()
	f.input.SetValue("")
}

// Update handles a key while editing and reports whether the text changed.
func (f *Filter) Update(msg tea.KeyMsg) (changed bool, cmd tea.Cmd) {
	before := f.input.Value()
	switch {
	case key.Matches(msg, f.c.Keys.Back):
		f.Clear()
	case msg.Type == tea.KeyEnter:
		f.editing = false
		f.input.Blur()
	default:
		f.input, cmd = f.input.Update(msg)
	}
	return f.input.Value() != before, cmd
}

// View renders the filter line, or "" when there is no filter.
func (f *Filter) View(width int) string {
	if !f.editing && !f.Active() {
		return ""
	}
	st := f.c.Styles
	f.input.Width = max(width-12, 1)
	if f.editing {
		return PadRight(st.FilterPrompt.Render("/ ")+f.input.View(), width)
	}
	return PadRight(st.FilterPrompt.Render("filter: ")+st.Filter.Render(f.input.Value())+st.Muted.Render("  (esc clears)"), width)
}

// Matcher returns a case-insensitive test of a text against the filter:
// every space-separated term must occur. Nil means everything matches.
func (f *Filter) Matcher() func(text string) bool {
	terms := strings.Fields(strings.ToLower(f.input.Value()))
	if len(terms) == 0 {
		return nil
	}
	return func(text string) bool {
		text = strings.ToLower(text)
		for _, t := range terms {
			if !strings.Contains(text, t) {
				return false
			}
		}
		return true
	}
}

// Lines is the height of the filter line: 1 while it is typed or set, else 0.
func (f *Filter) Lines() int {
	if f.editing || f.Active() {
		return 1
	}
	return 0
}

// EditKey passes a key to the filter while it is being typed. refilter runs
// when the text changed; relayout always, since enter or esc may have
// removed the filter line.
func (f *Filter) EditKey(msg tea.KeyMsg, refilter, relayout func()) tea.Cmd {
	changed, cmd := f.Update(msg)
	if changed {
		refilter()
	}
	relayout()
	return cmd
}

// ListKey handles the filter keys of a list that is not being typed into:
// the filter key starts typing, back clears a set filter. It reports false
// for back with no filter set, so the pane can give back its own meaning.
func (f *Filter) ListKey(msg tea.KeyMsg, refilter, relayout func()) (handled bool, cmd tea.Cmd) {
	k := f.c.Keys
	switch {
	case key.Matches(msg, k.Filter):
		cmd := f.Start()
		relayout()
		return true, cmd
	case key.Matches(msg, k.Back) && f.Active():
		f.Clear()
		refilter()
		relayout()
		return true, nil
	}
	return false, nil
}

// EditingHelp is the short help while the filter is being typed.
func (f *Filter) EditingHelp() []key.Binding {
	return []key.Binding{f.c.Keys.Back, key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply"))}
}

// ViewUnder renders a pane's summary line with the filter line, if any,
// below it, both padded to width, without a trailing newline.
func (f *Filter) ViewUnder(summary string, width int) string {
	s := PadRight(summary, width)
	if line := f.View(width); line != "" {
		s += "\n" + line
	}
	return s
}
