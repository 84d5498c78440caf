package sensor

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// PartitionOffsets is one partition of a group as the broker reports it.
type PartitionOffsets struct {
	Topic     string
	Partition int32
	LogEnd    int64 // high watermark
	Committed int64 // -1 when the group never committed
	// Lag is LogEnd − Committed, or LogEnd when the group never committed.
	Lag int64
	// Owner is the client id of the member holding the partition; "" when
	// no live member does.
	Owner string
}

// GroupOffsets is a group's offsets and membership at one moment.
type GroupOffsets struct {
	Group      string
	State      string // Stable, PreparingRebalance, Empty, Dead, ...
	Members    int
	At         time.Time
	Partitions []PartitionOffsets // by topic, then partition
}

// OffsetReader reads consumer group offsets, like kafka-consumer-groups.sh
// --describe. It holds one client; not safe for concurrent use.
type OffsetReader struct {
	client sarama.Client
	admin  sarama.ClusterAdmin
}

// NewOffsetReader connects to the cluster.
func NewOffsetReader(conn ConnConfig) (*OffsetReader, error) {
	cfg, err := conn.Sarama()
	if err != nil {
		return nil, err
	}
	// Fail fast: a lag poll that hangs on a dead broker hides the outage.
	cfg.Net.DialTimeout = 3 * time.Second
	cfg.Net.ReadTimeout = 5 * time.Second
	cfg.Net.WriteTimeout = 5 * time.Second
	cfg.Metadata.Retry.Max = 1
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	cfg.Admin.Retry.Max = 1
	// Reading lag must not create the topic it asks about: a broker that
	// auto-creates topics would answer a typo with empty partitions, OK.
	cfg.Metadata.AllowAutoTopicCreation = false
	client, err := sarama.NewClient(conn.Brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to kafka: %w", explainConnErr(conn, err))
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("connecting to kafka: %w", err)
	}
	return &OffsetReader{client: client, admin: admin}, nil
}

// Close releases the connection.
func (r *OffsetReader) Close() error { return r.admin.Close() }

// Read returns group's offsets on topics; with no topics, on every topic the
// group has committed to or its members are assigned.
func (r *OffsetReader) Read(group string, topics []string) (GroupOffsets, error) {
	// Real time: the lag windows' rates divide by the time between reads
	// (the lag monitor stamps what it shows with its clock).
	out := GroupOffsets{Group: group, At: time.Now()}
	owners := map[topicPartition]string{}
	assigned := map[string]bool{}
	descs, err := r.admin.DescribeConsumerGroups([]string{group})
	if err != nil {
		return out, fmt.Errorf("describing group %q: %w", group, err)
	}
	for _, d := range descs {
		if d.GroupId != group {
			continue
		}
		if d.Err != sarama.ErrNoError && !errors.Is(d.Err, sarama.ErrGroupIDNotFound) {
			return out, fmt.Errorf("describing group %q: %w", group, d.Err)
		}
		out.State = d.State
		out.Members = len(d.Members)
		for _, m := range d.Members {
			a, err := m.GetMemberAssignment()
			if err != nil || a == nil {
				continue
			}
			for t, ps := range a.Topics {
				assigned[t] = true
				for _, p := range ps {
					owners[topicPartition{t, p}] = m.ClientId
				}
			}
		}
	}
	if out.State == "" {
		out.State = "Dead"
	}

	committed, err := r.committed(group)
	if err != nil {
		return out, err
	}
	if len(topics) == 0 {
		set := map[string]bool{}
		for tp := range committed {
			set[tp.topic] = true
		}
		for t := range assigned {
			set[t] = true
		}
		for t := range set {
			topics = append(topics, t)
		}
		sort.Strings(topics)
	}
	if len(topics) == 0 {
		return out, nil
	}
	ends, err := r.logEnds(topics)
	if err != nil {
		return out, err
	}
	for tp, end := range ends {
		po := PartitionOffsets{Topic: tp.topic, Partition: tp.partition, LogEnd: end, Committed: -1, Lag: end,
			Owner: owners[tp]}
		if c, ok := committed[tp]; ok && c >= 0 {
			po.Committed = c
			po.Lag = max(end-c, 0)
		}
		out.Partitions = append(out.Partitions, po)
	}
	slices.SortFunc(out.Partitions, func(a, b PartitionOffsets) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	return out, nil
}

// committed returns every committed offset of group. A group the broker does
// not know has committed nothing.
func (r *OffsetReader) committed(group string) (map[topicPartition]int64, error) {
	resp, err := r.admin.ListConsumerGroupOffsets(group, nil)
	out := map[topicPartition]int64{}
	if errors.Is(err, sarama.ErrGroupIDNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading committed offsets of %q: %w", group, err)
	}
	for t, ps := range resp.Blocks {
		for p, b := range ps {
			if b == nil || (b.Err != sarama.ErrNoError && !errors.Is(b.Err, sarama.ErrUnknownTopicOrPartition)) {
				continue
			}
			out[topicPartition{t, p}] = b.Offset
		}
	}
	return out, nil
}

// ErrNoTopic: a topic asked about does not exist on the cluster.
var ErrNoTopic = errors.New("does not exist")

// missingTopic names the topics of topics the cluster does not have.
func (r *OffsetReader) missingTopic(topics []string, err error) error {
	known, lerr := r.client.Topics()
	if lerr != nil {
		return fmt.Errorf("topic %s %w (%w)", quoteAll(topics), ErrNoTopic, err)
	}
	var missing []string
	for _, t := range topics {
		if !slices.Contains(known, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		missing = topics
	}
	return fmt.Errorf("topic %s %w", quoteAll(missing), ErrNoTopic)
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// logEnds asks each partition leader for its high watermarks, one request
// per broker.
func (r *OffsetReader) logEnds(topics []string) (map[topicPartition]int64, error) {
	if err := r.client.RefreshMetadata(topics...); err != nil {
		if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			return nil, r.missingTopic(topics, err)
		}
		return nil, fmt.Errorf("reading metadata of %v: %w", topics, err)
	}
	reqs := map[*sarama.Broker]*sarama.OffsetRequest{}
	for _, t := range topics {
		parts, err := r.client.Partitions(t)
		if err != nil {
			return nil, fmt.Errorf("listing partitions of %q: %w", t, err)
		}
		for _, p := range parts {
			leader, err := r.client.Leader(t, p)
			if err != nil {
				return nil, fmt.Errorf("finding leader of %s/%d: %w", t, p, err)
			}
			req := reqs[leader]
			if req == nil {
				req = sarama.NewOffsetRequest(r.client.Config().Version)
				reqs[leader] = req
			}
			req.AddBlock(t, p, sarama.OffsetNewest, 1)
		}
	}
	out := map[topicPartition]int64{}
	for broker, req := range reqs {
		resp, err := broker.GetAvailableOffsets(req)
		if err != nil {
			_ = broker.Close() // reconnect on the next read
			return nil, fmt.Errorf("reading log-end offsets from %s: %w", broker.Addr(), err)
		}
		for t, ps := range resp.Blocks {
			for p, b := range ps {
				if b.Err != sarama.ErrNoError {
					return nil, fmt.Errorf("reading log-end offset of %s/%d: %w", t, p, b.Err)
				}
				if len(b.Offsets) > 0 {
					out[topicPartition{t, p}] = b.Offsets[0]
				}
			}
		}
	}
	return out, nil
}
