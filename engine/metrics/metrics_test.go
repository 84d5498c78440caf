package metrics_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/metrics"
)

// fakeEngine serves scripted snapshots through the real api.API shape.
type fakeEngine struct {
	api.NoOperations
	mu   sync.Mutex
	snap *api.Snapshot
	subs map[chan api.Event]struct{}
	// reads counts Snapshot calls, so a test knows the watcher looked.
	reads int
}

func newFake(s *api.Snapshot) *fakeEngine {
	return &fakeEngine{snap: s, subs: map[chan api.Event]struct{}{}}
}

func (f *fakeEngine) Snapshot() *api.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.snap
}

func (f *fakeEngine) Subscribe() (<-chan api.Event, func()) {
	ch := make(chan api.Event, 1)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}
}

func (f *fakeEngine) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func (f *fakeEngine) publish(s *api.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap = s
	for ch := range f.subs {
		select {
		case <-ch:
		default:
		}
		ch <- api.Event{Topics: api.TopicRuns}
	}
}

func (f *fakeEngine) ScanNow(context.Context) (api.ScanResult, error) {
	return api.ScanResult{}, nil
}
func (f *fakeEngine) Trigger(context.Context, string, json.RawMessage) (int64, error) { return 0, nil }
func (f *fakeEngine) Cancel(context.Context, int64) error                             { return nil }
func (f *fakeEngine) RunMeta(context.Context) error                                   { return nil }
func (f *fakeEngine) Approve(context.Context, int64) error                            { return nil }
func (f *fakeEngine) Reject(context.Context, int64, string) error                     { return nil }
func (f *fakeEngine) ExcludeFromReview(context.Context, int64, string, api.Exclusion) error {
	return nil
}

func (f *fakeEngine) PauseSensor(context.Context, string, int, bool) error { return nil }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func finishedRun(id int64, dag string, state api.RunState, secs int) api.Run {
	start := t0.Add(time.Duration(id) * time.Minute)
	end := start.Add(time.Duration(secs) * time.Second)
	return api.Run{ID: id, DAG: dag, State: state, StartedAt: start, FinishedAt: end,
		Tasks: []api.Task{
			{ID: "extract", State: api.TaskSuccess, StartedAt: start, FinishedAt: start.Add(time.Second)},
			{ID: "load", State: api.TaskState(state), StartedAt: start.Add(time.Second), FinishedAt: end},
			{ID: "notify", State: api.TaskSkipped},
		}}
}

func baseSnapshot() *api.Snapshot {
	return &api.Snapshot{
		At: t0.Add(time.Hour),
		DAGs: []api.DAG{
			{Name: "a", Status: api.DAGActive}, {Name: "b", Status: api.DAGActive},
			{Name: "c", Status: api.DAGInvalid},
		},
		Sources: []api.Source{
			{Name: "local", OK: true, LastScan: t0, ScanDuration: 12 * time.Millisecond, Files: 3},
			{Name: "s3", OK: false, Error: "listing failed", LastScan: t0, ScanDuration: 2 * time.Second},
		},
		Runs: api.Runs{
			Queued: []api.Run{
				{ID: 10, DAG: "a", State: api.RunQueued, QueuedAt: t0.Add(time.Hour - 90*time.Second)},
				{ID: 11, DAG: "b", State: api.RunQueued, QueuedAt: t0.Add(time.Hour - 30*time.Second)},
			},
			Running:  []api.Run{{ID: 9, DAG: "a", State: api.RunRunning}},
			Finished: []api.Run{finishedRun(1, "a", api.RunSuccess, 5)},
		},
		Sensors: []api.Sensor{
			{DAG: "events", Index: 0, Status: "running", Group: "sluice-events",
				Ticks: []api.Tick{{ID: 5, Start: t0, Duration: time.Second, Messages: 500}},
				Lag: api.GroupLag{Group: "sluice-events", Status: "WARN", TotalLag: 1500, Members: 2,
					Partitions: []api.PartitionLag{
						{Topic: "events", Partition: 0, Lag: 1000, Rate: 250},
						{Topic: "events", Partition: 1, Lag: 500, Rate: 125.5},
					}}},
			// A second sensor in the same group must not duplicate series.
			{DAG: "events", Index: 1, Status: "paused", Paused: true, Group: "sluice-events",
				Lag: api.GroupLag{Group: "sluice-events", Status: "WARN", TotalLag: 1500,
					Partitions: []api.PartitionLag{{Topic: "events", Partition: 0, Lag: 1000}}}},
		},
		Reviews: []api.Review{{ID: 1, State: api.ReviewStaged}, {ID: 2, State: api.ReviewStaged}, {ID: 3, State: api.ReviewRejected}},
	}
}

// scrape fetches the exposition and returns sample name{labels} → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s: %s", resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func listen(t *testing.T, api api.API) *metrics.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := metrics.Listen(ctx, "127.0.0.1:0", api, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Stop() })
	return srv
}

