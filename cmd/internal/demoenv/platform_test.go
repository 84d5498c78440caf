package demoenv

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/meta"
)

// What `make demo` promises, without a screen: the real engine on the full
// environment ticks the Kafka sensor with messages, runs the metapipeline
// against the demo dbt repository and the Mode stand-in, stages a
// deprecation and an exposures branch with diffs and an archive item; an
// approval pushes to the bare origin and opens a pull request on the
// GitHub stand-in, another archives the stale reports in Mode.
func TestDemoPlatformEndToEnd(t *testing.T) {
	t.Parallel()
	env := setup(t, Options{DAGsDir: filepath.Join("..", "..", "..", "dags")})
	eng, err := engine.New(env.EngineConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop()
	events, unsubscribe := eng.Subscribe()
	defer unsubscribe()
	env.EngineStarted(ctx, eng, slog.New(slog.DiscardHandler))

	var (
		ticked, analysed bool
		staged           map[string]api.Review
	)
	enginetest.EventuallyOn(t, events, 90*time.Second, func() bool {
		s := eng.Snapshot()
		for _, sn := range s.Sensors {
			for _, tk := range sn.Ticks {
				ticked = ticked || (sn.DAG == "demo/kafka_events" && tk.Messages > 0)
			}
		}
		for _, r := range s.Runs.Finished {
			if r.DAG == meta.DAGName && r.State != api.RunSuccess {
				t.Fatalf("metapipeline run %d: %s: %s %+v", r.ID, r.State, r.Error, r.Tasks)
			}
			analysed = analysed || (r.DAG == meta.DAGName && s.Meta != nil)
		}
		staged = map[string]api.Review{}
		for _, it := range s.Reviews {
			if it.State == api.ReviewStaged {
				staged[it.Kind] = it
			}
		}
		return ticked && analysed && len(staged) == 3
	}, "sensor ticked with messages, metapipeline succeeded, three items staged")

	s := eng.Snapshot()
	if s.Meta.Candidates != 4 || s.Meta.StaleReports != 2 || len(s.Meta.ModelsPerDay) != 14 || len(s.Meta.Centrality) != len(dbtModels) {
		t.Errorf("analysis: %d candidates, %d stale reports, %d days, %d models ranked; want 4, 2, 14, %d",
			s.Meta.Candidates, s.Meta.StaleReports, len(s.Meta.ModelsPerDay), len(s.Meta.Centrality), len(dbtModels))
	}
	dep, exp, arch := staged["deprecate"], staged["exposures"], staged["archive"]
	// Phase one disables the models in place: nothing is deleted yet.
	for _, m := range []string{"legacy_orders_v1", "tmp_customer_scores", "product_sales"} {
		if !strings.Contains(dep.Diff, m) {
			t.Errorf("the deprecation diff does not touch %s", m)
		}
	}
	if !strings.Contains(dep.Diff, "enabled") || strings.Contains(dep.Diff, "deleted file") {
		t.Errorf("phase one must disable, not delete:\n%s", dep.Diff)
	}
	if !strings.Contains(dep.Diff, "# Marts read by the dashboards") && !strings.Contains(dep.Diff, "models/marts/schema.yml") {
		t.Errorf("the deprecation diff does not edit the marts properties:\n%s", dep.Diff)
	}
	if !strings.Contains(exp.Diff, "mode_exposures.yml") || !strings.Contains(exp.Diff, "Revenue dashboard") {
		t.Errorf("exposures diff:\n%s", exp.Diff)
	}
	if len(arch.Subjects) != 2 {
		t.Errorf("archive subjects %+v", arch.Subjects)
	}

	if err := eng.Approve(ctx, exp.ID); err != nil {
		t.Fatal(err)
	}
	branches, err := env.DBT.RemoteBranches()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := branches[exp.Branch]; !ok {
		t.Errorf("branch %s not on the demo remote: %v", exp.Branch, branches)
	}
	pulls := env.GitHub.Pulls()
	if len(pulls) != 1 || pulls[0].Head != exp.Branch || pulls[0].Base != DemoBranch {
		t.Fatalf("pull requests %+v", pulls)
	}
	if it := reviewByID(eng.Snapshot(), exp.ID); it.State != api.ReviewPROpen || it.URL != pulls[0].URL {
		t.Errorf("approved item: %s %q, want pr-open %q", it.State, it.URL, pulls[0].URL)
	}

	if err := eng.Approve(ctx, arch.ID); err != nil {
		t.Fatal(err)
	}
	archived := env.Mode.Archived()
	slices.Sort(archived)
	if !slices.Equal(archived, []string{"4d2f6b8c0e12", "6f4b8d0e2a34"}) {
		t.Errorf("archived in Mode: %v", archived)
	}

	if err := eng.Reject(ctx, dep.ID, ""); err != nil {
		t.Fatal(err)
	}
	if it := reviewByID(eng.Snapshot(), dep.ID); it.State != api.ReviewRejected {
		t.Errorf("rejected item is %s", it.State)
	}
	if branches, _ := env.DBT.RemoteBranches(); len(branches) != 2 {
		t.Errorf("remote branches after a reject: %v, want main and the approved one", branches)
	}
}

func reviewByID(s *api.Snapshot, id int64) api.Review {
	for _, it := range s.Reviews {
		if it.ID == id {
			return it
		}
	}
	return api.Review{}
}

// A kept state dir keeps the demo repository: a second start reuses it
// (with what was pushed to its origin) instead of making a new history.
func TestDemoRepositoryIsReused(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	opts := Options{DAGsDir: t.TempDir(), StateDir: state, NoKafka: true}
	first, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	before, err := first.DBT.RemoteBranches()
	if err != nil || before[DemoBranch] == "" {
		t.Fatalf("first start: %v %v", before, err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	after, err := second.DBT.RemoteBranches()
	if err != nil || after[DemoBranch] != before[DemoBranch] {
		t.Errorf("second start: %v %v, want main at %s", after, err, before[DemoBranch])
	}
	if _, err := os.Stat(second.DBT.Manifest); err != nil {
		t.Errorf("manifest: %v", err)
	}
}
