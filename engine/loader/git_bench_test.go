package loader

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// benchGitRemote is a repository of n JSON DAG files of 20 nodes each in
// one commit (benchKey's layout), pushed to a bare remote.
func benchGitRemote(b *testing.B, n int) *gitRemote {
	b.Helper()
	g := newGitRemote(b)
	files := make(map[string]string, n)
	for i := range n {
		files[benchKey(i)] = dagJSON(fmt.Sprint("dag ", i), 20)
	}
	g.commit("10,000 DAGs", files)
	return g
}

// BenchmarkGitUnchangedRescan10k: a rescan of a 10,000-DAG repository
// whose ref did not move: one ref advertisement (git-upload-pack of a
// local bare repository), no fetch, no blob opened. Target ≤ 100 ms.
func BenchmarkGitUnchangedRescan10k(b *testing.B) {
	const n = 10_000
	g := benchGitRemote(b, n)
	ctx := context.Background()
	l, err := New(gitConfig(g.bare, "", "", b.TempDir()), nil)
	if err != nil {
		b.Fatal(err)
	}
	if res, err := l.ScanNow(ctx); err != nil || res.Changed != n {
		b.Fatalf("first scan = %+v, %v", res, err)
	}
	src := gitSourceOf(b, l)
	blobs := src.blobReads.Load()
	cpu := cpuTime()
	for b.Loop() {
		res, err := l.ScanNow(ctx)
		if err != nil || res.Changed != 0 {
			b.Fatalf("rescan = %+v, %v", res, err)
		}
	}
	if got := src.blobReads.Load() - blobs; got != 0 {
		b.Fatalf("unchanged rescans opened %d blobs", got)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/rescan")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/rescan")
}

// BenchmarkGitOneFileChange10k: from a pushed commit changing one file of
// a 10,000-DAG repository to its new version being what Lookup returns,
// through one scan (ref advertisement, fetch, tree diff, one blob, one
// parse). The commit itself is not timed. Target ≤ 1 s (plus, in a running
// engine, the wait for the next scan interval or `r`).
func BenchmarkGitOneFileChange10k(b *testing.B) {
	const n = 10_000
	g := benchGitRemote(b, n)
	ctx := context.Background()
	l, err := New(gitConfig(g.bare, "", "", b.TempDir()), nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := l.ScanNow(ctx); err != nil {
		b.Fatal(err)
	}
	src := gitSourceOf(b, l)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		key := benchKey(i * 37 % n)
		desc := fmt.Sprint("change ", i)
		i++
		g.commit("change "+key, map[string]string{key: dagJSON(desc, 20)})
		blobs := src.blobReads.Load()
		b.StartTimer()
		start := time.Now()
		if _, err := l.ScanNow(ctx); err != nil {
			b.Fatal(err)
		}
		d, ok := l.Lookup(key[:len(key)-len(".json")])
		if !ok || d.Description != desc {
			b.Fatalf("%s not active after the scan", key)
		}
		lat = append(lat, time.Since(start))
		if got := src.blobReads.Load() - blobs; got != 1 {
			b.Fatalf("a one-file change opened %d blobs", got)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms/change-median")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "ms/change-p90")
}
