// Package sensor runs the DAGs' Kafka sensors: a Manager keeps one Sensor
// per kafka sensor of every active DAG, each a consumer group whose
// members pull records on ticks (tick_interval, max_tick_runtime), cut
// them into batches, and hand each batch to a RunSink that persists it as
// a run before its offsets are committed — no message is lost or run
// twice. The Manager also keeps tick history, pauses, and the LagMonitor,
// which judges each group with Burrow's rules. It holds the connection
// settings (ConnConfig: TLS, SASL/SCRAM), an offset reader and the
// producer behind `sluice produce`. The broker itself, for tests and
// the demo, is in engine/sensor/embedded.
package sensor
