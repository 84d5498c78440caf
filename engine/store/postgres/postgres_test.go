package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
	"github.com/sluice-dev/sluice/engine/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// TestContract runs the shared store suite against PostgreSQL.
func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Backend{
		Fresh: func(t *testing.T) string { return pgtest.Database(t) },
		Open: func(ctx context.Context, url string) (store.Interface, error) {
			return postgres.Open(ctx, url, postgres.Options{})
		},
	})
}
