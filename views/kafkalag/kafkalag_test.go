package kafkalag

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/styles"
	"github.com/sluice-dev/sluice/views/viewtest"
)

func newPane(t testing.TB, snap *api.Snapshot, width, height int) *Model {
	t.Helper()
	c := common.NewCommon(styles.ForProfile(termenv.Ascii))
	c.Clock = viewtest.Clock
	m := New(c)
	m.SetSize(width, height)
	m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: common.AllTopics})
	return m
}

func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		msg := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		}
		cmd = m.Update(msg)
	}
	return cmd
}

func TestCount(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 950: "950", 9999: "9999", 48_210: "48.2k", 3_100_000: "3.1M", 7_000_000_000: "7.0G", -12_000: "-12.0k"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

// Lag sparklines start at zero: close values look close.
func TestSparkline(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in    []int64
		width int
		want  string
	}{
		{nil, 5, ""},
		{[]int64{0, 0}, 5, "▁▁"},
		{[]int64{120, 140}, 5, "▇█"},
		{[]int64{0, 70, 140}, 5, "▁▅█"},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 140}, 2, "▁█"},
	} {
		if got := sparkline(tc.in, tc.width); got != tc.want {
			t.Errorf("sparkline(%v, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

func TestTickState(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tick api.Tick
		want string
	}{
		{api.Tick{Messages: 5}, tickOK},
		{api.Tick{Skipped: "backpressure: 12 queued runs, bound 10"}, tickBackpressure},
		{api.Tick{Skipped: "paused"}, tickPaused},
		{api.Tick{Skipped: "rebalancing"}, tickSkipped},
		{api.Tick{Skipped: "paused", Error: "broker down"}, tickError},
	} {
		if got := tickState(&tc.tick); got != tc.want {
			t.Errorf("tickState(%+v) = %q, want %q", tc.tick, got, tc.want)
		}
	}
}

func TestPartitionBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ avail, want, got int }{
		{20, 4, 4},  // everything fits with room for ticks
		{6, 4, 3},   // half
		{6, 65, 3},  // half of a big table
		{3, 65, 2},  // at least a header and a line
		{1, 65, 1},  // never more than there is
		{0, 65, 0},  // nothing
		{-3, 65, 0}, // less than nothing
	} {
		if got := partitionBudget(tc.avail, tc.want); got != tc.got {
			t.Errorf("partitionBudget(%d, %d) = %d, want %d", tc.avail, tc.want, got, tc.got)
		}
	}
}

// When the table is cut, the partitions with the most lag are the ones
// shown, and a line says how many are hidden and their lag.
func TestPartitionsCutShowMostLagging(t *testing.T) {
	t.Parallel()
	s := api.Sensor{DAG: "d", Topics: []string{"t"}}
	for i := range 10 {
		s.Lag.Partitions = append(s.Lag.Partitions, api.PartitionLag{Topic: "t", Partition: int32(i), Lag: int64(i * 10), Status: "OK"})
		s.Lag.TotalLag += int64(i * 10)
	}
	m := newPane(t, viewtest.Empty(), 80, 24)
	lines := m.partitionLines(&s, 4)
	if len(lines) != 4 {
		t.Fatalf("%d lines for a budget of 4", len(lines))
	}
	if !strings.Contains(lines[1], "   9 ") || !strings.Contains(lines[2], "   8 ") {
		t.Errorf("not the most lagging partitions first:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[3], "8 more partitions (lag 280)") {
		t.Errorf("hidden line: %q", lines[3])
	}
	if all := m.partitionLines(&s, 11); len(all) != 11 || !strings.Contains(all[1], "   0 ") {
		t.Errorf("uncut table not in snapshot order:\n%s", strings.Join(all, "\n"))
	}
}

// Every view fills exactly the pane, at every size down to tiny.
func TestViewFillsThePane(t *testing.T) {
	t.Parallel()
	for _, snap := range []*api.Snapshot{viewtest.Empty(), viewtest.Sensors(), viewtest.LargeSensors(500)} {
		for _, keys := range [][]string{nil, {"enter"}, {"enter", "enter"}, {"G", "enter"}} {
			for _, sz := range [][2]int{{80, 21}, {78, 14}, {40, 8}, {158, 40}, {20, 3}, {1, 1}} {
				m := newPane(t, snap, sz[0], sz[1])
				press(m, keys...)
				v := m.View()
				if h := lipgloss.Height(v); h != sz[1] {
					t.Errorf("%d sensors %v %dx%d: %d lines", len(snap.Sensors), keys, sz[0], sz[1], h)
				}
				for i, l := range strings.Split(v, "\n") {
					if w := lipgloss.Width(l); w != sz[0] {
						t.Errorf("%d sensors %v %dx%d: line %d is %d wide: %q", len(snap.Sensors), keys, sz[0], sz[1], i, w, l)
						break
					}
				}
			}
		}
	}
}

// A sensor that disappears while open says so instead of failing.
func TestOpenSensorRemoved(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Sensors(), 80, 21)
	press(m, "enter", "enter")
	m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Empty(), Topics: api.TopicSensors})
	if v := m.View(); !strings.Contains(v, "no longer configured") {
		t.Errorf("tick view of a removed sensor:\n%s", v)
	}
	press(m, "esc")
	if v := m.View(); !strings.Contains(v, "[no longer configured]") {
		t.Errorf("sensor view of a removed sensor:\n%s", v)
	}
	press(m, "esc")
	if v := m.View(); !strings.Contains(v, "no Kafka sensors") {
		t.Errorf("overview:\n%s", v)
	}
}

