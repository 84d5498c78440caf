package review

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/engine/api"
)

// unitTestsYAML holds dbt unit tests of a model the deprecation takes
// (legacy_report) and of one it keeps (customers).
const unitTestsYAML = `version: 2

unit_tests:
  # Customers keep their names.
  - name: test_customers_names
    model: customers
    given:
      - input: ref('stg_customers')
        rows:
          - {customer_id: 1}
    expect:
      rows:
        - {customer_id: 1}

  # Legacy totals, kept for the audit.
  - name: test_legacy_totals # the old KPI
    model: legacy_report
    given: []
    expect:
      rows:
        - {x: 1}
`

// legacyWithTest is models/legacy/legacy.yml with a unit test of old_only
// next to its entry.
const legacyWithTest = "version: 2\nmodels:\n  - name: old_only\n    description: old\nunit_tests:\n  - name: test_old_only\n    model: old_only\n    given: []\n    expect: {rows: []}\n"

// newReposWithUnitTests is newRepos plus the unit tests, on origin's main.
func newReposWithUnitTests(t *testing.T) gitRepos {
	t.Helper()
	repos := newRepos(t, true)
	writeFile(t, filepath.Join(repos.user, "models/marts/unit_tests.yml"), unitTestsYAML)
	writeFile(t, filepath.Join(repos.user, "models/legacy/legacy.yml"), legacyWithTest)
	runGit(t, repos.user, "add", "models/marts/unit_tests.yml", "models/legacy/legacy.yml")
	runGit(t, repos.user, "commit", "-q", "-m", "unit tests")
	runGit(t, repos.user, "push", "-q", "origin", "main")
	return repos
}

// unitTestsOf decodes a file's unit tests: name -> disabled.
func unitTestsOf(t *testing.T, src string) map[string]bool {
	t.Helper()
	var f struct {
		UnitTests []struct {
			Name   string
			Config struct{ Enabled *bool }
		} `yaml:"unit_tests"`
	}
	if err := yaml.Unmarshal([]byte(src), &f); err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	out := map[string]bool{}
	for _, u := range f.UnitTests {
		out[u.Name] = u.Config.Enabled != nil && !*u.Config.Enabled
	}
	return out
}

// A deprecation takes the unit tests of its models with it: the delete
// mode removes their entries (comments with them, the rest byte for byte),
// the first phase disables them. The branch is staged, not blocked: the
// proof finds no unit test left on a model that is gone.
func TestDeprecationTakesUnitTestsAlong(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{DeprecateDelete, DeprecateDisable, DeprecateFolder} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			repos := newReposWithUnitTests(t)
			svc, _ := setup(t, Config{Repo: repos.user, DeprecateMode: mode})
			it, err := svc.StageDeprecation(ctx, testCandidates)
			if err != nil {
				t.Fatal(err)
			}
			if it.State != api.ReviewStaged || len(it.Blocked) != 0 {
				t.Fatalf("state %s, blocked %q, notes %q", it.State, it.Blocked, it.Notes)
			}
			marts, ok := branchFile(t, svc, it, "models/marts/unit_tests.yml")
			if !ok {
				t.Fatal("models/marts/unit_tests.yml is gone: it holds a unit test of a kept model")
			}
			legacy, legacyKept := branchFile(t, svc, it, "models/legacy/legacy.yml")
			for _, s := range it.Subjects {
				if s.Name == "legacy_report" && !slices.Contains(s.Files, "models/marts/unit_tests.yml") {
					t.Errorf("legacy_report's files %q lack its unit tests' file", s.Files)
				}
			}
			if mode == DeprecateDelete {
				want := unitTestsYAML[:strings.Index(unitTestsYAML, "\n  # Legacy")+1] // a blank line stays, as after a models entry
				if marts != want {
					t.Errorf("unit_tests.yml:\n%s\nwant\n%s", marts, want)
				}
				// legacy.yml held only old_only's entry and unit test.
				if legacyKept {
					t.Errorf("legacy.yml should be deleted, left:\n%s", legacy)
				}
				return
			}
			if got := unitTestsOf(t, marts); !got["test_legacy_totals"] || got["test_customers_names"] || len(got) != 2 {
				t.Errorf("disabled unit tests %v:\n%s", got, marts)
			}
			for _, keep := range []string{"  # Legacy totals, kept for the audit.\n  - name: test_legacy_totals # the old KPI\n", "  # Customers keep their names.\n"} {
				if !strings.Contains(marts, keep) {
					t.Errorf("unit_tests.yml lost %q:\n%s", keep, marts)
				}
			}
			if got := unitTestsOf(t, legacy); !legacyKept || !got["test_old_only"] {
				t.Errorf("legacy.yml's unit test not disabled: %v\n%s", got, legacy)
			}
		})
	}
}

func TestRemoveAndDisableUnitTests(t *testing.T) {
	t.Parallel()
	src := "unit_tests:\n  - name: a\n    model: m\n    config:\n      tags: [x]\n  - name: b\n    model: n\n  - name: c\n    model: m\n    config: {enabled: false}\n"
	res, err := removeUnitTests([]byte(src), map[string]bool{"m": true})
	if err != nil || string(res.Content) != "unit_tests:\n  - name: b\n    model: n\n" || len(res.Removed) != 2 || res.Empty {
		t.Errorf("remove: %v %+v\n%s", err, res, res.Content)
	}
	got, done, err := disableUnitTests([]byte(src), map[string]bool{"m": true})
	want := "unit_tests:\n  - name: a\n    model: m\n    config:\n      enabled: false\n      tags: [x]\n  - name: b\n    model: n\n  - name: c\n    model: m\n    config: {enabled: false}\n"
	if err != nil || string(got) != want || len(done) != 1 {
		t.Errorf("disable: %v %v\n%s\nwant\n%s", err, done, got, want)
	}
}
