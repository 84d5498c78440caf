package review

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// catalogYAML declares a versioned model: v1 in catalog_v1.sql, v2 (the
// latest) in catalog.sql.
const catalogYAML = "version: 2\nmodels:\n  - name: catalog\n    latest_version: 2\n    versions:\n      - v: 1\n      - v: 2\n"

var catalogCandidates = []Candidate{
	{UniqueID: "model.jaffle_shop.catalog.v1", Name: "catalog", Reason: "no downstream consumer",
		Files: []string{"models/versioned/catalog_v1.sql", "models/versioned/catalog.yml"}, PatchPath: "jaffle_shop://models/versioned/catalog.yml"},
	{UniqueID: "model.jaffle_shop.catalog.v2", Name: "catalog", Reason: "no downstream consumer",
		Files: []string{"models/versioned/catalog.sql", "models/versioned/catalog.yml"}, PatchPath: "jaffle_shop://models/versioned/catalog.yml"},
}

// newReposWithCatalog is newRepos plus the versioned catalog, on origin's main.
func newReposWithCatalog(t *testing.T) string {
	t.Helper()
	repos := newRepos(t, true)
	writeFile(t, filepath.Join(repos.user, "models/versioned/catalog_v1.sql"), "select 1 as id\n")
	writeFile(t, filepath.Join(repos.user, "models/versioned/catalog.sql"), "select 1 as id, 'x' as sku\n")
	writeFile(t, filepath.Join(repos.user, "models/versioned/catalog.yml"), catalogYAML)
	runGit(t, repos.user, "add", "models/versioned")
	runGit(t, repos.user, "commit", "-q", "-m", "catalog")
	runGit(t, repos.user, "push", "-q", "origin", "main")
	return repos.user
}

// When the analysis proposes a versioned model, it proposes every version
// (lineage.Analyze holds them back otherwise): the branch removes or
// disables all of them, and the proof passes.
func TestDeprecationOfAllVersions(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{DeprecateDelete, DeprecateDisable, DeprecateFolder} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			svc, _ := setup(t, Config{Repo: newReposWithCatalog(t), DeprecateMode: mode})
			it, err := svc.StageDeprecation(ctx, catalogCandidates)
			if err != nil {
				t.Fatal(err)
			}
			if it == nil || it.State != api.ReviewStaged || len(it.Blocked) != 0 {
				t.Fatalf("item %+v", it)
			}
			if len(it.Subjects) != 2 {
				t.Errorf("subjects %+v, want both versions; notes %q", it.Subjects, it.Notes)
			}
			v1, v1ok := branchFile(t, svc, it, "models/versioned/catalog_v1.sql")
			v2, v2ok := branchFile(t, svc, it, "models/versioned/catalog.sql")
			props, propsOK := branchFile(t, svc, it, "models/versioned/catalog.yml")
			switch mode {
			case DeprecateDelete:
				if v1ok || v2ok || propsOK {
					t.Errorf("left on the branch: v1 %v, v2 %v, properties %v:\n%s", v1ok, v2ok, propsOK, props)
				}
			case DeprecateDisable:
				// The whole entry is disabled (both versions), the files stay.
				if !v1ok || !v2ok || !propsOK {
					t.Fatalf("files gone: v1 %v, v2 %v, properties %v", v1ok, v2ok, propsOK)
				}
				if v1 != "select 1 as id\n" || v2 != "select 1 as id, 'x' as sku\n" {
					t.Errorf("SQL changed though the entry disables both:\n%s\n%s", v1, v2)
				}
				disabled := map[string]bool{}
				disabledInYAML([]byte(props), disabled)
				if !disabled["catalog"] || !strings.Contains(props, "deprecation_date") {
					t.Errorf("catalog not disabled:\n%s", props)
				}
			case DeprecateFolder:
				for _, p := range []string{"models/deprecated/versioned/catalog_v1.sql", "models/deprecated/versioned/catalog.sql"} {
					src, ok := branchFile(t, svc, it, p)
					if !ok || !strings.Contains(src, "enabled=false") {
						t.Errorf("%s: moved %v, content:\n%s", p, ok, src)
					}
				}
				if v1ok || v2ok {
					t.Errorf("versions left in place: v1 %v, v2 %v", v1ok, v2ok)
				}
			}
		})
	}
}

// A version taken out of the branch (or kept, or declined) takes its
// sibling versions out with it: disabling or deleting the rest would edit
// the one entry they share.
func TestExcludedVersionTakesItsSiblings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := setup(t, Config{Repo: newReposWithCatalog(t), DeprecateMode: DeprecateDisable})
	it, err := svc.StageDeprecation(ctx, append(append([]Candidate(nil), catalogCandidates...), testCandidates[2]))
	if err != nil || it == nil {
		t.Fatal(it, err)
	}
	if len(it.Subjects) != 3 {
		t.Fatalf("subjects %+v", it.Subjects)
	}
	it, err = svc.Exclude(ctx, it.ID, "model.jaffle_shop.catalog.v1", api.Exclusion{Keep: true, Reason: "v1 is audited"})
	if err != nil {
		t.Fatal(err)
	}
	if len(it.Subjects) != 1 || it.Subjects[0].Name != "old_only" || it.State != api.ReviewStaged {
		t.Errorf("after taking v1 out: state %s, subjects %+v", it.State, it.Subjects)
	}
	if props, _ := branchFile(t, svc, it, "models/versioned/catalog.yml"); props != catalogYAML {
		t.Errorf("catalog.yml changed though v1 stays:\n%s", props)
	}
	// A later run proposing both versions again: v1 is kept, so neither.
	it, err = svc.StageDeprecation(ctx, catalogCandidates)
	if err != nil || it != nil {
		t.Errorf("with v1 kept, staged %+v, %v", it, err)
	}
}
