package review

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// Several instances share one store, each with its own state dir: the state
// dir's lock no longer proves that nobody else is mid-way through an
// approval. The move to approved therefore records who is approving (an
// ApprovalClaim) in the same versioned update that wins the item, and an
// item found approved is finished by someone else only when the claim is
// this state dir's (the lock proves its owner gone) or older than the
// approval lease (its instance died mid-way).

// ApprovalClaim says who moved an item to approved, and when.
type ApprovalClaim struct {
	By  string    // the approver: Config.Approver
	Dir string    // the approver's state dir, host-qualified
	At  time.Time // when the approval was taken
}

// DefaultApprovalLease is Config.ApprovalLease's default: far longer than a
// push and a pull request take.
const DefaultApprovalLease = 5 * time.Minute

func (c *Config) approvalLease() time.Duration {
	if c.ApprovalLease > 0 {
		return c.ApprovalLease
	}
	return DefaultApprovalLease
}

// stateDirKey names the state dir across hosts: two hosts may use one path.
func (c *Config) stateDirKey() string {
	host, _ := os.Hostname()
	abs, err := filepath.Abs(c.StateDir)
	if err != nil {
		abs = c.StateDir
	}
	return host + ":" + abs
}

func (s *Service) approver() string {
	if s.cfg.Approver != "" {
		return s.cfg.Approver
	}
	return s.cfg.stateDirKey()
}

// claimApproval marks it as being approved by this service; the update that
// stores it is the one that wins the item.
func (s *Service) claimApproval(it *Item) {
	it.Approving = &ApprovalClaim{By: s.approver(), Dir: s.cfg.stateDirKey(), At: s.cfg.now().UTC()}
}

// approvalInFlight says whether an approved item is being carried out by
// another approver that may still be alive.
func (s *Service) approvalInFlight(it *Item) bool {
	c := it.Approving
	if it.State != api.ReviewApproved || c == nil {
		return false // not approved, or approved before claims: the lock covers it
	}
	if c.Dir == s.cfg.stateDirKey() {
		return false // ours: we hold the state dir's lock, so its holder is gone
	}
	return s.cfg.now().Sub(c.At) < s.cfg.approvalLease()
}

// lostRace turns a lost versioned update into what the winner did, read
// back from the store: the caller's console then shows the outcome. (The
// caller names the action and the item.)
func (s *Service) lostRace(ctx context.Context, id int64, err error) error {
	if !errors.Is(err, ErrConflict) {
		return err
	}
	cur, rerr := s.store.Review(ctx, id)
	if rerr != nil {
		return err
	}
	return fmt.Errorf("another console or instance acted first, it is %s%s: %w", cur.State, claimText(cur), ErrState)
}

func claimText(it *Item) string {
	if it.State != api.ReviewApproved || it.Approving == nil {
		return ""
	}
	return fmt.Sprintf(" (being approved by %s since %s)", it.Approving.By, it.Approving.At.Format(time.TimeOnly))
}
