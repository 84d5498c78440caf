package loader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/fslock"
	"github.com/sluice-dev/sluice/engine/gitauth"
)

// SourceGit is the name of the git source.
const SourceGit = "git"

// ErrForcePushed marks a remote ref that no longer descends from the
// commit loaded: history was rewritten. The source keeps the commit it has.
var ErrForcePushed = errors.New("the remote ref was force-pushed")

// gitSource is a branch or tag of a git repository, below a folder. Each
// List asks the remote where the ref points (one round trip); when it
// moved, it fetches into a bare mirror and applies the tree diff between
// the loaded commit and the new one to its listing, so an unchanged remote
// costs no fetch and opens no blob, and a change opens only the changed
// blobs (the loader reads only objects whose Version, the blob hash, moved).
type gitSource struct {
	url    string
	ref    string // branch or tag; "" follows the remote's HEAD
	folder string // "" or a clean relative path
	mirror string // the bare mirror's directory
	creds  gitauth.Credentials
	log    *slog.Logger
	base   string // the source's Location

	// blobReads counts blobs opened, for tests and benchmarks.
	blobReads atomic.Int64

	mu       sync.Mutex // guards the mirror and everything below
	repo     *git.Repository
	refName  plumbing.ReferenceName // the remote ref loaded
	refHash  plumbing.Hash          // where it pointed (a tag object for annotated tags)
	loaded   *object.Commit         // the commit of files; nil before the first List
	files    map[string]Object
	skipped  map[string]string // key: why it was not listed (a symlink, a submodule)
	listing  Listing
	commitRO *api.Commit
}

// NewGitSource returns the git source of cfg (GitURL, GitRef, GitPath),
// mirrored below cfg.GitMirrorDir. Credentials are never logged.
func NewGitSource(cfg Config, log *slog.Logger) Source {
	folder := strings.Trim(path.Clean("/"+strings.ReplaceAll(cfg.GitPath, "\\", "/")), "/")
	sum := sha256.Sum256([]byte(cfg.GitURL))
	mirrorRoot := cfg.GitMirrorDir
	if mirrorRoot == "" {
		mirrorRoot = filepath.Join(os.TempDir(), "sluice-git")
	}
	s := &gitSource{
		url:    cfg.GitURL,
		ref:    cfg.GitRef,
		folder: folder,
		mirror: filepath.Join(mirrorRoot, hex.EncodeToString(sum[:8])+".git"),
		creds:  cfg.GitCredentials,
		log:    log,
	}
	if cfg.GitTokenForURL {
		if ep, err := transport.NewEndpoint(cfg.GitURL); err == nil && ep.Host != "" {
			s.creds.TokenHosts = append(append([]string(nil), s.creds.TokenHosts...), ep.Host)
		}
	}
	s.base = gitauth.RedactURL(cfg.GitURL)
	if s.ref != "" || s.folder != "" {
		s.base += "#" + s.ref
	}
	if s.folder != "" {
		s.base += ":" + s.folder
	}
	return s
}

func (s *gitSource) Name() string     { return SourceGit }
func (s *gitSource) Location() string { return s.base }

// fileLocation is URL#ref:path of one file, stable across commits (the
// registry matches versions of a file by location).
func (s *gitSource) fileLocation(key string) string {
	return gitauth.RedactURL(s.url) + "#" + s.ref + ":" + path.Join(s.folder, key)
}

// open opens the bare mirror, creating it on first use. The caller holds mu.
func (s *gitSource) open() (*git.Repository, error) {
	if s.repo != nil {
		return s.repo, nil
	}
	repo, err := git.PlainOpen(s.mirror)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if err := s.create(); err != nil {
			return nil, err
		}
		repo, err = git.PlainOpen(s.mirror)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the git mirror %s: %w", s.mirror, err)
	}
	s.repo = repo
	return repo, nil
}

