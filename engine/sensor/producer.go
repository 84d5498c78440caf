package sensor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// Key modes of the producer.
const (
	KeyNone   = "none"
	KeySeq    = "seq"
	KeyRandom = "random"
)

// ProduceOptions describe test traffic.
type ProduceOptions struct {
	Topic string
	// Rate in messages per second; 0 sends as fast as the broker takes them.
	Rate float64
	// Count stops after this many messages; 0 runs until ctx ends.
	Count int64
	// Size of each value in bytes. Default 100.
	Size int
	// KeyMode: none (default), seq (the sequence number) or random.
	KeyMode string
	// Progress, when set, is called about once a second from the sending
	// goroutine.
	Progress func(ProduceStats)
}

// ProduceStats sum up a Produce call.
type ProduceStats struct {
	Sent    int64
	Acked   int64
	Failed  int64
	Elapsed time.Duration
	// Rate is acknowledged messages per second over Elapsed.
	Rate    float64
	LastErr error
}

// Produce publishes messages at a steady rate until Count or ctx ends, and
// returns what was achieved. Pacing is by schedule, not by sleeping a fixed
// gap: message n is due at start + n/Rate, so a slow moment is caught up
// and the average rate holds.
func Produce(ctx context.Context, conn ConnConfig, o ProduceOptions) (ProduceStats, error) {
	if o.Topic == "" {
		return ProduceStats{}, fmt.Errorf("%w: no topic", ErrConfig)
	}
	if o.Size <= 0 {
		o.Size = 100
	}
	switch o.KeyMode {
	case "":
		o.KeyMode = KeyNone
	case KeyNone, KeySeq, KeyRandom:
	default:
		return ProduceStats{}, fmt.Errorf("%w: key mode %q (want none, seq or random)", ErrConfig, o.KeyMode)
	}
	cfg, err := conn.Sarama()
	if err != nil {
		return ProduceStats{}, err
	}
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.RequiredAcks = sarama.WaitForLocal
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	cfg.Producer.Flush.Messages = 500
	cfg.Producer.Partitioner = sarama.NewHashPartitioner // nil keys spread at random
	producer, err := sarama.NewAsyncProducer(conn.Brokers, cfg)
	if err != nil {
		return ProduceStats{}, fmt.Errorf("connecting producer: %w", explainConnErr(conn, err))
	}

	var acked, failed atomic.Int64
	var errMu sync.Mutex
	var lastErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range producer.Successes() {
			acked.Add(1)
		}
	}()
	go func() {
		defer wg.Done()
		for e := range producer.Errors() {
			failed.Add(1)
			errMu.Lock()
			lastErr = e.Err
			errMu.Unlock()
		}
	}()

	start := time.Now()
	stats := func() ProduceStats {
		errMu.Lock()
		defer errMu.Unlock()
		st := ProduceStats{Acked: acked.Load(), Failed: failed.Load(), Elapsed: time.Since(start), LastErr: lastErr}
		if secs := st.Elapsed.Seconds(); secs > 0 {
			st.Rate = float64(st.Acked) / secs
		}
		return st
	}
	filler := make([]byte, o.Size)
	for i := range filler {
		filler[i] = 'x'
	}
	var sent int64
	nextProgress := start.Add(time.Second)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
loop:
	for o.Count == 0 || sent < o.Count {
		if o.Rate > 0 {
			due := start.Add(time.Duration(float64(sent) / o.Rate * float64(time.Second)))
			// Sleep only for gaps the timer can honour; closer deadlines
			// are sent at once and the schedule evens it out.
			if wait := time.Until(due); wait > time.Millisecond {
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					timer.Stop()
					break loop
				case <-timer.C:
				}
			}
		}
		msg := &sarama.ProducerMessage{Topic: o.Topic, Value: sarama.ByteEncoder(payload(filler, sent)),
			Timestamp: time.Now()} // a load generator's messages: the broker's time base, not the engine's clock
		switch o.KeyMode {
		case KeySeq:
			msg.Key = sarama.StringEncoder(strconv.FormatInt(sent, 10))
		case KeyRandom:
			var k [8]byte
			_, _ = rand.Read(k[:])
			msg.Key = sarama.StringEncoder(hex.EncodeToString(k[:]))
		}
		select {
		case producer.Input() <- msg:
			sent++
		case <-ctx.Done():
			break loop
		}
		if o.Progress != nil && time.Now().After(nextProgress) {
			st := stats()
			st.Sent = sent
			o.Progress(st)
			nextProgress = nextProgress.Add(time.Second)
		}
	}
	// AsyncClose flushes what is buffered; the counters see every answer.
	producer.AsyncClose()
	wg.Wait()
	st := stats()
	st.Sent = sent
	if st.Acked == 0 && st.LastErr != nil {
		return st, fmt.Errorf("producing to %q: %w", o.Topic, st.LastErr)
	}
	// The context ending is how an open-ended run stops: not an error.
	return st, nil
}

// payload is a value of len(filler) bytes starting with the sequence number,
// so a consumer can tell messages apart.
func payload(filler []byte, seq int64) []byte {
	v := make([]byte, len(filler))
	copy(v, filler)
	copy(v, strconv.AppendInt(nil, seq, 10))
	return v
}
