package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

func version(dag, content string, at time.Time) api.DAGVersion {
	return api.DAGVersion{DAG: dag, SHA256: fmt.Sprintf("sum-%s", content), Source: "dags/" + dag + ".json",
		Content: []byte(content), LastSeen: at}
}

func testDAGVersionsNumberedAndDeduplicated(t *testing.T, h harness) {
	s, place := h.openPlace(t)
	ctx := context.Background()
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	record := func(dag, content string, at time.Time) (int, bool) {
		t.Helper()
		v, created, err := record1(ctx, s, version(dag, content, at), 0)
		if err != nil {
			t.Fatal(err)
		}
		return v, created
	}
	if v, c := record("etl", "one", base); v != 1 || !c {
		t.Fatalf("first = %d, %v", v, c)
	}
	if v, c := record("etl", "two", base.Add(time.Hour)); v != 2 || !c {
		t.Fatalf("second = %d, %v", v, c)
	}
	// Another DAG numbers its own.
	if v, c := record("other", "two", base); v != 1 || !c {
		t.Fatalf("other dag = %d, %v", v, c)
	}
	// A revert to known content is that version again, seen later.
	if v, c := record("etl", "one", base.Add(2*time.Hour)); v != 1 || c {
		t.Fatalf("revert = %d, %v", v, c)
	}
	s.Close()
	s = h.reopen(t, place)
	vs, err := s.DAGVersions(ctx, "etl")
	if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	if !vs[1].FirstSeen.Equal(base) || !vs[1].LastSeen.Equal(base.Add(2*time.Hour)) || vs[1].SHA256 != "sum-one" ||
		vs[1].Source != "dags/etl.json" || vs[1].Content != nil {
		t.Fatalf("version 1 = %+v", vs[1])
	}
	one, err := s.DAGVersion(ctx, "etl", 1)
	if err != nil || string(one.Content) != "one" {
		t.Fatalf("version 1 = %+v, %v", one, err)
	}
	if _, err := s.DAGVersion(ctx, "etl", 9); !errors.Is(err, store.ErrVersionNotFound) || err.Error() != `version 9 of "etl" is not stored` {
		t.Fatalf("version 9: %v", err)
	}
}

func testDAGVersionsConcurrentRecordOneNumber(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	const n = 6
	var wg sync.WaitGroup
	got := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _, errs[i] = record1(ctx, s, version("etl", "same", time.Now()), 0)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != 1 {
			t.Fatalf("recorded %v, errors %v", got, errs)
		}
	}
}

