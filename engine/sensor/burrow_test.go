package sensor

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)

// window builds samples 5s apart from (committed, logEnd) pairs.
func window(pairs ...[2]int64) []OffsetSample {
	var w []OffsetSample
	for i, p := range pairs {
		lag := p[1] - p[0]
		if p[0] < 0 {
			lag = p[1]
		}
		w = append(w, OffsetSample{At: t0.Add(time.Duration(i) * 5 * time.Second), Committed: p[0], LogEnd: p[1], Lag: lag})
	}
	return w
}

func TestEvaluatePartition(t *testing.T) {
	t.Parallel()
	end := func(w []OffsetSample) time.Time { return w[len(w)-1].At.Add(time.Second) }
	cases := []struct {
		name  string
		w     []OffsetSample
		owned bool
		now   time.Time // zero: a second after the last sample
		want  api.LagStatus
	}{
		{"no samples", nil, true, t0, api.LagOK},
		{"one sample decides nothing", window([2]int64{10, 50}), false, t0.Add(time.Hour), api.LagOK},
		{"caught up", window([2]int64{10, 10}, [2]int64{20, 20}), true, time.Time{}, api.LagOK},
		{"lag zero once in the window", window([2]int64{10, 10}, [2]int64{10, 30}, [2]int64{10, 60}), false, time.Time{}, api.LagOK},
		{"rewind", window([2]int64{50, 100}, [2]int64{40, 110}, [2]int64{60, 120}), true, time.Time{}, api.LagErr},
		{"rewind to never committed", window([2]int64{50, 100}, [2]int64{-1, 110}), true, time.Time{}, api.LagErr},
		{"stuck with a live owner", window([2]int64{10, 50}, [2]int64{10, 60}, [2]int64{10, 70}), true, time.Time{}, api.LagStall},
		{"stuck with nobody consuming", window([2]int64{10, 50}, [2]int64{10, 60}, [2]int64{10, 70}), false, time.Time{}, api.LagStop},
		{"stuck with fixed lag", window([2]int64{10, 50}, [2]int64{10, 50}, [2]int64{10, 50}), true, time.Time{}, api.LagStall},
		{"never committed, nobody consuming", window([2]int64{-1, 50}, [2]int64{-1, 60}), false, time.Time{}, api.LagStop},
		{"never committed, owner present", window([2]int64{-1, 50}, [2]int64{-1, 60}), true, time.Time{}, api.LagStall},
		{"moved, then stopped longer than it moved", window([2]int64{10, 100}, [2]int64{20, 100}, [2]int64{20, 100},
			[2]int64{20, 100}, [2]int64{20, 100}), false, time.Time{}, api.LagStop},
		{"moved, then paused briefly, lag growing", window([2]int64{10, 100}, [2]int64{20, 120}, [2]int64{30, 140},
			[2]int64{40, 160}, [2]int64{40, 170}), true, time.Time{}, api.LagWarn},
		{"moving but falling behind", window([2]int64{10, 100}, [2]int64{20, 120}, [2]int64{30, 140}), true, time.Time{}, api.LagWarn},
		{"moving, lag steady", window([2]int64{10, 100}, [2]int64{20, 110}, [2]int64{30, 120}), true, time.Time{}, api.LagWarn},
		{"moving, lag shrinking somewhere", window([2]int64{10, 100}, [2]int64{50, 120}, [2]int64{60, 140}), true, time.Time{}, api.LagOK},
		{"recent commit, long quiet before", window([2]int64{10, 100}, [2]int64{10, 100}, [2]int64{10, 100},
			[2]int64{10, 100}, [2]int64{90, 120}), true, time.Time{}, api.LagOK},
		{"last commit long ago", window([2]int64{10, 100}, [2]int64{20, 100}), false, t0.Add(time.Minute), api.LagStop},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := c.now
			if now.IsZero() && len(c.w) > 0 {
				now = end(c.w)
			}
			if got := EvaluatePartition(c.w, c.owned, now); got != c.want {
				t.Errorf("EvaluatePartition = %s, want %s", got, c.want)
			}
		})
	}
}

func TestEvaluateGroup(t *testing.T) {
	t.Parallel()
	cases := []struct {
		parts []api.LagStatus
		want  api.LagStatus
	}{
		{nil, api.LagOK},
		{[]api.LagStatus{api.LagOK, api.LagOK}, api.LagOK},
		{[]api.LagStatus{api.LagOK, api.LagWarn}, api.LagWarn},
		{[]api.LagStatus{api.LagWarn, api.LagStall}, api.LagErr},
		{[]api.LagStatus{api.LagStop, api.LagOK}, api.LagErr},
		{[]api.LagStatus{api.LagErr}, api.LagErr},
	}
	for _, c := range cases {
		if got := EvaluateGroup(c.parts); got != c.want {
			t.Errorf("EvaluateGroup(%v) = %s, want %s", c.parts, got, c.want)
		}
	}
}

