package common

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/views/styles"
)

// Truncate cuts s (which may hold ANSI styling) to width cells, marking the
// cut with an ellipsis.
func Truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return ansi.Truncate(s, width, "…")
}

// Duration renders a duration compactly: 850ms, 4.1s, 2m05s, 1h02m.
func Duration(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second && d%time.Second != 0:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// Ago renders how long before now t was: "3s ago", "never" for the zero time.
func Ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < time.Second {
		return "just now"
	}
	return Duration(d.Truncate(time.Second)) + " ago"
}

// Until renders how long after now t is: "in 8s", "now" once passed.
func Until(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(now).Round(time.Second)
	if d <= 0 {
		return "now"
	}
	return "in " + Duration(d)
}

// Clock renders a time of day.
func Clock(t time.Time) string {
	if t.IsZero() {
		return "--:--:--"
	}
	return t.Format("15:04:05")
}

// Badge renders a state as bracketed text, coloured by state: the text
// carries the meaning, the colour only helps.
func Badge[S ~string](st *styles.Styles, state S) string {
	return st.State(string(state)).Render("[" + string(state) + "]")
}

// StateText renders a state word coloured by state.
func StateText[S ~string](st *styles.Styles, state S) string {
	return st.State(string(state)).Render(string(state))
}

// Columns joins cells padded to the given widths, separated by one space;
// the last cell takes what is left of total.
func Columns(total int, widths []int, cells ...string) string {
	var b strings.Builder
	used := 0
	for i, c := range cells {
		sep := 0
		if i > 0 {
			sep = 1
		}
		w := total - used - sep
		if i < len(widths) && i < len(cells)-1 {
			w = min(widths[i], w)
		}
		if w <= 0 {
			break
		}
		if sep > 0 {
			b.WriteByte(' ')
		}
		if i == len(cells)-1 {
			b.WriteString(Truncate(c, w))
		} else {
			b.WriteString(PadRight(c, w))
		}
		used += sep + w
	}
	return b.String()
}

// Progress renders n of m as a small bar with the numbers: "▰▰▱▱ 2/4".
func Progress(st *styles.Styles, done, total, width int) string {
	label := fmt.Sprintf("%d/%d", done, total)
	bar := width - len(label) - 1
	if total <= 0 || bar < 3 {
		return label
	}
	filled := done * bar / total
	return st.Good.Render(strings.Repeat("▰", filled)) + st.Subtle.Render(strings.Repeat("▱", bar-filled)) + " " + label
}

// Lines pads or cuts text to exactly height lines of width cells.
func Lines(text string, width, height int) string {
	if height <= 0 {
		return ""
	}
	src := strings.Split(text, "\n")
	out := make([]string, height)
	for i := range out {
		if i < len(src) {
			out[i] = PadRight(src[i], width)
		} else {
			out[i] = strings.Repeat(" ", max(width, 0))
		}
	}
	return strings.Join(out, "\n")
}

// OneLine makes text safe for a single row: newlines and tabs become
// spaces, and every other control, C1 or bidi-override character is shown
// escaped (text.Line), as everywhere else strings from outside are shown.
func OneLine(s string) string {
	if strings.ContainsAny(s, "\n\r\t") {
		s = strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == '\t' {
				return ' '
			}
			return r
		}, s)
	}
	return text.Line(s)
}

var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws the last width values as block characters scaled between
// their minimum and maximum.
func Sparkline(values []int64, width int) string {
	if width <= 0 || len(values) == 0 {
		return ""
	}
	if len(values) > width {
		values = values[len(values)-width:]
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
	}
	out := make([]rune, len(values))
	for i, v := range values {
		idx := 0
		if hi > lo {
			idx = int((v - lo) * int64(len(sparkBlocks)-1) / (hi - lo))
		}
		out[i] = sparkBlocks[idx]
	}
	return string(out)
}

// Plural renders a count with its noun: "1 item", "2 items".
func Plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Thousands renders a count with a comma every three digits: "6,777".
func Thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
