package review

import (
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// 10,000 review items; the first deletes 100 files of 1,000 lines: a
// 100,500-line diff.
const benchItems, benchFiles, benchLines = 10000, 100, 1000

// BenchmarkView renders the review pane: the list at its last item, the
// big diff scrolled to its middle, and the analysis view.
func BenchmarkView(b *testing.B) {
	snap := viewtest.LargeReviews(benchItems, benchFiles, benchLines)
	for _, tc := range []struct {
		name          string
		width, height int
		keys          []string
	}{
		{"80x21/list", 80, 21, []string{"G"}},
		{"80x21/diff", 80, 21, []string{"enter", "pgdown"}},
		{"158x40/diff", 158, 40, []string{"enter", "pgdown"}},
		{"80x21/analysis", 80, 21, []string{"i"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := newPane(b, snap, false, tc.width, tc.height)
			press(m, tc.keys...)
			if tc.name != "80x21/list" && tc.keys[0] == "enter" {
				m.scroll.gotoLine(m.body.lines() / 2)
			}
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

// BenchmarkSnapshotApply is one engine event with 10,000 items while the
// big diff is open: rows rebuilt, the diff not parsed again.
func BenchmarkSnapshotApply(b *testing.B) {
	snap := viewtest.LargeReviews(benchItems, benchFiles, benchLines)
	m := newPane(b, snap, false, 80, 21)
	press(m, "enter")
	b.ReportAllocs()
	for b.Loop() {
		m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: api.TopicReviews})
	}
}

// BenchmarkParseDiff is opening the big item: its 100,500 lines split and
// classified once.
func BenchmarkParseDiff(b *testing.B) {
	diff := viewtest.LargeReviews(0, benchFiles, benchLines).Reviews[0].Diff
	b.SetBytes(int64(len(diff)))
	b.ReportAllocs()
	for b.Loop() {
		if d := parseDiff(diff); len(d.files) != benchFiles {
			b.Fatalf("%d files", len(d.files))
		}
	}
}