func TestConsumeRate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		w    []OffsetSample
		want float64
	}{
		{"empty", nil, 0},
		{"one sample", window([2]int64{10, 10}), 0},
		{"100 per 5s", window([2]int64{0, 500}, [2]int64{100, 500}, [2]int64{200, 500}), 20},
		{"first commits after a while", window([2]int64{-1, 500}, [2]int64{-1, 500}, [2]int64{0, 500}, [2]int64{50, 500}), 10},
		{"rewound", window([2]int64{100, 500}, [2]int64{50, 500}), 0},
	}
	for _, c := range cases {
		if got := ConsumeRate(c.w); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: ConsumeRate = %v, want %v", c.name, got, c.want)
		}
	}
}

// Scripted offset histories through the monitor's windows: the status a
// partition and its group show after each reading.
func TestLagStatusTransitions(t *testing.T) {
	t.Parallel()
	type step struct {
		committed, logEnd int64
		owned             bool
		want              api.LagStatus // partition status after this reading
		group             api.LagStatus // group status; "" means the same as want folded by Burrow
	}
	scripts := []struct {
		name  string
		size  int
		steps []step
	}{
		{"healthy consumer that falls behind, then stalls, then catches up", 4, []step{
			{0, 0, true, api.LagOK, ""},
			{100, 100, true, api.LagOK, ""},
			{150, 200, true, api.LagOK, ""}, // lag zero still in the window
			{200, 300, true, api.LagOK, ""},
			{250, 400, true, api.LagOK, ""},
			{300, 500, true, api.LagWarn, api.LagWarn}, // window is all lag > 0, never shrinking
			{300, 600, true, api.LagWarn, api.LagWarn}, // just stopped: not long enough
			{300, 700, true, api.LagStall, api.LagErr}, // stopped longer than it moved
			{300, 800, true, api.LagStall, api.LagErr},
			{800, 800, true, api.LagOK, api.LagOK}, // caught up
		}},
		{"consumer goes away", 3, []step{
			{100, 150, true, api.LagOK, ""},
			{150, 200, true, api.LagOK, ""},             // warming up: 2 of 3 readings
			{150, 250, false, api.LagWarn, api.LagWarn}, // quiet only as long as it moved before
			{150, 250, false, api.LagStop, api.LagErr},
			{150, 300, true, api.LagStall, api.LagErr}, // a member back, offsets still frozen
		}},
		{"group that never committed", 3, []step{
			{-1, 40, false, api.LagOK, ""}, // one sample
			{-1, 40, false, api.LagOK, ""}, // warming up: no stop before the window fills
			{-1, 40, false, api.LagStop, api.LagErr},
			{-1, 90, true, api.LagStall, api.LagErr},
			{10, 90, true, api.LagOK, api.LagOK}, // first commit: moving, lag shrank
			{10, 95, true, api.LagOK, api.LagOK}, // quiet for less than it moved
			{10, 99, true, api.LagStall, api.LagErr},
			{99, 99, true, api.LagOK, api.LagOK},
		}},
		{"offsets reset backwards", 3, []step{
			{500, 600, true, api.LagOK, ""},
			{520, 600, true, api.LagOK, ""},
			{100, 600, true, api.LagErr, api.LagErr},
		}},
	}
	for _, sc := range scripts {
		t.Run(sc.name, func(t *testing.T) {
			windows, moved := map[topicPartition][]OffsetSample{}, map[topicPartition]lastMove{}
			for i, st := range sc.steps {
				owner := ""
				if st.owned {
					owner = "sluice-1"
				}
				lag := st.logEnd - st.committed
				if st.committed < 0 {
					lag = st.logEnd
				}
				gl := evaluateReading(windows, moved, GroupOffsets{Group: "g", State: "Stable", Members: 1,
					At: t0.Add(time.Duration(i) * 5 * time.Second),
					Partitions: []PartitionOffsets{{Topic: "t", Partition: 0, LogEnd: st.logEnd, Committed: st.committed,
						Lag: lag, Owner: owner}}}, sc.size)
				wantGroup := st.group
				if wantGroup == "" {
					wantGroup = EvaluateGroup([]api.LagStatus{st.want})
				}
				if got := gl.Partitions[0].Status; got != st.want {
					t.Errorf("step %d (%d/%d owned=%v): partition %s, want %s", i, st.committed, st.logEnd, st.owned, got, st.want)
				}
				if gl.Status != wantGroup {
					t.Errorf("step %d: group %s, want %s", i, gl.Status, wantGroup)
				}
				if gl.TotalLag != lag {
					t.Errorf("step %d: total lag %d, want %d", i, gl.TotalLag, lag)
				}
				if n := len(windows[topicPartition{"t", 0}]); n > sc.size {
					t.Errorf("step %d: window holds %d samples, size %d", i, n, sc.size)
				}
			}
		})
	}
}

