package demoenv

import (
	"context"
	"log/slog"

	"github.com/sluice-dev/sluice/engine/lifecycle"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

// KafkaOptions describe the demo's Kafka: an embedded broker (kfake) and a
// producer feeding one topic.
type KafkaOptions struct {
	Topic      string  // default "events"
	Partitions int32   // default 3
	Rate       float64 // messages per second; default 300
	// DataDir keeps the broker's log between demo runs; "" is in memory.
	DataDir string
	Logger  *slog.Logger
}

// Kafka is an embedded broker with a producer feeding one topic.
type Kafka struct {
	Broker *embedded.Broker
	Conn   sensor.ConnConfig

	opts KafkaOptions
	life lifecycle.Lifecycle
}

// StartKafka starts an embedded broker and a producer at opts.Rate. Point
// sensors at demo.Conn. Stop ends both.
func StartKafka(ctx context.Context, opts KafkaOptions) (*Kafka, error) {
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
	d := &Kafka{Broker: b, Conn: sensor.ConnConfig{Brokers: b.Addrs(), ClientID: "sluice-demo"}, opts: opts}
	if err := d.life.Start(ctx, d.start); err != nil {
		b.Close()
		return nil, err
	}
	return d, nil
}

// start launches the producer; it runs until Stop or the end of ctx.
func (d *Kafka) start(ctx context.Context) error {
	d.life.Go(func() {
		st, err := sensor.Produce(ctx, d.Conn, sensor.ProduceOptions{Topic: d.opts.Topic, Rate: d.opts.Rate, KeyMode: sensor.KeySeq})
		if err != nil {
			d.opts.Logger.Warn("demo producer", "err", err)
		}
		d.opts.Logger.Info("demo producer stopped", "sent", st.Sent, "acked", st.Acked)
	})
	return nil
}

// Stop ends the producer, then the broker. A second Stop does nothing.
func (d *Kafka) Stop() { d.life.Stop(d.Broker.Close) }