func TestGaugesFollowTheSnapshot(t *testing.T) {
	t.Parallel()
	fake := newFake(baseSnapshot())
	srv := listen(t, fake)
	url := "http://" + srv.Addr().String() + metrics.Path

	got := scrape(t, url)
	want := map[string]float64{
		`sluice_runs{state="queued"}`:                                                        2,
		`sluice_runs{state="running"}`:                                                       1,
		`sluice_queue_depth`:                                                                 2,
		`sluice_queue_oldest_wait_seconds`:                                                   90,
		`sluice_dags{status="active"}`:                                                       2,
		`sluice_dags{status="invalid"}`:                                                      1,
		`sluice_dags{status="conflict"}`:                                                     0,
		`sluice_loader_source_up{source="local"}`:                                            1,
		`sluice_loader_source_up{source="s3"}`:                                               0,
		`sluice_loader_source_files{source="local"}`:                                         3,
		`sluice_loader_last_scan_duration_seconds{source="s3"}`:                              2,
		`sluice_sensor_status{dag="events",sensor="0",status="running"}`:                     1,
		`sluice_sensor_status{dag="events",sensor="1",status="paused"}`:                      1,
		`sluice_consumer_group_lag{group="sluice-events"}`:                                   1500,
		`sluice_consumer_group_status{group="sluice-events",status="WARN"}`:                  1,
		`sluice_consumer_partition_lag{group="sluice-events",partition="0",topic="events"}`:  1000,
		`sluice_consumer_partition_lag{group="sluice-events",partition="1",topic="events"}`:  500,
		`sluice_consumer_partition_rate{group="sluice-events",partition="1",topic="events"}`: 125.5,
		`sluice_reviews{state="staged"}`:                                                     2,
		`sluice_reviews{state="rejected"}`:                                                   1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	for _, name := range []string{"go_goroutines", "go_gc_heap_live_bytes", "process_resident_memory_bytes"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s", name)
		}
	}

	// A partition that goes away leaves no stale series.
	next := baseSnapshot()
	next.Sensors = next.Sensors[:1]
	next.Sensors[0].Lag.Partitions = next.Sensors[0].Lag.Partitions[:1]
	next.Runs.Queued = nil
	fake.publish(next)
	got = scrape(t, url)
	if _, ok := got[`sluice_consumer_partition_lag{group="sluice-events",partition="1",topic="events"}`]; ok {
		t.Error("partition 1 still exported after it went away")
	}
	if _, ok := got[`sluice_sensor_status{dag="events",sensor="1",status="paused"}`]; ok {
		t.Error("sensor 1 still exported after it went away")
	}
	if got[`sluice_queue_depth`] != 0 || got[`sluice_queue_oldest_wait_seconds`] != 0 {
		t.Errorf("empty queue: depth %v, oldest wait %v", got[`sluice_queue_depth`], got[`sluice_queue_oldest_wait_seconds`])
	}
}

// waitFor polls the exposition until cond holds or the deadline passes.
func waitFor(t *testing.T, url string, what string, cond func(map[string]float64) bool) map[string]float64 {
	t.Helper()
	var got map[string]float64
	if !enginetest.Poll(10*time.Second, func() bool {
		got = scrape(t, url)
		return cond(got)
	}) {
		enginetest.TimedOut(t, 10*time.Second, fmt.Sprintf("%s; last scrape:\n%v", what, got))
	}
	return got
}