// Each status comes with the rule that decided it, in numbers an operator
// can check: a steady lag drained as fast as it grows is OK, and says so.
func TestExplainPartition(t *testing.T) {
	t.Parallel()
	end := func(w []OffsetSample) time.Time { return w[len(w)-1].At.Add(time.Second) }
	cases := []struct {
		name   string
		w      []OffsetSample
		owned  bool
		want   api.LagStatus
		reason string
	}{
		{"steady lag, draining", window([2]int64{0, 1500}, [2]int64{600, 2000}, [2]int64{1100, 2600}, [2]int64{1500, 3000}), true, api.LagOK, "lag fell within the window (now 1500): the consumer keeps up"},
		{"growing", window([2]int64{0, 100}, [2]int64{10, 200}, [2]int64{20, 300}), true, api.LagWarn, "lag never fell over 3 readings (100 to 280)"},
		{"stuck, nobody", window([2]int64{10, 100}, [2]int64{10, 110}, [2]int64{10, 120}), false, api.LagStop, "stuck at 10 for 11s with lag 110, longer than it moved before; no member owns the partition (stop)"},
		{"stuck, owned", window([2]int64{10, 100}, [2]int64{10, 110}), true, api.LagStall, "a member owns the partition (stall)"},
		{"rewind", window([2]int64{50, 100}, [2]int64{40, 110}), true, api.LagErr, "went back from 50 to 40 (rewind)"},
		{"caught up", window([2]int64{10, 10}, [2]int64{20, 30}), true, api.LagOK, "lag reached 0 within the window"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st, why := ExplainPartition(c.w, c.owned, end(c.w))
			if st != c.want || !strings.Contains(why, c.reason) {
				t.Errorf("= %s %q, want %s with %q", st, why, c.want, c.reason)
			}
			if ev := EvaluatePartition(c.w, c.owned, end(c.w)); ev != st {
				t.Errorf("EvaluatePartition says %s, ExplainPartition %s", ev, st)
			}
		})
	}
}

// The produce rate is the log end's advance, the consume rate the
// committed offset's: a stalled group consumes nothing while producers
// keep writing.
func TestProduceAndConsumeRates(t *testing.T) {
	t.Parallel()
	w := window([2]int64{10, 100}, [2]int64{10, 600}, [2]int64{10, 1100})
	if p, c := ProduceRate(w), ConsumeRate(w); p != 100 || c != 0 {
		t.Errorf("produce %v consume %v, want 100 and 0", p, c)
	}
}

// A stuck offset's reason tells how long it has been stuck as far back as
// the monitor watched it, not only as far as the window reaches; an offset
// never seen moving is stuck "at least" since the first reading.
func TestStuckDurationOutlivesTheWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		committed []int64
		want      string
	}{
		{"moved once, then stuck", []int64{0, 50, 50, 50, 50, 50}, "stuck at 50 for 20s with lag"},
		{"never moved", []int64{-1, -1, -1, -1, -1, -1}, "stuck at -1 for at least 25s with lag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			windows, moved := map[topicPartition][]OffsetSample{}, map[topicPartition]lastMove{}
			var gl api.GroupLag
			for i, c := range tc.committed {
				end := int64(100 + 50*i)
				lag := end - max(c, 0)
				gl = evaluateReading(windows, moved, GroupOffsets{Group: "g", At: t0.Add(time.Duration(i) * 5 * time.Second),
					Partitions: []PartitionOffsets{{Topic: "t", Partition: 0, LogEnd: end, Committed: c, Lag: lag, Owner: "m"}}}, 3)
			}
			p := gl.Partitions[0]
			if p.Status != api.LagStall || !strings.Contains(p.Reason, tc.want) {
				t.Errorf("after %d readings: %s %q, want STALL with %q", len(tc.committed), p.Status, p.Reason, tc.want)
			}
		})
	}
}
