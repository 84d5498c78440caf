package loader

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// Benchmark trees are generated once per process and removed by TestMain:
// writing 10,000 files takes longer than the thing measured.
var (
	benchMu   sync.Mutex
	benchDirs = map[string]string{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range benchDirs {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// benchTree returns a folder of n JSON DAG files of 20 nodes each, spread
// over 100 subfolders.
func benchTree(b *testing.B, key string, n int) string {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if dir, ok := benchDirs[key]; ok {
		return dir
	}
	dir, err := os.MkdirTemp("", "sluice-loader-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchDirs[key] = dir
	for i := range n {
		enginetest.WriteDAG(b, dir, benchKey(i), dagJSON(fmt.Sprint("dag ", i), 20))
	}
	return dir
}

func benchKey(i int) string { return fmt.Sprintf("team%02d/dag%05d.json", i%100, i) }

// BenchmarkColdLoad10k: a new loader's first scan of 10,000 files (the page
// cache is warm; the loader is cold). Target ≤ 2 s.
func BenchmarkColdLoad10k(b *testing.B) {
	const n = 10_000
	dir := benchTree(b, "cold", n)
	ctx := context.Background()
	cpu := cpuTime()
	for b.Loop() {
		l, err := New(localConfig(dir), nil)
		if err != nil {
			b.Fatal(err)
		}
		res, err := l.ScanNow(ctx)
		if err != nil || res.Changed != n || res.Invalid != 0 {
			b.Fatalf("scan = %+v, %v", res, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/load")
	b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/load")
}

// cpuTime is the process's user+system CPU time: on a shared machine it
// moves less than wall time when other work competes for the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkUnchangedRescan10k: a rescan that finds nothing changed, by
// (size, mtime, inode) alone. Target ≤ 100 ms.
func BenchmarkUnchangedRescan10k(b *testing.B) {
	const n = 10_000
	dir := benchTree(b, "cold", n)
	ctx := context.Background()
	src := &countingSource{Source: NewLocalSource(dir)}
	l, err := NewWithSources(localConfig(dir), nil, src)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := l.ScanNow(ctx); err != nil {
		b.Fatal(err)
	}
	reads := src.reads.Load()
	cpu := cpuTime()
	for b.Loop() {
		res, err := l.ScanNow(ctx)
		if err != nil || res.Changed != 0 {
			b.Fatalf("rescan = %+v, %v", res, err)
		}
	}
	if got := src.reads.Load() - reads; got != 0 {
		b.Fatalf("unchanged rescans read %d files", got)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/rescan")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/rescan")
}

// BenchmarkEditToActive: from writing a file to its new version being what
// Lookup returns, through fsnotify, in a folder of 10,000 DAGs. Target ≤ 1 s.
func BenchmarkEditToActive(b *testing.B) {
	const n = 10_000
	dir := benchTree(b, "edit", n)
	l, err := New(localConfig(dir), nil)
	if err != nil {
		b.Fatal(err)
	}
	startLoader(b, l)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		key := benchKey(i * 37 % n)
		desc := fmt.Sprint("edit ", i)
		i++
		start := time.Now()
		enginetest.WriteDAG(b, dir, key, dagJSON(desc, 20))
		waitFor(b, l, "edit "+key, func([]api.DAG) bool {
			d, ok := l.Lookup(key[:len(key)-len(".json")])
			return ok && d.Description == desc
		})
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms/edit-median")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "ms/edit-p90")
}

// BenchmarkS3UnchangedRescan2500: an unchanged bucket of 2,500 objects is
// listed in 3 pages and nothing is fetched.
func BenchmarkS3UnchangedRescan2500(b *testing.B) {
	const n = 2500
	f := newFakeS3(b)
	body := dagJSON("s3", 20)
	for i := range n {
		f.put(b, fmt.Sprintf("dags/%s", benchKey(i)), body)
	}
	l, err := New(f.config("dags"), nil)
	if err != nil {
		b.Fatal(err)
	}
	if res := scan(b, l); res.Changed != n {
		b.Fatalf("cold scan = %+v", res)
	}
	f.gets.Store(0)
	f.lists.Store(0)
	for b.Loop() {
		if res := scan(b, l); res.Changed != 0 {
			b.Fatalf("rescan = %+v", res)
		}
	}
	b.ReportMetric(float64(f.gets.Load())/float64(b.N), "GETs/rescan")
	b.ReportMetric(float64(f.lists.Load())/float64(b.N), "LISTpages/rescan")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/rescan")
}
