package engine

import (
	"os"
	"testing"

	"github.com/sluice-dev/sluice/engine/store/pgtest"
)

// Tests that ask for a PostgreSQL database share one throwaway cluster.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
