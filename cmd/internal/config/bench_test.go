package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/cmd/internal/config"
	"github.com/sluice-dev/sluice/engine/api"
)

// bigSnapshot: n finished runs of three tasks, each with a 1 KiB log tail,
// and 500 log records — what a busy engine hands every SSH session.
func bigSnapshot(n int, leak string) *api.Snapshot {
	tail := strings.Repeat("a line of task output\n", 46)
	s := &api.Snapshot{}
	for i := 0; i < n; i++ {
		r := api.Run{ID: int64(i), DAG: "etl", State: api.RunSuccess}
		for j := 0; j < 3; j++ {
			r.Tasks = append(r.Tasks, api.Task{ID: fmt.Sprint("t", j), LogTail: tail})
		}
		s.Runs.Finished = append(s.Runs.Finished, r)
	}
	for i := 0; i < 500; i++ {
		s.Logs = append(s.Logs, api.LogRecord{Msg: "run finished", Attrs: "run=1 dag=etl"})
	}
	if leak != "" {
		s.Runs.Finished[n/2].Tasks[1].LogTail += "token=" + leak + "\n"
	}
	return s
}

// BenchmarkRedactAPISnapshot is the cost a session pays per snapshot read
// for redaction when secrets are configured.
func BenchmarkRedactAPISnapshot(b *testing.B) {
	for _, n := range []int{200, 10000} {
		for _, leak := range []string{"", secret} {
			name := fmt.Sprintf("runs=%d/clean", n)
			if leak != "" {
				name = fmt.Sprintf("runs=%d/one-leak", n)
			}
			b.Run(name, func(b *testing.B) {
				api := config.RedactAPI(stubAPI{snap: bigSnapshot(n, leak)}, config.NewRedactor(secret, "AKIAEXAMPLEKEY0001", "modesecret-0001"))
				b.ReportAllocs()
				for b.Loop() {
					if api.Snapshot() == nil {
						b.Fatal("nil")
					}
				}
			})
		}
	}
}

func BenchmarkParseConfigFile(b *testing.B) {
	data := []byte("state-dir: /var/lib/sluice\ndags-dir: /etc/sluice/dags\nscan-interval: 30s\nbrokers: [a:9092, b:9092]\nserve:\n  ssh: \":2222\"\n  metrics: 127.0.0.1:9464\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := config.Parse("sluice.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
