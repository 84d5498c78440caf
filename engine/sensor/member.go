package sensor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/cenkalti/backoff/v5"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// A member is one consumer-group member of a sensor (one of its replicas).
// Two goroutines: consume keeps the group membership alive and hands records
// from sarama's claims to the tick loop through in; tick pulls from in, turns
// records into persisted runs, then marks and commits their offsets.
//
// Offsets are committed only after the run carrying them is persisted, and
// only for records handed over by a claim that is still live, so a crash or
// a rebalance at any point re-delivers from the last persisted offset at
// worst; the store then recognises what it already holds.
type member struct {
	s     *Sensor
	index int
	in    chan delivered

	mu       sync.Mutex
	connErr  error                                    // sticky: set when connecting or consuming fails, cleared by a new session
	events   []timedErr                               // errors sarama reported (fetch, commit); drained by the next tick
	sessions map[sarama.ConsumerGroupSession]struct{} // between Setup and Cleanup

	lastLogged   string // the last error logged at warning level, and when
	lastLoggedAt time.Time

	commitReq chan struct{} // one slot: a pending request to commit

	// Owned by the tick goroutine.
	bufs map[topicPartition]*partitionBuffer
}

type topicPartition struct {
	topic     string
	partition int32
}

// delivered is one record with the claim that delivered it.
type delivered struct {
	msg   *sarama.ConsumerMessage
	claim *claimToken
}

// claimToken is one ConsumeClaim call: its session marks and commits the
// record's offset, and only while the claim is live.
type claimToken struct {
	sess  sarama.ConsumerGroupSession
	claim sarama.ConsumerGroupClaim
	done  chan struct{} // closed when ConsumeClaim returns
}

func (c *claimToken) live() bool {
	select {
	case <-c.done:
		return false
	default:
		return c.sess.Context().Err() == nil
	}
}

// partitionBuffer holds records pulled but not yet persisted, in offset order.
type partitionBuffer struct {
	msgs []delivered
}

type timedErr struct {
	at  time.Time
	err error
}

func newMember(s *Sensor, index int) *member {
	return &member{
		s:         s,
		index:     index,
		in:        make(chan delivered, min(max(256, s.spec.MaxBatchSize), 4096)),
		bufs:      make(map[topicPartition]*partitionBuffer),
		sessions:  make(map[sarama.ConsumerGroupSession]struct{}),
		commitReq: make(chan struct{}, 1),
	}
}

func (m *member) setConnErr(err error) {
	m.mu.Lock()
	m.connErr = err
	m.mu.Unlock()
	m.logErr(err)
}

func (m *member) reportErr(err error) {
	m.mu.Lock()
	if len(m.events) < 100 {
		m.events = append(m.events, timedErr{at: m.s.env.clock.Now(), err: err})
	}
	m.mu.Unlock()
	m.logErr(err)
}

// logErr logs a consumer error at warning level once, and its repeats at
// debug level for a while: a broker outage makes sarama report the same
// failure for every partition at every retry, which would drown the logs
// pane.
func (m *member) logErr(err error) {
	msg := err.Error()
	m.mu.Lock()
	repeat := msg == m.lastLogged && time.Since(m.lastLoggedAt) < time.Minute
	if !repeat {
		m.lastLogged, m.lastLoggedAt = msg, time.Now()
	}
	m.mu.Unlock()
	level := slog.LevelWarn
	if repeat {
		level = slog.LevelDebug
	}
	m.s.log.Log(context.Background(), level, "kafka sensor consumer", "member", m.index, "err", err)
}

// takeErrors returns the errors reported since the last call, and the
// connection error if one is standing.
func (m *member) takeErrors() (events []timedErr, conn error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	events, m.events = m.events, nil
	return events, m.connErr
}

