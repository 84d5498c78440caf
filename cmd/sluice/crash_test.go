package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/review"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
	"github.com/sluice-dev/sluice/engine/store"
)

// TestCrashSensorsMidStream kills a headless `sluice serve` with SIGKILL
// while its Kafka sensor is ticking through a stream (runs in flight,
// offsets left unconsumed), restarts it and produces more. Afterwards every
// offset of every partition is in exactly one batch (no gap, no overlap),
// every batch was processed by exactly one successful run, and the
// database passes integrity_check.
func TestCrashSensorsMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildSluice(t)
	dags, state, dir := t.TempDir(), t.TempDir(), t.TempDir()
	const partitions = 3
	broker, err := embedded.Start(embedded.Options{Topics: []string{"events"}, Partitions: partitions, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	conn := sensor.ConnConfig{Brokers: broker.Addrs(), ClientID: "crash-test"}

	// The task is slow enough that runs are in flight when the engine dies
	// and backpressure leaves offsets in Kafka; retry_on_crash re-runs an
	// interrupted run on its batch.
	enginetest.WriteDAG(t, dags, "events", `{"retry_on_crash": true,
		"sensors": [{"type": "kafka", "topic": "events", "max_batch_size": 100, "tick_interval": "100ms", "max_tick_runtime": "300ms"}],
		"nodes": [{"id": "count", "type": "local", "config": {"command": "sleep 0.1; wc -l < \"$SLUICE_BATCH_FILE\""}}]}`)
	env := []string{"SLUICE_STATE_DIR=" + state, "DAGS_DIR=" + dags, "SLUICE_KAFKA_BROKERS=" + strings.Join(broker.Addrs(), ",")}
	args := []string{"--max-concurrent-runs", "2", "--kill-grace", "1s", "--scan-interval", "1h"}

	first := startCrashServe(t, bin, dir, "first", env, args...)
	const streamed, after = 3000, 200
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	produced := make(chan error, 1)
	go func() {
		st, err := sensor.Produce(ctx, conn, sensor.ProduceOptions{Topic: "events", Count: streamed, Rate: 1500, KeyMode: sensor.KeySeq})
		if err == nil && st.Acked != streamed {
			err = fmt.Errorf("produce: %+v", st)
		}
		produced <- err
	}()

	st := openStore(t, state)
	defer st.Close()
	enginetest.Eventually(t, 30*time.Second, func() bool {
		runs, err := st.ListRuns(ctx, store.ListOptions{DAG: "events"})
		if err != nil {
			t.Fatal(err)
		}
		running := 0
		for _, r := range runs {
			if r.State == api.RunRunning {
				running++
			}
		}
		return len(runs) >= 4 && running > 0
	}, "sensor runs in flight")
	first.kill(t, state)
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("after SIGKILL: integrity %q %v", res, err)
	}
	atKill := sensorBatches(t, st, "events")
	interrupted := 0
	for _, bs := range atKill {
		for _, b := range bs {
			for _, r := range b.runs {
				if r.State == api.RunRunning {
					interrupted++
				}
			}
		}
	}
	if n := coveredOffsets(atKill); n == 0 || n >= streamed {
		t.Fatalf("killed with %d of %d offsets in runs: not mid-stream", n, streamed)
	}
	if interrupted == 0 {
		t.Fatal("no run was in flight when the engine was killed")
	}

	second := startCrashServe(t, bin, dir, "second", env, args...)
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	if s, err := sensor.Produce(ctx, conn, sensor.ProduceOptions{Topic: "events", Count: after, KeyMode: sensor.KeySeq}); err != nil || s.Acked != after {
		t.Fatalf("produce after restart: %+v %v", s, err)
	}
	const total = streamed + after
	var batches map[int32][]*sensorBatch
	enginetest.Eventually(t, 60*time.Second, func() bool {
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
	second.stop(t)

	if n := coveredOffsets(batches); n != total {
		t.Errorf("batches cover %d offsets, %d were produced", n, total)
	}
	if len(batches) != partitions {
		t.Errorf("batches on %d partitions, want %d", len(batches), partitions)
	}
	retried := 0
	for p, bs := range batches {
		// Contiguous from 0: with the total matching, every offset is in
		// exactly one batch.
		next := int64(0)
		for _, b := range bs {
			if b.first != next {
				t.Errorf("partition %d: batch %d-%d follows offset %d (gap or overlap)", p, b.first, b.last, next-1)
			}
			next = b.last + 1
			success := 0
			for _, r := range b.runs {
				switch {
				case r.State == api.RunSuccess:
					success++
				case r.State == api.RunFailed && strings.HasPrefix(r.Error, "interrupted"):
					retried++
				default:
					t.Errorf("partition %d batch %d-%d: run %d %s %q", p, b.first, b.last, r.ID, r.State, r.Error)
				}
			}
			if success != 1 {
				t.Errorf("partition %d batch %d-%d processed by %d successful runs, want 1", p, b.first, b.last, success)
			}
		}
	}
	if retried != interrupted {
		t.Errorf("%d runs failed as interrupted, %d were in flight at the kill", retried, interrupted)
	}
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("integrity %q %v", res, err)
	}
}

// TestCrashReviewMidPush kills `sluice serve` with SIGKILL while an
// approval is under way: the branch is pushed and the pull request request
// is held by the GitHub stand-in. After a restart, approving again from the
// console ends with the branch on the remote once, at the staged commit,
// exactly one pull request, the item pr-open, and a sound database.
func TestCrashReviewMidPush(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildSluice(t)
	f := newReviewFixture(t)
	dags, dir := t.TempDir(), t.TempDir()
	gh := newHeldGitHub(t)
	keys, op, _ := writeKeys(t, dir)
	env := []string{"SLUICE_STATE_DIR=" + f.state, "DAGS_DIR=" + dags, "GITHUB_TOKEN=ghp_crashtest"}
	args := []string{"--ssh", "127.0.0.1:0", "--authorized-keys", keys, "--host-key", filepath.Join(dir, "host_key"),
		"--github-repo", "acme/dbt", "--github-api-url", gh.srv.URL + "/", "--scan-interval", "1h"}

	ctx := context.Background()
	st := openStore(t, f.state)
	defer st.Close()
	reviews := review.NewSQLStore(st)
	item := func() *review.Item {
		it, err := reviews.Review(ctx, f.branchID)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	staged := item()
	if staged.State != api.ReviewStaged || staged.Commit == "" {
		t.Fatalf("fixture item %+v", staged)
	}
	approve := func(addr string) {
		c := sshtest.Open(t, addr, "olga", op, 160, 45, nil)
		c.Screen.WaitFor(t, 0, sshWait, fmt.Sprintf("#%d deprecate", f.branchID))
		focusPane(t, c, "4")
		// Newest first: the archive item is on top, the branch below it.
		mark := c.Screen.Mark()
		c.Type(t, "j")
		c.Screen.WaitFor(t, mark, sshWait, fmt.Sprintf("› #%d deprecate", f.branchID))
		mark = c.Screen.Mark()
		c.Type(t, "a")
		c.Screen.WaitFor(t, mark, sshWait, fmt.Sprintf("Approve review #%d", f.branchID))
		c.Type(t, "y")
	}
	remoteBranches := func() string {
		return reviewGit(t, f.remote, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
	}

	first := startCrashServe(t, bin, dir, "first", env, args...)
	approve(first.sshAddr(t))
	select {
	case <-gh.held:
	case <-time.After(sshWait):
		t.Fatalf("the pull request was never requested; item %+v\n%s", item(), readFile(t, first.stderr))
	}
	first.kill(t, f.state)
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("after SIGKILL: integrity %q %v", res, err)
	}
	want := "refs/heads/main "
	wantBranch := "refs/heads/" + f.branch + " " + staged.Commit
	if got := remoteBranches(); !strings.Contains(got, wantBranch) {
		t.Fatalf("killed mid-push: remote has %q, want the pushed branch %q", got, wantBranch)
	}
	if heads := gh.createdHeads(); len(heads) != 0 {
		t.Fatalf("a pull request was created before the kill: %v", heads)
	}
	// Killed between the push and the pull request: the approval is not
	// finished, so the item must still be approvable.
	if st := item().State; st != api.ReviewApproved {
		t.Fatalf("killed between push and pull request: review #%d is %q, want %q", f.branchID, st, api.ReviewApproved)
	}

	second := startCrashServe(t, bin, dir, "second", env, args...)
	approve(second.sshAddr(t))
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return item().State == api.ReviewPROpen
	}, "the item to reach pr-open")
	second.stop(t)

	it := item()
	if it.State != api.ReviewPROpen || it.PRNumber != 1 || it.Commit != staged.Commit || it.Branch != f.branch {
		t.Errorf("item after restart: %+v", it)
	}
	if heads := gh.createdHeads(); len(heads) != 1 || heads[0] != f.branch {
		t.Errorf("pull requests created for %v, want exactly one for %s", heads, f.branch)
	}
	lines := strings.Split(remoteBranches(), "\n")
	onMain := slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) })
	if len(lines) != 2 || !slices.Contains(lines, wantBranch) || !onMain {
		t.Errorf("remote branches %q, want main and %q", lines, wantBranch)
	}
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("integrity %q %v", res, err)
	}
}
