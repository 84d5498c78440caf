package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// An offline engine reads without creating a state dir, queues runs beside
// a running engine (it takes no lock), and applies the one run-config rule.
func TestOpenOffline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	eng, err := Open(ctx, Options{Offline: true, Config: Config{StateDir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.Start(ctx); !errors.Is(err, ErrOffline) {
		t.Fatalf("Start offline = %v, want ErrOffline", err)
	}
	if runs, err := eng.ListRuns(ctx, store.ListOptions{}); err != nil || runs != nil {
		t.Fatalf("ListRuns on no state = %v, %v", runs, err)
	}
	if items, err := eng.ReviewItems(ctx); err != nil || items != nil {
		t.Fatalf("ReviewItems on no state = %v, %v", items, err)
	}
	if _, err := eng.ApproveReview(ctx, 1, true); !errors.Is(err, ErrNoState) {
		t.Fatalf("ApproveReview on no state = %v, want ErrNoState", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reading created the state dir: %v", err)
	}

	// A running engine holds the lock; offline queueing still works.
	lock, err := store.AcquireLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if _, err := eng.QueueRun(ctx, "daily", json.RawMessage(`[1]`), 0); !errors.Is(err, api.ErrInvalidConfig) {
		t.Fatalf("array config = %v, want api.ErrInvalidConfig", err)
	}
	run, err := eng.QueueRun(ctx, "daily", json.RawMessage(`{"day":"2024-01-01"}`), 3)
	if err != nil {
		t.Fatal(err)
	}
	if run.DAG != "daily" || run.State != api.RunQueued || run.Priority != 3 || run.Trigger != store.TriggerManual {
		t.Fatalf("queued run = %+v", run)
	}
	runs, err := eng.ListRuns(ctx, store.ListOptions{})
	if err != nil || len(runs) != 1 || runs[0].ID != run.ID {
		t.Fatalf("ListRuns = %+v, %v", runs, err)
	}
}

// Validate lists a folder the way the loader does: editor leftovers and
// hidden entries are not DAG files.
func TestValidateUsesLoaderSkipRules(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	good := `{"nodes":[{"id":"a","type":"local","config":{"command":"true"}}]}`
	for name, body := range map[string]string{
		"ok.json": good, "sub/bad.json": `{`, "#ok.json#": `{`, "ok.json~": `{`, "x.json.tmp": `{`,
		".hidden/bad.json": `{`, "notes.txt": `{`,
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eng, err := Open(context.Background(), Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	checks, _, err := eng.Validate(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range checks {
		got = append(got, c.DAG)
		if c.Err != nil {
			t.Errorf("%s: %v", c.Path, c.Err)
		}
		if want := c.DAG == "sub/bad"; (len(c.Errors) > 0) != want {
			t.Errorf("%s: errors %v", c.DAG, c.Errors)
		}
	}
	if len(got) != 2 || got[0] != "ok" || got[1] != "sub/bad" {
		t.Fatalf("checked %v, want [ok sub/bad]", got)
	}
}
