package dbt_test

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/internal/synth"
)

// BenchmarkReadManifest100MB reads a generated 20,000-model manifest of about
// 100 MB (2 KB of SQL per model, twice, as raw and compiled code, plus a test
// per model). heap-MB is the live heap after reading, with the result held:
// the streaming reader keeps what it decodes, not the document.
func BenchmarkReadManifest100MB(b *testing.B) {
	data := synth.Manifest(synth.DAG(20000, 1), synth.ManifestOptions{CodeBytes: 2200, Tests: true})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var m *dbt.Manifest
	for b.Loop() {
		var err error
		if m, err = dbt.ReadManifest(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	keep, err := dbt.ReadManifest(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(len(data))/1e6, "doc-MB")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "heap-MB")
	runtime.KeepAlive(keep)
	runtime.KeepAlive(m)
	runtime.KeepAlive(data)
}