func testDAGVersionsPrunedKeepingPinned(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	if _, _, err := record1(ctx, s, version("etl", "v1", base), 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PinDAG(ctx, "etl", api.DAGPin{Version: 1, By: "olga", At: base}); err != nil {
		t.Fatal(err)
	}
	// Version 2 is what a queued run will run, and version 3 what a
	// finished one ran: the queued run's version stays while it waits.
	if _, _, err := record1(ctx, s, version("etl", "v2", base.Add(2*time.Minute)), 3); err != nil {
		t.Fatal(err)
	}
	waiting, err := s.CreateRun(ctx, store.NewRun{DAG: "etl", DAGVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := record1(ctx, s, version("etl", "v3", base.Add(3*time.Minute)), 3); err != nil {
		t.Fatal(err)
	}
	done, err := s.CreateRun(ctx, store.NewRun{DAG: "etl", DAGVersion: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CancelQueued(ctx, done, base, "test"); err != nil {
		t.Fatal(err)
	}
	for i := 4; i <= 6; i++ {
		if _, _, err := record1(ctx, s, version("etl", fmt.Sprintf("v%d", i), base.Add(time.Duration(i)*time.Minute)), 3); err != nil {
			t.Fatal(err)
		}
	}
	if got := versionNumbers(t, s, "etl"); got != "[6 5 4 2 1]" {
		t.Fatalf("kept %v, want the 3 newest, the one a queued run runs and the pinned one", got)
	}
	// Once that run is done its version goes with the next prune.
	if err := s.CancelQueued(ctx, waiting, base, "test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := record1(ctx, s, version("etl", "v6b", base.Add(7*time.Minute)), 3); err != nil {
		t.Fatal(err)
	}
	if got := versionNumbers(t, s, "etl"); got != "[7 6 5 1]" {
		t.Fatalf("kept %v, want the 3 newest and the pinned one", got)
	}
	// A number is never reused after pruning.
	if v, _, err := record1(ctx, s, version("etl", "v8", base.Add(time.Hour)), 3); err != nil || v != 8 {
		t.Fatalf("next = %d, %v", v, err)
	}
}

func testDAGPins(t *testing.T, h harness) {
	s, place := h.openPlace(t)
	ctx := context.Background()
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []string{"a", "b"} {
		if _, _, err := record1(ctx, s, version("etl", c, at), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PinDAG(ctx, "etl", api.DAGPin{Version: 5, By: "olga", At: at}); !errors.Is(err, store.ErrVersionNotFound) || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pinning a version not stored: %v", err)
	}
	if changed, err := s.PinDAG(ctx, "etl", api.DAGPin{Version: 1, By: "olga", At: at}); err != nil || !changed {
		t.Fatalf("pin = %v, %v", changed, err)
	}
	if changed, err := s.PinDAG(ctx, "etl", api.DAGPin{Version: 1, By: "ivan", At: at.Add(time.Hour)}); err != nil || changed {
		t.Fatalf("same pin again = %v, %v", changed, err)
	}
	s.Close()
	s = h.reopen(t, place)
	p, err := s.PinnedDAGs(ctx)
	if err != nil || len(p) != 1 || p["etl"].Version != 1 || p["etl"].By != "olga" || !p["etl"].At.Equal(at) {
		t.Fatalf("pins = %+v, %v", p, err)
	}
	if changed, err := s.PinDAG(ctx, "etl", api.DAGPin{Version: 2, By: "ivan", At: at}); err != nil || !changed {
		t.Fatalf("repin = %v, %v", changed, err)
	}
	if p, _ := s.PinnedDAGs(ctx); p["etl"].Version != 2 || p["etl"].By != "ivan" {
		t.Fatalf("after repin %+v", p)
	}
	if changed, err := s.UnpinDAG(ctx, "etl"); err != nil || !changed {
		t.Fatalf("unpin = %v, %v", changed, err)
	}
	if changed, err := s.UnpinDAG(ctx, "etl"); err != nil || changed {
		t.Fatalf("second unpin = %v, %v", changed, err)
	}
}

func testRunRecordsDAGVersion(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	id, err := s.CreateRun(ctx, store.NewRun{DAG: "etl", DAGVersion: 3, External: true})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Run(ctx, id); err != nil || r.DAGVersion != 3 {
		t.Fatalf("run = %+v, %v", r, err)
	}
	if rs, err := s.ClaimExternal(ctx); err != nil || len(rs) != 1 || rs[0].DAGVersion != 3 {
		t.Fatalf("adopted = %+v, %v", rs, err)
	}
	if err := s.StartRun(ctx, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	in, err := s.Recover(ctx, time.Now(), func(store.Run) bool { return true })
	if err != nil || len(in) != 1 {
		t.Fatalf("recover = %+v, %v", in, err)
	}
	if r, err := s.Run(ctx, in[0].Requeued); err != nil || r.DAGVersion != 3 {
		t.Fatalf("re-queued run = %+v, %v", r, err)
	}
	plain, _ := s.CreateRun(ctx, store.NewRun{DAG: "etl"})
	if r, _ := s.Run(ctx, plain); r.DAGVersion != 0 {
		t.Fatalf("unknown version = %d", r.DAGVersion)
	}
}

// record1 records one version.
func record1(ctx context.Context, s store.Interface, v api.DAGVersion, keep int) (int, bool, error) {
	r, err := s.RecordDAGVersions(ctx, []api.DAGVersion{v}, keep)
	if err != nil {
		return 0, false, err
	}
	return r[0].Version, r[0].Created, nil
}

func testDAGVersionsRecordedInABatch(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	if _, _, err := record1(ctx, s, version("a", "a1", at), 0); err != nil {
		t.Fatal(err)
	}
	// More than one chunk of a store that records in chunks.
	batch := []api.DAGVersion{version("a", "a1", at.Add(time.Hour)), version("a", "a2", at.Add(time.Hour)), version("b", "b1", at)}
	for i := range 1200 {
		batch = append(batch, version(fmt.Sprintf("many/%d", i), "x", at))
	}
	got, err := s.RecordDAGVersions(ctx, batch, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Recorded{{Version: 1}, {Version: 2, Created: true}, {Version: 1, Created: true}}
	if len(got) != len(batch) || fmt.Sprint(got[:3]) != fmt.Sprint(want) || got[len(got)-1] != (store.Recorded{Version: 1, Created: true}) {
		t.Fatalf("recorded %v…, want %v…", got[:3], want)
	}
	if vs, _ := s.DAGVersions(ctx, "many/1199"); len(vs) != 1 {
		t.Fatalf("the last of the batch: %+v", vs)
	}
}

// testDAGVersionOrigin: a version from a git source keeps the commit it
// came from; one from a folder has none; known content seen again from a
// later commit keeps the commit that brought it first.
func testDAGVersionOrigin(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	first := &api.Commit{Hash: "0123456789abcdef0123456789abcdef01234567", Short: "0123456", Author: "Grace", Subject: "Add etl", When: base}
	v := version("etl", "one", base)
	v.Origin = first
	if _, _, err := record1(ctx, s, v, 0); err != nil {
		t.Fatal(err)
	}
	again := version("etl", "one", base.Add(time.Hour))
	again.Origin = &api.Commit{Hash: "fedcba9876543210fedcba9876543210fedcba98", Author: "Ada", Subject: "Touch README", When: base.Add(time.Hour)}
	if _, _, err := record1(ctx, s, again, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := record1(ctx, s, version("etl", "two", base.Add(2*time.Hour)), 0); err != nil {
		t.Fatal(err)
	}
	vs, err := s.DAGVersions(ctx, "etl")
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	if vs[0].Origin != nil {
		t.Fatalf("a folder's version has origin %+v, want none", vs[0].Origin)
	}
	got := vs[1].Origin
	if got == nil || got.Hash != first.Hash || got.Short != "0123456" || got.Author != "Grace" || got.Subject != "Add etl" || !got.When.Equal(base) {
		t.Fatalf("version 1 origin = %+v, want %+v", got, first)
	}
	one, err := s.DAGVersion(ctx, "etl", 1)
	if err != nil || one.Origin == nil || *one.Origin != *got {
		t.Fatalf("version 1 read alone: origin %+v, %v", one.Origin, err)
	}
}

func versionNumbers(t *testing.T, s store.Interface, dag string) string {
	t.Helper()
	vs, err := s.DAGVersions(context.Background(), dag)
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	for _, v := range vs {
		nums = append(nums, v.Version)
	}
	return fmt.Sprint(nums)
}
