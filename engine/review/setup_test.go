package review

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/clock"

	"github.com/sluice-dev/sluice/engine/store"
)

// A dbt-shaped repository, as a user has it checked out.
var dbtFiles = map[string]string{
	"dbt_project.yml":                  "name: jaffle_shop\nversion: '1.0'\nprofile: jaffle_shop\n",
	"models/staging/stg_customers.sql": "select * from {{ source('raw', 'customers') }}\n",
	"models/staging/stg_orders.sql":    "select * from {{ source('raw', 'orders') }}\n",
	"models/staging/stg_payments.sql":  "select * from {{ source('raw', 'payments') }}\n",
	"models/staging/schema.yml": `version: 2

# Staging models: one per raw table, renamed and typed.
models:
  - name: stg_customers # one row per customer
    description: Customers, deduplicated.
    columns:
      - name: customer_id
        tests: [unique, not_null]

  - name: stg_orders
    description: |
      Orders as the shop records them.
      Status values are lower-cased.
    columns:
      - name: order_id
        tests:
          - unique
          - not_null

  # Payments arrive from Stripe a day late.
  - name: stg_payments
    description: Payments in cents.
    columns:
      - name: payment_id
        tests: [unique]
`,
	"models/marts/customers.sql":     "select * from {{ ref('stg_customers') }}\n",
	"models/marts/legacy_report.sql": "select 1 as x\n",
	"models/marts/marts.yml": `version: 2
models:
  - name: customers
    description: "The customer mart"   # used by the finance dashboard
  - name: legacy_report
    description: "Nobody reads this any more"
`,
	"models/legacy/old_only.sql": "select 2 as y\n",
	"models/legacy/legacy.yml":   "version: 2\nmodels:\n  - name: old_only\n    description: old\n",
}

// candidates of the deprecation proposal over dbtFiles.
var testCandidates = []Candidate{
	{UniqueID: "model.jaffle_shop.stg_payments", Name: "stg_payments", Reason: "no downstream consumer",
		Files: []string{"models/staging/stg_payments.sql"}, PatchPath: "jaffle_shop://models/staging/schema.yml", Importance: 0.125},
	{UniqueID: "model.jaffle_shop.legacy_report", Name: "legacy_report", Reason: "only consumer is stale report Old KPIs (9f3a)",
		Files: []string{"models/marts/legacy_report.sql"}, PatchPath: "jaffle_shop://models/marts/marts.yml", Importance: 0.05},
	{UniqueID: "model.jaffle_shop.old_only", Name: "old_only", Reason: "no downstream consumer",
		Files: []string{"models/legacy/old_only.sql"}, PatchPath: "jaffle_shop://models/legacy/legacy.yml", Importance: 0.01},
}

// gitRepos is a user's checkout with a bare origin.
type gitRepos struct {
	user, remote string
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Dana", "GIT_AUTHOR_EMAIL=dana@example.com",
		"GIT_COMMITTER_NAME=Dana", "GIT_COMMITTER_EMAIL=dana@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// newRepos builds the checkout, commits dbtFiles, pushes to the bare origin,
// and leaves the checkout dirty (an edit and an untracked file), as a
// working user's would be.
func newRepos(t *testing.T, withOrigin bool) gitRepos {
	t.Helper()
	root := t.TempDir()
	r := gitRepos{user: filepath.Join(root, "dbt"), remote: filepath.Join(root, "remote.git")}
	runGit(t, root, "init", "-q", "--bare", "-b", "main", r.remote)
	runGit(t, root, "init", "-q", "-b", "main", r.user)
	for p, content := range dbtFiles {
		writeFile(t, filepath.Join(r.user, p), content)
	}
	runGit(t, r.user, "add", "-A")
	runGit(t, r.user, "commit", "-q", "-m", "jaffle shop")
	if withOrigin {
		runGit(t, r.user, "remote", "add", "origin", r.remote)
		runGit(t, r.user, "push", "-q", "origin", "main")
	}
	writeFile(t, filepath.Join(r.user, "models/marts/customers.sql"), "select * from {{ ref('stg_customers') }} -- wip\n")
	writeFile(t, filepath.Join(r.user, "scratch_notes.txt"), "untracked\n")
	runGit(t, r.user, "add", "scratch_notes.txt") // something staged in the index too
	return r
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checksumDir hashes every file under dir — working tree, index, HEAD, refs,
// config, objects — with its path and mode.
func checksumDir(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			lines = append(lines, rel+"/ "+info.Mode().String())
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		lines = append(lines, rel+" "+info.Mode().String()+" "+hex.EncodeToString(sum[:]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// movingClock reads the time the test sets in *at; it never fires After.
type movingClock struct{ at *time.Time }

func (c movingClock) Now() time.Time                     { return *c.at }
func (movingClock) After(time.Duration) <-chan time.Time { return nil }

var testNow = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// setup opens a real store and a service on the repos.
func setup(t *testing.T, cfg Config) (*Service, *store.Store) {
	t.Helper()
	ctx := context.Background()
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Fixed(testNow)
	}
	db, err := store.OpenDir(ctx, cfg.StateDir, store.Options{Synchronous: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc, err := New(cfg, NewSQLStore(db), slog.New(slog.NewTextHandler(&testLogWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return svc, db
}

// testLogWriter sends the service's log to the test's.
type testLogWriter struct{ t *testing.T }

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
