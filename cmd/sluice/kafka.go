package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/flags"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

func init() {
	register(command{name: "produce", summary: "publish test messages to a Kafka topic at a steady rate", run: runProduce})
	register(command{name: "lag", summary: "show a consumer group's lag per partition, with Burrow-style status", run: runLag})
	register(command{name: "broker", summary: "run an embedded Kafka broker for local trials", run: runBroker})
}

const kafkaConnHelp = `Connection flags default to the environment: SLUICE_KAFKA_BROKERS,
SLUICE_KAFKA_CLIENT_ID, SLUICE_KAFKA_VERSION, SLUICE_KAFKA_TLS,
SLUICE_KAFKA_TLS_CA, SLUICE_KAFKA_TLS_CERT, SLUICE_KAFKA_TLS_KEY,
SLUICE_KAFKA_TLS_INSECURE_SKIP_VERIFY, SLUICE_KAFKA_SASL_MECHANISM,
SLUICE_KAFKA_SASL_USERNAME and SLUICE_KAFKA_SASL_PASSWORD (the password has
no flag: it would show in ps; use the variable or --sasl-password-file).
`

// kafkaFlags is a FlagSet with the connection flags registered on a
// configuration read from the environment.
func kafkaFlags(name, usage string, env *cliEnv) (*flag.FlagSet, *sensor.ConnConfig, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	conn, err := flags.KafkaFromEnv(env.getenv)
	flags.RegisterKafka(fs, &conn, "")
	setUsage(fs, env.stderr, usage+"\n"+kafkaConnHelp)
	return fs, &conn, err
}

// parseKafkaFlags parses args; ok=false means return code now.
func parseKafkaFlags(fs *flag.FlagSet, env *cliEnv, args []string, envErr error) (code int, ok bool) {
	if err := parseArgs(env, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "sluice %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		seeHelp(env.stderr, fs)
		return exitUsage, false
	}
	if envErr != nil {
		fmt.Fprintf(env.stderr, "sluice %s: %v\n", fs.Name(), envErr)
		return exitUsage, false
	}
	return exitOK, true
}

const produceUsage = `Usage: sluice produce --brokers B --topic T [--rate N] [--count M] [--size BYTES] [--key-mode none|seq|random]

Publishes test messages at a steady rate (message n is due at start + n/rate,
so a slow moment is caught up) until --count messages or Ctrl-C, reports
progress every second on stderr, then the achieved rate on stdout.

Exit status: 0 every message acknowledged, 1 some failed, 2 usage error or
no connection.
`

func runProduce(ctx context.Context, env *cliEnv, args []string) int {
	fs, conn, envErr := kafkaFlags("produce", produceUsage, env)
	topic := fs.String("topic", "", "topic to publish to (required)")
	rate := fs.Float64("rate", 100, "messages per second (0: as fast as the broker takes them)")
	count := fs.Int64("count", 0, "stop after this many messages (0: until interrupted)")
	size := fs.Int("size", 100, "value size in bytes")
	keyMode := fs.String("key-mode", sensor.KeyNone, "message keys: none, seq (the sequence number) or random")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if code, ok := parseKafkaFlags(fs, env, args, envErr); !ok {
		return code
	}
	if *topic == "" || *rate < 0 || *count < 0 || *size <= 0 {
		fmt.Fprintln(env.stderr, "sluice produce: --topic is required; --rate, --count and --size cannot be negative")
		return exitUsage
	}
	opts := sensor.ProduceOptions{Topic: *topic, Rate: *rate, Count: *count, Size: *size, KeyMode: *keyMode}
	if !*quiet {
		opts.Progress = func(st sensor.ProduceStats) {
			fmt.Fprintf(env.stderr, "%8.1fs  %d sent  %d acked  %d failed  %.1f msg/s\n",
				st.Elapsed.Seconds(), st.Sent, st.Acked, st.Failed, st.Rate)
		}
	}
	st, err := sensor.Produce(ctx, *conn, opts)
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice produce: %v\n", err)
		if errors.Is(err, sensor.ErrConfig) || st.Sent == 0 {
			return exitUsage
		}
		return exitFailed
	}
	target := "as fast as possible"
	if *rate > 0 {
		target = fmt.Sprintf("target %g msg/s", *rate)
	}
	fmt.Fprintf(env.stdout, "produced %d messages to %s in %.2fs: %d acked, %d failed, %.1f msg/s (%s)\n",
		st.Sent, *topic, st.Elapsed.Seconds(), st.Acked, st.Failed, st.Rate, target)
	if st.Failed > 0 || st.Acked < st.Sent {
		if st.LastErr != nil {
			fmt.Fprintf(env.stderr, "sluice produce: last error: %v\n", st.LastErr)
		}
		return exitFailed
	}
	return exitOK
}

const lagUsage = `Usage: sluice lag --brokers B --group G [--topic T] [--json]

Prints a consumer group's offsets per partition, like
kafka-consumer-groups.sh --describe: TOPIC PARTITION CURRENT-OFFSET
LOG-END-OFFSET LAG STATUS. CURRENT-OFFSET is "-" (-1 in JSON) for a partition
the group never committed; its lag is then the log-end offset. Without
--topic, every topic the group committed to or is assigned.

STATUS follows Burrow's rules (OK, WARN, STALL, STOP, ERR) over --samples
readings --interval apart; one sample can only tell OK.

Exit status: 0 the group is OK, 1 it is WARN or ERR, 2 usage error, no
connection, or a --topic the cluster does not have (never created by
asking).
`

// lagRow is one partition, also the --json shape.
type lagRow struct {
	Topic         string        `json:"topic"`
	Partition     int32         `json:"partition"`
	CurrentOffset int64         `json:"current_offset"`
	LogEndOffset  int64         `json:"log_end_offset"`
	Lag           int64         `json:"lag"`
	Status        api.LagStatus `json:"status"`
}

