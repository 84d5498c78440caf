package sensor

import (
	"context"
	"log/slog"
	"sync"

	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

// DemoOptions describe the Kafka side of `make demo`.
type DemoOptions struct {
	Topic      string  // default "events"
	Partitions int32   // default 3
	Rate       float64 // messages per second; default 300
	// DataDir keeps the broker's log between demo runs; "" is in memory.
	DataDir string
	Logger  *slog.Logger
}

// Demo is an embedded broker with a producer feeding one topic.
type Demo struct {
	Broker *embedded.Broker
	Conn   ConnConfig

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartDemo starts an embedded broker and a producer at opts.Rate. Point
// sensors at demo.Conn. Stop ends both.
func StartDemo(ctx context.Context, opts DemoOptions) (*Demo, error) {
	if opts.Topic == "" {
		opts.Topic = "events"
	}
	if opts.Rate <= 0 {
		opts.Rate = 300
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b, err := embedded.Start(embedded.Options{Topics: []string{opts.Topic}, Partitions: opts.Partitions,
		DataDir: opts.DataDir, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	d := &Demo{Broker: b, Conn: ConnConfig{Brokers: b.Addrs(), ClientID: "sluice-demo"}}
	ctx, d.cancel = context.WithCancel(ctx)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		st, err := Produce(ctx, d.Conn, ProduceOptions{Topic: opts.Topic, Rate: opts.Rate, KeyMode: KeySeq})
		if err != nil {
			opts.Logger.Warn("demo producer", "err", err)
		}
		opts.Logger.Info("demo producer stopped", "sent", st.Sent, "acked", st.Acked)
	}()
	return d, nil
}

// Stop ends the producer, then the broker.
func (d *Demo) Stop() {
	d.cancel()
	d.wg.Wait()
	d.Broker.Close()
}
