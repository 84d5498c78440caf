package engine

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/notify"
)

// TestNotificationsSurviveEngineRestart: a DAG turns invalid while the
// receiver refuses; the engine restarts on the same state dir; the
// receiver recovers and gets the event exactly once, signed.
func TestNotificationsSurviveEngineRestart(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	refusing := true
	var got []notify.Message
	const secret = "engine-test-secret"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if refusing {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		if r.Header.Get(notify.SignatureHeader) != notify.Sign([]byte(secret), b) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m notify.Message
		_ = json.Unmarshal(b, &m)
		got = append(got, m)
	}))
	defer srv.Close()
	target, err := notify.ParseTarget(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	dags := enginetest.DAGFolder(t, map[string]string{"etl": enginetest.LocalDAG("a: true")})
	cfg := Config{StateDir: t.TempDir(), Loader: loader.Config{Dir: dags, Enabled: true, ScanInterval: time.Hour},
		Notify: notify.Config{Targets: []notify.Target{target}, SummaryEvery: -1, Secret: secret,
			RetryInitial: time.Millisecond, RetryMax: 10 * time.Millisecond, FailingAfter: 2}}
	ctx := context.Background()

	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	enginetest.WriteDAG(t, dags, "etl", `{"nodes": [{"id": "a", "type": "shell", "config": {}}]}`)
	if _, err := e.ScanNow(ctx); err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, 10*time.Second, func() bool {
		n := e.Snapshot().Notify
		return len(n) == 1 && n[0].Failing && n[0].Pending == 1
	}, "the refusing target shown failing in the snapshot")
	// The running engine's status says so, and is unhealthy for it.
	st, err := e.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Notifications; n == nil || len(n.Targets) != 1 || !n.Targets[0].Failing || n.Targets[0].Pending != 1 ||
		n.Targets[0].URL != srv.URL || len(st.Problems) != 2 || !strings.HasPrefix(st.Problems[1], "notification target generic:") {
		t.Fatalf("running engine's status: notifications %+v, problems %q", st.Notifications, st.Problems)
	}
	e.Stop()

	mu.Lock()
	refusing = false
	mu.Unlock()
	e2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e2.Stop()
	enginetest.Eventually(t, 10*time.Second, func() bool {
		n := e2.Snapshot().Notify
		return len(n) == 1 && !n[0].Failing && n[0].Pending == 0 && !n[0].LastDelivery.IsZero()
	}, "the event delivered after the restart")
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Type != notify.DAGInvalid || got[0].Data.DAG != "etl" {
		t.Fatalf("received %+v, want etl's dag.invalid once", got)
	}
}

// TestNotificationStatusOffline: the outbox as `sluice status` reads it
// beside the engine, and nothing from a state dir never used.
func TestNotificationStatusOffline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := Open(ctx, Options{Config: Config{StateDir: t.TempDir()}, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got, err := e.NotificationStatus(ctx); err != nil || got != nil {
		t.Fatalf("fresh state dir: %v, %v; want nothing", got, err)
	}
}
