package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/engine/store"
)

// sqlStore keeps items in the engine's store (SQLite or PostgreSQL).
type sqlStore struct{ db store.Interface }

// NewSQLStore adapts the engine's store to the review service.
func NewSQLStore(db store.Interface) Store { return sqlStore{db: db} }

// itemData is the part of an item kept as JSON.
type itemData struct {
	Title      string
	Repo       string       `json:",omitempty"`
	Remote     string       `json:",omitempty"`
	GitHubRepo string       `json:",omitempty"`
	GitHubAPI  string       `json:",omitempty"`
	BaseBranch string       `json:",omitempty"`
	Base       string       `json:",omitempty"`
	Commit     string       `json:",omitempty"`
	Rebuild    *Recipe      `json:",omitempty"`
	Files      []FileChange `json:",omitempty"`
	PRNumber   int          `json:",omitempty"`
	URL        string       `json:",omitempty"`
	Checks     string       `json:",omitempty"`
	Subjects   []Subject    `json:",omitempty"`
	Notes      []string     `json:",omitempty"`
	Error      string       `json:",omitempty"`
	Withdrawn  bool         `json:",omitempty"`
	Blocked    []string     `json:",omitempty"`
	// RejectReason is kept here, not in a column: it is shown, never queried.
	RejectReason string         `json:",omitempty"`
	Mode         string         `json:",omitempty"`
	Follows      int64          `json:",omitempty"`
	Candidates   []Candidate    `json:",omitempty"`
	Excluded     []Exclusion    `json:",omitempty"`
	Approving    *ApprovalClaim `json:",omitempty"`
}

func toRecord(it *Item) (*store.ReviewRecord, error) {
	data, err := json.Marshal(itemData{
		Title: it.Title, Repo: it.Repo, Remote: it.Remote, GitHubRepo: it.GitHubRepo, GitHubAPI: it.GitHubAPI, BaseBranch: it.BaseBranch, Base: it.Base, Commit: it.Commit, Rebuild: it.Rebuild, Files: it.Files,
		PRNumber: it.PRNumber, URL: it.URL, Checks: it.Checks, Subjects: it.Subjects, Notes: it.Notes, Error: it.Error, Withdrawn: it.Withdrawn,
		Blocked: it.Blocked, RejectReason: it.RejectReason, Mode: it.Mode, Follows: it.Follows, Candidates: it.Candidates, Excluded: it.Excluded,
		Approving: it.Approving,
	})
	if err != nil {
		return nil, err
	}
	r := &store.ReviewRecord{
		ID: it.ID, Kind: string(it.Kind), State: string(it.State), Branch: it.Branch, Fingerprint: it.Fingerprint,
		Data: data, Diff: it.Diff, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, Version: it.Version,
	}
	for _, ev := range it.History {
		r.History = append(r.History, store.ReviewEvent{At: ev.At, State: string(ev.State), Note: ev.Note})
	}
	return r, nil
}

func fromRecord(r store.ReviewRecord) (*Item, error) {
	var d itemData
	if err := json.Unmarshal(r.Data, &d); err != nil {
		return nil, fmt.Errorf("decoding review %d: %w", r.ID, err)
	}
	it := &Item{
		ID: r.ID, Kind: Kind(r.Kind), State: State(r.State), Title: d.Title, Branch: r.Branch,
		Repo: d.Repo, Remote: d.Remote, GitHubRepo: d.GitHubRepo, GitHubAPI: d.GitHubAPI,
		BaseBranch: d.BaseBranch, Base: d.Base, Commit: d.Commit, Rebuild: d.Rebuild, Files: d.Files, Diff: r.Diff,
		PRNumber: d.PRNumber, URL: d.URL, Checks: d.Checks, Subjects: d.Subjects, Notes: d.Notes, Fingerprint: r.Fingerprint,
		Error: d.Error, Withdrawn: d.Withdrawn, Blocked: d.Blocked, RejectReason: d.RejectReason, Mode: d.Mode, Follows: d.Follows, Candidates: d.Candidates, Excluded: d.Excluded, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version,
		Approving: d.Approving,
	}
	for _, ev := range r.History {
		it.History = append(it.History, Event{At: ev.At.UTC(), State: State(ev.State), Note: ev.Note})
	}
	return it, nil
}

// mapStoreErr makes the store's errors match the review sentinels while
// keeping their message.
func mapStoreErr(err error) error {
	switch {
	case errors.Is(err, store.ErrReviewNotFound):
		return sentinelErr{ErrNotFound, err}
	case errors.Is(err, store.ErrReviewConflict):
		return sentinelErr{ErrConflict, err}
	}
	return err
}

type sentinelErr struct{ sentinel, err error }

func (e sentinelErr) Error() string   { return e.err.Error() }
func (e sentinelErr) Unwrap() []error { return []error{e.sentinel, e.err} }

func (s sqlStore) CreateReview(ctx context.Context, it *Item) error {
	r, err := toRecord(it)
	if err != nil {
		return err
	}
	if err := s.db.CreateReview(ctx, r); err != nil {
		return mapStoreErr(err)
	}
	it.ID, it.Version = r.ID, r.Version
	return nil
}

func (s sqlStore) UpdateReview(ctx context.Context, it *Item, ev Event) error {
	r, err := toRecord(it)
	if err != nil {
		return err
	}
	if err := s.db.UpdateReview(ctx, r, store.ReviewEvent{At: ev.At, State: string(ev.State), Note: ev.Note}); err != nil {
		return mapStoreErr(err)
	}
	it.Version = r.Version
	it.History = append(it.History, ev)
	return nil
}

func (s sqlStore) Review(ctx context.Context, id int64) (*Item, error) {
	r, err := s.db.Review(ctx, id)
	if err != nil {
		return nil, mapStoreErr(err)
	}
	return fromRecord(r)
}

func (s sqlStore) Reviews(ctx context.Context) ([]*Item, error) {
	rs, err := s.db.Reviews(ctx)
	if err != nil {
		return nil, mapStoreErr(err)
	}
	out := make([]*Item, 0, len(rs))
	for _, r := range rs {
		it, err := fromRecord(r)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}
