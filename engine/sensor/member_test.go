package sensor

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/IBM/sarama"
)

// fakeSession records marks; its context ends with end().
type fakeSession struct {
	sarama.ConsumerGroupSession
	ctx   context.Context
	end   context.CancelFunc
	mu    sync.Mutex
	marks map[int32]int64
}

func newFakeSession() *fakeSession {
	ctx, cancel := context.WithCancel(context.Background())
	return &fakeSession{ctx: ctx, end: cancel, marks: map[int32]int64{}}
}

func (f *fakeSession) Context() context.Context { return f.ctx }
func (f *fakeSession) MarkOffset(_ string, p int32, off int64, _ string) {
	f.mu.Lock()
	f.marks[p] = off
	f.mu.Unlock()
}

func (f *fakeSession) mark(p int32) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	off, ok := f.marks[p]
	return off, ok
}

type fakeClaim struct {
	sarama.ConsumerGroupClaim
	hwm int64
}

func (f fakeClaim) HighWaterMarkOffset() int64 { return f.hwm }

func pending(tok *claimToken, p int32, from, to int64) pendingBatch {
	pb := pendingBatch{tp: topicPartition{"t", p}}
	for off := from; off <= to; off++ {
		pb.msgs = append(pb.msgs, delivered{msg: &sarama.ConsumerMessage{Topic: "t", Partition: p, Offset: off}, claim: tok})
	}
	return pb
}

func testMember(sink RunSink) *member {
	e := &env{sink: sink, log: slog.New(slog.DiscardHandler), changed: func() {}, tickHistory: 10}
	s := newSensor(Spec{DAG: "d", MaxBatchSize: 100, MaxQueued: 100}, e, false)
	return newMember(s, 0)
}

func TestPersistAll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	newTok := func(hwm int64) (*claimToken, *fakeSession) {
		sess := newFakeSession()
		return &claimToken{sess: sess, claim: fakeClaim{hwm: hwm}, done: make(chan struct{})}, sess
	}

	t.Run("trims what runs carry and marks after the last record", func(t *testing.T) {
		sink := newMemSink()
		sink.batches["t/0/0-14"] = &Batch{Topic: "t", Partition: 0, First: 0, Last: 14}
		m := testMember(sink)
		tok, sess := newTok(100)
		n, k, _, err := m.persistAll(ctx, []pendingBatch{pending(tok, 0, 10, 19)})
		if err != nil || n != 5 || k != 1 {
			t.Fatalf("persisted %d records in %d batches, %v", n, k, err)
		}
		if b := sink.all(); len(b) != 1 || b[0].Key() != "t/0/15-19" {
			t.Errorf("stored %v", b)
		}
		if off, _ := sess.mark(0); off != 20 {
			t.Errorf("marked %d, want 20", off)
		}
	})

	t.Run("a batch wholly in runs is only marked", func(t *testing.T) {
		sink := newMemSink()
		sink.batches["t/0/0-29"] = &Batch{Topic: "t", Partition: 0, First: 0, Last: 29}
		m := testMember(sink)
		tok, sess := newTok(100)
		n, k, _, err := m.persistAll(ctx, []pendingBatch{pending(tok, 0, 10, 19)})
		if err != nil || n != 0 || k != 0 || len(sink.order) != 0 {
			t.Fatalf("%d %d %v %v", n, k, err, sink.order)
		}
		if off, _ := sess.mark(0); off != 20 {
			t.Errorf("marked %d, want 20", off)
		}
	})

	t.Run("a store error marks nothing and keeps the records", func(t *testing.T) {
		sink := newMemSink()
		sink.failErr = errors.New("disk full")
		m := testMember(sink)
		tok, sess := newTok(100)
		_, _, _, err := m.persistAll(ctx, []pendingBatch{pending(tok, 0, 0, 9), pending(tok, 1, 0, 4)})
		if err == nil {
			t.Fatal("no error")
		}
		if _, ok := sess.mark(0); ok {
			t.Error("marked a batch that was not persisted")
		}
		if m.buffered() != 15 {
			t.Errorf("%d records buffered, want all 15 back", m.buffered())
		}
	})

	t.Run("another DAG's identical range: one record shorter", func(t *testing.T) {
		sink := newMemSink()
		sink.conflict = func(b *Batch) bool { return b.Key() == "t/0/0-9" }
		m := testMember(sink)
		tok, sess := newTok(100)
		n, _, _, err := m.persistAll(ctx, []pendingBatch{pending(tok, 0, 0, 9)})
		if err != nil || n != 9 {
			t.Fatalf("%d %v", n, err)
		}
		if b := sink.all(); len(b) != 1 || b[0].Key() != "t/0/0-8" {
			t.Errorf("stored %v", b)
		}
		if off, _ := sess.mark(0); off != 9 {
			t.Errorf("marked %d, want 9", off)
		}
		if buf := m.bufs[topicPartition{"t", 0}]; buf == nil || len(buf.msgs) != 1 || buf.msgs[0].msg.Offset != 9 {
			t.Errorf("the left-over record is not first in the buffer: %+v", buf)
		}
	})

	t.Run("runs beyond the log end belong to a deleted topic", func(t *testing.T) {
		sink := newMemSink()
		sink.batches["t/0/0-499"] = &Batch{Topic: "t", Partition: 0, First: 0, Last: 499}
		m := testMember(sink)
		tok, _ := newTok(20) // the log now ends at 20
		n, _, _, err := m.persistAll(ctx, []pendingBatch{pending(tok, 0, 0, 19)})
		if err != nil || n != 20 {
			t.Fatalf("persisted %d of the new topic's 20 records: %v", n, err)
		}
	})

	t.Run("a dead claim's batch is persisted but not marked", func(t *testing.T) {
		sink := newMemSink()
		m := testMember(sink)
		tok, sess := newTok(100)
		pb := pending(tok, 0, 0, 4)
		sess.end()
		if n, _, _, err := m.persistAll(ctx, []pendingBatch{pb}); err != nil || n != 5 {
			t.Fatalf("%d %v", n, err)
		}
		if _, ok := sess.mark(0); ok {
			t.Error("marked on an ended session")
		}
	})
}
