package demoenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// DemoBranch is the demo repository's only branch.
const DemoBranch = "main"

// setupDBT makes the demo dbt repository under root: the checkout at
// root/shop (its target/ holding the manifest and run history) with a bare
// origin at root/shop.git, which is where approved branches get pushed. An
// existing repository (a kept --state-dir) is reused as it is, with its
// artifacts refreshed.
func setupDBT(root string, now time.Time) (DBT, error) {
	dir, remote := filepath.Join(root, "shop"), filepath.Join(root, "shop.git")
	_, statErr := os.Stat(filepath.Join(remote, "HEAD"))
	fresh := errors.Is(statErr, os.ErrNotExist)
	if fresh {
		// A half-made repository from an interrupted start goes.
		if err := errors.Join(os.RemoveAll(dir), os.RemoveAll(remote)); err != nil {
			return DBT{}, err
		}
	}
	p, files, err := writeDBTProject(dir, now)
	if err != nil {
		return DBT{}, fmt.Errorf("writing the demo dbt project: %w", err)
	}
	p.Remote = remote
	if !fresh {
		return p, nil
	}
	if err := commitProject(dir, remote, files, now); err != nil {
		return DBT{}, fmt.Errorf("making the demo dbt repository: %w", err)
	}
	return p, nil
}

// commitProject commits files in a new repository at dir and publishes the
// commit to a new bare repository at remote, its origin. Everything happens
// in Go (no git binary, no user git config).
func commitProject(dir, remote string, files []string, now time.Time) error {
	mainRef := plumbing.NewBranchReferenceName(DemoBranch)
	init := git.InitOptions{DefaultBranch: mainRef}
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: init})
	if err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	for _, f := range files {
		if _, err := wt.Add(filepath.ToSlash(f)); err != nil {
			return fmt.Errorf("adding %s: %w", f, err)
		}
	}
	author := &object.Signature{Name: "Shop Analytics", Email: "analytics@shop.example", When: now.Add(-24 * time.Hour)}
	commit, err := wt.Commit("shop: dbt project for the dashboards", &git.CommitOptions{Author: author, Committer: author})
	if err != nil {
		return err
	}

	bare, err := git.PlainInitWithOptions(remote, &git.PlainInitOptions{InitOptions: init, Bare: true})
	if err != nil {
		return err
	}
	iter, err := repo.Storer.IterEncodedObjects(plumbing.AnyObject)
	if err != nil {
		return err
	}
	if err := iter.ForEach(func(o plumbing.EncodedObject) error {
		_, err := bare.Storer.SetEncodedObject(o)
		return err
	}); err != nil {
		return fmt.Errorf("copying objects to the remote: %w", err)
	}
	for _, ref := range []*plumbing.Reference{
		plumbing.NewHashReference(mainRef, commit),
		plumbing.NewSymbolicReference(plumbing.HEAD, mainRef),
	} {
		if err := bare.Storer.SetReference(ref); err != nil {
			return err
		}
	}

	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{remote}}); err != nil {
		return err
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewRemoteReferenceName("origin", DemoBranch), commit)); err != nil {
		return err
	}
	return repo.CreateBranch(&config.Branch{Name: DemoBranch, Remote: "origin", Merge: mainRef})
}

// RemoteBranches lists the branches of the bare origin with their commits.
func (d DBT) RemoteBranches() (map[string]string, error) {
	repo, err := git.PlainOpen(d.Remote)
	if err != nil {
		return nil, err
	}
	refs, err := repo.References()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = refs.ForEach(func(r *plumbing.Reference) error {
		if r.Name().IsBranch() {
			out[r.Name().Short()] = r.Hash().String()
		}
		return nil
	})
	return out, err
}