// consume keeps the member in its group until ctx ends, reconnecting with
// backoff when the cluster is unreachable. While the sensor is paused the
// member is out of its group: Kafka takes an operator's offset reset only
// for an empty group, and a member that stayed would commit over it.
func (m *member) consume(ctx context.Context) {
	bo := m.s.env.newBackoff()
	for ctx.Err() == nil {
		if !m.s.waitRunnable(ctx, time.Time{}) {
			return
		}
		cfg, err := m.s.env.consumerConfig(m.s.spec, m.index)
		if err != nil {
			m.setConnErr(err)
			return
		}
		group, err := sarama.NewConsumerGroup(m.s.env.conn.Brokers, m.s.spec.Group, cfg)
		if err != nil {
			m.setConnErr(fmt.Errorf("connecting to kafka: %w", explainConnErr(m.s.env.conn, err)))
			if !sleepCtx(ctx, bo.NextBackOff()) {
				return
			}
			continue
		}
		sctx, stop := m.s.untilPaused(ctx)
		m.session(sctx, group, bo)
		stop()
	}
}

func (m *member) session(ctx context.Context, group sarama.ConsumerGroup, bo *backoff.ExponentialBackOff) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for err := range group.Errors() {
			m.reportErr(err)
		}
	}()
	defer func() {
		// Close leaves the group and commits what was marked, which is
		// only ever what is persisted.
		if err := group.Close(); err != nil && ctx.Err() == nil {
			m.s.log.Debug("closing consumer group", "member", m.index, "err", err)
		}
		wg.Wait()
	}()
	h := &claimHandler{m: m}
	for ctx.Err() == nil {
		err := group.Consume(ctx, m.s.spec.Topics, h)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			bo.Reset()
			continue // a rebalance ended the session: join the next one
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return
		}
		// The member could not join (or sync, or fetch its offsets). Trying
		// again under the same member id keeps a coordinator that waits for
		// that id — or for members killed with -9 — in PreparingRebalance:
		// leave the group (the deferred Close sends LeaveGroup) and join as
		// a new member with a fresh client, from the bootstrap brokers.
		m.setConnErr(fmt.Errorf("consuming %v: %w", m.s.spec.Topics, explainConnErr(m.s.env.conn, err)))
		m.s.log.Info("kafka sensor member could not join its group: leaving it to rejoin with a fresh session", "member", m.index, "err", err)
		sleepCtx(ctx, bo.NextBackOff())
		return
	}
}

type claimHandler struct{ m *member }

func (h *claimHandler) Setup(sess sarama.ConsumerGroupSession) error {
	h.m.mu.Lock()
	h.m.connErr = nil
	h.m.sessions[sess] = struct{}{}
	h.m.mu.Unlock()
	h.m.s.log.Debug("kafka sensor joined group", "member", h.m.index, "generation", sess.GenerationID(), "claims", sess.Claims())
	return nil
}

func (h *claimHandler) Cleanup(sess sarama.ConsumerGroupSession) error {
	h.m.mu.Lock()
	delete(h.m.sessions, sess)
	h.m.mu.Unlock()
	return nil
}

func (h *claimHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	tok := &claimToken{sess: sess, claim: claim, done: make(chan struct{})}
	defer close(tok.done)
	done := sess.Context().Done()
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			select {
			case h.m.in <- delivered{msg: msg, claim: tok}:
			case <-done:
				return nil
			}
		case <-done:
			return nil
		}
	}
}

