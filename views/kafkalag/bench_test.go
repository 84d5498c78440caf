package kafkalag

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/viewtest"
)

const benchTicks = 10000

// BenchmarkView renders the Kafka pane with a sensor holding 10,000 ticks
// and 64 partitions (and nine quieter sensors): the overview, the sensor's
// tick list scrolled to the oldest tick, and a tick's details.
func BenchmarkView(b *testing.B) {
	for _, tc := range []struct {
		name          string
		width, height int
		keys          []string
	}{
		{"80x21/sensors", 80, 21, nil},
		{"80x21/ticks", 80, 21, []string{"enter", "G"}},
		{"80x21/tick", 80, 21, []string{"enter", "G", "enter"}},
		{"158x40/ticks", 158, 40, []string{"enter", "G"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := newPane(b, viewtest.LargeSensors(benchTicks), tc.width, tc.height)
			press(m, tc.keys...)
			b.ReportAllocs()
			for b.Loop() {
				if len(m.View()) == 0 {
					b.Fatal("empty view")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
		})
	}
}

// BenchmarkSnapshotApply is one engine event for the pane while the big
// sensor's ticks are open: rows rebuilt, the cursor found again, with and
// without a tick filter (which tests every tick).
func BenchmarkSnapshotApply(b *testing.B) {
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"ticks", []string{"enter", "j"}},
		{"ticks-filtered", []string{"enter", "/", "o", "k", "enter", "j"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			snap := viewtest.LargeSensors(benchTicks)
			m := newPane(b, snap, 80, 21)
			for _, k := range tc.keys {
				if k == "enter" {
					m.Update(tea.KeyMsg{Type: tea.KeyEnter})
					continue
				}
				m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
			}
			b.ReportAllocs()
			for b.Loop() {
				m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: api.TopicSensors})
			}
		})
	}
}
