package review

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/fslock"
	"github.com/sluice-dev/sluice/engine/lifecycle"
	"github.com/sluice-dev/sluice/engine/redact"
)

// Service stages proposals as review items and carries out a human's
// decision on them. Every action is serialised: within the process by a
// mutex, across processes (engine and CLI on one state dir) by a lock file,
// and in the store by item versions.
type Service struct {
	cfg      Config
	store    Store
	log      *slog.Logger
	redactor *redact.Redactor // the token and cfg.Secrets, in every encoding

	mu        sync.Mutex          // held for the whole of every action
	scratches map[string]*scratch // by repo and remote, opened on first use
	clients   map[string]*githubClient

	cacheMu  sync.RWMutex
	cache    []api.Review
	cacheKey string

	changes chan struct{}

	life lifecycle.Lifecycle
}

// New prepares the service. It touches neither git nor the network until an
// action needs them.
func New(cfg Config, st Store, log *slog.Logger) (*Service, error) {
	if st == nil {
		return nil, errors.New("review: no store")
	}
	if cfg.StateDir == "" {
		return nil, errors.New("review: no state dir")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !ValidDeprecateMode(cfg.DeprecateMode) {
		return nil, fmt.Errorf("review: deprecate mode %q: want disable, folder or delete", cfg.DeprecateMode)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.GitHubAPIURL != "" {
		if _, err := url.Parse(cfg.GitHubAPIURL); err != nil {
			return nil, fmt.Errorf("review: GitHub API URL: %w", err)
		}
	}
	return &Service{cfg: cfg, store: st, log: log, changes: make(chan struct{}, 1),
		redactor:  redact.New(append([]string{cfg.Token}, cfg.Secrets...)...),
		scratches: map[string]*scratch{}, clients: map[string]*githubClient{}}, nil
}

// Start loads the items and keeps rereading the store, so changes made by
// another process (`sluice review approve`) reach the console.
func (s *Service) Start(ctx context.Context) error {
	return s.life.Start(ctx, func(ctx context.Context) error {
		if err := s.Refresh(ctx); err != nil {
			return err
		}
		s.life.Every(ctx, s.cfg.PollInterval, s.poll)
		return nil
	})
}

func (s *Service) poll(ctx context.Context) {
	if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("rereading review items", "err", err)
	}
}

// Stop ends the polling started by Start and waits for it.
func (s *Service) Stop() { s.life.Stop(nil) }

// Changes signals (coalesced, never blocking the service) that the review
// items changed: re-read Reviews.
func (s *Service) Changes() <-chan struct{} { return s.changes }

// Reviews returns the items as the read model, newest first, as of the last
// action or Refresh. It never touches the store.
func (s *Service) Reviews() []api.Review {
	s.cacheMu.RLock()
	defer s.cacheMu.RUnlock()
	return append([]api.Review(nil), s.cache...)
}

// Refresh rereads the store and signals Changes when something differs.
func (s *Service) Refresh(ctx context.Context) error {
	items, err := s.store.Reviews(ctx)
	if err != nil {
		return fmt.Errorf("listing review items: %w", err)
	}
	var key strings.Builder
	for _, it := range items {
		key.WriteString(strconv.FormatInt(it.ID, 10) + ":" + strconv.FormatInt(it.Version, 10) + ",")
	}
	s.cacheMu.Lock()
	changed := key.String() != s.cacheKey
	if changed {
		s.cache = ToSnapshots(items)
		s.cacheKey = key.String()
	}
	s.cacheMu.Unlock()
	if changed {
		select {
		case s.changes <- struct{}{}:
		default:
		}
	}
	return nil
}

// List returns every item, newest first.
func (s *Service) List(ctx context.Context) ([]*Item, error) { return s.store.Reviews(ctx) }

// Get returns one item, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id int64) (*Item, error) {
	it, err := s.store.Review(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("review %d: %w", id, err)
	}
	return it, nil
}

// lock serialises an action across the process and other processes sharing
// the state dir.
func (s *Service) lock() (func(), error) {
	s.mu.Lock()
	unlock, err := fslock.Dir(filepath.Join(s.cfg.StateDir, "review"))
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	return func() { unlock(); s.mu.Unlock() }, nil
}

// afterAction refreshes the cache; the action's own result matters more
// than a failed reread, which the next poll repeats.
func (s *Service) afterAction(ctx context.Context) {
	if err := s.Refresh(context.WithoutCancel(ctx)); err != nil {
		s.log.Warn("rereading review items", "err", err)
	}
}

