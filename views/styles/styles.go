// Package styles is the console's theme: every lipgloss style in one leaf
// package, so panes and the root model share one look and nobody imports in a
// circle. Colours are AdaptiveColor (light and dark terminals); meaning is
// never carried by colour alone — every badge and marker has text.
package styles

import (
	"os"

	"github.com/charmbracelet/lipgloss"
)

// Palette entries adapt to the terminal's background.
var (
	colorText    = lipgloss.AdaptiveColor{Light: "#1F1F1F", Dark: "#E4E4E4"}
	colorMuted   = lipgloss.AdaptiveColor{Light: "#6B6B6B", Dark: "#8A8A8A"}
	colorSubtle  = lipgloss.AdaptiveColor{Light: "#B8B8B8", Dark: "#4A4A4A"}
	colorAccent  = lipgloss.AdaptiveColor{Light: "#5A3FD6", Dark: "#9D8CFF"}
	colorGood    = lipgloss.AdaptiveColor{Light: "#1A7F37", Dark: "#3FB950"}
	colorWarn    = lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#D29922"}
	colorBad     = lipgloss.AdaptiveColor{Light: "#CF222E", Dark: "#F85149"}
	colorInfo    = lipgloss.AdaptiveColor{Light: "#0969DA", Dark: "#58A6FF"}
	colorSelBg   = lipgloss.AdaptiveColor{Light: "#DDD8FF", Dark: "#2F2A55"}
	colorToastBg = lipgloss.AdaptiveColor{Light: "#EEEEEE", Dark: "#262626"}
)

// Styles is the theme handed to every component through common.Common.
type Styles struct {
	// NoColor is set when NO_COLOR asks for plain output; components use it
	// to prefer markers that read well without any styling.
	NoColor bool

	App         lipgloss.Style
	Header      lipgloss.Style
	HeaderTitle lipgloss.Style
	Tab         lipgloss.Style
	TabActive   lipgloss.Style

	PaneBorder        lipgloss.Style
	PaneBorderFocused lipgloss.Style
	PaneTitle         lipgloss.Style
	PaneTitleFocused  lipgloss.Style

	Text     lipgloss.Style
	Muted    lipgloss.Style
	Subtle   lipgloss.Style
	Bold     lipgloss.Style
	Accent   lipgloss.Style
	Selected lipgloss.Style
	Section  lipgloss.Style
	Key      lipgloss.Style
	Label    lipgloss.Style
	Error    lipgloss.Style
	Warn     lipgloss.Style
	Good     lipgloss.Style
	Info     lipgloss.Style

	Filter       lipgloss.Style
	FilterPrompt lipgloss.Style

	ToastInfo  lipgloss.Style
	ToastError lipgloss.Style

	Dialog       lipgloss.Style
	Button       lipgloss.Style
	ButtonActive lipgloss.Style

	HelpKey  lipgloss.Style
	HelpDesc lipgloss.Style
	HelpSep  lipgloss.Style

	Spinner lipgloss.Style

	// Diffs in the review pane. The +/- and @@ characters carry the
	// meaning; colour only helps.
	DiffAdded   lipgloss.Style
	DiffRemoved lipgloss.Style
	DiffHunk    lipgloss.Style
	DiffFile    lipgloss.Style
	DiffMeta    lipgloss.Style

	// Chart is sparklines and bars (lag history, models per day).
	Chart lipgloss.Style
}

// NoColorRequested reports whether the NO_COLOR convention
// (https://no-color.org) asks for uncoloured output: set and not empty.
func NoColorRequested(getenv func(string) string) bool {
	if getenv == nil {
		getenv = os.Getenv
	}
	return getenv("NO_COLOR") != ""
}

// New builds the theme. With noColor, styles keep only layout (padding,
// borders): the lipgloss colour profile is expected to be ASCII as well, but
// the theme does not rely on it.
func New(noColor bool) *Styles {
	s := &Styles{NoColor: noColor}
	fg := func(c lipgloss.AdaptiveColor) lipgloss.Style {
		if noColor {
			return lipgloss.NewStyle()
		}
		return lipgloss.NewStyle().Foreground(c)
	}
	s.App = lipgloss.NewStyle()
	s.Text = fg(colorText)
	s.Muted = fg(colorMuted)
	s.Subtle = fg(colorSubtle)
	s.Bold = lipgloss.NewStyle().Bold(true)
	s.Accent = fg(colorAccent).Bold(true)
	s.Good = fg(colorGood)
	s.Warn = fg(colorWarn)
	s.Error = fg(colorBad)
	s.Info = fg(colorInfo)
	s.Section = fg(colorMuted).Bold(true)
	s.Key = fg(colorAccent)
	s.Label = fg(colorMuted)

	s.Header = lipgloss.NewStyle()
	s.HeaderTitle = fg(colorAccent).Bold(true)
	s.Tab = fg(colorMuted).Padding(0, 1)
	s.TabActive = fg(colorAccent).Bold(true).Underline(!noColor).Padding(0, 1)

	s.PaneBorder = fg(colorSubtle)
	s.PaneBorderFocused = fg(colorAccent)
	s.PaneTitle = fg(colorMuted)
	s.PaneTitleFocused = fg(colorAccent).Bold(true)

	if noColor {
		s.Selected = lipgloss.NewStyle()
	} else {
		s.Selected = lipgloss.NewStyle().Background(colorSelBg).Bold(true)
	}

	s.Filter = fg(colorText)
	s.FilterPrompt = fg(colorAccent).Bold(true)

	s.ToastInfo = fg(colorGood)
	s.ToastError = fg(colorBad).Bold(true)
	if !noColor {
		s.ToastInfo = s.ToastInfo.Background(colorToastBg)
		s.ToastError = s.ToastError.Background(colorToastBg)
	}

	s.Dialog = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(1, 2)
	if !noColor {
		s.Dialog = s.Dialog.BorderForeground(colorWarn)
	}
	s.Button = fg(colorMuted).Padding(0, 1)
	s.ButtonActive = fg(colorText).Bold(true).Padding(0, 1)
	if !noColor {
		s.ButtonActive = s.ButtonActive.Background(colorSelBg)
	}

	s.HelpKey = fg(colorMuted).Bold(true)
	s.HelpDesc = fg(colorMuted)
	s.HelpSep = fg(colorSubtle)

	s.Spinner = fg(colorAccent)

	s.DiffAdded = fg(colorGood)
	s.DiffRemoved = fg(colorBad)
	s.DiffHunk = fg(colorInfo)
	s.DiffFile = fg(colorAccent).Bold(true)
	s.DiffMeta = fg(colorMuted).Bold(true)
	s.Chart = fg(colorInfo)
	return s
}

// State returns the style for a run, task, DAG, sensor or review state. The
// state's own text is always rendered next to it.
func (s *Styles) State(state string) lipgloss.Style {
	switch state {
	case "success", "active", "OK", "approved", "pushed", "pr-open", "archived", "running-ok":
		return s.Good
	case "running", "retrying", "info":
		return s.Info
	case "queued", "pending", "disabled", "skipped", "paused", "staged":
		return s.Muted
	case "failed", "invalid", "conflict", "upstream_failed", "error", "ERR", "STOP", "STALL", "rejected":
		return s.Error
	case "cancelled", "WARN", "backpressure", "warn":
		return s.Warn
	}
	return s.Text
}
