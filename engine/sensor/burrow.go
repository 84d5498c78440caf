package sensor

import (
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// OffsetSample is one observation of a partition by the lag monitor.
type OffsetSample struct {
	At        time.Time
	Committed int64 // -1 while the group never committed
	LogEnd    int64
	Lag       int64
}

// EvaluatePartition applies Burrow's consumer lag evaluation rules to a
// window of samples (oldest first). owned says whether a live group member
// holds the partition now.
//
// Burrow evaluates the commit log, so it knows when a consumer last
// committed; a monitor that polls committed offsets does not. The one place
// that matters is telling STOP (nobody is committing) from STALL (a consumer
// is there and commits, but the offset does not move): here group
// membership is the liveness signal. The rules, in Burrow's order:
//
//  1. Lag zero at any sample of the window (or now): OK.
//  2. The committed offset goes backwards: ERR (Burrow's REWIND).
//  3. The offset has not moved for longer than it moved before that (now −
//     last change > last change − window start): STOP when no member owns
//     the partition, STALL when one does. A window with a constant offset is
//     Burrow's stall rule.
//  4. The offset moves but lag never decreases between samples: WARN.
//  5. Otherwise OK.
//
// Fewer than two samples decide nothing: OK.
func EvaluatePartition(window []OffsetSample, owned bool, now time.Time) api.LagStatus {
	st, _ := ExplainPartition(window, owned, now)
	return st
}

// ExplainPartition is EvaluatePartition with the rule that decided, in
// words an operator can check against the numbers: a steady lag that the
// consumer keeps draining is OK by these rules, and the console says so.
func ExplainPartition(window []OffsetSample, owned bool, now time.Time) (api.LagStatus, string) {
	return explainPartition(window, owned, now, lastMove{})
}

// lastMove is when a partition's committed offset last changed, as far
// back as a monitor has watched it, beyond its window: the window decides
// the status, this says how long a stuck offset has been stuck.
type lastMove struct {
	at time.Time // zero: unknown, the window alone tells
	// seen is false when the offset never moved while watched: at is the
	// first reading, and the offset was stuck at least since then.
	seen bool
}

func explainPartition(window []OffsetSample, owned bool, now time.Time, moved lastMove) (api.LagStatus, string) {
	if len(window) == 0 {
		return api.LagOK, "no reading yet"
	}
	for _, s := range window {
		if s.Lag <= 0 {
			return api.LagOK, "lag reached 0 within the window"
		}
	}
	if len(window) < 2 {
		return api.LagOK, "one reading: nothing to judge yet"
	}
	for i := 1; i < len(window); i++ {
		if window[i].Committed < window[i-1].Committed {
			return api.LagErr, fmt.Sprintf("committed offset went back from %d to %d (rewind)", window[i-1].Committed, window[i].Committed)
		}
	}
	first, last := window[0], window[len(window)-1]
	changed := first.At
	for i := len(window) - 1; i > 0; i-- {
		if window[i].Committed != window[i-1].Committed {
			changed = window[i].At
			break
		}
	}
	if now.Sub(changed) > changed.Sub(first.At) || last.Committed == first.Committed {
		since, atLeast := changed, false
		if !moved.at.IsZero() && !moved.at.After(changed) {
			since, atLeast = moved.at, !moved.seen
		}
		d := now.Sub(since).Round(time.Second).String()
		if atLeast {
			d = "at least " + d
		}
		stuck := fmt.Sprintf("committed offset stuck at %d for %s with lag %d, longer than it moved before", last.Committed, d, last.Lag)
		if owned {
			return api.LagStall, stuck + "; a member owns the partition (stall)"
		}
		return api.LagStop, stuck + "; no member owns the partition (stop)"
	}
	for i := 1; i < len(window); i++ {
		if window[i].Lag < window[i-1].Lag {
			return api.LagOK, fmt.Sprintf("offset moving and lag fell within the window (now %d): the consumer keeps up", last.Lag)
		}
	}
	return api.LagWarn, fmt.Sprintf("offset moving but lag never fell over %d readings (%d to %d)", len(window), first.Lag, last.Lag)
}

// EvaluateGroup folds partition statuses into the group's, as Burrow does.
func EvaluateGroup(partitions []api.LagStatus) api.LagStatus {
	status := api.LagOK
	for _, p := range partitions {
		switch p {
		case api.LagStop, api.LagStall, api.LagErr:
			return api.LagErr
		case api.LagWarn:
			status = api.LagWarn
		}
	}
	return status
}

// ProduceRate is the log end's advance per second over the window: what
// producers write to the partition.
func ProduceRate(window []OffsetSample) float64 {
	if len(window) < 2 {
		return 0
	}
	first, last := window[0], window[len(window)-1]
	secs := last.At.Sub(first.At).Seconds()
	if secs <= 0 || last.LogEnd < first.LogEnd {
		return 0
	}
	return float64(last.LogEnd-first.LogEnd) / secs
}

// ConsumeRate is the committed offsets' advance per second over the window,
// ignoring samples from before the first commit.
func ConsumeRate(window []OffsetSample) float64 {
	i := 0
	for i < len(window) && window[i].Committed < 0 {
		i++
	}
	if len(window)-i < 2 {
		return 0
	}
	first, last := window[i], window[len(window)-1]
	secs := last.At.Sub(first.At).Seconds()
	if secs <= 0 || last.Committed < first.Committed {
		return 0
	}
	return float64(last.Committed-first.Committed) / secs
}