// create makes the bare mirror in a temporary folder and renames it into
// place, so another process sharing the state dir (sluice status beside a
// running engine) never sees it half made; if one got there first, its
// mirror is used.
func (s *gitSource) create() error {
	parent := filepath.Dir(s.mirror)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("creating the git mirror: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".new-")
	if err != nil {
		return fmt.Errorf("creating the git mirror: %w", err)
	}
	defer os.RemoveAll(tmp) // empty after a successful rename
	if _, err := git.PlainInit(tmp, true); err != nil {
		return fmt.Errorf("creating the git mirror: %w", err)
	}
	if err := os.Rename(tmp, s.mirror); err != nil {
		if _, statErr := os.Stat(s.mirror); statErr == nil {
			return nil // another process made it
		}
		return fmt.Errorf("creating the git mirror: %w", err)
	}
	return nil
}

func (s *gitSource) List(ctx context.Context) (Listing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, err := s.open()
	if err != nil {
		return Listing{}, err
	}
	// Another process on the same state dir (sluice status beside a
	// running engine) may fetch into the mirror too: one at a time, or
	// one reads a ref file the other is writing.
	unlock, err := fslock.Dir(s.mirror)
	if err != nil {
		return Listing{}, fmt.Errorf("locking the git mirror: %w", err)
	}
	defer unlock()
	// The remote gets three quarters of the scan's time: a hung one still
	// leaves the rest for the mirror's last accepted commit below.
	remoteCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		remoteCtx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(deadline)*3/4))
		defer cancel()
	}
	listing, err := s.list(remoteCtx, repo)
	if err != nil && s.loaded == nil && ctx.Err() == nil {
		// A restart while the remote is unreachable or rewritten: the
		// commit last accepted is in the mirror, and its DAGs stay.
		return s.keepAccepted(ctx, repo, err)
	}
	return listing, err
}

// list asks the remote where the ref is and moves to it. The caller holds
// mu.
func (s *gitSource) list(ctx context.Context, repo *git.Repository) (Listing, error) {
	remote := git.NewRemote(repo.Storer, &gitconfig.RemoteConfig{Name: "origin", URLs: []string{s.url}})
	var refs []*plumbing.Reference
	err := s.creds.Challenged(s.url, func(auth transport.AuthMethod) error {
		var err error
		refs, err = remote.ListContext(ctx, &git.ListOptions{Auth: auth})
		return err
	})
	if err != nil {
		return Listing{}, fmt.Errorf("asking the remote for its refs: %w", err)
	}
	name, hash, err := s.resolve(refs)
	if err != nil {
		return Listing{}, err
	}
	if s.loaded != nil && name == s.refName && hash == s.refHash {
		return s.listing, nil // unchanged: no fetch, no blob
	}
	if _, err := repo.Storer.EncodedObject(plumbing.AnyObject, hash); err != nil {
		if err := s.fetch(ctx, remote, name); err != nil {
			return Listing{}, err
		}
	}
	commit, err := peelCommit(repo, hash)
	if err != nil {
		return Listing{}, fmt.Errorf("reading %s at %s: %w", name.Short(), hash, err)
	}
	if err := s.advance(ctx, repo, name, hash, commit); err != nil {
		return Listing{}, err
	}
	return s.listing, nil
}

// keepAccepted lists the commit the mirror records as last accepted for
// the configured ref (the only one recorded, when the ref is the remote's
// HEAD), marked stale by failed; failed alone when there is none.
func (s *gitSource) keepAccepted(ctx context.Context, repo *git.Repository, failed error) (Listing, error) {
	var names []plumbing.ReferenceName
	switch {
	case strings.HasPrefix(s.ref, "refs/"):
		names = []plumbing.ReferenceName{plumbing.ReferenceName(s.ref)}
	case s.ref != "":
		names = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(s.ref), plumbing.NewTagReferenceName(s.ref)}
	default:
		refs, err := repo.References()
		if err != nil {
			return Listing{}, failed
		}
		_ = refs.ForEach(func(r *plumbing.Reference) error {
			if rest, ok := strings.CutPrefix(string(r.Name()), "refs/sluice/accepted/"); ok {
				names = append(names, plumbing.ReferenceName("refs/"+rest))
			}
			return nil
		})
		if len(names) != 1 {
			return Listing{}, failed // none, or several and no way to tell which
		}
	}
	for _, name := range names {
		r, err := repo.Reference(acceptedRef(name), true)
		if err != nil {
			continue
		}
		commit, err := repo.CommitObject(r.Hash())
		if err != nil {
			continue
		}
		tree, err := s.folderTree(commit)
		if err != nil {
			return Listing{}, failed
		}
		origin := commitView(commit)
		s.files, s.skipped = make(map[string]Object), make(map[string]string)
		if err := s.walk(ctx, tree, origin); err != nil {
			return Listing{}, failed
		}
		s.refName, s.refHash, s.loaded, s.commitRO = name, commit.Hash, commit, origin
		s.rebuild()
		listing := s.listing
		if errors.Is(failed, ErrForcePushed) { // it says what it keeps
			listing.Stale = failed
		} else {
			listing.Stale = fmt.Errorf("%w; keeping %s, the commit last loaded, from the mirror", failed, short(commit.Hash))
		}
		return listing, nil
	}
	return Listing{}, failed
}

