package loader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// TestLocalHotReload walks one file through its life with the loader
// watching: every step is noticed through file notifications (the periodic
// scan is an hour away) and asserted by waiting on Changes.
func TestLocalHotReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log, logs := testLogger()
	l, err := New(localConfig(dir), log)
	if err != nil {
		t.Fatal(err)
	}
	startLoader(t, l)
	if ds := l.DAGs(); len(ds) != 0 {
		t.Fatalf("empty folder loaded %v", ds)
	}

	path := enginetest.WriteDAG(t, dir, "etl.json", dagJSON("v1", 3))
	ds := waitFor(t, l, "create", hasStatus("etl", api.DAGActive))
	created, _ := entry(ds, "etl", "")
	if created.Source != SourceLocal || created.Location != path || created.Def == nil || len(created.Def.Nodes) != 3 {
		t.Fatalf("created entry = %+v", created)
	}
	if def, ok := l.Lookup("etl"); !ok || def.Name != "etl" || created.Checksum == "" || created.LoadedAt.IsZero() || created.NextFire.IsZero() {
		t.Errorf("created entry lacks name/checksum/loaded-at/next fire: %+v", created)
	}

	t.Run("edit", func(t *testing.T) {
		enginetest.WriteDAG(t, dir, "etl.json", dagJSON("v2", 4))
		ds := waitFor(t, l, "edit", hasDescription(l, "etl", "v2"))
		d, _ := entry(ds, "etl", "")
		if d.Status != api.DAGActive || d.Checksum == created.Checksum || len(d.Def.Nodes) != 4 {
			t.Errorf("after edit: %+v", d)
		}
	})

	t.Run("break keeps the last good version", func(t *testing.T) {
		enginetest.WriteDAG(t, dir, "etl.json", brokenJSON)
		ds := waitFor(t, l, "invalid", hasStatus("etl", api.DAGInvalid))
		d, _ := entry(ds, "etl", "")
		if d.Def == nil || d.Def.Description != "v2" {
			t.Errorf("invalid entry should keep v2 as its definition, got %+v", d.Def)
		}
		if !strings.Contains(ErrorText(d.Errors), `"missing"`) {
			t.Errorf("error not kept: %q", ErrorText(d.Errors))
		}
		if def, ok := l.Lookup("etl"); !ok || def.Description != "v2" {
			t.Errorf("Lookup during invalid = %v, %v; want the last good v2", def, ok)
		}
	})

	t.Run("fix", func(t *testing.T) {
		enginetest.WriteDAG(t, dir, "etl.json", dagJSON("v3", 2))
		ds := waitFor(t, l, "fixed", hasDescription(l, "etl", "v3"))
		d, _ := entry(ds, "etl", "")
		if d.Status != api.DAGActive || len(d.Errors) != 0 {
			t.Errorf("after fix: %+v", d)
		}
	})

	t.Run("delete disables", func(t *testing.T) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		ds := waitFor(t, l, "deleted", hasStatus("etl", api.DAGDisabled))
		d, _ := entry(ds, "etl", "")
		if !Deleted(d) || d.Def == nil || d.Def.Description != "v3" {
			t.Errorf("deleted entry should keep its history (v3): %+v", d)
		}
		if _, ok := l.Lookup("etl"); ok {
			t.Error("Lookup found a deleted DAG")
		}
	})

	out := logs.String()
	for _, want := range []string{"dag loaded", "dag reloaded", "dag invalid", "dag deleted", "file=" + path} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestLocalRenameNestedAndLateFolders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "production/daily_etl.json", dagJSON("daily", 2))
	enginetest.WriteDAG(t, dir, "a/b/c/deep.star", `dag = {"nodes": [{"id": "x", "type": "local", "config": {"command": "true"}}]}`)
	l, err := New(localConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	startLoader(t, l)
	// Starlark files are evaluated in the background at start.
	ds := waitFor(t, l, "the Starlark file", hasStatus("a/b/c/deep", api.DAGActive))
	for _, name := range []string{"production/daily_etl", "a/b/c/deep"} {
		if d, ok := entry(ds, name, ""); !ok || d.Status != api.DAGActive {
			t.Fatalf("%s not active after Start:\n%s", name, dump(ds))
		}
	}

	t.Run("rename", func(t *testing.T) {
		if err := os.Rename(filepath.Join(dir, "production/daily_etl.json"), filepath.Join(dir, "production/nightly_etl.json")); err != nil {
			t.Fatal(err)
		}
		ds := waitFor(t, l, "rename", func(ds []api.DAG) bool {
			return hasStatus("production/nightly_etl", api.DAGActive)(ds) &&
				hasStatus("production/daily_etl", api.DAGDisabled)(ds)
		})
		if d, _ := entry(ds, "production/daily_etl", ""); !Deleted(d) {
			t.Errorf("old name should read as deleted: %+v", d)
		}
	})

	t.Run("folder created after start", func(t *testing.T) {
		// The folder and the file inside appear in quick succession: either
		// the scan the mkdir triggers lists the file, or the watch that scan
		// puts on the new folder reports it.
		enginetest.WriteDAG(t, dir, "late/inner/fresh.json", dagJSON("fresh", 1))
		waitFor(t, l, "file in late folder", hasStatus("late/inner/fresh", api.DAGActive))
		// An edit there is only seen through the new folder's watch.
		enginetest.WriteDAG(t, dir, "late/inner/fresh.json", dagJSON("fresh2", 1))
		waitFor(t, l, "edit in late folder", hasDescription(l, "late/inner/fresh", "fresh2"))
	})

	t.Run("folder replaced", func(t *testing.T) {
		// Same path, new folder: the old watch died with the old folder.
		if err := os.RemoveAll(filepath.Join(dir, "late")); err != nil {
			t.Fatal(err)
		}
		enginetest.WriteDAG(t, dir, "late/inner/fresh.json", dagJSON("fresh3", 1))
		waitFor(t, l, "file in replaced folder", hasDescription(l, "late/inner/fresh", "fresh3"))
		enginetest.WriteDAG(t, dir, "late/inner/fresh.json", dagJSON("fresh4", 1))
		waitFor(t, l, "edit in replaced folder", hasDescription(l, "late/inner/fresh", "fresh4"))
	})
}

func TestLocalIgnoresHiddenAndEditorFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "real.json", dagJSON("real", 1))
	for _, rel := range []string{".hidden.json", ".#real.json", "real.json~", ".real.json.swp", "#real.json#",
		".git/config.json", "notes.txt", "sub/.cache/x.json", "real.json.tmp"} {
		enginetest.WriteDAG(t, dir, rel, brokenJSON)
	}
	l, err := New(localConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ScanNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	ds := l.DAGs()
	if len(ds) != 1 || ds[0].Name != "real" || ds[0].Status != api.DAGActive {
		t.Fatalf("want only the real DAG:\n%s", dump(ds))
	}
}

func TestLocalSymlinkLoopsReportedNotFatal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "sub/ok.json", dagJSON("ok", 1))
	// A folder link back to its parent, and two file links pointing at each
	// other.
	mustSymlink(t, "..", filepath.Join(dir, "sub/up"))
	mustSymlink(t, "b.json", filepath.Join(dir, "a.json"))
	mustSymlink(t, "a.json", filepath.Join(dir, "b.json"))
	// A folder link elsewhere is followed.
	other := t.TempDir()
	enginetest.WriteDAG(t, other, "linked.json", dagJSON("linked", 1))
	mustSymlink(t, other, filepath.Join(dir, "shared"))

	l, err := New(localConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.ScanNow(context.Background())
	if err != nil || res.Failed != 0 {
		t.Fatalf("ScanNow = %+v, %v; a loop must not fail the source", res, err)
	}
	ds := l.DAGs()
	for _, name := range []string{"sub/ok", "shared/linked"} {
		if !hasStatus(name, api.DAGActive)(ds) {
			t.Errorf("%s not active:\n%s", name, dump(ds))
		}
	}
	for _, name := range []string{"a", "b"} {
		d, ok := entry(ds, name, "")
		if !ok || d.Status != api.DAGInvalid || !strings.Contains(ErrorText(d.Errors), "too many levels of symbolic links") {
			t.Errorf("%s should be invalid with a loop error: %+v", name, d)
		}
	}
	src := l.Sources()[0]
	if !src.OK || !strings.Contains(src.Error, "symlink loop") || !strings.Contains(src.Error, "sub/up") {
		t.Errorf("source health = %+v; want OK with the loop reported", src)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestLocalUnreadableFilesReportedNotFatal provokes unreadable entries. As
// root, permission bits do not stop reads, so the permission case runs only
// for other users; a FIFO, a dangling symlink and an unreadable folder's
// siblings cover "unreadable" for everyone.
func TestLocalUnreadableFilesReportedNotFatal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "good.json", dagJSON("good", 1))
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, filepath.Join(dir, "nowhere.json"), filepath.Join(dir, "dangling.json"))

	l, err := New(localConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := l.ScanNow(context.Background()); err != nil {
			t.Errorf("ScanNow: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("ScanNow hung on a FIFO")
	}
	ds := l.DAGs()
	if !hasStatus("good", api.DAGActive)(ds) {
		t.Errorf("good not active:\n%s", dump(ds))
	}
	for name, want := range map[string]string{"pipe": "not a regular file", "dangling": "no such file"} {
		d, ok := entry(ds, name, "")
		if !ok || d.Status != api.DAGInvalid || !strings.Contains(ErrorText(d.Errors), want) {
			t.Errorf("%s = %+v; want invalid with %q", name, d, want)
		}
	}

	t.Run("permission denied (non-root only)", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root: permission bits do not prevent reads")
		}
		p := enginetest.WriteDAG(t, dir, "secret.json", dagJSON("secret", 1))
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		locked := filepath.Join(dir, "locked")
		enginetest.WriteDAG(t, dir, "locked/inside.json", dagJSON("inside", 1))
		if _, err := l.ScanNow(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(locked, 0o755) })
		if _, err := l.ScanNow(context.Background()); err != nil {
			t.Fatal(err)
		}
		ds := l.DAGs()
		if d, _ := entry(ds, "secret", ""); d.Status != api.DAGInvalid || !strings.Contains(ErrorText(d.Errors), "permission denied") {
			t.Errorf("secret = %+v", d)
		}
		// An unreadable folder is a partial listing: what was inside is not
		// taken as deleted.
		if !hasStatus("locked/inside", api.DAGActive)(ds) {
			t.Errorf("locked/inside should stay active:\n%s", dump(ds))
		}
	})
}

