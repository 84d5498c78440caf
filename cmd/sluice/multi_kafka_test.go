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

	"github.com/IBM/sarama"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

// groupMembers is how many members the broker counts in group.
func groupMembers(t *testing.T, addr, group string) int {
	t.Helper()
	admin, err := sarama.NewClusterAdmin([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	gs, err := admin.DescribeConsumerGroups([]string{group})
	if err != nil || len(gs) != 1 {
		return 0
	}
	return len(gs[0].Members)
}

// TestKafkaSensorOnTwoInstancesSurvivesAKill: one Kafka sensor on two
// `sluice run` processes sharing a PostgreSQL database — one consumer
// group of two members — reads 100,000 records; one process is killed with
// SIGKILL mid-stream. The survivor takes its partitions over (the group
// rebalances after the session timeout) and its runs (after the lease).
// Every offset of every partition is in exactly one batch, each batch in
// exactly one successful run.
func TestKafkaSensorOnTwoInstancesSurvivesAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-instance test skipped in -short mode")
	}
	url := pgtest.Database(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	dags := filepath.Join(dir, "dags")
	os.Mkdir(dags, 0o755)
	const partitions, total = 4, 100_000
	broker, err := embedded.Start(embedded.Options{Topics: []string{"events"}, Partitions: partitions, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	addr := broker.Addrs()[0]
	enginetest.WriteDAG(t, dags, "events", `{"retry_on_crash": true,
		"sensors": [{"type": "kafka", "topic": "events", "max_batch_size": 500, "tick_interval": "100ms"}],
		"nodes": [{"id": "n", "type": "local", "config": {"command": "sleep 0.2"}}]}`)
	args := []string{"--kafka-brokers", addr, "--lease", "3s", "--max-concurrent-runs", "16"}
	victim := startInstance(t, bin, dir, "k0", url, dags, args...)
	startInstance(t, bin, dir, "k1", url, dags, args...)
	enginetest.Eventually(t, 60*time.Second, func() bool {
		return groupMembers(t, addr, sensor.DefaultGroup("events", 0)) == 2
	}, "both instances in the sensor's consumer group")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	produced := make(chan error, 1)
	go func() {
		st, err := sensor.Produce(ctx, sensor.ConnConfig{Brokers: broker.Addrs(), ClientID: "multi-kafka"},
			sensor.ProduceOptions{Topic: "events", Count: total, Rate: 20000, KeyMode: sensor.KeySeq})
		if err == nil && st.Acked != total {
			err = fmt.Errorf("produce: %+v", st)
		}
		produced <- err
	}()
	st, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	enginetest.Eventually(t, 120*time.Second, func() bool {
		return coveredOffsets(sensorBatches(t, st, "events")) >= total/5
	}, "a fifth of the records in runs")
	// The victim must hold runs when it dies for the take-over to be seen.
	enginetest.Eventually(t, 60*time.Second, func() bool {
		for _, bs := range sensorBatches(t, st, "events") {
			for _, b := range bs {
				for _, r := range b.runs {
					if r.State == api.RunRunning && strings.Contains(r.Instance, fmt.Sprintf("-%d-", victim.cmd.Process.Pid)) {
						return true
					}
				}
			}
		}
		return false
	}, "the victim to run a batch")
	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.exited
	atKill := coveredOffsets(sensorBatches(t, st, "events"))
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	var batches map[int32][]*sensorBatch
	enginetest.Eventually(t, 240*time.Second, func() bool {
		batches = sensorBatches(t, st, "events")
		for _, bs := range batches {
			for _, b := range bs {
				for _, r := range b.runs {
					if !r.Finished() {
						return false
					}
				}
			}
		}
		return coveredOffsets(batches) >= total
	}, "every offset in a finished run")
	if atKill >= total {
		t.Fatalf("every record was in a run before the kill: not mid-stream")
	}
	if n := coveredOffsets(batches); n != total {
		t.Errorf("batches cover %d offsets, %d were produced", n, total)
	}
	if len(batches) != partitions {
		t.Errorf("batches on %d partitions, want %d", len(batches), partitions)
	}
	interrupted, runs := 0, 0
	for p, bs := range batches {
		next := int64(0)
		for _, b := range bs {
			if b.first != next {
				t.Fatalf("partition %d: batch %d-%d follows offset %d (gap or overlap)", p, b.first, b.last, next-1)
			}
			next = b.last + 1
			success := 0
			for _, r := range b.runs {
				runs++
				switch {
				case r.State == api.RunSuccess:
					success++
				case r.State == api.RunFailed && strings.HasPrefix(r.Error, "interrupted"):
					interrupted++
				default:
					t.Errorf("partition %d batch %d-%d: run %d %s %q", p, b.first, b.last, r.ID, r.State, r.Error)
				}
			}
			if success != 1 {
				t.Errorf("partition %d batch %d-%d processed by %d successful runs, want 1", p, b.first, b.last, success)
			}
		}
	}
	if interrupted == 0 {
		t.Error("no run of the killed instance was interrupted and re-run")
	}
	t.Logf("%d records in %d runs; %d in runs at the kill; %d runs interrupted by it and re-run", total, runs, atKill, interrupted)
	if m := groupMembers(t, addr, sensor.DefaultGroup("events", 0)); m != 1 {
		t.Errorf("the group has %d members after the kill, want the survivor alone", m)
	}
}
