package review

import (
	"os"
	"testing"

	"github.com/sluice-dev/sluice/engine/store/pgtest"
)

// The package's tests share one throwaway PostgreSQL cluster, started only
// by the tests that ask for a database.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
