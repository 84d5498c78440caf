package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/demoenv"
	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// TestSoak holds a `sluice serve` process under the demo load and
// watches its goroutines and live heap through its own /metrics. It is a
// measurement, not part of `make test`: it runs only when SLUICE_SOAK names
// a duration.
//
//	SLUICE_SOAK=10m go test -run TestSoak -v -timeout 30m ./cmd/sluice/
//
// The load: an embedded Kafka broker (in the test process) with a producer
// at 5,000 msg/s (SLUICE_SOAK_RATE) on topic "events", and a DAG whose
// sensor reads it; schedules every 2 and 3 seconds with tasks that sleep;
// three SSH consoles of different sizes, one switching panes every sample.
// Each sample reads go_goroutines, go_gc_heap_live_bytes (the heap the
// last GC left) and process_resident_memory_bytes. The bound: after a
// warm-up fifth of the run, goroutines grow by at most 25 and the live
// heap by at most 50% + 32 MiB.
func TestSoak(t *testing.T) {
	spec := os.Getenv("SLUICE_SOAK")
	if spec == "" {
		t.Skip("set SLUICE_SOAK=10m to run the soak")
	}
	total, err := time.ParseDuration(spec)
	if err != nil || total < 30*time.Second {
		t.Fatalf("SLUICE_SOAK=%q: want a duration of at least 30s", spec)
	}
	rate := 5000.0
	if v := os.Getenv("SLUICE_SOAK_RATE"); v != "" {
		fmt.Sscan(v, &rate)
	}
	bin := buildSluice(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kafka, err := demoenv.StartKafka(ctx, demoenv.KafkaOptions{Topic: "events", Partitions: 3, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	defer kafka.Stop()

	dags, state, dir := t.TempDir(), t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "every_2s", `{"schedule": "@every 2s", "max_active_runs": 1, "nodes": [
		{"id": "a", "type": "sluice.sleep", "config": {"duration": "300ms"}},
		{"id": "b", "type": "sluice.noop", "config": {}, "depends_on": ["a"]}]}`)
	enginetest.WriteDAG(t, dags, "every_3s", `{"schedule": "@every 3s", "max_active_runs": 2, "nodes": [
		{"id": "cmd", "type": "local", "config": {"command": "echo soak; sleep 0.5"}},
		{"id": "fan1", "type": "sluice.noop", "config": {}, "depends_on": ["cmd"]},
		{"id": "fan2", "type": "sluice.noop", "config": {}, "depends_on": ["cmd"]}]}`)
	enginetest.WriteDAG(t, dags, "events_batches", `{"nodes": [{"id": "consume", "type": "sluice.noop", "config": {}}],
		"sensors": [{"type": "kafka", "topic": "events", "max_batch_size": 500, "max_tick_runtime": "2s", "tick_interval": "2s", "replicas": 2}]}`)
	keys, op, vw := writeKeys(t, dir)
	env := []string{"DAGS_DIR=" + dags, "SLUICE_STATE_DIR=" + state,
		"SLUICE_KAFKA_BROKERS=" + strings.Join(kafka.Conn.Brokers, ","), "SLUICE_SYNCHRONOUS=NORMAL"}
	serve, addr := startServeBinary(t, bin, dir, "soak", env,
		"--ssh", "127.0.0.1:0", "--authorized-keys", keys, "--metrics", "127.0.0.1:0", "--kill-grace", "1s")
	metricsAddr := logAddr(readFile(t, filepath.Join(dir, "soak.stderr")), "serving metrics")

	var consoles []*sshtest.Console
	for i, size := range [][2]int{{160, 45}, {120, 40}, {80, 24}} {
		key := op
		if i == 2 {
			key = vw
		}
		client, err := sshtest.Dial(addr, fmt.Sprintf("soak%d", i), key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := sshtest.Start(client, size[0], size[1], nil, 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Screen.WaitFor(t, 0, sshWait, "every_2s")
		consoles = append(consoles, c)
	}

	type sample struct {
		at               time.Duration
		goroutines       int
		liveHeap, rss    float64
		runs, ticks, msg int
		sshBytes         int
	}
	every := min(max(total/30, 2*time.Second), 20*time.Second)
	var samples []sample
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	panes := []string{"1", "2", "3", "4", "5"}
	for i := 0; ; i++ {
		<-tick.C
		// The big console looks around, so every pane renders under load.
		consoles[0].Type(t, panes[i%len(panes)])
		bytes := 0
		for _, c := range consoles {
			bytes += c.Screen.Bytes()
		}
		m := scrape(t, metricsAddr)
		samples = append(samples, sample{at: time.Since(start), goroutines: int(metricValue(m, "go_goroutines")),
			liveHeap: metricValue(m, "go_gc_heap_live_bytes"), rss: metricValue(m, "process_resident_memory_bytes"),
			runs: int(metricValue(m, "sluice_runs_finished_total{")), ticks: int(metricValue(m, "sluice_sensor_ticks_total{")),
			msg: int(metricValue(m, "sluice_sensor_messages_total{")), sshBytes: bytes})
		if time.Since(start) >= total {
			break
		}
	}
	mib := func(b float64) float64 { return b / (1 << 20) }
	t.Logf("%8s %10s %10s %10s %9s %7s %10s %10s", "t", "goroutines", "live heap", "RSS", "runs done", "ticks", "messages", "ssh bytes")
	for _, sm := range samples {
		t.Logf("%8s %10d %6.1f MiB %6.1f MiB %9d %7d %10d %10d", sm.at.Round(time.Second), sm.goroutines, mib(sm.liveHeap), mib(sm.rss), sm.runs, sm.ticks, sm.msg, sm.sshBytes)
	}
	warm := samples[len(samples)/5]
	last := samples[len(samples)-1]
	t.Logf("warm (%s): %d goroutines, live heap %.1f MiB; end (%s): %d goroutines, live heap %.1f MiB, RSS %.1f MiB; %d runs, %d ticks, %d messages",
		warm.at.Round(time.Second), warm.goroutines, mib(warm.liveHeap), last.at.Round(time.Second), last.goroutines, mib(last.liveHeap), mib(last.rss), last.runs, last.ticks, last.msg)
	if last.goroutines > warm.goroutines+25 {
		t.Errorf("goroutines grew from %d to %d", warm.goroutines, last.goroutines)
	}
	if limit := warm.liveHeap*1.5 + 32<<20; last.liveHeap > limit {
		t.Errorf("live heap grew from %.1f MiB to %.1f MiB (bound %.1f MiB)", mib(warm.liveHeap), mib(last.liveHeap), mib(limit))
	}
	if last.runs <= warm.runs {
		t.Errorf("no runs finished after the warm-up (%d, then %d): the load did not run", warm.runs, last.runs)
	}
	serve.Process.Signal(syscall.SIGTERM)
}

// metricValue sums the samples of a metric: name is the full name of an
// unlabelled metric, or "name{" for every labelled series of it.
func metricValue(exposition, name string) float64 {
	var sum float64
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if !strings.HasSuffix(name, "{") && !strings.HasPrefix(rest, " ") {
			continue // a longer name with this prefix
		}
		var v float64
		fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
		sum += v
	}
	return sum
}
