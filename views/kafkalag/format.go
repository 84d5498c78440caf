package kafkalag

import (
	"fmt"
	"strings"

	"github.com/sluice-dev/sluice/engine/api"
)

// count renders a message count compactly for one-line rows: 950, 48.2k,
// 3.1M. Tables show exact offsets instead.
func count(n int64) string {
	neg := ""
	if n < 0 {
		neg, n = "-", -n
	}
	switch {
	case n < 10_000:
		return fmt.Sprintf("%s%d", neg, n)
	case n < 1_000_000:
		return fmt.Sprintf("%s%.1fk", neg, float64(n)/1e3)
	case n < 1_000_000_000:
		return fmt.Sprintf("%s%.1fM", neg, float64(n)/1e6)
	}
	return fmt.Sprintf("%s%.1fG", neg, float64(n)/1e9)
}

var blocks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the last width values scaled from zero to their maximum:
// lag is a quantity, so 120 next to 140 must look close, not empty next to
// full (the shared Sparkline scales between minimum and maximum).
func sparkline(values []int64, width int) string {
	if width <= 0 || len(values) == 0 {
		return ""
	}
	if len(values) > width {
		values = values[len(values)-width:]
	}
	var top int64
	for _, v := range values {
		top = max(top, v)
	}
	var b strings.Builder
	for _, v := range values {
		idx := 0
		if top > 0 && v > 0 {
			idx = int((v*int64(len(blocks)-1) + top/2) / top)
		}
		b.WriteRune(blocks[idx])
	}
	return b.String()
}

// Tick outcomes, as shown in badges.
const (
	tickOK           = "ok"
	tickError        = "error"
	tickBackpressure = "backpressure"
	tickPaused       = "paused"
	tickSkipped      = "skipped"
)

// tickState is a tick's outcome in one word.
func tickState(t *api.Tick) string {
	switch {
	case t.Error != "":
		return tickError
	case strings.HasPrefix(t.Skipped, "backpressure"):
		return tickBackpressure
	case t.Skipped == "paused":
		return tickPaused
	case t.Skipped != "":
		return tickSkipped
	}
	return tickOK
}

// rate is messages per second over the tick's duration, "" when unknown.
func rate(t *api.Tick) string {
	if t.Messages == 0 || t.Duration <= 0 {
		return ""
	}
	return count(int64(float64(t.Messages)/t.Duration.Seconds())) + " msg/s"
}

// pausedText is "paused by alice", or "paused" when nobody is known.
func pausedText(s *api.Sensor) string {
	if s.PausedBy != "" {
		return "paused by " + s.PausedBy
	}
	return "paused"
}

func orDash[S ~string](s S) string {
	if s == "" {
		return "-"
	}
	return string(s)
}

// lagText is a group's total lag, or "—" while no partition was ever read
// (no broker reached yet): an unknown lag is not a lag of 0.
func lagText(lag api.GroupLag) string {
	if len(lag.Partitions) == 0 {
		return "—"
	}
	return count(lag.TotalLag)
}
