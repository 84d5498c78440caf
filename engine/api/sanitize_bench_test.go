package api

import (
	"fmt"
	"testing"
)

// BenchmarkSanitized: the engine sanitises every snapshot it hands out, so
// the clean case must cost a scan, not a copy.
//
//	go test -run '^$' -bench Sanitized -benchmem ./engine/api/
func BenchmarkSanitized(b *testing.B) {
	snap := &Snapshot{}
	for i := range 10_000 {
		snap.Runs.Finished = append(snap.Runs.Finished, Run{ID: int64(i), DAG: fmt.Sprintf("team/dag_%d", i), Trigger: "sensor",
			Batch: "orders/3/100-600", Error: "task load failed: exit status 1",
			Tasks: []Task{{ID: "extract", LogTail: "read 500 rows\nwrote 500 rows\n"}, {ID: "load", Error: "exit status 1"}}})
	}
	b.Run("clean 10k runs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			snap.Sanitized()
		}
	})
	dirty := *snap
	dirty.Runs.Finished = append([]Run(nil), snap.Runs.Finished...)
	dirty.Runs.Finished[5000].DAG = hostile
	b.Run("one hostile name in 10k runs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dirty.Sanitized()
		}
	})
}
