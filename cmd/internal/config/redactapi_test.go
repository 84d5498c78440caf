package config_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/cmd/internal/config"
	"github.com/sluice-dev/sluice/engine/api"
)

const secret = "ghp_0123456789abcdefSECRET"

var errBoom = errors.New("boom")

type stubAPI struct {
	api.NoOperations
	snap *api.Snapshot
}

func (s stubAPI) Snapshot() *api.Snapshot               { return s.snap }
func (s stubAPI) Subscribe() (<-chan api.Event, func()) { return nil, func() {} }
func (s stubAPI) ScanNow(context.Context) (api.ScanResult, error) {
	return api.ScanResult{}, fmt.Errorf("listing with token %s: %w", secret, errBoom)
}
func (s stubAPI) Trigger(context.Context, string, json.RawMessage) (int64, error) { return 1, nil }
func (s stubAPI) Cancel(context.Context, int64) error                             { return nil }
func (s stubAPI) RunMeta(context.Context) error                                   { return nil }
func (s stubAPI) Approve(context.Context, int64) error {
	return fmt.Errorf("push to https://x-access-token:%s@github.com: %w", secret, errBoom)
}
func (s stubAPI) Reject(context.Context, int64, string) error                           { return errBoom }
func (s stubAPI) ExcludeFromReview(context.Context, int64, string, api.Exclusion) error { return nil }

func (s stubAPI) PauseSensor(context.Context, string, int, bool) error { return nil }

func TestRedactAPI(t *testing.T) {
	t.Parallel()
	orig := &api.Snapshot{
		Logs: []api.LogRecord{{Msg: "clean"}, {Msg: "auth failed for " + secret, Attrs: "k=" + secret}},
		Runs: api.Runs{
			Finished: []api.Run{
				{ID: 1, Error: "clean"},
				{ID: 2, Config: json.RawMessage(`{"t":"` + secret + `"}`), Tasks: []api.Task{{ID: "a", LogTail: "GITHUB_TOKEN=" + secret + "\n"}}},
			},
		},
		Sources: []api.Source{{Name: "s3", Error: "403 for key " + secret}},
		DAGs:    []api.DAG{{Name: "d", Errors: []api.ErrorLine{{Msg: "env " + secret}}}},
		Sensors: []api.Sensor{{DAG: "k", Ticks: []api.Tick{{Error: "sasl " + secret}}}},
		Reviews: []api.Review{{ID: 1, Diff: "+token: " + secret}},
	}
	keep, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	red := config.RedactAPI(stubAPI{snap: orig}, config.NewRedactor(secret))
	got := red.Snapshot()
	dump, _ := json.Marshal(got)
	if strings.Contains(string(dump), secret) {
		t.Fatalf("secret left in the snapshot: %s", dump)
	}
	if n := strings.Count(string(dump), config.Redacted); n != 8 {
		t.Errorf("%d redactions, want 8: %s", n, dump)
	}
	// The engine's snapshot is shared: it must not change.
	after, _ := json.Marshal(orig)
	if string(after) != string(keep) {
		t.Fatal("redaction modified the engine's snapshot")
	}
	// Untouched slices are shared, not copied.
	if &got.Logs[0] == &orig.Logs[0] {
		t.Error("a changed slice was not copied")
	}
	clean := &api.Snapshot{Logs: []api.LogRecord{{Msg: "ok"}}}
	if got := config.RedactAPI(stubAPI{snap: clean}, config.NewRedactor(secret)).Snapshot(); &got.Logs[0] != &clean.Logs[0] {
		t.Error("a clean slice was copied")
	}

	_, err = red.ScanNow(context.Background())
	if err == nil || strings.Contains(err.Error(), secret) || !errors.Is(err, errBoom) {
		t.Errorf("ScanNow error %v", err)
	}
	err = red.Approve(context.Background(), 1)
	if err == nil || strings.Contains(err.Error(), secret) || !errors.Is(err, errBoom) {
		t.Errorf("Approve error %v", err)
	}
	if err := red.Reject(context.Background(), 1, ""); err != errBoom {
		t.Errorf("a clean error was wrapped: %#v", err)
	}
	// No secrets: the API itself.
	plain := stubAPI{snap: clean}
	if got := config.RedactAPI(plain, config.NewRedactor()); !reflect.DeepEqual(got, api.API(plain)) {
		t.Error("an empty redactor wrapped the API")
	}
}

func TestIsSecretFlag(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"kafka-sasl-password": true, "mode-token": true, "github-secret": true,
		"kafka-sasl-password-file": false, "github-token-hosts": false, "state-dir": false, "repo": false,
	} {
		if got := config.IsSecretFlag(name); got != want {
			t.Errorf("IsSecretFlag(%q) = %v, want %v", name, got, want)
		}
	}
}