func TestLocalTwoFilesOneName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := enginetest.WriteDAG(t, dir, "etl.json", dagJSON("json", 1))
	l, err := New(localConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	startLoader(t, l)
	second := enginetest.WriteDAG(t, dir, "etl.star", `dag = {"description": "star", "nodes": [{"id": "s", "type": "local", "config": {"command": "true"}}]}`)
	ds := waitFor(t, l, "conflict", func(ds []api.DAG) bool {
		d, ok := entry(ds, "etl", ".star")
		return ok && d.Status == api.DAGConflict
	})
	holder, _ := entry(ds, "etl", ".json")
	loser, _ := entry(ds, "etl", ".star")
	if holder.Status != api.DAGActive || loser.Status != api.DAGConflict || loser.ConflictWith != first {
		t.Fatalf("holder %+v\nloser %+v", holder, loser)
	}
	if ds[0].Location != first {
		t.Errorf("the holder should sort first:\n%s", dump(ds))
	}
	if d, _ := l.Lookup("etl"); d.Description != "json" {
		t.Errorf("Lookup = %q, want the first file's", d.Description)
	}

	// The first file goes: the second one takes the name.
	if err := os.Remove(first); err != nil {
		t.Fatal(err)
	}
	ds = waitFor(t, l, "takeover", hasDescription(l, "etl", "star"))
	if d, _ := entry(ds, "etl", ".star"); d.Status != api.DAGActive || d.Location != second {
		t.Errorf("after takeover: %+v", d)
	}
	if _, ok := entry(ds, "etl", ".json"); ok {
		t.Errorf("the deleted file should hide behind the holder:\n%s", dump(ds))
	}
}

func TestLocalEnabledFalseDisables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "off.json", `{"enabled": false, "nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`)
	l, err := New(localConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ScanNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	d, ok := entry(l.DAGs(), "off", "")
	if !ok || d.Status != api.DAGDisabled || Deleted(d) || !d.NextFire.IsZero() {
		t.Errorf("off = %+v; want disabled, not deleted, not scheduled", d)
	}
	if _, ok := l.Lookup("off"); ok {
		t.Error("Lookup found a disabled DAG")
	}
}

