package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
)

// lagDAG's sensor consumes clicks; its task does nothing.
const lagDAG = `{"sensors": [{"type": "kafka", "topic": "clicks", "max_batch_size": 10,
  "max_tick_runtime": "200ms", "tick_interval": "50ms"}],
 "nodes": [{"id": "noop", "type": "local", "config": {"command": "true"}}]}`

// TestStatusShowsTheRunningEnginesSensorLag: `sluice status` beside a
// running engine (the SQLite state dir, or the PostgreSQL store it
// shares) shows each sensor's status and consumer lag as that engine's
// lag monitor judged them, with the reading's age. A paused sensor with a
// backlog is ERR (its committed offset stuck: Burrow's STALL or STOP):
// status exits 1 and says why. Once the engine stops, the reading is
// stale — still shown, never taken for the current one.
func TestStatusShowsTheRunningEnginesSensorLag(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			addr := kafkaBroker(t, "clicks")
			dags := enginetest.DAGFolder(t, map[string]string{"clicks": lagDAG})
			cfg := engine.Config{StateDir: t.TempDir(),
				Loader: loader.Config{Dir: dags, Enabled: true, ScanInterval: time.Hour},
				Kafka:  sensor.ConnConfig{Brokers: []string{addr}, ClientID: "status-lag-test"},
				// Four readings 50 ms apart judge a stuck offset.
				SensorLag: sensor.LagOptions{Interval: 50 * time.Millisecond, Window: 4}}
			args := []string{"--state-dir", cfg.StateDir, "--dags-dir", dags, "--kafka-brokers", addr}
			if kind == "postgres" {
				cfg.Store = pgtest.Database(t)
				args = append(args, "--store", cfg.Store)
			}
			eng, err := engine.Open(ctx, engine.Options{Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Start(ctx); err != nil {
				t.Fatal(err)
			}
			stopped := false
			t.Cleanup(func() {
				if !stopped {
					eng.Stop()
				}
			})

			status := func() (int, api.Status, api.StatusSensor, string) {
				t.Helper()
				code, out, errOut := runCmd(ctx, nil, append([]string{"status", "--json"}, args...)...)
				var st api.Status
				if err := json.Unmarshal([]byte(out), &st); err != nil {
					t.Fatalf("status --json: exit %d, %v\n%s\n%s", code, err, out, errOut)
				}
				if len(st.Sensors) != 1 {
					t.Fatalf("sensors %+v, want clicks[0]\n%s", st.Sensors, out)
				}
				return code, st, st.Sensors[0], out
			}
			// The engine records at its lag monitor's pace: poll status.
			waitStatus := func(what string, cond func(api.StatusSensor) bool) (code int, st api.Status, sn api.StatusSensor, out string) {
				t.Helper()
				enginetest.Eventually(t, 20*time.Second, func() bool {
					code, st, sn, out = status()
					return cond(sn)
				}, what)
				return code, st, sn, out
			}

			// Caught up: running, lag 0 OK, a fresh reading; healthy.
			code, st, sn, out := waitStatus("the sensor running, lag 0 OK", func(sn api.StatusSensor) bool {
				return sn.Status == api.SensorRunning && sn.LagStatus == api.LagOK && sn.Lag == 0
			})
			if code != exitOK || !st.Engine.Running || sn.LagStale || time.Since(sn.LagAt) > time.Minute || sn.LagReason == "" {
				t.Fatalf("caught up: exit %d, engine %+v, sensor %+v\n%s", code, st.Engine, sn, out)
			}

			// Paused with a backlog: the lag builds and the committed
			// offset never moves.
			if err := eng.PauseSensor(ctx, "clicks", 0, true); err != nil {
				t.Fatal(err)
			}
			enginetest.Eventually(t, 10*time.Second, func() bool {
				for _, s := range eng.Snapshot().Sensors {
					if s.Paused {
						return true
					}
				}
				return false
			}, "the sensor paused")
			const backlog = 30
			if got, err := sensor.Produce(ctx, sensor.ConnConfig{Brokers: []string{addr}}, sensor.ProduceOptions{Topic: "clicks", Count: backlog}); err != nil || got.Acked != backlog {
				t.Fatalf("produce: %+v, %v", got, err)
			}
			code, st, sn, out = waitStatus("the paused sensor's lag ERR", func(sn api.StatusSensor) bool {
				return sn.LagStatus == api.LagErr && sn.Lag == backlog
			})
			if code != exitFailed || sn.Status != api.SensorPaused || sn.LagStale || time.Since(sn.LagAt) > time.Minute {
				t.Fatalf("paused with a backlog: exit %d, sensor %+v\n%s", code, sn, out)
			}
			if !strings.Contains(sn.LagReason, "STALL") && !strings.Contains(sn.LagReason, "STOP") {
				t.Errorf("lag reason %q, want the partition's STALL or STOP", sn.LagReason)
			}
			wantProblem := "sensor clicks[0]: consumer lag ERR (30): clicks/"
			if len(st.Problems) != 1 || !strings.HasPrefix(st.Problems[0], wantProblem) || strings.Contains(st.Problems[0], "stale") {
				t.Fatalf("problems %q, want one starting %q", st.Problems, wantProblem)
			}
			code, text, _ := runCmd(ctx, nil, append([]string{"status"}, args...)...)
			for _, want := range []string{"clicks[0] clicks: paused, lag 30 [ERR] ", " ago: clicks/", "- " + wantProblem} {
				if !strings.Contains(text, want) {
					t.Errorf("text status (exit %d) lacks %q:\n%s", code, want, text)
				}
			}

			// No engine: the last reading stays, stale; its ERR still
			// counts (nobody saw the sensor recover).
			eng.Stop()
			stopped = true
			code, st, sn, out = status()
			if code != exitFailed || st.Engine.Running || !sn.LagStale || sn.LagStatus != api.LagErr || sn.Lag != backlog {
				t.Fatalf("engine stopped: exit %d, engine %+v, sensor %+v\n%s", code, st.Engine, sn, out)
			}
			if len(st.Problems) != 1 || !strings.HasPrefix(st.Problems[0], wantProblem) || !strings.Contains(st.Problems[0], "(stale: read ") {
				t.Fatalf("problems %q, want the stale ERR", st.Problems)
			}
			_, text, _ = runCmd(ctx, nil, append([]string{"status"}, args...)...)
			if !strings.Contains(text, "lag 30 [ERR] ") || !strings.Contains(text, "stale (no engine running)") {
				t.Errorf("text status lacks the stale reading:\n%s", text)
			}
		})
	}
}
