package storeopen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func TestEmptyAndSQLiteOpenTheStateDirFile(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"", "sqlite"} {
		dir := t.TempDir()
		s, err := Open(context.Background(), url, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.(*store.Store); !ok {
			t.Fatalf("%q opened %T, want SQLite", url, s)
		}
		s.Close()
		if _, err := os.Stat(filepath.Join(dir, store.DBFile)); err != nil {
			t.Fatalf("%q: %v", url, err)
		}
		if Shared(url) {
			t.Fatalf("%q reported shared", url)
		}
	}
}

func TestPostgresURLOpensPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	s, err := Open(context.Background(), url, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*postgres.Store); !ok || !Shared(url) {
		t.Fatalf("opened %T (shared %v), want PostgreSQL", s, Shared(url))
	}
}

func TestUnknownOrUnreachableStoreHidesThePassword(t *testing.T) {
	t.Parallel()
	if _, err := Open(context.Background(), "mysql://u:hunter22@h/db", t.TempDir(), Options{}); err == nil || strings.Contains(err.Error(), "hunter22") {
		t.Fatalf("unknown scheme: %v", err)
	}
	// Nothing listens on port 1: the connection error names the URL.
	_, err := Open(context.Background(), "postgres://u:hunter22@127.0.0.1:1/db?connect_timeout=2", "", Options{})
	if err == nil || strings.Contains(err.Error(), "hunter22") {
		t.Fatalf("unreachable server: %v", err)
	}
}

// The test cluster asks roles other than postgres for their password.
func TestPasswordFromURLOrPGPASSWORDOrPassfile(t *testing.T) {
	// Not parallel: it sets environment variables.
	c := pgtest.Shared(t)
	ctx := context.Background()
	if err := c.CreateDatabase(ctx, "pwtest"); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, c.URL("pwtest"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{"CREATE ROLE sluice_pw LOGIN PASSWORD 'hunter22'", "ALTER DATABASE pwtest OWNER TO sluice_pw"} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	bare := strings.Replace(c.URL("pwtest"), "postgres@", "sluice_pw@", 1)
	withPassword := strings.Replace(c.URL("pwtest"), "postgres@", "sluice_pw:hunter22@", 1)
	passfile := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(passfile, []byte(fmt.Sprintf("127.0.0.1:%d:pwtest:sluice_pw:hunter22\n", c.Port)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("PGPASSWORD", "")
	os.Unsetenv("PGPASSWORD")

	if _, err := Open(ctx, bare, "", Options{}); err == nil {
		t.Fatal("opened without a password")
	}
	wrong := strings.Replace(withPassword, "hunter22", "wrong-pw", 1)
	if _, err := Open(ctx, wrong, "", Options{}); err == nil || strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("wrong password: %v", err)
	}
	open := func(name, url string) {
		t.Helper()
		s, err := Open(ctx, url, "", Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer s.Close()
		if _, err := s.CreateRun(ctx, store.NewRun{DAG: name}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	open("url", withPassword)
	t.Setenv("PGPASSFILE", passfile)
	open("pgpass", bare)
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("PGPASSWORD", "hunter22")
	open("pgpassword", bare)
}
