package dag

import (
	"fmt"
	"strings"
	"testing"
)

// benchDAG writes a JSON DAG of n nodes shaped like real ones: local
// commands with timeouts and retries, a few lambdas and built-ins, each
// node depending on one or two earlier ones, a schedule, tags and a sensor.
func benchDAG(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"description": "benchmark", "schedule": "0 3 * * *", "tags": {"team": "data"}, "max_active_runs": 1,` + "\n")
	b.WriteString(`"sensors": [{"type": "kafka", "topic": "events", "max_batch_size": 500, "tick_interval": "10s"}],` + "\n")
	b.WriteString(`"nodes": [` + "\n")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		var deps string
		switch {
		case i >= 2 && i%3 == 0:
			deps = fmt.Sprintf(`, "depends_on": ["task_%04d", "task_%04d"]`, i-1, i-2)
		case i >= 1:
			deps = fmt.Sprintf(`, "depends_on": ["task_%04d"]`, i-1)
		}
		switch i % 10 {
		case 7:
			fmt.Fprintf(&b, `  {"id": "task_%04d", "type": "lambda", "config": {"function_name": "load-%d", "timeout": "5m"}%s}`, i, i, deps)
		case 9:
			fmt.Fprintf(&b, `  {"id": "task_%04d", "type": "sluice.noop", "config": {}%s}`, i, deps)
		default:
			fmt.Fprintf(&b, `  {"id": "task_%04d", "type": "local", "config": {"command": ["./bin/step", "--part", "%d"], "timeout": 300, "retry": 2}%s}`, i, i, deps)
		}
	}
	b.WriteString("\n]}\n")
	return []byte(b.String())
}

func benchmarkParse(b *testing.B, n int) {
	data := benchDAG(n)
	if _, err := Parse("bench.json", data, Options{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	measureCPU(b, func() {
		if _, err := Parse("bench.json", data, Options{}); err != nil {
			b.Fatal(err)
		}
	})
}

// measureCPU runs op in the benchmark loop and reports the process CPU time
// per operation (garbage collection included) as cpu-ns/op.
func measureCPU(b *testing.B, op func()) {
	n := 0
	start := processCPU()
	for b.Loop() {
		op()
		n++
	}
	if used := processCPU() - start; used > 0 && n > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(n), "cpu-ns/op")
	}
}

// BenchmarkParse20 is the target: parse and validate a 20-node DAG
// in at most 20 µs.
func BenchmarkParse20(b *testing.B)   { benchmarkParse(b, 20) }
func BenchmarkParse1000(b *testing.B) { benchmarkParse(b, 1000) }

func BenchmarkParseStarlark20(b *testing.B) {
	src := []byte(`
nodes = []
for i in range(20):
    deps = ["task_" + str(i - 1)] if i > 0 else []
    nodes.append({"id": "task_" + str(i), "type": "local",
                  "config": {"command": ["./bin/step", str(i)], "timeout": 300}, "depends_on": deps})
dag = {"schedule": "0 3 * * *", "nodes": nodes}
`)
	if _, err := Parse("bench.star", src, Options{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	measureCPU(b, func() {
		if _, err := Parse("bench.star", src, Options{}); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkTopoOrder1000(b *testing.B) {
	d, err := Parse("bench.json", benchDAG(1000), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	measureCPU(b, func() { d.TopoOrder() })
}
