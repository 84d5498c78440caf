package loader

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/clock"
)

// TestLoaderStampsWithItsClock: what the loader records — when a DAG
// loaded, when a source was scanned, when a schedule fires next — comes
// from the clock it is given, not the machine's.
func TestLoaderStampsWithItsClock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "etl.json"), []byte(dagJSON("etl", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2031, 1, 2, 12, 0, 0, 0, time.UTC)
	l, err := New(Config{Dir: dir, Enabled: true, Clock: clock.Fixed(at)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ScanNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := mustEntry(t, l.DAGs(), "etl")
	if !d.LoadedAt.Equal(at) {
		t.Errorf("loaded at %v, want the clock's %v", d.LoadedAt, at)
	}
	// "0 3 * * *" after 12:00 on the 2nd: 03:00 on the 3rd.
	if want := time.Date(2031, 1, 3, 3, 0, 0, 0, time.UTC); !d.NextFire.Equal(want) {
		t.Errorf("next fire %v, want %v", d.NextFire, want)
	}
	for _, s := range l.Sources() {
		if !s.LastScan.Equal(at) {
			t.Errorf("source %s scanned at %v, want %v", s.Name, s.LastScan, at)
		}
	}
}
