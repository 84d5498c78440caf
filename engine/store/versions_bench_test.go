package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// dagFile is a DAG file of about 1.3 KB, distinct per (dag, version).
func dagFile(dag, version int) []byte {
	var nodes []string
	for i := range 8 {
		nodes = append(nodes, fmt.Sprintf(`{"id": "task_%d", "type": "local", "config": {"command": ["./bin/step", "--dag", "%d", "--part", "%d"], "timeout": %d, "retry": 3}}`,
			i, dag, i, 300+version))
	}
	return []byte(fmt.Sprintf(`{"description": "generated dag %d v%d", "schedule": "0 3 * * *", "nodes": [%s]}`, dag, version, strings.Join(nodes, ",\n")))
}

func versionOf(dag, version int, at time.Time) api.DAGVersion {
	content := dagFile(dag, version)
	sum := sha256.Sum256(content)
	return api.DAGVersion{DAG: fmt.Sprintf("team_%d/dag_%d", dag%100, dag), SHA256: hex.EncodeToString(sum[:]),
		Source: fmt.Sprintf("dags/team_%d/dag_%d.json", dag%100, dag), Content: content, LastSeen: at}
}

// BenchmarkDAGVersions10kx5 stores 5 versions of each of 10,000 DAGs —
// five scans that each changed every file, each recorded as the engine
// does, one batch per scan — then measures what a restart pays: the
// engine records each DAG's current content again (found, last-seen
// moved) in one batch, and a console lists one DAG's versions. Reported:
// the database size and the time of each phase.
func BenchmarkDAGVersions10kx5(b *testing.B) {
	const dags, versions = 10_000, 5
	ctx := context.Background()
	scan := func(v int, at time.Time) []api.DAGVersion {
		out := make([]api.DAGVersion, dags)
		for d := range dags {
			out[d] = versionOf(d, v, at)
		}
		return out
	}
	for b.Loop() {
		dir := b.TempDir()
		s, err := OpenDir(ctx, dir, Options{Synchronous: SyncNormal})
		if err != nil {
			b.Fatal(err)
		}
		base := time.Now()
		var record time.Duration
		for v := 1; v <= versions; v++ {
			batch := scan(v, base.Add(time.Duration(v)*time.Minute))
			start := time.Now()
			if _, err := s.RecordDAGVersions(ctx, batch, 0); err != nil {
				b.Fatal(err)
			}
			record += time.Since(start)
		}

		batch := scan(versions, base.Add(time.Hour))
		start := time.Now()
		got, err := s.RecordDAGVersions(ctx, batch, 0)
		if err != nil || got[0].Created || got[0].Version != versions {
			b.Fatalf("restart record: %v, %v", got[0], err)
		}
		restart := time.Since(start)

		start = time.Now()
		vs, err := s.DAGVersions(ctx, versionOf(4242, 1, base).DAG)
		if err != nil || len(vs) != versions {
			b.Fatalf("versions = %d, %v", len(vs), err)
		}
		list := time.Since(start)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		var size int64
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil {
				size += fi.Size()
			}
		}
		b.ReportMetric(float64(size)/(1<<20), "MiB")
		b.ReportMetric(record.Seconds(), "s-record-50k")
		b.ReportMetric(restart.Seconds(), "s-restart-10k")
		b.ReportMetric(float64(list.Microseconds()), "µs-list")
	}
}