// resolve finds the ref to load and where it points: the configured branch
// or tag, else the branch the remote's HEAD names.
func (s *gitSource) resolve(refs []*plumbing.Reference) (plumbing.ReferenceName, plumbing.Hash, error) {
	byName := make(map[plumbing.ReferenceName]*plumbing.Reference, len(refs))
	for _, r := range refs {
		byName[r.Name()] = r
	}
	var candidates []plumbing.ReferenceName
	switch {
	case s.ref == "":
		head, ok := byName[plumbing.HEAD]
		if !ok {
			return "", plumbing.ZeroHash, errors.New("the remote has no HEAD (an empty repository?); set the ref to load")
		}
		if head.Type() == plumbing.SymbolicReference {
			candidates = []plumbing.ReferenceName{head.Target()}
			break
		}
		// A server that does not name HEAD's branch: the branch at the
		// same commit, main and master first.
		for _, n := range []plumbing.ReferenceName{plumbing.Main, plumbing.Master} {
			if r, ok := byName[n]; ok && r.Hash() == head.Hash() {
				return n, r.Hash(), nil
			}
		}
		for _, r := range refs {
			if r.Name().IsBranch() && r.Hash() == head.Hash() {
				return r.Name(), r.Hash(), nil
			}
		}
		return "", plumbing.ZeroHash, errors.New("the remote's HEAD names no branch; set the ref to load")
	case strings.HasPrefix(s.ref, "refs/"):
		candidates = []plumbing.ReferenceName{plumbing.ReferenceName(s.ref)}
	default:
		candidates = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(s.ref), plumbing.NewTagReferenceName(s.ref)}
	}
	for _, n := range candidates {
		if r, ok := byName[n]; ok && r.Type() == plumbing.HashReference {
			return n, r.Hash(), nil
		}
	}
	return "", plumbing.ZeroHash, fmt.Errorf("no branch or tag %q on the remote", strings.TrimPrefix(string(candidates[0]), "refs/heads/"))
}

// fetch brings the objects of one ref into the mirror. Tags are not
// followed: only what the ref reaches is needed.
func (s *gitSource) fetch(ctx context.Context, remote *git.Remote, name plumbing.ReferenceName) error {
	spec := gitconfig.RefSpec("+" + string(name) + ":refs/sluice/fetched")
	err := s.creds.Challenged(s.url, func(auth transport.AuthMethod) error {
		return remote.FetchContext(ctx, &git.FetchOptions{
			RefSpecs: []gitconfig.RefSpec{spec}, Auth: auth, Tags: git.NoTags, Force: true,
		})
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetching %s: %w", name.Short(), err)
	}
	return nil
}

func peelCommit(repo *git.Repository, h plumbing.Hash) (*object.Commit, error) {
	if tag, err := repo.TagObject(h); err == nil {
		return tag.Commit()
	}
	return repo.CommitObject(h)
}

// acceptedRef records, in the mirror, the commit loaded for a remote ref,
// so a restart checks the next fetch against it.
func acceptedRef(name plumbing.ReferenceName) plumbing.ReferenceName {
	return plumbing.ReferenceName("refs/sluice/accepted/" + strings.TrimPrefix(string(name), "refs/"))
}

// advance moves the listing to commit. A commit that does not descend from
// the one loaded (a force push, a moved tag) is refused: the loaded one
// stays, like an outage, until the mirror is removed.
func (s *gitSource) advance(ctx context.Context, repo *git.Repository, name plumbing.ReferenceName, hash plumbing.Hash, commit *object.Commit) error {
	prev := s.loaded
	if prev == nil || name != s.refName {
		prev = nil
		if r, err := repo.Reference(acceptedRef(name), true); err == nil {
			if c, err := repo.CommitObject(r.Hash()); err == nil {
				prev = c
			}
		}
	}
	if prev != nil && prev.Hash != commit.Hash {
		ok, err := prev.IsAncestor(commit)
		if err != nil {
			return fmt.Errorf("checking that %s descends from %s: %w", short(commit.Hash), short(prev.Hash), err)
		}
		if !ok {
			return fmt.Errorf("%w: %s is now at %s, which does not descend from %s; keeping %s (remove %s to accept the new history)",
				ErrForcePushed, name.Short(), short(commit.Hash), short(prev.Hash), short(prev.Hash), s.mirror)
		}
	}
	tree, err := s.folderTree(commit)
	if err != nil {
		return err
	}
	origin := commitView(commit)
	if s.loaded == nil || name != s.refName {
		s.files, s.skipped = make(map[string]Object), make(map[string]string)
		if err := s.walk(ctx, tree, origin); err != nil {
			return err
		}
	} else {
		old, err := s.folderTree(s.loaded)
		if err != nil {
			return err
		}
		changes, err := object.DiffTreeWithOptions(ctx, old, tree, nil)
		if err != nil {
			return fmt.Errorf("comparing %s with %s: %w", short(s.loaded.Hash), short(commit.Hash), err)
		}
		for _, c := range changes {
			if c.From.Name != "" {
				delete(s.files, c.From.Name)
				delete(s.skipped, c.From.Name)
			}
			if c.To.Name != "" {
				s.add(c.To.Name, c.To.TreeEntry, origin)
			}
		}
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(acceptedRef(name), commit.Hash)); err != nil {
		return fmt.Errorf("recording the loaded commit in the mirror: %w", err)
	}
	s.refName, s.refHash, s.loaded, s.commitRO = name, hash, commit, origin
	s.rebuild()
	return nil
}

// folderTree is the tree of the configured folder at commit. A commit
// without the folder fails the scan rather than deleting every DAG.
func (s *gitSource) folderTree(c *object.Commit) (*object.Tree, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading the tree of %s: %w", short(c.Hash), err)
	}
	if s.folder == "" {
		return tree, nil
	}
	sub, err := tree.Tree(s.folder)
	if err != nil {
		return nil, fmt.Errorf("folder %q at %s: %w", s.folder, short(c.Hash), err)
	}
	return sub, nil
}

