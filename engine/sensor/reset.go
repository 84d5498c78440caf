package sensor

import (
	"errors"
	"fmt"
	"slices"

	"github.com/IBM/sarama"

	"github.com/sluice-dev/sluice/engine/api"
)

// ErrGroupActive: the group has live members, and Kafka takes offsets
// from outside a group only while it is empty (a paused sensor leaves its
// group; a sensor of another process, or another consumer, may not).
var ErrGroupActive = errors.New("the consumer group has live members")

// OffsetMove is one partition of a reset: where the group is and where it
// goes, with the log's bounds.
type OffsetMove struct {
	Topic     string
	Partition int32
	Current   int64 // committed, -1 when never
	New       int64
	LogStart  int64
	LogEnd    int64
}

// PlanReset resolves where a reset of group on topics would move each
// partition, without changing anything. offsets (with api.ToOffset) maps
// partitions to offsets; a partition it leaves out stays where it is.
// Offsets outside the log are clamped to it, as Kafka's own tool does.
func (r *OffsetReader) PlanReset(group string, topics []string, to api.OffsetTarget, atMillis int64, offsets map[int32]int64) ([]OffsetMove, error) {
	if err := r.client.RefreshMetadata(topics...); err != nil {
		return nil, fmt.Errorf("reading metadata of %v: %w", topics, err)
	}
	committed, err := r.committed(group)
	if err != nil {
		return nil, err
	}
	var out []OffsetMove
	for _, t := range topics {
		parts, err := r.client.Partitions(t)
		if err != nil {
			return nil, fmt.Errorf("listing partitions of %q: %w", t, err)
		}
		slices.Sort(parts)
		for _, p := range parts {
			mv := OffsetMove{Topic: t, Partition: p, Current: -1}
			if c, ok := committed[topicPartition{t, p}]; ok && c >= 0 {
				mv.Current = c
			}
			if mv.LogStart, err = r.client.GetOffset(t, p, sarama.OffsetOldest); err != nil {
				return nil, fmt.Errorf("reading the log start of %s/%d: %w", t, p, err)
			}
			if mv.LogEnd, err = r.client.GetOffset(t, p, sarama.OffsetNewest); err != nil {
				return nil, fmt.Errorf("reading the log end of %s/%d: %w", t, p, err)
			}
			switch to {
			case api.ToEarliest:
				mv.New = mv.LogStart
			case api.ToLatest:
				mv.New = mv.LogEnd
			case api.ToTime:
				off, err := r.client.GetOffset(t, p, atMillis)
				if err != nil {
					return nil, fmt.Errorf("finding the offset of %s/%d at %d ms: %w", t, p, atMillis, err)
				}
				if off < 0 { // no record that late
					off = mv.LogEnd
				}
				mv.New = off
			case api.ToOffset:
				off, ok := offsets[p]
				if !ok {
					if mv.Current < 0 {
						continue // never committed and not named: nothing to move
					}
					off = mv.Current
				}
				mv.New = off
			default:
				return nil, fmt.Errorf("unknown offset target %q", to)
			}
			mv.New = min(max(mv.New, mv.LogStart), mv.LogEnd)
			out = append(out, mv)
		}
	}
	if to == api.ToOffset {
		for p := range offsets {
			if !slices.ContainsFunc(out, func(m OffsetMove) bool { return m.Partition == p }) {
				return nil, fmt.Errorf("no partition %d in %v", p, topics)
			}
		}
	}
	return out, nil
}

// LiveMembers counts the members of group the coordinator knows.
func (r *OffsetReader) LiveMembers(group string) (int, error) {
	descs, err := r.admin.DescribeConsumerGroups([]string{group})
	if err != nil {
		return 0, fmt.Errorf("describing group %q: %w", group, err)
	}
	n := 0
	for _, d := range descs {
		if d.GroupId == group {
			n += len(d.Members)
		}
	}
	return n, nil
}

// CommitReset commits moves for group through sarama's offset manager (a
// commit from outside the group, which Kafka accepts only while it is
// empty), then reads the offsets back: a commit the broker refused is an
// error, not a silent no-op.
func (r *OffsetReader) CommitReset(group string, moves []OffsetMove) error {
	if n, err := r.LiveMembers(group); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("resetting offsets of %q: %w (%d)", group, ErrGroupActive, n)
	}
	om, err := sarama.NewOffsetManagerFromClient(group, r.client)
	if err != nil {
		return fmt.Errorf("managing offsets of %q: %w", group, err)
	}
	poms := make([]sarama.PartitionOffsetManager, 0, len(moves))
	for _, mv := range moves {
		pom, err := om.ManagePartition(mv.Topic, mv.Partition)
		if err != nil {
			for _, p := range poms {
				p.AsyncClose()
			}
			_ = om.Close()
			if errors.Is(err, sarama.ErrGroupIDNotFound) {
				return fmt.Errorf("resetting offsets of %q: %w: it never committed, so its sensor starts at its initial_offset", group, err)
			}
			return fmt.Errorf("managing offsets of %s/%d in %q: %w", mv.Topic, mv.Partition, group, err)
		}
		// The manager moves an offset back only with ResetOffset, and
		// forward only with MarkOffset.
		if next, _ := pom.NextOffset(); mv.New < next {
			pom.ResetOffset(mv.New, "")
		} else {
			pom.MarkOffset(mv.New, "")
		}
		pom.AsyncClose()
		poms = append(poms, pom)
	}
	om.Commit()
	if err := om.Close(); err != nil {
		return fmt.Errorf("committing offsets of %q: %w", group, err)
	}
	got, err := r.committed(group)
	if err != nil {
		return err
	}
	for _, mv := range moves {
		if c := got[topicPartition{mv.Topic, mv.Partition}]; c != mv.New {
			return fmt.Errorf("committing offsets of %q: %s/%d is at %d, not %d: the broker refused the commit (did a member join?)",
				group, mv.Topic, mv.Partition, c, mv.New)
		}
	}
	return nil
}
