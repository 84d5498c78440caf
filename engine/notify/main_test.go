package notify

import (
	"os"
	"testing"

	"github.com/sluice-dev/sluice/engine/store/pgtest"
)

// Tests of instances sharing a PostgreSQL store share one throwaway
// cluster.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
