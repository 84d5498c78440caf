package store_test

import (
	"context"
	"testing"

	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/storetest"
)

// TestContract runs the shared store suite against SQLite.
func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Backend{
		Fresh: func(t *testing.T) string { return t.TempDir() },
		Open: func(ctx context.Context, dir string) (store.Interface, error) {
			return store.OpenDir(ctx, dir, store.Options{Synchronous: store.SyncNormal})
		},
	})
}