// scratchFor opens the scratch clone of repo pushing to remote.
func (s *Service) scratchFor(repo, remote string) (*scratch, error) {
	key := repoKey(repo) + "\x00" + remote
	if sc, ok := s.scratches[key]; ok {
		return sc, nil
	}
	sc, err := openScratch(&s.cfg, repo, remote, s.log)
	if err != nil {
		return nil, err
	}
	s.scratches[key] = sc
	return sc, nil
}

// stagingScratch is the scratch clone of the configured repository.
func (s *Service) stagingScratch() (*scratch, error) { return s.scratchFor(s.cfg.Repo, s.cfg.Remote) }

// itemScratch is the scratch clone holding an item's branch. For the
// configured repository it is the configured clone (whose remote may carry
// credentials the item does not store); for another — the configuration
// changed since staging — the one recorded in the item. A checkout path
// that is not on this box is another instance's checkout of the
// repository: the configured one stands for it.
func (s *Service) itemScratch(it *Item) (*scratch, error) {
	if it.Repo == "" || repoKey(it.Repo) == repoKey(s.cfg.Repo) || !pathHere(it.Repo) {
		return s.stagingScratch()
	}
	return s.scratchFor(it.Repo, it.Remote)
}

// pathHere reports whether repo is a URL or a path that exists here.
func pathHere(repo string) bool {
	if isURL(repo) {
		return true
	}
	_, err := os.Stat(repo)
	return !errors.Is(err, fs.ErrNotExist)
}

// github returns the API client for an item: always the configured API
// (GitHub's own when none is), never the one the item remembers from
// staging. A state dir outlives the process that staged it (the demo's
// GitHub stand-in is gone when `serve` reopens it), and the configuration
// given now is what the operator means. The item's endpoint is shown, not
// used.
func (s *Service) github(*Item) (*githubClient, error) {
	api := s.cfg.GitHubAPIURL
	if c, ok := s.clients[api]; ok {
		return c, nil
	}
	cfg := s.cfg
	cfg.GitHubAPIURL = api
	c, err := newGitHubClient(&cfg)
	if err != nil {
		return nil, err
	}
	s.clients[api] = c
	return c, nil
}

// update saves it with a history event.
func (s *Service) update(ctx context.Context, it *Item, state State, note string) error {
	// Errors and notes quote servers, and servers echo credentials (a 422
	// body with the token in it): history is redacted before it is stored.
	it.Error, note = s.redactor.String(it.Error), s.redactor.String(note)
	it.State = state
	it.UpdatedAt = s.cfg.now().UTC()
	ev := Event{At: it.UpdatedAt, State: state, Note: note}
	if err := s.store.UpdateReview(ctx, it, ev); err != nil {
		return fmt.Errorf("saving review %d: %w", it.ID, err)
	}
	s.log.Info("review item", "id", it.ID, "kind", it.Kind, "state", state, "note", note)
	return nil
}

// ToSnapshots converts items to the read model.
func ToSnapshots(items []*Item) []api.Review {
	out := make([]api.Review, len(items))
	for i, it := range items {
		out[i] = it.Snapshot()
	}
	return out
}

// Snapshot converts the item to the read model.
func (it *Item) Snapshot() api.Review {
	r := api.Review{
		ID:        it.ID,
		Kind:      string(it.Kind),
		State:     it.State,
		Branch:    it.Branch,
		Base:      it.Base,
		Title:     it.Title,
		Files:     it.FilePaths(),
		Diff:      it.Diff,
		CreatedAt: it.CreatedAt,
		UpdatedAt: it.UpdatedAt,
		URL:       it.URL,
		Checks:    it.Checks,
		Error:     it.Error,

		RejectReason: it.RejectReason,
		GitHubAPI:    it.GitHubAPI,
		Follows:      it.Follows,
	}
	for _, ev := range it.History {
		r.History = append(r.History, api.ReviewEvent{At: ev.At, State: ev.State, Note: ev.Note})
	}
	for _, sub := range it.Subjects {
		reason := sub.Reason
		if sub.Result != "" && sub.Result != ResultArchived && sub.Result != ResultDeleted {
			reason += " — archive failed: " + sub.Result
		}
		r.Subjects = append(r.Subjects, api.ReviewSubject{ID: sub.ID, Name: sub.Name, Reason: reason, Importance: sub.Importance, Evidence: sub.Evidence})
	}
	// Models a reviewer took out stay listed, marked, so the pane can put
	// them back.
	for _, x := range it.Excluded {
		out := "left out this time"
		if x.Keep {
			out = "kept: " + x.Reason
		}
		sub := api.ReviewSubject{ID: x.ID, Name: x.Name, Excluded: out}
		for _, c := range it.Candidates {
			if c.UniqueID == x.ID {
				sub.Reason, sub.Importance, sub.Evidence = c.Reason, c.Importance, c.Evidence
			}
		}
		r.Subjects = append(r.Subjects, sub)
	}
	return r
}
