package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/loader"
)

const offlineDAG = `{"nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`

// Offline, the dags commands list and watch the configured sources through
// the engine, and the Starlark allow-list is the loader's.
func TestListAndWatchDAGsOffline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "one.json"), []byte(offlineDAG), 0o644); err != nil {
		t.Fatal(err)
	}
	star := `dag = {"description": env("TEAM", "none"), "nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`
	if err := os.WriteFile(filepath.Join(dir, "two.star"), []byte(star), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(name string) (string, bool) { return map[string]string{"TEAM": "data"}[name], name == "TEAM" }
	cfg := Config{Loader: loader.Config{Dir: dir, Enabled: true, Env: env, EnvAllow: []string{"TEAM"}}}
	ctx := context.Background()
	eng, err := Open(ctx, Options{Offline: true, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	listing, err := eng.ListDAGs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(listing.DAGs) != 2 || listing.DAGs[0].Name != "one" || listing.DAGs[0].Status != api.DAGActive ||
		len(listing.Sources) != 1 || !listing.Sources[0].OK || listing.Scan.Failed != 0 {
		t.Fatalf("listing = %+v", listing)
	}
	if d := listing.DAGs[1]; d.Name != "two" || d.Def == nil || d.Def.Description != "data" {
		t.Errorf("the Starlark DAG did not read TEAM through the allow-list: %+v", d)
	}
	checks, _, err := eng.Validate(ctx, dir)
	if err != nil || len(checks) != 2 || len(checks[1].Errors) != 0 {
		t.Fatalf("Validate = %+v, %v", checks, err)
	}

	// Watch: the initial load, then a new file, then the end of ctx.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	seen := make(chan int, 16)
	done := make(chan error, 1)
	go func() {
		done <- eng.WatchDAGs(wctx, func(dags []api.DAG, _ []api.Source) { seen <- len(dags) })
	}()
	// (Starlark files may finish evaluating after the first call.)
	waitFor := func(want int, what string) {
		t.Helper()
		for n := -1; n != want; {
			select {
			case n = <-seen:
			case <-wctx.Done():
				t.Fatalf("%s: never %d DAGs", what, want)
			}
		}
	}
	waitFor(2, "initial load")
	if err := os.WriteFile(filepath.Join(dir, "three.json"), []byte(offlineDAG), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(3, "a new file")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("WatchDAGs = %v after ctx ended", err)
	}
}

func TestWatchDAGsIsOffline(t *testing.T) {
	t.Parallel()
	eng := &Engine{}
	if err := eng.WatchDAGs(context.Background(), func([]api.DAG, []api.Source) {}); !errors.Is(err, errNotOffline) {
		t.Fatalf("WatchDAGs on a running engine = %v", err)
	}
}
