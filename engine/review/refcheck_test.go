package review

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// memTree builds a tree of files in memory.
func memTree(t testing.TB, st *memory.Storage, files map[string]string) *object.Tree {
	t.Helper()
	ed := edits{}
	for p, c := range files {
		ed[p] = []byte(c)
	}
	h, err := buildTree(st, nil, ed)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := object.GetTree(st, h)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func TestCheckTree(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"dbt/dbt_project.yml":     "name: shop\n",
		"dbt/models/products.sql": "select * from {{ source('ecom', 'raw_products') }}\n",
		"dbt/models/orders.sql":   "select *\nfrom {{ ref('products') }}\n",
		// products has no versions: ref('products', v=2) never resolved
		// (dbt looks up "products.v2"), so it is not the branch's doing.
		"dbt/models/pkg_user.sql":     "select * from {{ ref('dbt_utils', 'date_spine') }} join {{ ref(\"products\", v=2) }}\n",
		"dbt/models/schema.yml":       "version: 2\nmodels:\n  - name: products\n  - name: orders\n",
		"dbt/models/sem.yml":          "semantic_models:\n  - name: products\n    model: ref('products')\n",
		"dbt/models/sources.yml":      "sources:\n  - name: ecom\n    tables:\n      - name: raw_products\n      - name: raw_orders\n",
		"dbt/macros/hard.sql":         "{% macro m() %}\n\n  {{ ref('products') }}\n{% endmacro %}\n",
		"dbt/snapshots/snap.sql":      "{% snapshot products_snap %}\nselect * from {{ source('ecom', 'raw_orders') }}\n{% endsnapshot %}\n",
		"dbt/models/uses_snap.sql":    "select * from {{ ref('products_snap') }}\n",
		"dbt/dbt_packages/x/a.sql":    "select * from {{ ref('products') }}\n",
		"dbt/seeds/countries.csv":     "code\nfr\n",
		"dbt/models/uses_seed.sql":    "select * from {{ ref('countries') }}\n",
		"dbt/tests/assert_orders.sql": "select * from {{ ref('orders') }} where 1=0\n",
		"dbt/models/unit.yml": "unit_tests:\n  - name: test_products_prices\n    model: products\n    given: []\n" +
			"  - name: test_products_off\n    model: products\n    config:\n      enabled: false\n" +
			"  - name: test_orders\n    model: orders\n    given:\n      - input: ref('countries')\n",
	}
	st := memory.NewStorage()
	tests := []struct {
		name  string
		edit  map[string]*string // nil deletes
		wants []string
	}{
		{"deleting an unreferenced model", map[string]*string{"dbt/models/uses_seed.sql": nil}, nil},
		{"deleting a model others read", map[string]*string{"dbt/models/products.sql": nil}, []string{
			"dbt/macros/hard.sql:3: ref('products') no longer resolves: the branch deletes products",
			"dbt/models/orders.sql:2: ref('products') no longer resolves: the branch deletes products",
			`dbt/models/schema.yml:3: models entry "products" describes a model the branch deletes`,
			"dbt/models/sem.yml:3: ref('products') no longer resolves: the branch deletes products",
			`dbt/models/unit.yml:3: unit test "test_products_prices" tests model products, which the branch deletes`,
		}},
		{"disabling a model others read", map[string]*string{"dbt/models/schema.yml": ptr("version: 2\nmodels:\n  - name: products\n    config:\n      enabled: false\n  - name: orders\n")}, []string{
			"dbt/macros/hard.sql:3: ref('products') no longer resolves: the branch disables products",
			"dbt/models/orders.sql:2: ref('products') no longer resolves: the branch disables products",
			"dbt/models/sem.yml:3: ref('products') no longer resolves: the branch disables products",
			`dbt/models/unit.yml:3: unit test "test_products_prices" tests model products, which the branch disables`,
		}},
		{"deleting a seed and a snapshot", map[string]*string{"dbt/seeds/countries.csv": nil, "dbt/snapshots/snap.sql": nil}, []string{
			"dbt/models/unit.yml:12: ref('countries') no longer resolves: the branch deletes countries",
			"dbt/models/uses_seed.sql:1: ref('countries') no longer resolves: the branch deletes countries",
			"dbt/models/uses_snap.sql:1: ref('products_snap') no longer resolves: the branch deletes products_snap",
		}},
		{"removing a source table", map[string]*string{"dbt/models/sources.yml": ptr("sources:\n  - name: ecom\n    tables:\n      - name: raw_orders\n")}, []string{
			"dbt/models/products.sql:1: source('ecom', 'raw_products') no longer resolves: the branch removes it",
		}},
		{"breaking YAML", map[string]*string{"dbt/models/schema.yml": ptr("version: 2\nmodels:\n  - name: [products\n")}, []string{
			// The line is yaml.v3's, which counts this scanner error
			// from the flow sequence's context line.
			"dbt/models/schema.yml:2: YAML no longer parses",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			branch := map[string]string{}
			for p, c := range base {
				branch[p] = c
			}
			for p, c := range tt.edit {
				if c == nil {
					delete(branch, p)
				} else {
					branch[p] = *c
				}
			}
			got, err := checkTree(memTree(t, st, base), memTree(t, st, branch), "dbt")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.wants) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.wants), strings.Join(danglingText(got), "\n"))
			}
			for i, d := range got {
				if !strings.HasPrefix(d.String(), tt.wants[i]) {
					t.Errorf("problem %d = %s\nwant %s", i, d, tt.wants[i])
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

func FuzzDanglingCalls(f *testing.F) {
	f.Add([]byte("select * from {{ ref('a') }} join {{ source('s', 't') }}"))
	f.Add([]byte("{{ ref('pkg', 'a') }} {{ ref(\"a\", v=2) }} ref( source(' "))
	f.Add([]byte("models:\n  - name: a\n"))
	f.Add([]byte("unit_tests:\n  - name: t\n    model: a\n    config: {enabled: false}\n  - model: [a]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, d := range danglingCalls("f.sql", src, map[string]string{"a": "deletes"}, map[string]bool{"s.t": true}) {
			if d.Line < 1 || d.Line > 1+strings.Count(string(src), "\n") {
				t.Fatalf("line %d outside the file: %s", d.Line, d)
			}
		}
		danglingEntries("f.yml", src, map[string]bool{"a": true})
		danglingUnitTests("f.yml", src, map[string]string{"a": "deletes"})
	})
}

// A branch that would leave a dangling ref() is staged blocked with the
// file:line of each, cannot be approved (the error says why), and can be
// rejected. A stand-in dbt records `dbt parse` on the branch.
func TestStageBlocksDanglingReferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	writeFile(t, filepath.Join(repos.user, "models/semantic/legacy.yml"), "semantic_models:\n  - name: legacy\n    model: ref('legacy_report')\n")
	writeFile(t, filepath.Join(repos.user, "macros/old.sql"), "{% macro old() %}{{ ref(\"old_only\") }}{% endmacro %}\n")
	runGit(t, repos.user, "add", "models/semantic/legacy.yml", "macros/old.sql")
	runGit(t, repos.user, "commit", "-q", "-m", "semantic layer")
	runGit(t, repos.user, "push", "-q", "origin", "main")

	bin := filepath.Join(t.TempDir(), "dbt")
	record := filepath.Join(t.TempDir(), "args")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" > %q\nls \"$3\" >> %q\necho 'Encountered an error: dangling ref' >&2\nexit 2\n", record, record)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user, DBTBin: bin})
	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	if it.State != api.ReviewBlocked {
		t.Fatalf("state %s, want blocked; %+v", it.State, it)
	}
	want := []string{
		"macros/old.sql:1: ref('old_only') no longer resolves: the branch deletes old_only",
		"models/semantic/legacy.yml:3: ref('legacy_report') no longer resolves: the branch deletes legacy_report",
	}
	if strings.Join(it.Blocked, "\n") != strings.Join(want, "\n") {
		t.Errorf("blocked:\n%s\nwant\n%s", strings.Join(it.Blocked, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(it.Error, "blocked: the branch would break the dbt project (2 problems)") {
		t.Errorf("error %q", it.Error)
	}
	args, _ := os.ReadFile(record)
	if !strings.HasPrefix(string(args), "parse --project-dir ") || !strings.Contains(string(args), "dbt_project.yml") {
		t.Errorf("dbt ran with %q", args)
	}
	if n := strings.Join(it.Notes, "\n"); !strings.Contains(n, "dbt parse failed (exit status 2): Encountered an error: dangling ref") {
		t.Errorf("notes %q", n)
	}

	_, err = svc.Approve(ctx, it.ID, false)
	if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "macros/old.sql:1") {
		t.Errorf("approve: %v", err)
	}
	if out := runGit(t, repos.remote, "branch", "--list", it.Branch); strings.TrimSpace(out) != "" {
		t.Errorf("a blocked branch reached the origin: %s", out)
	}
	// A re-run proposing the same finds the blocked item, not a new one.
	again, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil || again.ID != it.ID || again.State != api.ReviewBlocked {
		t.Errorf("re-stage: %v %+v", err, again)
	}
	if _, err := svc.Reject(ctx, it.ID, ""); err != nil {
		t.Errorf("reject a blocked item: %v", err)
	}

	// Without the referenced models the branch is clean: staged.
	ok, err := svc.StageDeprecation(ctx, testCandidates[:1])
	if err != nil || ok.State != api.ReviewStaged || len(ok.Blocked) != 0 {
		t.Errorf("clean branch: %v %+v", err, ok)
	}
}

// The proof on a 5,000-model project (250 properties files, a ref chain
// through every model, a sources file), the branch deleting 50 leaf
// models: the whole check, trees walked and every file read (target ≤ 1 s).
func BenchmarkCheckTree5000Models(b *testing.B) {
	st := memory.NewStorage()
	base := map[string]string{"dbt_project.yml": "name: big\n",
		"models/sources.yml": "sources:\n  - name: raw\n    tables:\n      - name: events\n"}
	for i := 0; i < 5000; i++ {
		sql := fmt.Sprintf("-- model %d\nselect id, amount, created_at\nfrom {{ source('raw', 'events') }}\nwhere id > %d\n", i, i)
		if i%10 != 0 {
			sql = fmt.Sprintf("-- model %d\nselect id, amount, created_at\nfrom {{ ref('m%04d') }}\nwhere id > %d\n", i, i-1, i)
		}
		base[fmt.Sprintf("models/d%02d/m%04d.sql", i/100, i)] = sql
	}
	for f := 0; f < 250; f++ {
		var y strings.Builder
		y.WriteString("version: 2\nmodels:\n")
		for i := f * 20; i < f*20+20; i++ {
			fmt.Fprintf(&y, "  - name: m%04d\n    description: Model %d.\n    columns:\n      - name: id\n        tests: [unique, not_null]\n", i, i)
		}
		base[fmt.Sprintf("models/d%02d/schema_%03d.yml", f/5, f)] = y.String()
	}
	branch := map[string]string{}
	for p, c := range base {
		branch[p] = c
	}
	for i := 9; i < 500; i += 10 {
		delete(branch, fmt.Sprintf("models/d%02d/m%04d.sql", i/100, i))
	}
	bt, nt := memTree(b, st, base), memTree(b, st, branch)
	b.ResetTimer()
	for b.Loop() {
		got, err := checkTree(bt, nt, "")
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != 50 { // the 50 properties entries left behind
			b.Fatalf("%d problems", len(got))
		}
	}
}