func TestCountersCountWhatIsNewSinceStart(t *testing.T) {
	t.Parallel()
	fake := newFake(baseSnapshot())
	srv := listen(t, fake)
	url := "http://" + srv.Addr().String() + metrics.Path

	// What the first snapshot shows happened before start: not counted.
	got := scrape(t, url)
	for k, v := range got {
		if strings.HasPrefix(k, "sluice_runs_finished_total") || strings.HasPrefix(k, "sluice_sensor_ticks_total") ||
			strings.HasPrefix(k, "sluice_loader_scans_total") {
			t.Errorf("baseline counted: %s = %v", k, v)
		}
	}

	next := baseSnapshot()
	next.Runs.Finished = []api.Run{
		finishedRun(3, "a", api.RunFailed, 60),
		finishedRun(2, "a", api.RunSuccess, 30),
		finishedRun(1, "a", api.RunSuccess, 5), // seen at start
	}
	next.Sensors[0].Ticks = []api.Tick{
		{ID: 7, Start: t0.Add(20 * time.Second), Skipped: "backpressure"},
		{ID: 6, Start: t0.Add(10 * time.Second), Duration: 2 * time.Second, Messages: 300},
		{ID: 5, Start: t0, Duration: time.Second, Messages: 500}, // seen at start
	}
	next.Sensors[1].Ticks = []api.Tick{{Start: t0.Add(time.Second), Error: "broker down"}} // never persisted: no id
	next.Sources[0].LastScan = t0.Add(30 * time.Second)
	next.Sources[0].ScanDuration = 40 * time.Millisecond
	next.Sources[1].LastScan = t0.Add(30 * time.Second) // failed again
	fake.publish(next)

	want := map[string]float64{
		`sluice_runs_finished_total{dag="a",state="success"}`:                 1,
		`sluice_runs_finished_total{dag="a",state="failed"}`:                  1,
		`sluice_run_duration_seconds_count{dag="a",state="success"}`:          1,
		`sluice_run_duration_seconds_sum{dag="a",state="success"}`:            30,
		`sluice_task_duration_seconds_count{dag="a",state="success"}`:         3, // extract twice, load once; notify never ran
		`sluice_task_duration_seconds_count{dag="a",state="failed"}`:          1,
		`sluice_task_duration_seconds_sum{dag="a",state="failed"}`:            59,
		`sluice_sensor_ticks_total{dag="events",result="ok",sensor="0"}`:      1,
		`sluice_sensor_ticks_total{dag="events",result="skipped",sensor="0"}`: 1,
		`sluice_sensor_ticks_total{dag="events",result="error",sensor="1"}`:   1,
		`sluice_sensor_messages_total{dag="events",sensor="0"}`:               300,
		`sluice_loader_scans_total{result="ok",source="local"}`:               1,
		`sluice_loader_scans_total{result="error",source="s3"}`:               1,
		`sluice_loader_scan_errors_total{source="s3"}`:                        1,
		`sluice_loader_scan_duration_seconds_sum{source="local"}`:             0.04,
	}
	// The watcher counts runs, ticks and scans one after another: wait for
	// all of them, not just the first.
	same := func(g, v float64) bool { return fmt.Sprintf("%.6f", g) == fmt.Sprintf("%.6f", v) }
	got = waitFor(t, url, "the second snapshot's runs, ticks and scans", func(m map[string]float64) bool {
		for k, v := range want {
			if g, ok := m[k]; !ok || !same(g, v) {
				return false
			}
		}
		return true
	})
	for k, v := range want {
		if g, ok := got[k]; !ok || fmt.Sprintf("%.6f", g) != fmt.Sprintf("%.6f", v) {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}

	// The same snapshot again (another topic changed) counts nothing twice.
	again := *next
	again.At = next.At.Add(time.Second)
	reads := fake.readsNow()
	fake.publish(&again)
	fake.waitReads(t, reads+1)
	after := scrape(t, url)
	for k := range want {
		if after[k] != got[k] {
			t.Errorf("%s moved from %v to %v on an unchanged snapshot", k, got[k], after[k])
		}
	}
}

func (f *fakeEngine) readsNow() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// waitReads waits until the watcher (or anyone) has read n snapshots.
func (f *fakeEngine) waitReads(t *testing.T, n int) {
	t.Helper()
	enginetest.Eventually(t, 10*time.Second, func() bool { return f.readsNow() >= n },
		fmt.Sprintf("%d snapshot reads", n))
}

func TestStopEndsTheSubscriptionAndListener(t *testing.T) {
	t.Parallel()
	fake := newFake(baseSnapshot())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := metrics.Listen(ctx, "127.0.0.1:0", fake, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.subscribers(); n != 1 {
		t.Fatalf("%d subscribers, want 1", n)
	}
	addr := srv.Addr().String()
	srv.Stop()
	srv.Stop() // twice is fine
	if n := fake.subscribers(); n != 0 {
		t.Fatalf("%d subscribers after Stop, want 0", n)
	}
	if _, err := http.Get("http://" + addr + metrics.Path); err == nil {
		t.Fatal("listener still answers after Stop")
	}
}

func TestContextEndStopsTheServer(t *testing.T) {
	t.Parallel()
	fake := newFake(baseSnapshot())
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := metrics.Listen(ctx, "127.0.0.1:0", fake, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	enginetest.Eventually(t, 10*time.Second, func() bool { return fake.subscribers() == 0 },
		"the subscription to end with the context")
	srv.Stop()
}

func TestServeWithoutAddressServesNothing(t *testing.T) {
	t.Parallel()
	fake := newFake(baseSnapshot())
	stop, err := metrics.Serve(context.Background(), "", fake, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if fake.subscribers() != 0 {
		t.Fatal("Serve with no address subscribed to the engine")
	}
	if _, err := metrics.Serve(context.Background(), "127.0.0.1:notaport", fake, nil); err == nil {
		t.Fatal("a bad address was accepted")
	}
}

func TestNilSnapshotIsHarmless(t *testing.T) {
	t.Parallel()
	fake := newFake(nil)
	srv := listen(t, fake)
	got := scrape(t, "http://"+srv.Addr().String()+metrics.Path)
	if _, ok := got["sluice_queue_depth"]; ok {
		t.Error("gauges exported without a snapshot")
	}
}
