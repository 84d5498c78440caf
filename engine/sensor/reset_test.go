package sensor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

// partitionEnds reads every partition's log end of topic.
func partitionEnds(t *testing.T, r *OffsetReader, topic string) map[int32]int64 {
	t.Helper()
	if err := r.client.RefreshMetadata(topic); err != nil {
		t.Fatal(err)
	}
	parts, err := r.client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, p := range parts {
		if out[p], err = r.client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func committedOf(t *testing.T, r *OffsetReader, group, topic string) map[int32]int64 {
	t.Helper()
	c, err := r.committed(group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for tp, o := range c {
		if tp.topic == topic {
			out[tp.partition] = o
		}
	}
	return out
}

func equalOffsets(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for p, o := range a {
		if b[p] != o {
			return false
		}
	}
	return true
}

// A reset to a time moves an empty group's committed offsets to the first
// record at or after that time on every partition, as the broker's
// ListOffsets answers; a plan alone commits nothing; offsets outside the
// log are clamped to it.
func TestResetOffsetsToTime(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"r"}, Partitions: 2})
	conn := ConnConfig{Brokers: b.Addrs()}
	r, err := NewOffsetReader(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const group = "sluice.reset"

	produce(t, conn, "r", 20)
	before := partitionEnds(t, r, "r")
	// Record timestamps are milliseconds: the second lot must be stamped
	// strictly later than the first.
	for last := time.Now().UnixMilli(); time.Now().UnixMilli() <= last+1; {
	}
	at := time.Now()
	for time.Now().UnixMilli() <= at.UnixMilli() {
	}
	produce(t, conn, "r", 20)
	after := partitionEnds(t, r, "r")

	// The group exists once a member committed (the sensor, normally).
	commitAsMember(t, conn, group, "r")
	latest, err := r.PlanReset(group, []string{"r"}, api.ToLatest, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CommitReset(group, latest); err != nil {
		t.Fatal(err)
	}
	if got := committedOf(t, r, group, "r"); !equalOffsets(got, after) {
		t.Fatalf("committed after a reset to latest = %v, want the log ends %v", got, after)
	}

	plan, err := r.PlanReset(group, []string{"r"}, api.ToTime, at.UnixMilli(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 2 {
		t.Fatalf("plan = %+v, want both partitions", plan)
	}
	for _, mv := range plan {
		if mv.Current != after[mv.Partition] || mv.New != before[mv.Partition] {
			t.Errorf("partition %d: %d → %d, want %d → %d", mv.Partition, mv.Current, mv.New, after[mv.Partition], before[mv.Partition])
		}
	}
	if got := committedOf(t, r, group, "r"); !equalOffsets(got, after) {
		t.Fatalf("planning moved the offsets: %v", got)
	}
	if err := r.CommitReset(group, plan); err != nil {
		t.Fatal(err)
	}
	if got := committedOf(t, r, group, "r"); !equalOffsets(got, before) {
		t.Fatalf("committed after a reset to the time = %v, want %v", got, before)
	}

	// Offsets beyond the log are clamped; a partition not named stays.
	plan, err = r.PlanReset(group, []string{"r"}, api.ToOffset, 0, map[int32]int64{1: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	for _, mv := range plan {
		want := before[mv.Partition]
		if mv.Partition == 1 {
			want = after[1]
		}
		if mv.New != want {
			t.Errorf("to-offset partition %d → %d, want %d", mv.Partition, mv.New, want)
		}
	}
	if _, err := r.PlanReset(group, []string{"r"}, api.ToOffset, 0, map[int32]int64{7: 0}); err == nil {
		t.Error("planned a reset of a partition the topic does not have")
	}
}

// Kafka takes offsets from outside a group only while it is empty: with a
// member in it the reset is refused and nothing moves.
func TestResetOffsetsRefusedWhileTheGroupHasMembers(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"m"}, Partitions: 1})
	conn := ConnConfig{Brokers: b.Addrs()}
	produce(t, conn, "m", 5)
	cfg, err := conn.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	leave := joinGroup(t, conn, "busy", "m")
	defer leave()
	r, err := NewOffsetReader(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	plan, err := r.PlanReset("busy", []string{"m"}, api.ToLatest, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CommitReset("busy", plan); !errors.Is(err, ErrGroupActive) {
		t.Fatalf("reset of a group with a member: %v, want ErrGroupActive", err)
	}
}

// joinGroup makes a consumer a member of group until leave.
func joinGroup(t *testing.T, conn ConnConfig, group, topic string) (leave func()) {
	t.Helper()
	cfg, err := conn.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	g, err := sarama.NewConsumerGroup(conn.Brokers, group, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &signalHandler{joined: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_ = g.Consume(ctx, []string{topic}, h)
		}
	}()
	leave = func() { cancel(); <-done; g.Close() }
	select {
	case <-h.joined:
	case <-time.After(20 * time.Second):
		leave()
		t.Fatal("the consumer never joined")
	}
	return leave
}

// commitAsMember joins group, commits offset 0 of every partition of
// topic, and leaves: the group then exists, empty.
func commitAsMember(t *testing.T, conn ConnConfig, group, topic string) {
	t.Helper()
	joinGroup(t, conn, group, topic)()
}

// signalHandler commits offset 0 of its claims and closes joined at its
// first session; it consumes nothing.
type signalHandler struct{ joined chan struct{} }

func (h *signalHandler) Setup(sess sarama.ConsumerGroupSession) error {
	for topic, parts := range sess.Claims() {
		for _, p := range parts {
			sess.MarkOffset(topic, p, 0, "")
		}
	}
	sess.Commit()
	select {
	case <-h.joined:
	default:
		close(h.joined)
	}
	return nil
}
func (h *signalHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *signalHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, _ sarama.ConsumerGroupClaim) error {
	<-sess.Context().Done()
	return nil
}