// walk lists every entry of tree: names and hashes only, no blob opened.
func (s *gitSource) walk(ctx context.Context, tree *object.Tree, origin *api.Commit) error {
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		name, entry, err := w.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("walking the tree: %w", err)
		}
		if entry.Mode == filemode.Dir {
			continue
		}
		s.add(name, entry, origin)
	}
}

// add lists one tree entry if it is a DAG file.
func (s *gitSource) add(key string, e object.TreeEntry, origin *api.Commit) {
	if !isDAGKey(key) {
		return
	}
	if !safeKey(key) {
		s.skipped[key] = fmt.Sprintf("refused path %q: not a plain relative path", key)
		return
	}
	switch e.Mode {
	case filemode.Regular, filemode.Executable, filemode.Deprecated:
	case filemode.Symlink:
		s.skipped[key] = fmt.Sprintf("skipped %s: a symlink", key)
		return
	default:
		s.skipped[key] = fmt.Sprintf("skipped %s: not a file (mode %s)", key, e.Mode)
		return
	}
	s.files[key] = Object{Key: key, Location: s.fileLocation(key), Version: e.Hash.String(), Origin: origin}
}

// rebuild makes the listing from files, sorted by key.
func (s *gitSource) rebuild() {
	objs := make([]Object, 0, len(s.files))
	for _, o := range s.files {
		objs = append(objs, o)
	}
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	var problems []string
	for _, p := range s.skipped {
		problems = append(problems, p)
	}
	slices.Sort(problems)
	s.listing = Listing{Objects: objs, Problems: problems, Commit: s.commitRO}
}

func (s *gitSource) Read(ctx context.Context, o Object) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repo == nil {
		return nil, errors.New("the git mirror is not open")
	}
	s.blobReads.Add(1)
	blob, err := s.repo.BlobObject(plumbing.NewHash(o.Version))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", o.Version, err)
	}
	if blob.Size > dag.MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", dag.ErrTooLarge, blob.Size, dag.MaxFileSize)
	}
	r, err := blob.Reader()
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", o.Version, err)
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, dag.MaxFileSize+1))
}

func short(h plumbing.Hash) string { return h.String()[:7] }

// commitView is a commit for the read model. Author and subject are the
// committer's free text: control characters (terminal escapes) go.
func commitView(c *object.Commit) *api.Commit {
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return &api.Commit{
		Hash:    c.Hash.String(),
		Short:   short(c.Hash),
		Author:  printable(c.Author.Name, 80),
		Subject: printable(subject, 120),
		When:    c.Author.When,
	}
}

// printable is s made safe for a terminal (the shared sanitiser), cut to
// max runes: a commit subject is anyone's text, and one line.
func printable(s string, max int) string {
	s = text.Line(s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}
