package sensor

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

// The producer holds its rate: 5 s at 1,000 msg/s comes out within 10%.
func TestProducerRate(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"rate"}, Partitions: 3})
	conn := ConnConfig{Brokers: b.Addrs()}
	var progress []ProduceStats
	st, err := Produce(context.Background(), conn, ProduceOptions{Topic: "rate", Rate: 1000, Count: 5000, Size: 64,
		Progress: func(s ProduceStats) { progress = append(progress, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != 5000 || st.Acked != 5000 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
	if math.Abs(st.Rate-1000)/1000 > 0.10 {
		t.Errorf("achieved %.0f msg/s over %v, want 1000 ±10%%", st.Rate, st.Elapsed)
	}
	if st.Elapsed < 4500*time.Millisecond {
		t.Errorf("5000 messages at 1000/s took only %v", st.Elapsed)
	}
	if len(progress) < 3 {
		t.Errorf("%d progress reports in 5 s", len(progress))
	}
}

func TestProducerKeysAndSize(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"keys"}, Partitions: 1})
	conn := ConnConfig{Brokers: b.Addrs()}
	if _, err := Produce(context.Background(), conn, ProduceOptions{Topic: "keys", Count: 3, Size: 10, KeyMode: KeySeq}); err != nil {
		t.Fatal(err)
	}
	if _, err := Produce(context.Background(), conn, ProduceOptions{Topic: "keys", Count: 1, KeyMode: KeyNone}); err != nil {
		t.Fatal(err)
	}
	if _, err := Produce(context.Background(), conn, ProduceOptions{Topic: "keys", Count: 1, KeyMode: KeyRandom}); err != nil {
		t.Fatal(err)
	}
	c, err := sarama.NewConsumer(conn.Brokers, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition("keys", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var msgs []*sarama.ConsumerMessage
	timeout := time.After(10 * time.Second)
	for len(msgs) < 5 {
		select {
		case m := <-pc.Messages():
			msgs = append(msgs, m)
		case <-timeout:
			t.Fatalf("read %d of 5 messages", len(msgs))
		}
	}
	for i := 0; i < 3; i++ {
		if string(msgs[i].Key) != strconv.Itoa(i) || len(msgs[i].Value) != 10 || string(msgs[i].Value[:1]) != strconv.Itoa(i) {
			t.Errorf("seq message %d: key %q value %q", i, msgs[i].Key, msgs[i].Value)
		}
	}
	if msgs[3].Key != nil || len(msgs[3].Value) != 100 {
		t.Errorf("keyless message: key %q, %d value bytes (default 100)", msgs[3].Key, len(msgs[3].Value))
	}
	if len(msgs[4].Key) != 16 {
		t.Errorf("random key %q", msgs[4].Key)
	}
	if _, err := Produce(context.Background(), conn, ProduceOptions{Topic: "keys", KeyMode: "odd"}); !errors.Is(err, ErrConfig) {
		t.Errorf("bad key mode: %v", err)
	}
	if _, err := Produce(context.Background(), conn, ProduceOptions{}); !errors.Is(err, ErrConfig) {
		t.Errorf("no topic: %v", err)
	}
}