// TestLocalUnchangedFilesAreNotRead counts reads through a wrapped source.
func TestLocalUnchangedFilesAreNotRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"a", "b", "c"} {
		enginetest.WriteDAG(t, dir, name+".json", dagJSON(name, 2))
	}
	src := &countingSource{Source: NewLocalSource(dir)}
	l, err := NewWithSources(localConfig(dir), nil, src)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := l.ScanNow(ctx)
	if err != nil || res.Changed != 3 || src.reads.Load() != 3 {
		t.Fatalf("first scan %+v, %v, reads %d", res, err, src.reads.Load())
	}
	before, _ := entry(l.DAGs(), "a", "")

	res, err = l.ScanNow(ctx)
	if err != nil || res.Changed != 0 || src.reads.Load() != 3 {
		t.Fatalf("unchanged rescan %+v, %v, reads %d; want no read", res, err, src.reads.Load())
	}

	// A touch changes mtime, not content: read, hashed, found equal.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "a.json"), future, future); err != nil {
		t.Fatal(err)
	}
	res, err = l.ScanNow(ctx)
	if err != nil || res.Changed != 0 || src.reads.Load() != 4 {
		t.Fatalf("after touch %+v, %v, reads %d; want one read, no change", res, err, src.reads.Load())
	}
	after, _ := entry(l.DAGs(), "a", "")
	if !after.LoadedAt.Equal(before.LoadedAt) || after.Checksum != before.Checksum {
		t.Errorf("a touch reloaded the DAG: %v → %v", before.LoadedAt, after.LoadedAt)
	}
	select {
	case <-l.Changes():
	default:
		t.Fatal("the first scan should have signalled")
	}
	if _, err := l.ScanNow(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Changes():
		t.Error("an unchanged rescan signalled a change")
	default:
	}
}

func TestLocalMissingFolderReportedThenFound(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "not-yet")
	cfg := localConfig(dir)
	cfg.ScanInterval = 20 * time.Millisecond // the folder appears between scans
	l, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	startLoader(t, l)
	src := l.Sources()[0]
	if src.OK || !strings.Contains(src.Error, "no such file") {
		t.Fatalf("missing folder health = %+v", src)
	}
	res, err := l.ScanNow(context.Background())
	if !errors.Is(err, ErrSourceFailed) || res.Failed != 1 {
		t.Fatalf("ScanNow = %+v, %v; want a failed source", res, err)
	}
	enginetest.WriteDAG(t, dir, "late.json", dagJSON("late", 1))
	waitFor(t, l, "late folder", hasStatus("late", api.DAGActive))
	if src := l.Sources()[0]; !src.OK || src.Files != 1 {
		t.Errorf("health after recovery = %+v", src)
	}
}

func TestLocalFolderRemovedChangesNothing(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "dags")
	enginetest.WriteDAG(t, dir, "keep.json", dagJSON("keep", 1))
	l, err := New(localConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := l.ScanNow(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir, filepath.Join(parent, "moved")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ScanNow(ctx); !errors.Is(err, ErrSourceFailed) {
		t.Fatalf("ScanNow err = %v", err)
	}
	if !hasStatus("keep", api.DAGActive)(l.DAGs()) {
		t.Errorf("a vanished folder disabled its DAGs:\n%s", dump(l.DAGs()))
	}
}

func TestLoaderLifecycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "a.json", dagJSON("a", 1))
	l, err := New(localConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err == nil {
		t.Error("a second Start succeeded")
	}
	if !hasStatus("a", api.DAGActive)(l.DAGs()) {
		t.Error("Start returned before the initial scan")
	}
	l.Stop()
	l.Stop() // idempotent

	// A cancelled context ends Start's initial scan.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l2, _ := New(localConfig(dir), nil)
	if err := l2.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Start(cancelled) = %v", err)
	}
	if len(l2.DAGs()) != 0 {
		t.Error("a cancelled scan applied changes")
	}
	l2.Stop()

	// Disabled loading has no source and loads nothing.
	cfg := localConfig(dir)
	cfg.Enabled = false
	l3, _ := New(cfg, nil)
	startLoader(t, l3)
	if len(l3.DAGs()) != 0 || len(l3.Sources()) != 0 {
		t.Errorf("DAGS_ENABLED=false loaded %v from %v", l3.DAGs(), l3.Sources())
	}
}