// tickLoop ticks until ctx ends: a tick, then tick_interval (or a backoff
// after a failed tick), while the sensor is not paused.
func (m *member) tickLoop(ctx context.Context) {
	bo := m.s.env.newBackoff()
	var next time.Time
	for {
		if !m.s.waitRunnable(ctx, next) {
			return
		}
		rec := m.tick(ctx)
		if ctx.Err() != nil && rec.Batches == 0 && rec.Error == "" {
			return // shutdown cut the tick short; nothing worth recording
		}
		m.s.recordTick(rec)
		if rec.Error != "" {
			next = time.Now().Add(bo.NextBackOff())
		} else {
			bo.Reset()
			next = time.Now().Add(m.s.spec.TickInterval)
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// Tick skip reasons.
const (
	SkipBackpressure = "backpressure"
	SkipPaused       = "paused"
)

// tick pulls and persists batches until max_tick_runtime, the end of the
// stream, backpressure, pause or an error.
func (m *member) tick(ctx context.Context) TickRecord {
	sp := m.s.spec
	began := time.Now() // the deadline and the duration: real time
	rec := TickRecord{DAG: sp.DAG, Sensor: sp.Index, Member: m.index, Start: m.s.env.clock.Now()}
	deadline := began.Add(sp.MaxTickRuntime)
	var tickErr error
	for ctx.Err() == nil {
		if m.s.Paused() {
			rec.Skipped = SkipPaused
			break
		}
		queued, err := m.s.env.sink.QueuedCount(ctx, sp.DAG)
		if err != nil {
			tickErr = fmt.Errorf("counting queued runs: %w", err)
			break
		}
		room := sp.MaxQueued - queued
		if room <= 0 {
			rec.Skipped = fmt.Sprintf("%s: %d queued runs, bound %d", SkipBackpressure, queued, sp.MaxQueued)
			break
		}
		pollUntil := time.Now().Add(m.s.env.tun.pollTimeout)
		if pollUntil.After(deadline) {
			pollUntil = deadline
		}
		got, full := m.pull(ctx, pollUntil)
		// A full partition buffer makes a batch now; the rest keep filling
		// unless the pull ran dry, the stream being slower than a batch.
		batches := m.cut(room, full && time.Now().Before(deadline))
		n, k, ranges, err := m.persistAll(ctx, batches)
		rec.Batches += k
		rec.Messages += n
		rec.Ranges = append(rec.Ranges, ranges...)
		if err != nil {
			tickErr = err
		}
		m.requestCommit()
		if tickErr != nil || (got == 0 && len(batches) == 0) || !time.Now().Before(deadline) {
			break
		}
	}
	events, connErr := m.takeErrors()
	switch {
	case tickErr != nil:
	case len(events) > 0:
		tickErr = events[len(events)-1].err
	case connErr != nil && rec.Messages == 0:
		tickErr = connErr
	}
	if tickErr != nil && !errors.Is(tickErr, context.Canceled) {
		rec.Error = tickErr.Error()
	}
	rec.Duration = time.Since(began)
	return rec
}

// pull moves records from the claims into the partition buffers until one
// buffer holds max_batch_size records (full=true) or until passes. It
// returns how many records it accepted.
func (m *member) pull(ctx context.Context, until time.Time) (got int, full bool) {
	limit := m.s.spec.MaxBatchSize
	for _, b := range m.bufs {
		if len(b.msgs) >= limit {
			return 0, true
		}
	}
	paused, pauseCh := m.s.pauseState()
	if paused {
		return 0, false
	}
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	for {
		select {
		case d := <-m.in:
			if n := m.accept(d); n > 0 {
				got++
				if n >= limit {
					return got, true
				}
			}
		case <-timer.C:
			return got, false
		case <-ctx.Done():
			return got, false
		case <-pauseCh:
			return got, false
		}
	}
}

func (m *member) buffered() int {
	n := 0
	for _, b := range m.bufs {
		n += len(b.msgs)
	}
	return n
}

// accept buffers a record and returns the length of its partition's buffer
// (0 when the record was dropped). A record at or below the newest buffered
// offset of its partition is a re-delivery (a new session starts again from
// the committed offset): it replaces the buffered tail from that offset on.
func (m *member) accept(d delivered) int {
	if !d.claim.live() {
		return 0
	}
	k := topicPartition{d.msg.Topic, d.msg.Partition}
	b := m.bufs[k]
	if b == nil {
		b = &partitionBuffer{msgs: make([]delivered, 0, m.s.spec.MaxBatchSize)}
		m.bufs[k] = b
	}
	if n := len(b.msgs); n > 0 && d.msg.Offset <= b.msgs[n-1].msg.Offset {
		i, _ := slices.BinarySearchFunc(b.msgs, d.msg.Offset, func(x delivered, off int64) int {
			return int(min(max(x.msg.Offset-off, -1), 1))
		})
		b.msgs = b.msgs[:i]
	}
	b.msgs = append(b.msgs, d)
	return len(b.msgs)
}

type pendingBatch struct {
	tp   topicPartition
	msgs []delivered
}

// cut takes at most room batches out of the buffers, one per partition,
// fullest first; with onlyFull, only buffers holding max_batch_size. Records
// whose claim ended are dropped on the way (their new owner reads them
// again).
func (m *member) cut(room int, onlyFull bool) []pendingBatch {
	keys := make([]topicPartition, 0, len(m.bufs))
	for k, b := range m.bufs {
		b.msgs = slices.DeleteFunc(b.msgs, func(d delivered) bool { return !d.claim.live() })
		if len(b.msgs) == 0 {
			delete(m.bufs, k)
			continue
		}
		if onlyFull && len(b.msgs) < m.s.spec.MaxBatchSize {
			continue
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b topicPartition) int {
		if d := len(m.bufs[b].msgs) - len(m.bufs[a].msgs); d != 0 {
			return d
		}
		if a.topic != b.topic {
			if a.topic < b.topic {
				return -1
			}
			return 1
		}
		return int(a.partition - b.partition)
	})
	var out []pendingBatch
	for _, k := range keys {
		if len(out) >= room {
			break
		}
		out = append(out, pendingBatch{tp: k, msgs: m.bufs[k].msgs})
		delete(m.bufs, k)
	}
	return out
}

// persistAll persists the batches of one pull side by side (the store
// commits concurrent writes in one transaction), then marks, for each, the
// offset after the last record now in a run. Records not in a run (a
// failed write, the tail of a shortened batch) go back to the buffer: the
// claim will not deliver them again, and marking a later batch of the
// partition would commit past them. It returns the records and batches
// newly persisted and the first error.
func (m *member) persistAll(ctx context.Context, batches []pendingBatch) (msgs, persisted int, ranges []api.TickRange, err error) {
	results := make([]persistResult, len(batches))
	if len(batches) == 1 {
		results[0] = m.persist(ctx, batches[0])
	} else {
		var wg sync.WaitGroup
		for i, pb := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = m.persist(ctx, pb)
			}()
		}
		wg.Wait()
	}
	for i, r := range results {
		pb := batches[i]
		if r.n > 0 {
			msgs += r.n
			persisted++
			ranges = append(ranges, r.rng)
		}
		if r.err != nil && err == nil {
			err = r.err
		}
		if r.done < len(pb.msgs) {
			m.bufs[pb.tp] = &partitionBuffer{msgs: pb.msgs[r.done:]}
		}
		if r.done == 0 {
			continue
		}
		last := pb.msgs[r.done-1]
		if last.claim.live() {
			last.claim.sess.MarkOffset(pb.tp.topic, pb.tp.partition, last.msg.Offset+1, "")
		}
	}
	return msgs, persisted, ranges, err
}

// persistResult is what became of one pending batch: its first done records
// are in runs (now or before), n of them newly.
type persistResult struct {
	done int
	n    int
	rng  api.TickRange // the new run's batch, when n > 0
	err  error
}

// persist writes one batch as a run, trimmed of what earlier runs of the DAG
// carry.
func (m *member) persist(ctx context.Context, pb pendingBatch) persistResult {
	s := m.s
	// One writer per partition: the check of what is persisted and the
	// insert must not interleave with another replica's for the same
	// partition during a rebalance.
	mu := s.partitionLock(pb.tp)
	mu.Lock()
	defer mu.Unlock()
	// Across instances the store is the lock: a batch cut at other
	// boundaries by a replica elsewhere (around a rebalance) is refused
	// with store.ErrBatchOverlap, and re-reading what is persisted trims
	// it. A few rounds settle it; the next tick retries past that.
	var res persistResult
	for range 3 {
		if res = m.persistTrimmed(ctx, pb); !errors.Is(res.err, store.ErrBatchOverlap) {
			break
		}
		s.log.Info("batch overlaps one persisted by another replica; trimming again", "err", res.err)
	}
	return res
}

// persistTrimmed is one round of persist, under the partition's lock.
func (m *member) persistTrimmed(ctx context.Context, pb pendingBatch) persistResult {
	s := m.s
	sp := s.spec
	through, ok, err := s.env.sink.PersistedThrough(ctx, sp.DAG, pb.tp.topic, pb.tp.partition)
	if err != nil {
		return persistResult{err: fmt.Errorf("reading persisted offsets of %s/%d: %w", pb.tp.topic, pb.tp.partition, err)}
	}
	if hwm := pb.msgs[len(pb.msgs)-1].claim.claim.HighWaterMarkOffset(); ok && through >= hwm {
		// Runs carry offsets the log does not have: the topic was deleted
		// and created again. Those runs say nothing about this log.
		s.log.Warn("runs carry offsets beyond the partition's end; the topic was recreated, consuming it afresh",
			"topic", pb.tp.topic, "partition", pb.tp.partition, "persisted_through", through, "log_end", hwm)
		ok = false
	}
	skip := 0
	if ok {
		for skip < len(pb.msgs) && pb.msgs[skip].msg.Offset <= through {
			skip++
		}
	}
	res := persistResult{done: skip}
	msgs := pb.msgs[skip:]
	for len(msgs) > 0 {
		b := toBatch(msgs)
		run, dup, err := s.env.sink.EnqueueBatch(ctx, sp.DAG, b)
		if errors.Is(err, ErrBatchConflict) && len(msgs) > 1 {
			// Another DAG's run holds this exact range (the store keys
			// batches by range alone): one record shorter is another
			// range; the record left over starts the next batch.
			msgs = msgs[:len(msgs)-1]
			continue
		}
		if err != nil {
			res.err = fmt.Errorf("persisting batch %s: %w", b.Key(), err)
			return res
		}
		res.done += len(msgs)
		if !dup {
			res.n = len(msgs)
			res.rng = api.TickRange{Topic: b.Topic, Partition: b.Partition, First: b.First, Last: b.Last, Run: run}
		}
		if hook := s.env.tun.afterPersist; hook != nil {
			if err := hook(b); err != nil {
				res.err = err
				res.done = 0 // a crash: nothing gets marked
			}
		}
		break
	}
	return res
}

// requestCommit asks the committer to flush marked offsets; requests
// coalesce. The tick asks after every pull, busy or idle, which is also how
// a failed commit gets retried once the stream has gone quiet.
func (m *member) requestCommit() {
	select {
	case m.commitReq <- struct{}{}:
	default:
	}
}

// committer commits marked offsets of the live sessions off the tick's
// path: a commit waits behind the fetch long-poll on the coordinator's
// connection (up to fetch_max_wait), and ticks should not. Only offsets of
// persisted batches are ever marked, so committing later is never
// committing early. A session with nothing marked sends nothing; sarama
// reports a failed commit on the group's error channel and keeps the
// offsets marked for the next one.
func (m *member) committer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return // the session's close commits what is marked
		case <-m.commitReq:
		}
		m.mu.Lock()
		sessions := make([]sarama.ConsumerGroupSession, 0, len(m.sessions))
		for sess := range m.sessions {
			sessions = append(sessions, sess)
		}
		m.mu.Unlock()
		for _, sess := range sessions {
			if sess.Context().Err() == nil {
				sess.Commit()
			}
		}
	}
}

func toBatch(msgs []delivered) *Batch {
	first, last := msgs[0].msg, msgs[len(msgs)-1].msg
	b := &Batch{Topic: first.Topic, Partition: first.Partition, First: first.Offset, Last: last.Offset,
		Messages: make([]Message, len(msgs))}
	for i, d := range msgs {
		m := d.msg
		out := &b.Messages[i]
		*out = Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Timestamp: m.Timestamp,
			Key: m.Key, Value: m.Value}
		if len(m.Headers) > 0 {
			out.Headers = make([]Header, len(m.Headers))
			for j, h := range m.Headers {
				out.Headers[j] = Header{Key: string(h.Key), Value: h.Value}
			}
		}
	}
	return b
}

// sleepCtx waits d or until ctx ends; false means ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
