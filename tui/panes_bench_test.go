package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// kafkaReviewSnapshot is the big snapshot with, as well, a sensor of
// 10,000 ticks and 64 partitions, and 10,000 review items, the first with
// a 100,500-line diff.
func kafkaReviewSnapshot() *api.Snapshot {
	s := viewtest.Large(benchDAGs, benchRuns)
	s.Sensors = viewtest.LargeSensors(10000).Sensors
	r := viewtest.LargeReviews(10000, 100, 1000)
	s.Reviews, s.Meta = r.Reviews, r.Meta
	return s
}

// BenchmarkKafkaReviewView renders whole frames with the Kafka or review
// pane focused, at that scale.
func BenchmarkKafkaReviewView(b *testing.B) {
	snap := kafkaReviewSnapshot()
	for _, tc := range []struct {
		name          string
		width, height int
		keys          []string
	}{
		{"80x24/kafka", 80, 24, []string{"3"}},
		{"80x24/kafka-ticks", 80, 24, []string{"3", "enter", "G"}},
		{"80x24/review", 80, 24, []string{"4", "G"}},
		{"80x24/review-diff", 80, 24, []string{"4", "enter", "pgdown"}},
		{"200x60/grid", 200, 60, []string{"3"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m, _ := newModel(b, snap)
			m.Update(tea.WindowSizeMsg{Width: tc.width, Height: tc.height})
			m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: common.AllTopics})
			for _, k := range tc.keys {
				m.Update(keyMsg(k))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if len(m.View()) == 0 {
					b.Fatal("empty view")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/frame")
		})
	}
}
