package keys

import (
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/bubbles/key"
)

func TestFitDropsLowPriorityFirst(t *testing.T) {
	t.Parallel()
	k := Default()
	custom := key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply"))
	all := []key.Binding{k.Up, k.Down, k.Enter, k.Cancel, k.Back, custom, k.NextPane, k.Rescan, k.Help, k.Quit}
	width := func(b key.Binding) int { return utf8.RuneCountInString(b.Help().Key + " " + b.Help().Desc) }
	names := func(bs []key.Binding) []string {
		var out []string
		for _, b := range bs {
			out = append(out, b.Help().Desc)
		}
		return out
	}
	tests := []struct {
		name  string
		width int
		want  []string
	}{
		{"all fit", 1000, names(all)},
		{"navigation goes first, all together", 107,
			[]string{"details", "cancel run", "back", "apply", "next pane", "rescan", "help", "quit"}},
		{"then global keys", 71, []string{"details", "cancel run", "back", "apply", "help", "quit"}},
		{"then actions, last first", 42, []string{"details", "back", "help", "quit"}},
		{"essentials stay even when they overflow", 3, []string{"back", "help", "quit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(k.Fit(all, tt.width, 3, width))
			if len(got) != len(tt.want) {
				t.Fatalf("Fit(%d) = %q, want %q", tt.width, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("Fit(%d) = %q, want %q", tt.width, got, tt.want)
				}
			}
		})
	}
}

func TestFitSkipsDisabled(t *testing.T) {
	t.Parallel()
	k := Default()
	off := k.Cancel
	off.SetEnabled(false)
	got := k.Fit([]key.Binding{off, k.Help}, 100, 3, func(key.Binding) int { return 5 })
	if len(got) != 1 || got[0].Help().Desc != "help" {
		t.Fatalf("Fit kept a disabled binding: %v", got)
	}
}
