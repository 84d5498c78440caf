package store

import (
	"errors"
	"fmt"
	"time"
)

// ErrFenced: the run is no longer this instance's claim (another instance
// settled it after this one's lease ran out); the write was refused.
var ErrFenced = errors.New("run claimed by another instance")

// Instance is one Sluice process using the store.
type Instance struct {
	ID            string
	Host          string
	PID           int
	StartedAt     time.Time
	LastHeartbeat time.Time
	StoppedAt     time.Time // zero while it runs; set by a clean stop
	ReapedAt      time.Time // zero unless another instance found it dead
}

// Instance statuses.
const (
	InstanceLive    = "live"
	InstanceDead    = "dead"
	InstanceStopped = "stopped"
)

// Status says whether the instance stopped cleanly, is dead (its heartbeat
// is older than lease, or it was reaped and has not beaten since) or is
// live, at now.
func (in Instance) Status(now time.Time, lease time.Duration) string {
	switch {
	case !in.StoppedAt.IsZero():
		return InstanceStopped
	case !in.ReapedAt.IsZero(), now.Sub(in.LastHeartbeat) > lease:
		return InstanceDead
	}
	return InstanceLive
}

// ClaimRef is what a claimed run's later writes present: the claim they
// act under.
type ClaimRef struct {
	RunID    int64
	Instance string
	Token    int64
}

// Claim is a run an instance took (now running, recording the instance)
// with the token that fences its later writes.
type Claim struct {
	Run   Run
	Token int64
}

// Ref is the claim's reference for fenced writes.
func (c Claim) Ref() ClaimRef {
	return ClaimRef{RunID: c.Run.ID, Instance: c.Run.Instance, Token: c.Token}
}

// TagLimit caps how many runs whose DAG carries a tag may run at once.
// Value "*" applies the limit to each value of Key separately.
type TagLimit struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Limit int    `json:"limit"`
}

// DAGLimit is what the limits need to know about a run's DAG.
type DAGLimit struct {
	MaxActive int // 0: no per-DAG bound
	Tags      map[string]string
	// Hold, when set, keeps the DAG's runs queued whatever the counts say,
	// with Hold as the reason (its file is missing: engine/runner).
	Hold string
}

// ClaimLimits bound the runs running across every instance of the store:
// the counts are taken in the database when a run is claimed.
type ClaimLimits struct {
	MaxConcurrentRuns int // 0: no bound
	TagLimits         []TagLimit
	// DAG describes a DAG by name; known=false (deleted, disabled) lets
	// its runs be claimed regardless of the limits, so that they fail
	// rather than wait for ever. Nil: every DAG is unbounded.
	DAG func(name string) (DAGLimit, bool)
}

// Usage counts running runs: in total, by DAG and by "key=value" tag.
type Usage struct {
	Total int
	ByDAG map[string]int
	ByTag map[string]int
}

// NewUsage is an empty count.
func NewUsage() *Usage { return &Usage{ByDAG: map[string]int{}, ByTag: map[string]int{}} }

// Add counts delta runs of dag (whose tags are d's).
func (u *Usage) Add(dag string, d DAGLimit, delta int) {
	u.Total += delta
	u.ByDAG[dag] += delta
	if u.ByDAG[dag] <= 0 {
		delete(u.ByDAG, dag)
	}
	for k, v := range d.Tags {
		key := k + "=" + v
		u.ByTag[key] += delta
		if u.ByTag[key] <= 0 {
			delete(u.ByTag, key)
		}
	}
}

// Clone copies u.
func (u *Usage) Clone() *Usage {
	c := NewUsage()
	c.Total = u.Total
	for k, v := range u.ByDAG {
		c.ByDAG[k] = v
	}
	for k, v := range u.ByTag {
		c.ByTag[k] = v
	}
	return c
}

// Blocked says why a run of dag may not start with u running, or "" when
// it may. The most specific reason wins: a run held by its DAG's limit
// would still wait with a free global slot, so saying so answers "why is
// my run still queued".
func (l ClaimLimits) Blocked(u *Usage, dag string, d DAGLimit) string {
	if d.Hold != "" {
		return d.Hold
	}
	if d.MaxActive > 0 && u.ByDAG[dag] >= d.MaxActive {
		return fmt.Sprintf("%d/%d runs of %s active", u.ByDAG[dag], d.MaxActive, dag)
	}
	for _, tl := range l.TagLimits {
		v, ok := d.Tags[tl.Key]
		if !ok || (tl.Value != "*" && tl.Value != v) {
			continue
		}
		if u.ByTag[tl.Key+"="+v] >= tl.Limit {
			return fmt.Sprintf("tag %s=%s at limit %d", tl.Key, v, tl.Limit)
		}
	}
	if l.MaxConcurrentRuns > 0 && u.Total >= l.MaxConcurrentRuns {
		return fmt.Sprintf("%d/%d runs active (max_concurrent_runs)", u.Total, l.MaxConcurrentRuns)
	}
	return ""
}

func (l ClaimLimits) dag(name string) (DAGLimit, bool) {
	if l.DAG == nil {
		return DAGLimit{}, true
	}
	return l.DAG(name)
}

// ClaimCandidate is a queued run as the claim path sees it.
type ClaimCandidate struct {
	ID  int64
	DAG string
}

// ClaimPlan picks, for one claim, the queued runs the limits allow. Both
// implementations feed it the running counts and the queued runs in claim
// order (a page at a time) from inside their claim transaction, so the
// rules are written once.
type ClaimPlan struct {
	lim   ClaimLimits
	use   *Usage
	max   int
	Picks []int64
	// Wait is why the first run not picked waits ("" when none waits).
	Wait string
	// Blocked lists the DAGs none of whose runs can be picked now: the
	// next page leaves them out.
	Blocked []string
	blocked map[string]bool
	full    bool
}

// NewClaimPlan starts a plan of up to max picks with the running counts
// of running (DAG name per running run).
func NewClaimPlan(lim ClaimLimits, running map[string]int, max int) *ClaimPlan {
	p := &ClaimPlan{lim: lim, use: NewUsage(), max: max, Blocked: []string{}, blocked: map[string]bool{}}
	for name, n := range running {
		d, _ := lim.dag(name)
		p.use.Add(name, d, n)
	}
	return p
}

// Offer considers the next queued runs in claim order; it reports whether
// to go on (more picks are possible and wanted).
func (p *ClaimPlan) Offer(cands []ClaimCandidate) bool {
	for _, c := range cands {
		if p.Done() {
			return false
		}
		if p.blocked[c.DAG] {
			continue
		}
		d, known := p.lim.dag(c.DAG)
		if !known {
			p.Picks = append(p.Picks, c.ID)
			continue
		}
		why := p.lim.Blocked(p.use, c.DAG, d)
		if why == "" {
			p.Picks = append(p.Picks, c.ID)
			p.use.Add(c.DAG, d, 1)
			continue
		}
		if p.Wait == "" {
			p.Wait = why
		}
		if p.lim.MaxConcurrentRuns > 0 && p.use.Total >= p.lim.MaxConcurrentRuns {
			p.full = true
			return false
		}
		p.blocked[c.DAG] = true
		p.Blocked = append(p.Blocked, c.DAG)
	}
	return !p.Done()
}

// Done reports whether the plan can pick no more.
func (p *ClaimPlan) Done() bool { return p.full || len(p.Picks) >= p.max }

// ClaimPage is how many queued runs one read of the claim path takes.
const ClaimPage = 256
