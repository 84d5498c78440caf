package loader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

func gitSourceHealth(t *testing.T, l *Loader) api.Source {
	t.Helper()
	for _, s := range l.Sources() {
		if s.Name == SourceGit {
			return s
		}
	}
	t.Fatal("no git source health")
	return api.Source{}
}

func mustEntry(t *testing.T, ds []api.DAG, name string) api.DAG {
	t.Helper()
	d, ok := entry(ds, name, "")
	if !ok {
		t.Fatalf("no DAG %s in\n%s", name, dump(ds))
	}
	return d
}

func TestGitSourceFollowsCommitsReadingOnlyChangedBlobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGitRemote(t)
	first := g.commit("Add the first DAGs", map[string]string{
		"dags/etl/daily.json": dagJSON("daily v1", 3),
		"dags/hourly.json":    dagJSON("hourly v1", 2),
		"dags/notes.md":       "not a DAG",
		"outside.json":        dagJSON("outside the folder", 1),
	})
	l, err := New(gitConfig(g.bare, "", "dags", t.TempDir()), nil)
	if err != nil {
		t.Fatal(err)
	}
	src := gitSourceOf(t, l)

	res, err := l.ScanNow(ctx)
	if err != nil {
		t.Fatalf("first scan: %v", err)
	}
	ds := l.DAGs()
	if len(ds) != 2 || res.Changed != 2 {
		t.Fatalf("want the two DAGs of the folder, changed 2; got %+v\n%s", res, dump(ds))
	}
	daily := mustEntry(t, ds, "etl/daily")
	if daily.Status != api.DAGActive || daily.Source != SourceGit || daily.Origin == nil || daily.Origin.Hash != first {
		t.Fatalf("etl/daily: %+v origin %+v, want active from %s", daily, daily.Origin, first)
	}
	if daily.Origin.Short != first[:7] || daily.Origin.Author != "Ada Lovelace" || daily.Origin.Subject != "Add the first DAGs" {
		t.Fatalf("origin %+v", daily.Origin)
	}
	if want := g.bare + "#:dags/etl/daily.json"; daily.Location != want {
		t.Fatalf("location %q, want %q", daily.Location, want)
	}
	h := gitSourceHealth(t, l)
	if !h.OK || h.Files != 2 || h.Commit == nil || h.Commit.Hash != first {
		t.Fatalf("source health %+v commit %+v", h, h.Commit)
	}
	if n := src.blobReads.Load(); n != 2 {
		t.Fatalf("first scan opened %d blobs, want 2", n)
	}

	// Unchanged remote: nothing fetched, no blob opened, nothing changed.
	res, err = l.ScanNow(ctx)
	if err != nil || res.Changed != 0 {
		t.Fatalf("unchanged rescan: %+v, %v", res, err)
	}
	if n := src.blobReads.Load(); n != 2 {
		t.Fatalf("unchanged rescan opened blobs: %d in all", n)
	}

	// A commit touching a file outside the folder changes nothing either.
	g.commit("Touch outside", map[string]string{"outside.json": dagJSON("outside v2", 1)})
	if res, err = l.ScanNow(ctx); err != nil || res.Changed != 0 {
		t.Fatalf("rescan after an outside change: %+v, %v", res, err)
	}
	if n := src.blobReads.Load(); n != 2 {
		t.Fatalf("an outside change opened blobs: %d in all", n)
	}

	// One file changed, one removed: one blob read, the removed DAG disabled.
	second := g.commit("Change daily, drop hourly", map[string]string{
		"dags/etl/daily.json": dagJSON("daily v2", 4),
		"dags/hourly.json":    "",
	})
	res, err = l.ScanNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := src.blobReads.Load(); n != 3 {
		t.Fatalf("the change opened %d blobs, want 1", n-2)
	}
	ds = l.DAGs()
	daily, hourly := mustEntry(t, ds, "etl/daily"), mustEntry(t, ds, "hourly")
	if daily.Status != api.DAGActive || daily.Def.Description != "daily v2" || daily.Origin.Hash != second {
		t.Fatalf("daily after the change: %s %q origin %v", daily.Status, daily.Def.Description, daily.Origin)
	}
	if hourly.Status != api.DAGDisabled {
		t.Fatalf("a DAG removed in a commit is %s, want disabled", hourly.Status)
	}
	if got := strings.Join(res.ChangedDAGs, ","); got != "etl/daily,hourly" {
		t.Fatalf("changed DAGs %q", got)
	}
	if h := gitSourceHealth(t, l); h.Commit.Hash != second || h.Files != 1 {
		t.Fatalf("health after the change: %+v", h)
	}

	// An invalid version keeps the last good one (and its origin).
	g.commit("Break daily", map[string]string{"dags/etl/daily.json": brokenJSON})
	if _, err := l.ScanNow(ctx); err != nil {
		t.Fatal(err)
	}
	daily = mustEntry(t, l.DAGs(), "etl/daily")
	if daily.Status != api.DAGInvalid || daily.Def.Description != "daily v2" || daily.Origin.Hash != second {
		t.Fatalf("invalid daily: %s %q origin %v", daily.Status, daily.Def.Description, daily.Origin)
	}
}

func TestGitForcePushAndOutageChangeNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGitRemote(t)
	g.commit("one", map[string]string{"a.json": dagJSON("a v1", 1)})
	good := g.commit("two", map[string]string{"b.json": dagJSON("b v1", 1)})
	mirrors := t.TempDir()
	l, err := New(gitConfig(g.bare, "main", "", mirrors), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ScanNow(ctx); err != nil {
		t.Fatal(err)
	}

	// Rewrite history: b.json gone, a changed, and force-pushed.
	g.run(g.work, "reset", "--quiet", "--hard", "HEAD~1")
	rewritten := g.commit("rewritten", map[string]string{"a.json": dagJSON("a rewritten", 1)})
	_, err = l.ScanNow(ctx)
	if !errors.Is(err, ErrSourceFailed) || !strings.Contains(err.Error(), ErrForcePushed.Error()) {
		t.Fatalf("scan after a force push: %v, want the force push reported", err)
	}
	ds := l.DAGs()
	if a, b := mustEntry(t, ds, "a"), mustEntry(t, ds, "b"); a.Def.Description != "a v1" || b.Status != api.DAGActive {
		t.Fatalf("a force push changed the DAGs:\n%s", dump(ds))
	}
	if h := gitSourceHealth(t, l); h.OK || h.Commit.Hash != good {
		t.Fatalf("health after a force push: %+v (commit %v)", h, h.Commit)
	}

	// A restart over the same mirror still refuses the rewritten history.
	l2, err := New(gitConfig(g.bare, "main", "", mirrors), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l2.ScanNow(ctx); err == nil || !strings.Contains(err.Error(), rewritten[:7]) {
		t.Fatalf("restart after a force push: %v", err)
	}
	// ... and loads the commit it had accepted, from the mirror.
	kept := func(l *Loader, what string) {
		t.Helper()
		ds := l.DAGs()
		if a, b := mustEntry(t, ds, "a"), mustEntry(t, ds, "b"); a.Def.Description != "a v1" || b.Status != api.DAGActive || a.Origin.Hash != good {
			t.Fatalf("%s: the DAGs of the accepted commit are not loaded:\n%s", what, dump(ds))
		}
		if h := gitSourceHealth(t, l); h.OK || h.Commit == nil || h.Commit.Hash != good || h.Files != 2 || !strings.Contains(h.Error, "keeping "+good[:7]) {
			t.Fatalf("%s: health %+v (commit %v), want failed, keeping %s", what, h, h.Commit, good[:7])
		}
	}
	kept(l2, "restart after a force push")

	// Unreachable remote: the DAGs stay; back, the source recovers.
	moved := g.bare + ".away"
	if err := os.Rename(g.bare, moved); err != nil {
		t.Fatal(err)
	}
	g.run(g.work, "reset", "--quiet", "--hard", good)
	if _, err := l.ScanNow(ctx); !errors.Is(err, ErrSourceFailed) {
		t.Fatalf("scan of a missing remote: %v", err)
	}
	if ds := l.DAGs(); len(ds) != 2 || mustEntry(t, ds, "b").Status != api.DAGActive {
		t.Fatalf("an outage changed the DAGs:\n%s", dump(ds))
	}
	// A restart during the outage loads the accepted commit from the
	// mirror; the remote's HEAD (no ref configured) finds it too.
	for _, ref := range []string{"main", ""} {
		l3, err := New(gitConfig(g.bare, ref, "", mirrors), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l3.ScanNow(ctx); !errors.Is(err, ErrSourceFailed) {
			t.Fatalf("restart during an outage (ref %q): %v", ref, err)
		}
		kept(l3, fmt.Sprintf("restart during an outage (ref %q)", ref))
	}
	if err := os.Rename(moved, g.bare); err != nil {
		t.Fatal(err)
	}
	third := g.commit("three", map[string]string{"c.json": dagJSON("c v1", 1)})
	if _, err := l.ScanNow(ctx); err != nil {
		t.Fatalf("scan after the remote came back (fast-forward of the loaded commit): %v", err)
	}
	if h := gitSourceHealth(t, l); !h.OK || h.Commit.Hash != third || h.Files != 3 {
		t.Fatalf("health after recovery: %+v", h)
	}
}

func TestGitRefsTagsAndRemoteHEAD(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGitRemote(t)
	g.commit("main one", map[string]string{"m.json": dagJSON("on main", 1)})
	g.run(g.work, "tag", "-a", "-m", "release", "v1")
	g.run(g.work, "push", "--quiet", "origin", "v1")
	g.run(g.work, "checkout", "--quiet", "-b", "develop")
	g.commit("develop one", map[string]string{"d.json": dagJSON("on develop", 1)})

	names := func(ref string) string {
		t.Helper()
		l, err := New(gitConfig(g.bare, ref, "", t.TempDir()), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.ScanNow(ctx); err != nil {
			t.Fatalf("ref %q: %v", ref, err)
		}
		var out []string
		for _, d := range l.DAGs() {
			out = append(out, d.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(""); got != "m" {
		t.Fatalf("remote HEAD (main): %s", got)
	}
	if got := names("develop"); got != "d,m" {
		t.Fatalf("branch develop: %s", got)
	}
	if got := names("v1"); got != "m" {
		t.Fatalf("annotated tag v1: %s", got)
	}
	g.run(g.bare, "symbolic-ref", "HEAD", "refs/heads/develop")
	if got := names(""); got != "d,m" {
		t.Fatalf("remote HEAD (develop): %s", got)
	}

	l, err := New(gitConfig(g.bare, "nope", "", t.TempDir()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ScanNow(ctx); err == nil || !strings.Contains(err.Error(), `no branch or tag "nope"`) {
		t.Fatalf("missing ref: %v", err)
	}
}

func TestGitAndLocalShareTheNameRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGitRemote(t)
	g.commit("add", map[string]string{"shared.json": dagJSON("from git", 1), "only.json": dagJSON("git only", 1)})
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "shared.json", dagJSON("from local", 1))
	cfg := gitConfig(g.bare, "", "", t.TempDir())
	cfg.Dir = dir
	l, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ScanNow(ctx); err != nil {
		t.Fatal(err)
	}
	ds := l.DAGs()
	local, _ := entry(ds, "shared", filepath.Join(dir, "shared.json"))
	remote, _ := entry(ds, "shared", "#:shared.json")
	if local.Status != api.DAGActive || remote.Status != api.DAGConflict || remote.ConflictWith != local.Location {
		t.Fatalf("name conflict between sources:\n%s", dump(ds))
	}
	if mustEntry(t, ds, "only").Status != api.DAGActive {
		t.Fatalf("git-only DAG:\n%s", dump(ds))
	}
}

// Two processes sharing a state dir (sluice status beside a running
// engine) may create the mirror at once: both end up using one mirror.
func TestGitMirrorCreatedOnceUnderRace(t *testing.T) {
	t.Parallel()
	g := newGitRemote(t)
	g.commit("one", map[string]string{"a.json": dagJSON("a", 1)})
	mirrors := t.TempDir()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			src := NewGitSource(gitConfig(g.bare, "", "", mirrors), nil)
			_, err := src.List(context.Background())
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent first List: %v", err)
		}
	}
	entries, err := os.ReadDir(mirrors)
	if err != nil || len(entries) != 1 {
		t.Fatalf("mirror folder holds %v (%v), want one mirror and no leftovers", entries, err)
	}
}

func TestCommitTextIsSanitised(t *testing.T) {
	t.Parallel()
	got := printable("fix\x1b]0;pwned\a\x1b[2J schedule", 120)
	if strings.ContainsAny(got, "\x1b\a") {
		t.Fatalf("printable kept control characters: %q", got)
	}
	if got := printable(strings.Repeat("é", 10), 4); got != "éééé…" {
		t.Fatalf("cut: %q", got)
	}
}