func TestDAGsReturnsCopies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "bad.json", brokenJSON)
	l, _ := New(localConfig(dir), nil)
	if _, err := l.ScanNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	ds := l.DAGs()
	ds[0].Status = "mangled"
	ds[0].Errors[0].Msg = "mangled"
	again := l.DAGs()
	if again[0].Status != api.DAGInvalid || again[0].Errors[0].Msg == "mangled" {
		t.Errorf("DAGs shares memory with the registry: %+v", again[0])
	}
}

func TestChangesCoalesceAndScanResult(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, _ := New(localConfig(dir), nil)
	ctx := context.Background()
	// Many changes, nobody reading: every scan returns, one signal waits.
	for i := range 5 {
		enginetest.WriteDAG(t, dir, "a.json", dagJSON(fmt.Sprint("v", i), 1))
		enginetest.WriteDAG(t, dir, fmt.Sprintf("bad%d.json", i), brokenJSON)
		res, err := l.ScanNow(ctx)
		if err != nil || res.Sources != 1 || res.Changed != 2 || res.Invalid != i+1 || res.Failed != 0 || res.Duration <= 0 {
			t.Fatalf("scan %d = %+v, %v", i, res, err)
		}
	}
	if len(l.Changes()) != 1 {
		t.Errorf("%d signals waiting, want 1", len(l.Changes()))
	}
	<-l.Changes()
	if len(l.Changes()) != 0 {
		t.Error("a second signal was queued")
	}
}

func TestStarlarkSeesConfiguredEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "gen.star", `team = env("TEAM", "nobody") + "/" + env("SLUICE_DAG_OWNER", "?") + "/" + str(env("AWS_SECRET_ACCESS_KEY"))
dag = {"description": team, "nodes": [{"id": "n%d" % i, "type": "local", "config": {"command": "true"}} for i in range(3)]}`)
	cfg := localConfig(dir)
	cfg.Env = func(name string) (string, bool) {
		switch name {
		case "TEAM":
			return "data", true
		case "SLUICE_DAG_OWNER":
			return "ops", true
		case "AWS_SECRET_ACCESS_KEY":
			return "engine-secret", true
		}
		return "", false
	}
	cfg.EnvAllow = []string{"TEAM"}
	l, _ := New(cfg, nil)
	if _, err := l.ScanNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	d, ok := l.Lookup("gen")
	if !ok || d.Description != "data/ops/None" || len(d.Nodes) != 3 || d.Name != "gen" {
		t.Errorf("Lookup = %+v, %v", d, ok)
	}
}

// A rescan names the DAGs it changed, and a file deleted while invalid
// is disabled without its stale parse errors.
func TestScanNamesChangesAndDeletionDropsErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, _ := New(localConfig(dir), nil)
	ctx := context.Background()
	enginetest.WriteDAG(t, dir, "a.json", dagJSON("v1", 1))
	path := enginetest.WriteDAG(t, dir, "b.json", dagJSON("v1", 1))
	res, err := l.ScanNow(ctx)
	if err != nil || !slices.Equal(res.ChangedDAGs, []string{"a", "b"}) {
		t.Fatalf("first scan = %+v, %v", res, err)
	}
	enginetest.WriteDAG(t, dir, "b.json", brokenJSON)
	if res, err = l.ScanNow(ctx); err != nil || !slices.Equal(res.ChangedDAGs, []string{"b"}) {
		t.Fatalf("scan after breaking b = %+v, %v", res, err)
	}
	if d, _ := entry(l.DAGs(), "b", ""); d.Status != api.DAGInvalid || len(d.Errors) == 0 {
		t.Fatalf("broken b = %+v", d)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if res, err = l.ScanNow(ctx); err != nil || !slices.Equal(res.ChangedDAGs, []string{"b"}) {
		t.Fatalf("scan after deleting b = %+v, %v", res, err)
	}
	d, _ := entry(l.DAGs(), "b", "")
	if d.Status != api.DAGDisabled || len(d.Errors) != 0 {
		t.Errorf("deleted b shows %s with errors %v, want disabled with none", d.Status, d.Errors)
	}
	if res, err = l.ScanNow(ctx); err != nil || res.ChangedDAGs != nil {
		t.Errorf("a scan with nothing changed names %v", res.ChangedDAGs)
	}
}
