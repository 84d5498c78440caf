package review

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/sluice-dev/sluice/engine/gitauth"
)

// Remote names inside the scratch clone.
const (
	remoteOrigin = "origin" // where branches are pushed: the dbt repository's own remote
	remoteSource = "source" // the user's local checkout, read only, when --repo is a path
)

// scratch is the bare clone of the dbt repository under the state dir where
// branches are built. It never has a worktree: branches are trees and
// commits written straight into its object store.
type scratch struct {
	dir    string
	repo   *git.Repository
	source string // local checkout path; "" when the repository is a URL
	// projectDir is the dbt project's folder in the repository: the
	// configured one, or where a --repo path inside a checkout points.
	projectDir string
	pushURL    string // "" when there is nowhere to push
	cfg        *Config
	log        *slog.Logger
}

var scpLike = regexp.MustCompile(`^[A-Za-z0-9._~-]+@[A-Za-z0-9._-]+:`)

// isURL tells a remote URL (https://, ssh://, file://, git@host:path) from a
// local path.
func isURL(s string) bool { return strings.Contains(s, "://") || scpLike.MatchString(s) }

// scratchDir is where the clone of repo lives: one per repository, so
// pointing sluice at another repository never mixes their branches.
func scratchDir(stateDir, repo string) string {
	sum := sha256.Sum256([]byte(repo))
	name := filepath.Base(strings.TrimSuffix(strings.TrimRight(repo, "/"), ".git"))
	name = regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(name, "_")
	return filepath.Join(stateDir, "review", name+"-"+hex.EncodeToString(sum[:4])+".git")
}

// openScratch opens (creating it when missing) the scratch clone of repo
// and points its remotes at it and at remote (the push URL; "" to resolve
// it from the checkout).
func openScratch(cfg *Config, repo, remote string, log *slog.Logger) (*scratch, error) {
	if repo == "" {
		return nil, errors.New("no dbt repository configured")
	}
	s := &scratch{cfg: cfg, log: log, projectDir: cfg.ProjectDir}
	if !isURL(repo) {
		root, rel, err := checkoutRoot(repoKey(repo))
		if err != nil {
			return nil, err
		}
		s.source = root
		if s.projectDir == "" {
			s.projectDir = rel
		}
	}
	pushURL, err := resolvePushURL(repo, remote, s.source)
	if err != nil {
		return nil, err
	}
	s.pushURL = pushURL
	s.dir = scratchDir(cfg.StateDir, repoKey(repo))

	r, err := git.PlainOpen(s.dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if err := os.MkdirAll(filepath.Dir(s.dir), 0o755); err != nil {
			return nil, fmt.Errorf("creating scratch clone dir: %w", err)
		}
		r, err = git.PlainInit(s.dir, true)
	}
	if err != nil {
		return nil, fmt.Errorf("opening scratch clone %q: %w", s.dir, err)
	}
	s.repo = r
	if err := s.setRemote(remoteOrigin, s.pushURL); err != nil {
		return nil, err
	}
	if err := s.setRemote(remoteSource, s.source); err != nil {
		return nil, err
	}
	return s, nil
}

// checkoutRoot finds the git checkout holding dir, and dir's path in it
// ("" at the root), so --repo may name a dbt project inside a monorepo.
func checkoutRoot(dir string) (root, rel string, err error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			rel, err := filepath.Rel(d, dir)
			if err != nil {
				return "", "", err
			}
			if rel == "." {
				rel = ""
			}
			return d, filepath.ToSlash(rel), nil
		}
		if filepath.Dir(d) == d {
			return "", "", fmt.Errorf("dbt repository %s: not inside a git checkout", dir)
		}
	}
}

// repoKey is the name a repository is known by: a URL without its
// password, a path made absolute.
func repoKey(repo string) string {
	if repo == "" || isURL(repo) {
		return withoutPassword(repo)
	}
	if abs, err := filepath.Abs(repo); err == nil {
		return abs
	}
	return repo
}

// resolvePushURL finds where branches go: the configured remote, the URL the
// repository was given as, or the local checkout's own origin — never the
// local checkout itself.
func resolvePushURL(repo, remote, source string) (string, error) {
	url := remote
	if url == "" && source == "" {
		url = repo
	}
	if url == "" && source != "" {
		user, err := git.PlainOpen(source)
		if err != nil {
			return "", fmt.Errorf("opening dbt repository %q: %w", source, err)
		}
		if r, err := user.Remote(remoteOrigin); err == nil && len(r.Config().URLs) > 0 {
			url = r.Config().URLs[0]
		}
		if url != "" && !isURL(url) && !filepath.IsAbs(url) {
			// git resolves a relative origin against the checkout.
			url = filepath.Join(source, url)
		}
	}
	if url == "" || source == "" || isURL(url) {
		return url, nil
	}
	if samePath(url, source) || samePath(url, filepath.Join(source, ".git")) {
		return "", fmt.Errorf("refusing to push into the dbt checkout itself (%s): configure its origin or a remote", source)
	}
	return url, nil
}

func samePath(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return ra == rb
}