// The sensor list keeps its cursor on the same sensor when sensors are
// added before it.
func TestCursorFollowsSensor(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Sensors(), 80, 21)
	press(m, "j", "j")
	next := viewtest.Sensors()
	next.Sensors = append([]api.Sensor{{DAG: "a/first", Topics: []string{"x"}, Status: "running"}}, next.Sensors...)
	m.Update(common.SnapshotUpdatedMsg{Snap: next, Topics: api.TopicSensors})
	if s := m.selected(); s == nil || s.DAG != "reports/clicks" {
		t.Fatalf("cursor on %+v, want reports/clicks", s)
	}
}

type stubAPI struct {
	api.NoOperations
	mu    sync.Mutex
	calls []string
}

func (s *stubAPI) Snapshot() *api.Snapshot               { return nil }
func (s *stubAPI) Subscribe() (<-chan api.Event, func()) { return nil, func() {} }
func (s *stubAPI) ScanNow(context.Context) (api.ScanResult, error) {
	return api.ScanResult{}, nil
}
func (s *stubAPI) Trigger(context.Context, string, json.RawMessage) (int64, error) { return 0, nil }
func (s *stubAPI) Cancel(context.Context, int64) error                             { return nil }
func (s *stubAPI) RunMeta(context.Context) error                                   { return nil }
func (s *stubAPI) Approve(context.Context, int64) error                            { return nil }
func (s *stubAPI) Reject(context.Context, int64, string) error                     { return nil }
func (*stubAPI) UndoReject(context.Context, int64) error                           { return nil }

func (s *stubAPI) ExcludeFromReview(context.Context, int64, string, api.Exclusion) error { return nil }

func (s *stubAPI) PauseSensor(_ context.Context, dag string, index int, paused bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("%s#%d=%v", dag, index, paused))
	return nil
}

// p asks the root to confirm, then pauses (or resumes a paused sensor).
func TestPauseRequestsConfirmedAction(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Sensors(), 80, 21)
	api := &stubAPI{}
	run := func(cmd tea.Cmd) common.Action {
		t.Helper()
		msg, ok := cmd().(common.ActionRequestedMsg)
		if !ok {
			t.Fatalf("p did not request an action")
		}
		if msg.Action.Prompt == "" {
			t.Fatalf("p does not ask first: %+v", msg.Action)
		}
		if _, err := msg.Action.Do(context.Background(), api); err != nil {
			t.Fatal(err)
		}
		return msg.Action
	}
	if a := run(press(m, "p")); !strings.HasPrefix(a.Prompt, "Pause sensor demo/events#0") {
		t.Errorf("prompt %q", a.Prompt)
	}
	if a := run(press(m, "j", "j", "p")); !strings.HasPrefix(a.Prompt, "Resume sensor reports/clicks#1") {
		t.Errorf("prompt %q", a.Prompt)
	}
	if got := strings.Join(api.calls, " "); got != "demo/events#0=true reports/clicks#1=false" {
		t.Errorf("calls %q", got)
	}
}

// With a tick filter, the list holds only matching ticks and follows
// them live.
func TestTickFilter(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Sensors(), 80, 21)
	press(m, "enter", "/")
	for _, r := range "backpressure" {
		m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if n := m.tickList.Len(); n != 1 {
		t.Fatalf("%d ticks match backpressure, want 1", n)
	}
	next := viewtest.Sensors()
	next.Sensors[0].Ticks = append([]api.Tick{{ID: 200, Start: viewtest.Now, Skipped: "backpressure: 11 queued runs, bound 10"}}, next.Sensors[0].Ticks...)
	m.Update(common.SnapshotUpdatedMsg{Snap: next, Topics: api.TopicSensors})
	if n := m.tickList.Len(); n != 2 {
		t.Fatalf("%d ticks match after a new one, want 2", n)
	}
	if tk := m.selectedTick(); tk == nil || tk.ID != 200 {
		t.Fatalf("cursor at the top did not follow the newest matching tick: %+v", tk)
	}
	press(m, "esc") // clears the filter, stays in the sensor
	if m.mode != modeSensor || m.tickList.Len() != 13 {
		t.Fatalf("esc: mode %d, %d ticks", m.mode, m.tickList.Len())
	}
}

func TestRate(t *testing.T) {
	t.Parallel()
	if got := rate(&api.Tick{Messages: 800, Duration: 400 * time.Millisecond}); got != "2000 msg/s" {
		t.Errorf("rate = %q", got)
	}
	if got := rate(&api.Tick{Messages: 800}); got != "" {
		t.Errorf("rate without a duration = %q", got)
	}
}

// A sensor whose broker was never reached has no lag to show: "—", not 0,
// in its row, its card and the pane's total.
func TestUnknownLagIsNotZero(t *testing.T) {
	t.Parallel()
	snap := viewtest.Loaded()
	s := &snap.Sensors[0]
	s.Lag = api.GroupLag{Group: s.Lag.Group, Status: api.LagErr, Reason: "offsets cannot be read: connecting to kafka: connection refused"}
	snap.Sensors = snap.Sensors[:1]
	m := newPane(t, snap, 100, 30)
	view := m.View()
	for _, want := range []string{"total lag —", "lag —"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	if strings.Contains(view, "lag 0") {
		t.Errorf("an unknown lag shows as 0:\n%s", view)
	}
}
