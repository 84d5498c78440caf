package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

// lockedBuffer is an output stream a running command and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func runKafkaCmd(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb lockedBuffer
	env := &cliEnv{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(k string) string { return vars[k] }}
	code = dispatch(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func kafkaBroker(t *testing.T, topics ...string) string {
	t.Helper()
	b, err := embedded.Start(embedded.Options{Topics: topics, Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b.Addrs()[0]
}

// commit commits offset for group on topic/partition the way tools do for
// a group without members (generation -1).
func commit(t *testing.T, addr, group, topic string, partition int32, offset int64) {
	t.Helper()
	client, err := sarama.NewClient([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	coord, err := client.Coordinator(group)
	if err != nil {
		t.Fatal(err)
	}
	req := &sarama.OffsetCommitRequest{Version: 2, ConsumerGroup: group, ConsumerGroupGeneration: -1}
	req.AddBlock(topic, partition, offset, 0, "")
	resp, err := coord.CommitOffset(req)
	if err != nil {
		t.Fatal(err)
	}
	if kerr := resp.Errors[topic][partition]; kerr != sarama.ErrNoError {
		t.Fatalf("commit: %v", kerr)
	}
}

func TestProduceThenLag(t *testing.T) {
	t.Parallel()
	addr := kafkaBroker(t, "events")
	code, out, errOut := runKafkaCmd(t, map[string]string{"SLUICE_KAFKA_BROKERS": addr},
		"produce", "--topic", "events", "--rate", "0", "--count", "300", "--key-mode", "seq", "--quiet")
	if code != exitOK || !strings.Contains(out, "produced 300 messages to events") || !strings.Contains(out, "300 acked, 0 failed") {
		t.Fatalf("produce: exit %d\n%s%s", code, out, errOut)
	}
	commit(t, addr, "g", "events", 0, 7)

	code, out, errOut = runKafkaCmd(t, nil, "lag", "--brokers", addr, "--group", "g", "--topic", "events", "--json", "--samples", "1")
	if code != exitOK {
		t.Fatalf("lag --json: exit %d\n%s%s", code, out, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("lag --json output: %v\n%s", err, out)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	var total float64
	for _, r := range rows {
		for _, k := range []string{"topic", "partition", "current_offset", "log_end_offset", "lag", "status"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v lacks %q", r, k)
			}
		}
		cur, end, lag := r["current_offset"].(float64), r["log_end_offset"].(float64), r["lag"].(float64)
		switch r["partition"].(float64) {
		case 0:
			if cur != 7 || lag != end-7 {
				t.Errorf("partition 0: %v", r)
			}
		default:
			if cur != -1 || lag != end {
				t.Errorf("never committed partition: %v", r)
			}
		}
		total += end
	}
	if total != 300 {
		t.Errorf("log ends sum to %v", total)
	}

	// Three readings with nothing moving and nobody consuming: STOP.
	code, out, _ = runKafkaCmd(t, nil, "lag", "--brokers", addr, "--group", "g", "--samples", "3", "--interval", "20ms")
	if code != exitFailed {
		t.Errorf("lag of a stopped group: exit %d, want 1", code)
	}
	header := regexp.MustCompile(`(?m)^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+STATUS$`)
	row0 := regexp.MustCompile(`(?m)^events\s+0\s+7\s+\d+\s+\d+\s+STOP$`)
	row1 := regexp.MustCompile(`(?m)^events\s+1\s+-\s+\d+\s+\d+\s+STOP$`)
	if !header.MatchString(out) || !row0.MatchString(out) || !row1.MatchString(out) || !strings.Contains(out, "status ERR") {
		t.Errorf("lag table:\n%s", out)
	}
}

func TestKafkaCommandUsage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		vars map[string]string
		args []string
		code int
		want string
	}{
		{"produce help", nil, []string{"produce", "--help"}, exitOK, "Usage: sluice produce"},
		{"lag help", nil, []string{"lag", "-h"}, exitOK, "SLUICE_KAFKA_SASL_PASSWORD"},
		{"broker help", nil, []string{"broker", "--help"}, exitOK, "--data-dir"},
		{"produce without topic", nil, []string{"produce", "--brokers", "x:1"}, exitUsage, "--topic is required"},
		{"produce without brokers", nil, []string{"produce", "--topic", "t"}, exitUsage, "no brokers"},
		{"bad key mode", nil, []string{"produce", "--brokers", "127.0.0.1:1", "--topic", "t", "--key-mode", "odd"}, exitUsage, "key mode"},
		{"lag without group", nil, []string{"lag", "--brokers", "x:1"}, exitUsage, "--group is required"},
		{"unknown flag", nil, []string{"lag", "--nope"}, exitUsage, "flag provided but not defined"},
		{"stray argument", nil, []string{"lag", "--group", "g", "extra"}, exitUsage, `unexpected argument "extra"`},
		{"bad env", map[string]string{"SLUICE_KAFKA_TLS": "maybe"}, []string{"lag", "--group", "g"}, exitUsage, "not a boolean"},
		{"unreachable", nil, []string{"lag", "--brokers", "127.0.0.1:1", "--group", "g"}, exitUsage, "connecting to kafka"},
		{"broker bad partitions", nil, []string{"broker", "--partitions", "0"}, exitUsage, "at least 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runKafkaCmd(t, c.vars, c.args...)
			if code != c.code || !strings.Contains(out+errOut, c.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", code, c.code, c.want, out, errOut)
			}
		})
	}
}

// sluice broker serves until interrupted; with --data-dir a restart on the
// same address keeps the log.
func TestBrokerCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := func(listen string) (addr string, stop func() string) {
		ctx, cancel := context.WithCancel(context.Background())
		var out, errb lockedBuffer
		env := &cliEnv{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}
		done := make(chan int, 1)
		go func() {
			done <- dispatch(ctx, env, []string{"broker", "--listen", listen, "--topics", "trial", "--partitions", "2", "--data-dir", dir})
		}()
		re := regexp.MustCompile(`listening on (\S+)`)
		if !enginetest.Poll(10*time.Second, func() bool {
			select {
			case code := <-done:
				t.Fatalf("broker exited %d: %s%s", code, out.String(), errb.String())
			default:
			}
			return re.FindStringSubmatch(out.String()) != nil
		}) {
			cancel()
			t.Fatalf("broker did not start: %s%s", out.String(), errb.String())
		}
		return re.FindStringSubmatch(out.String())[1], func() string {
			cancel()
			if code := <-done; code != exitOK {
				t.Errorf("broker exit %d", code)
			}
			return out.String()
		}
	}
	addr, stop := start("127.0.0.1:0")
	if code, out, errOut := runKafkaCmd(t, nil, "produce", "--brokers", addr, "--topic", "trial", "--rate", "0", "--count", "40", "--quiet"); code != exitOK {
		t.Fatalf("produce: %d %s%s", code, out, errOut)
	}
	if out := stop(); !strings.Contains(out, "kafka broker stopped") || !strings.Contains(out, "data in "+dir) {
		t.Errorf("broker output:\n%s", out)
	}

	addr2, stop2 := start(addr)
	defer stop2()
	if addr2 != addr {
		t.Fatalf("restarted on %s, not %s", addr2, addr)
	}
	code, out, errOut := runKafkaCmd(t, nil, "lag", "--brokers", addr, "--group", "g", "--topic", "trial", "--json", "--samples", "1")
	if code != exitOK {
		t.Fatalf("lag after restart: %d %s%s", code, out, errOut)
	}
	var rows []lagRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, r := range rows {
		total += r.LogEndOffset
	}
	if len(rows) != 2 || total != 40 {
		t.Errorf("after a restart on the same data dir: %+v, want 40 messages over 2 partitions", rows)
	}
}

// The lag of a topic the cluster does not have is refused, and asking does
// not create it (the broker creates topics on first use): a second ask
// says the same.
func TestLagOfMissingTopic(t *testing.T) {
	t.Parallel()
	addr := kafkaBroker(t, "events")
	for range 2 {
		code, out, errOut := runKafkaCmd(t, nil, "lag", "--brokers", addr, "--group", "g", "--topic", "evnets", "--samples", "1")
		if code != exitUsage || !strings.Contains(errOut, `topic "evnets" does not exist`) || strings.Contains(out, "OK") {
			t.Fatalf("lag of a missing topic: exit %d\n%s%s", code, out, errOut)
		}
	}
}
