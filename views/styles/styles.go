// Package styles is the console's theme: every lipgloss style in one leaf
// package, so panes and the root model share one look and nobody imports in a
// circle. Colours are AdaptiveColor (light and dark terminals); meaning is
// never carried by colour alone — every badge and marker has text.
//
// A theme is built for one terminal: its lipgloss renderer carries that
// terminal's colour profile and background. The local console uses the
// process's own (lipgloss's default renderer); each SSH session has its own,
// so one server paints a 256-colour client in colour and a dumb one in text.
package styles

import (
	"io"
	"os"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
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
	// NoColor is set when the terminal shows no colour (NO_COLOR, TERM=dumb,
	// not a terminal); components use it to prefer markers that read well
	// without any styling.
	NoColor bool

	// r is the terminal the styles render for.
	r *lipgloss.Renderer

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

// New builds the theme for the terminal r renders to; nil is lipgloss's
// default renderer (the process's own terminal). When r's colour profile is
// ASCII (NO_COLOR, TERM=dumb) styles keep only layout (padding, borders).
func New(r *lipgloss.Renderer) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	noColor := r.ColorProfile() == termenv.Ascii
	s := &Styles{NoColor: noColor, r: r}
	fg := func(c lipgloss.AdaptiveColor) lipgloss.Style {
		if noColor {
			return r.NewStyle()
		}
		return r.NewStyle().Foreground(c)
	}
	s.App = r.NewStyle()
	s.Text = fg(colorText)
	s.Muted = fg(colorMuted)
	s.Subtle = fg(colorSubtle)
	s.Bold = r.NewStyle().Bold(true)
	s.Accent = fg(colorAccent).Bold(true)
	s.Good = fg(colorGood)
	s.Warn = fg(colorWarn)
	s.Error = fg(colorBad)
	s.Info = fg(colorInfo)
	s.Section = fg(colorMuted).Bold(true)
	s.Key = fg(colorAccent)
	s.Label = fg(colorMuted)

	s.Header = r.NewStyle()
	s.HeaderTitle = fg(colorAccent).Bold(true)
	s.Tab = fg(colorMuted).Padding(0, 1)
	s.TabActive = fg(colorAccent).Bold(true).Underline(!noColor).Padding(0, 1)

	s.PaneBorder = fg(colorSubtle)
	s.PaneBorderFocused = fg(colorAccent)
	s.PaneTitle = fg(colorMuted)
	s.PaneTitleFocused = fg(colorAccent).Bold(true)

	if noColor {
		s.Selected = r.NewStyle()
	} else {
		s.Selected = r.NewStyle().Background(colorSelBg).Bold(true)
	}

	s.Filter = fg(colorText)
	s.FilterPrompt = fg(colorAccent).Bold(true)

	s.ToastInfo = fg(colorGood)
	s.ToastError = fg(colorBad).Bold(true)
	if !noColor {
		s.ToastInfo = s.ToastInfo.Background(colorToastBg)
		s.ToastError = s.ToastError.Background(colorToastBg)
	}

	s.Dialog = r.NewStyle().Border(lipgloss.RoundedBorder()).Padding(1, 2)
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

// ForProfile builds the theme for a terminal of colour profile p with a dark
// background that writes nowhere: tests pin what they render this way
// without touching lipgloss's global renderer.
func ForProfile(p termenv.Profile) *Styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(p)
	r.SetHasDarkBackground(true)
	return New(r)
}

// Renderer is the terminal the styles render for.
func (s *Styles) Renderer() *lipgloss.Renderer { return s.r }

// NewStyle is an empty style for the same terminal, for layout (width,
// padding) that components add on the spot.
func (s *Styles) NewStyle() lipgloss.Style { return s.r.NewStyle() }

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