// setRemote makes the scratch clone's remote name point at url (removing it
// when url is empty), so a changed configuration takes effect.
func (s *scratch) setRemote(name, url string) error {
	cur, err := s.repo.Remote(name)
	if err == nil {
		if url != "" && len(cur.Config().URLs) == 1 && cur.Config().URLs[0] == url {
			return nil
		}
		if err := s.repo.DeleteRemote(name); err != nil {
			return fmt.Errorf("updating remote %s of the scratch clone: %w", name, err)
		}
	}
	if url == "" {
		return nil
	}
	_, err = s.repo.CreateRemote(&config.RemoteConfig{Name: name, URLs: []string{url}})
	if err != nil {
		return fmt.Errorf("setting remote %s of the scratch clone: %w", name, err)
	}
	return nil
}

// base fetches the base branch and returns its tip. The push remote comes
// first, so the pull request is based on what the remote has; a local
// checkout is the fallback when the remote cannot be reached (offline
// staging), or the only source when there is no remote.
func (s *scratch) base(ctx context.Context) (plumbing.Hash, string, error) {
	var errs []error
	for _, name := range []string{remoteOrigin, remoteSource} {
		if (name == remoteOrigin && s.pushURL == "") || (name == remoteSource && s.source == "") {
			continue
		}
		h, branch, err := s.fetchBase(ctx, name)
		if err == nil {
			return h, branch, nil
		}
		if ctx.Err() != nil {
			return plumbing.ZeroHash, "", ctx.Err()
		}
		s.log.Warn("fetching the base branch failed", "remote", name, "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	if len(errs) == 0 {
		return plumbing.ZeroHash, "", errors.New("no source to fetch the dbt repository from")
	}
	return plumbing.ZeroHash, "", fmt.Errorf("fetching the base branch: %w", errors.Join(errs...))
}

func (s *scratch) fetchBase(ctx context.Context, name string) (plumbing.Hash, string, error) {
	remote, err := s.repo.Remote(name)
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	url := remote.Config().URLs[0]
	var refs []*plumbing.Reference
	var auth transport.AuthMethod
	err = s.challenged(url, func(a transport.AuthMethod) error {
		auth = a
		refs, err = remote.ListContext(ctx, &git.ListOptions{Auth: a})
		return err
	})
	if err != nil {
		return plumbing.ZeroHash, "", fmt.Errorf("listing %s: %w", redactURL(url), err)
	}
	branch, err := chooseBase(s.cfg.BaseBranch, refs)
	if err != nil {
		return plumbing.ZeroHash, "", fmt.Errorf("%s: %w", redactURL(url), err)
	}
	// The tracking ref belongs to the scratch clone alone; updating it
	// with + is how any clone follows its remote, not a force push.
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/%s:refs/remotes/%s/%s", branch, name, branch))
	err = s.repo.FetchContext(ctx, &git.FetchOptions{RemoteName: name, RefSpecs: []config.RefSpec{spec}, Auth: auth, Tags: git.NoTags})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, "", fmt.Errorf("fetching %s from %s: %w", branch, redactURL(url), err)
	}
	ref, err := s.repo.Reference(plumbing.NewRemoteReferenceName(name, branch), true)
	if err != nil {
		return plumbing.ZeroHash, "", fmt.Errorf("reading fetched %s: %w", branch, err)
	}
	return ref.Hash(), branch, nil
}

// chooseBase picks the base branch: the configured one, else the branch the
// remote's HEAD points at, else main, else master.
func chooseBase(configured string, refs []*plumbing.Reference) (string, error) {
	heads := map[string]bool{}
	headTarget := ""
	for _, r := range refs {
		if r.Name().IsBranch() {
			heads[r.Name().Short()] = true
		}
		if r.Name() == plumbing.HEAD && r.Type() == plumbing.SymbolicReference && r.Target().IsBranch() {
			headTarget = r.Target().Short()
		}
	}
	if configured != "" {
		if !heads[configured] {
			return "", fmt.Errorf("base branch %q not found", configured)
		}
		return configured, nil
	}
	for _, b := range []string{headTarget, "main", "master"} {
		if b != "" && heads[b] {
			return b, nil
		}
	}
	return "", errors.New("no base branch (no HEAD, main or master); configure one")
}

// withoutPassword drops a password or token embedded in a URL, so the URL
// can be stored; the user name stays (ssh://git@host).
func withoutPassword(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	at := strings.Index(rest, "@")
	if at < 0 || at > strings.IndexAny(rest+"/", "/") {
		return u
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return u[:i+3] + user + "@" + rest[at+1:]
}

// redactURL drops credentials from a URL before it is shown or logged.
func redactURL(u string) string { return gitauth.RedactURL(u) }

// hasBranch reports whether the scratch clone's branch points at commit.
func (s *scratch) hasBranch(branch, commit string) bool {
	if branch == "" {
		return false
	}
	ref, err := s.repo.Reference(plumbing.NewBranchReferenceName(branch), false)
	return err == nil && ref.Hash().String() == commit
}

func (s *scratch) setBranch(branch string, commit plumbing.Hash) error {
	ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), commit)
	if err := s.repo.Storer.SetReference(ref); err != nil {
		return fmt.Errorf("creating branch %s in the scratch clone: %w", branch, err)
	}
	return nil
}

// deleteBranch removes a branch of the scratch clone (never of the user's
// checkout, never on the remote).
func (s *scratch) deleteBranch(branch string) error {
	err := s.repo.Storer.RemoveReference(plumbing.NewBranchReferenceName(branch))
	if err != nil && !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return fmt.Errorf("deleting branch %s in the scratch clone: %w", branch, err)
	}
	return nil
}
