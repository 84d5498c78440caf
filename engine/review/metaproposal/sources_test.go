package metaproposal

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/review"
	"github.com/sluice-dev/sluice/engine/store"
)

// The sources YAML as the jaffle_shop project lays it out, with comments a
// clean-up must keep.
const jaffleSources = `version: 2

sources:
  - name: ecom # the shop's operational database
    schema: raw
    description: E-commerce data for the Jaffle Shop
    tables:
      - name: raw_customers
        description: One record per person who has purchased one or more items
      - name: raw_orders
        description: One record per order (consisting of one or more order items)
        loaded_at_field: ordered_at
      - name: raw_items
        description: Items included in an order
      # Stores open and close; the table keeps them all.
      - name: raw_stores
        loaded_at_field: opened_at
      - name: raw_products
        description: One record per SKU for items sold in stores
      - name: raw_supplies
        description: One record per supply per SKU of items sold in stores
`

// jaffleRepo lays out the fixture's project as the manifest says: each
// model's SQL calls ref() and source() on what it depends on, so the
// reference check has real calls to follow. extra files are added as they
// are.
func jaffleRepo(t *testing.T, extra map[string]string) string {
	t.Helper()
	var m struct {
		Nodes map[string]struct {
			ResourceType     string `json:"resource_type"`
			Name             string `json:"name"`
			OriginalFilePath string `json:"original_file_path"`
			PatchPath        string `json:"patch_path"`
			DependsOn        struct {
				Nodes []string `json:"nodes"`
			} `json:"depends_on"`
		} `json:"nodes"`
	}
	data, err := os.ReadFile(manifestPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	user, remote := filepath.Join(root, "jaffle"), filepath.Join(root, "remote.git")
	write(t, filepath.Join(user, "dbt_project.yml"), "name: jaffle_shop\nversion: '1.0'\n")
	write(t, filepath.Join(user, "models/staging/__sources.yml"), jaffleSources)
	for _, n := range m.Nodes {
		if n.ResourceType != "model" {
			continue
		}
		var from []string
		for _, d := range n.DependsOn.Nodes {
			parts := strings.Split(d, ".")
			switch parts[0] {
			case "model":
				from = append(from, fmt.Sprintf("{{ ref('%s') }}", parts[2]))
			case "source":
				from = append(from, fmt.Sprintf("{{ source('%s', '%s') }}", parts[2], parts[3]))
			}
		}
		sql := "select 1 as x"
		if len(from) > 0 {
			sql = "select * from " + strings.Join(from, " natural join ")
		}
		write(t, filepath.Join(user, n.OriginalFilePath), sql+"\n")
		write(t, filepath.Join(user, strings.TrimPrefix(n.PatchPath, "jaffle_shop://")),
			"version: 2\n\nmodels:\n  - name: "+n.Name+"\n    description: The "+n.Name+" model.\n")
	}
	for p, content := range extra {
		write(t, filepath.Join(user, p), content)
	}
	git(t, root, "init", "-q", "--bare", "-b", "main", remote)
	git(t, root, "init", "-q", "-b", "main", user)
	git(t, user, "add", "-A")
	git(t, user, "commit", "-q", "-m", "jaffle")
	git(t, user, "remote", "add", "origin", remote)
	git(t, user, "push", "-q", "origin", "main")
	return user
}

// stageJaffle analyses the real manifest with an exposure reading
// customers and orders — leaving the locations branch (stg_locations, and
// its source ecom.raw_stores) unused — and stages the proposal.
func stageJaffle(t *testing.T, cfg review.Config, extra map[string]string) (review.Proposal, *review.Item) {
	t.Helper()
	ctx := context.Background()
	r, err := meta.Analyze(ctx, meta.Inputs{Manifest: jaffleManifest(t, "customers", "orders"), Clock: clock.Fixed(now)})
	if err != nil {
		t.Fatal(err)
	}
	p := FromReport(r)
	cfg.Repo = jaffleRepo(t, extra)
	cfg.StateDir = t.TempDir()
	cfg.MaxDeleteFraction = 1
	db, err := store.OpenDir(ctx, cfg.StateDir, store.Options{Synchronous: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, err := review.New(cfg, review.NewSQLStore(db), nil)
	if err != nil {
		t.Fatal(err)
	}
	items, err := svc.Stage(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Kind == review.KindDeprecate {
			return p, it
		}
	}
	t.Fatalf("no deprecation staged: %v", items)
	return p, nil
}

func TestUnusedSourcesFromTheRealManifest(t *testing.T) {
	t.Parallel()
	r, err := meta.Analyze(context.Background(), meta.Inputs{Manifest: jaffleManifest(t, "customers", "orders"), Clock: clock.Fixed(now)})
	if err != nil {
		t.Fatal(err)
	}
	p := FromReport(r)
	if len(p.Sources) != 1 {
		t.Fatalf("sources %+v", p.Sources)
	}
	if c := p.Sources[0]; c.UniqueID != "source.jaffle_shop.ecom.raw_stores" || c.Source != "ecom" || c.Name != "raw_stores" ||
		c.PatchPath != "models/staging/__sources.yml" || len(c.Files) != 0 || !c.IsSource() {
		t.Errorf("source candidate %+v", c)
	}
	// Without evidence no source is proposed either.
	r, err = meta.Analyze(context.Background(), meta.Inputs{Manifest: jaffleManifest(t), Clock: clock.Fixed(now)})
	if err != nil {
		t.Fatal(err)
	}
	if p := FromReport(r); len(p.Sources) != 0 {
		t.Errorf("without evidence: sources %+v", p.Sources)
	}
}

func TestIncludeSourcesStagesTheirRemoval(t *testing.T) {
	t.Parallel()
	const stores = "source.jaffle_shop.ecom.raw_stores"
	subjects := func(it *review.Item) map[string]bool {
		out := map[string]bool{}
		for _, s := range it.Subjects {
			out[s.ID] = true
		}
		return out
	}

	t.Run("without the option: reported, not staged", func(t *testing.T) {
		t.Parallel()
		_, it := stageJaffle(t, review.Config{DeprecateMode: review.DeprecateDelete}, nil)
		if subjects(it)[stores] || strings.Contains(it.Diff, "__sources.yml") {
			t.Errorf("the source was staged without --include-sources:\n%s", it.Diff)
		}
	})

	t.Run("with it: the table's entry goes, comments stay", func(t *testing.T) {
		t.Parallel()
		_, it := stageJaffle(t, review.Config{DeprecateMode: review.DeprecateDelete, IncludeSources: true}, nil)
		if it.State != api.ReviewStaged || !subjects(it)[stores] {
			t.Fatalf("state %s (%v), subjects %v", it.State, it.Blocked, subjects(it))
		}
		want := "--- a/models/staging/__sources.yml\n+++ b/models/staging/__sources.yml\n"
		if !strings.Contains(it.Diff, want) || !strings.Contains(it.Diff, "-      # Stores open and close; the table keeps them all.\n-      - name: raw_stores\n-        loaded_at_field: opened_at\n") {
			t.Errorf("diff:\n%s", it.Diff)
		}
		if strings.Contains(it.Diff, "-  - name: ecom") || strings.Contains(it.Diff, "-      - name: raw_products") || strings.Contains(it.Diff, "the shop's operational database\n-") {
			t.Errorf("the diff removes more than raw_stores:\n%s", it.Diff)
		}
		if !strings.Contains(it.Title, "and 1 unused source") {
			t.Errorf("title %q", it.Title)
		}
	})

	t.Run("disable mode removes the source too, stg_locations disabled", func(t *testing.T) {
		t.Parallel()
		_, it := stageJaffle(t, review.Config{IncludeSources: true}, nil)
		if it.State != api.ReviewStaged || !subjects(it)[stores] || !strings.Contains(it.Diff, "-      - name: raw_stores") {
			t.Errorf("state %s (%v), subjects %v:\n%s", it.State, it.Blocked, subjects(it), it.Diff)
		}
	})

	t.Run("a file still reading the source blocks the branch", func(t *testing.T) {
		t.Parallel()
		audit := "-- stores must have an opening date\nselect *\nfrom {{ source('ecom', 'raw_stores') }}\nwhere opened_at is null\n"
		_, it := stageJaffle(t, review.Config{DeprecateMode: review.DeprecateDelete, IncludeSources: true}, map[string]string{"tests/assert_stores_opened.sql": audit})
		if it.State != api.ReviewBlocked {
			t.Fatalf("state %s, want blocked:\n%s", it.State, it.Diff)
		}
		want := "tests/assert_stores_opened.sql:3: source('ecom', 'raw_stores') no longer resolves"
		if len(it.Blocked) != 1 || !strings.HasPrefix(it.Blocked[0], want) {
			t.Errorf("blocked %q, want %q", it.Blocked, want)
		}
	})
}