func runLag(ctx context.Context, env *cliEnv, args []string) int {
	fs, conn, envErr := kafkaFlags("lag", lagUsage, env)
	group := fs.String("group", "", "consumer group (required)")
	topic := fs.String("topic", "", "only this topic (default: every topic of the group)")
	asJSON := fs.Bool("json", false, "print a JSON array of partitions")
	samples := fs.Int("samples", 3, "readings to evaluate the status over")
	interval := fs.Duration("interval", time.Second, "time between readings")
	if code, ok := parseKafkaFlags(fs, env, args, envErr); !ok {
		return code
	}
	if *group == "" || *samples < 1 || *interval <= 0 {
		fmt.Fprintln(env.stderr, "sluice lag: --group is required; --samples and --interval must be positive")
		return exitUsage
	}
	var topics []string
	if *topic != "" {
		topics = []string{*topic}
	}
	reader, err := sensor.NewOffsetReader(*conn)
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice lag: %v\n", err)
		return exitUsage
	}
	defer reader.Close()

	windows := map[string][]sensor.OffsetSample{}
	var last sensor.GroupOffsets
	for i := range *samples {
		if i > 0 {
			select {
			case <-ctx.Done():
				return exitUsage
			case <-time.After(*interval):
			}
		}
		if last, err = reader.Read(*group, topics); err != nil {
			fmt.Fprintf(env.stderr, "sluice lag: %v\n", err)
			return exitUsage
		}
		for _, p := range last.Partitions {
			k := fmt.Sprintf("%s/%d", p.Topic, p.Partition)
			windows[k] = append(windows[k], sensor.OffsetSample{At: last.At, Committed: p.Committed, LogEnd: p.LogEnd, Lag: p.Lag})
		}
	}
	if len(last.Partitions) == 0 {
		fmt.Fprintf(env.stderr, "sluice lag: group %q has no committed offsets and no members; name a --topic\n", *group)
		return exitUsage
	}
	rows := make([]lagRow, 0, len(last.Partitions))
	var statuses []api.LagStatus
	var total int64
	for _, p := range last.Partitions {
		st := sensor.EvaluatePartition(windows[fmt.Sprintf("%s/%d", p.Topic, p.Partition)], p.Owner != "", last.At)
		statuses = append(statuses, st)
		total += p.Lag
		rows = append(rows, lagRow{Topic: p.Topic, Partition: p.Partition, CurrentOffset: p.Committed,
			LogEndOffset: p.LogEnd, Lag: p.Lag, Status: st})
	}
	groupStatus := sensor.EvaluateGroup(statuses)
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return exitUsage
		}
	} else {
		printLagTable(env.stdout, rows)
		fmt.Fprintf(env.stdout, "\ngroup %s: state %s, %d members, total lag %d, status %s\n",
			*group, last.State, last.Members, total, groupStatus)
	}
	if groupStatus != api.LagOK {
		return exitFailed
	}
	return exitOK
}

func printLagTable(w io.Writer, rows []lagRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tSTATUS")
	for _, r := range rows {
		cur := fmt.Sprint(r.CurrentOffset)
		if r.CurrentOffset < 0 {
			cur = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\n", r.Topic, r.Partition, cur, r.LogEndOffset, r.Lag, r.Status)
	}
	tw.Flush()
}

const brokerUsage = `Usage: sluice broker [--listen ADDR] [--partitions N] [--topics a,b] [--data-dir DIR]

Runs an embedded Kafka cluster (franz-go's kfake, the real wire protocol)
until interrupted, for local trials with sluice produce, sluice lag and
sensors. With --data-dir the log and group offsets survive a restart on the
same address; without, everything is in memory. Topics are also created on
first use, with --partitions partitions.
`

func runBroker(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	listen := fs.String("listen", "127.0.0.1:9092", "address of the first broker (more brokers take the next ports)")
	advertise := fs.String("advertise", "", "host clients are told to connect to (default: the listen host, 127.0.0.1 for 0.0.0.0)")
	partitions := fs.Int("partitions", 3, "partitions per topic")
	topics := fs.String("topics", "", "comma-separated topics to create at start")
	dataDir := fs.String("data-dir", "", "persist the log here (default: in memory)")
	brokers := fs.Int("brokers", 1, "number of brokers")
	setUsage(fs, env.stderr, brokerUsage)
	if code, ok := parseKafkaFlags(fs, env, args, nil); !ok {
		return code
	}
	if *partitions < 1 || *brokers < 1 {
		fmt.Fprintln(env.stderr, "sluice broker: --partitions and --brokers must be at least 1")
		return exitUsage
	}
	var names []string
	for _, t := range strings.Split(*topics, ",") {
		if t = strings.TrimSpace(t); t != "" {
			names = append(names, t)
		}
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := embedded.Start(embedded.Options{Listen: *listen, Advertise: *advertise, Brokers: *brokers,
		Partitions: int32(*partitions), Topics: names, DataDir: *dataDir, Logger: log})
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice broker: %v\n", err)
		return exitUsage
	}
	storage := "in memory"
	if *dataDir != "" {
		storage = "data in " + *dataDir
	}
	fmt.Fprintf(env.stdout, "kafka broker listening on %s (%s; topics: %s)\n",
		strings.Join(b.Addrs(), ","), storage, strings.Join(append([]string(nil), names...), ","))
	fmt.Fprintf(env.stdout, "try: SLUICE_KAFKA_BROKERS=%s sluice produce --topic events --rate 100\n", b.Addrs()[0])
	<-ctx.Done()
	b.Close()
	fmt.Fprintln(env.stdout, "kafka broker stopped")
	return exitOK
}
