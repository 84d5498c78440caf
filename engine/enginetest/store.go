package enginetest

import (
	"context"
	"testing"

	"github.com/sluice-dev/sluice/engine/store"
)

// Store opens a store in a fresh temp dir, closed when the test ends
// (after the cleanups registered later, such as a runner's Stop). dir is
// the state dir, for components that keep run files beside the database.
func Store(t testing.TB) (st *store.Store, dir string) {
	t.Helper()
	dir = t.TempDir()
	st, err := store.OpenDir(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatalf("opening store in %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing store: %v", err)
		}
	})
	return st, dir
}
