package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

func TestDatabasesAreFreshAndSeparate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := Database(t), Database(t)
	if a == b {
		t.Fatalf("two tests got one database %s", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	var n int
	if err := cb.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("a table created in one test's database is visible in another's")
	}
}

func TestFindBinHonoursOverride(t *testing.T) {
	t.Setenv("SLUICE_PG_BIN", t.TempDir())
	if _, err := FindBin(); err == nil {
		t.Fatal("a directory without initdb was accepted")
	}
}

// outcomeTB records whether usable skipped or failed; both end the
// goroutine, as on a real testing.T.
type outcomeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *outcomeTB) Helper() {}
func (f *outcomeTB) Skip(args ...any) {
	f.skipped, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *outcomeTB) Fatal(args ...any) {
	f.failed, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *outcomeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func usableOutcome(err error) *outcomeTB {
	tb := &outcomeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		usable(tb, nil, err)
	}()
	<-done
	return tb
}

// Missing binaries skip with the install hint, unless CI=true or
// SLUICE_REQUIRE_POSTGRES=1 (what .ci/run sets) make them a failure; any
// other start error always fails.
func TestMissingBinariesSkipUnlessRequired(t *testing.T) {
	for _, tc := range []struct {
		ci, require string
		skip        bool
	}{
		{"", "", true},
		{"false", "0", true},
		{"true", "", false},
		{"", "1", false},
	} {
		t.Setenv("CI", tc.ci)
		t.Setenv("SLUICE_REQUIRE_POSTGRES", tc.require)
		got := usableOutcome(fmt.Errorf("SLUICE_PG_BIN=/nowhere: %w", ErrNotInstalled))
		if got.skipped != tc.skip || got.failed == tc.skip || !strings.Contains(got.msg, "apt-get install postgresql") {
			t.Errorf("CI=%q SLUICE_REQUIRE_POSTGRES=%q: skipped %v failed %v %q", tc.ci, tc.require, got.skipped, got.failed, got.msg)
		}
	}
	t.Setenv("CI", "")
	t.Setenv("SLUICE_REQUIRE_POSTGRES", "")
	if got := usableOutcome(errors.New("initdb: exit status 1")); !got.failed || got.skipped {
		t.Errorf("a broken start skipped: %+v", got)
	}
}
