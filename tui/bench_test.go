package tui

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/viewtest"
)

const benchDAGs, benchRuns = 10000, 10000

func loadedModel(b testing.TB, width, height, focus int) *Model {
	snap := viewtest.Large(benchDAGs, benchRuns)
	m, _ := newModel(b, snap)
	m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: common.AllTopics})
	m.focus = focus
	return m
}

// BenchmarkView renders the whole screen with 10,000 DAGs and 10,000 runs
// in the snapshot: the cost of one frame.
func BenchmarkView(b *testing.B) {
	for _, tc := range []struct {
		name          string
		width, height int
		focus         int
	}{
		{"80x24/dags", 80, 24, PaneDAGs},
		{"80x24/runs", 80, 24, PaneRuns},
		{"200x60/grid", 200, 60, PaneDAGs},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := loadedModel(b, tc.width, tc.height, tc.focus)
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

// BenchmarkSnapshotApply is the work of one engine event at that scale:
// every pane rebuilds its rows from a new snapshot.
func BenchmarkSnapshotApply(b *testing.B) {
	m := loadedModel(b, 200, 60, PaneDAGs)
	snap := viewtest.Large(benchDAGs, benchRuns)
	b.ReportAllocs()
	for b.Loop() {
		m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: common.AllTopics})
	}
}

// BenchmarkEventToScreen measures from an engine publish to the changed
// text in the program's terminal output, through the real relay
// (Subscribe → tea.Cmd → Snapshot → View → renderer), at 10,000 DAGs and
// runs.
func BenchmarkEventToScreen(b *testing.B) {
	base := viewtest.Large(benchDAGs, benchRuns)
	m, f := newModel(b, base)
	tm := teatest.NewTestModel(b, m, teatest.WithInitialTermSize(80, 24))
	defer func() { _ = tm.Quit() }()
	tm.Send(keyMsg("2"))
	teatest.WaitFor(b, tm.Output(), func(out []byte) bool { return bytes.Contains(out, []byte("Queued (4900)")) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(time.Millisecond))
	var worst time.Duration
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		next := *base
		next.Runs.Queued = append([]api.Run(nil), base.Runs.Queued...)
		marker := fmt.Sprintf("mark%06d", i)
		next.Runs.Queued[0].WaitReason = marker
		start := time.Now()
		f.publish(&next, api.TopicRuns)
		teatest.WaitFor(b, tm.Output(), func(out []byte) bool { return bytes.Contains(out, []byte(marker)) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(time.Millisecond))
		worst = max(worst, time.Since(start))
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(worst), "worst-ms")
}

// BenchmarkPeakRSS runs the console with the 10,000 × 10,000 snapshot in
// a child process (so nothing else in this test binary counts) and reports
// its peak resident set size.
func BenchmarkPeakRSS(b *testing.B) {
	var peak, heap float64
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSSChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SLUICE_RSS_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "peak-rss-kb "); ok {
				kb, _ := strconv.ParseFloat(v, 64)
				peak = kb / 1024
			}
			if v, ok := strings.CutPrefix(sc.Text(), "heap-bytes "); ok {
				n, _ := strconv.ParseFloat(v, 64)
				heap = n / (1 << 20)
			}
		}
	}
	if peak == 0 {
		b.Fatal("the child reported no peak RSS")
	}
	b.ReportMetric(peak, "peak-RSS-MB")
	b.ReportMetric(heap, "heap-MB")
}

// TestPeakRSSChild is BenchmarkPeakRSS's child: the console over the big
// snapshot, taking ten engine updates and rendering frames in every layout.
func TestPeakRSSChild(t *testing.T) {
	if os.Getenv("SLUICE_RSS_CHILD") == "" {
		t.Skip("run by BenchmarkPeakRSS")
	}
	m := loadedModel(t, 200, 60, PaneDAGs)
	for i := range 10 {
		m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Large(benchDAGs, benchRuns), Topics: common.AllTopics})
		for pane := range paneCount {
			m.focus = pane
			_ = m.View()
		}
		m.Update(tea.WindowSizeMsg{Width: 80 + i*10, Height: 24 + i*3})
	}
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	fmt.Printf("heap-bytes %d\n", sample[0].Value.Uint64())
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status on this system")
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Printf("peak-rss-kb %s\n", strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
}
