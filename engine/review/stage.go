package review

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/sluice-dev/sluice/engine/api"
)

// Stage stages every analysed part of a metapipeline run's proposal and
// returns the items it created or updated. A failing part does not stop
// the others; their errors are joined.
func (s *Service) Stage(ctx context.Context, p Proposal) ([]*Item, error) {
	var out []*Item
	var errs []error
	add := func(it *Item, err error) {
		if err != nil {
			errs = append(errs, err)
		}
		if it != nil {
			out = append(out, it)
		}
	}
	if p.Deprecate != nil {
		// The cap counts models: sources have no share of the project's.
		n, err := s.proposable(ctx, p.Deprecate)
		if err == nil {
			err = s.checkDeleteCap(n, p.Models)
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			cands := p.Deprecate
			if s.cfg.IncludeSources {
				cands = append(cands[:len(cands):len(cands)], p.Sources...)
			}
			add(s.StageDeprecation(ctx, cands))
		}
	}
	if p.Exposures != nil {
		add(s.StageExposures(ctx, *p.Exposures))
	}
	if p.Stale != nil {
		add(s.StageArchive(ctx, p.Stale))
	}
	// Second phases are judged by the same analysis: without consumer
	// evidence, or for a part it did not cover (no dbt repository, no BI
	// workspace), no deletion is proposed.
	if p.Consumers != nil && (p.Deprecate != nil || p.Stale != nil) {
		follow, err := s.StageFollowUps(ctx, p.Consumers, p.Deprecate != nil, p.Stale != nil)
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, follow...)
	}
	return out, errors.Join(errs...)
}

// checkDeleteCap refuses a deprecation of n of the project's models when it
// exceeds Config.MaxDeleteFraction: a proposal to delete a large share of a
// project says more about missing consumer evidence than about the models.
func (s *Service) checkDeleteCap(n, models int) error {
	if models <= 0 || n == 0 {
		return nil
	}
	limit := s.cfg.maxDeleteFraction()
	if share := float64(n) / float64(models); share > limit {
		return fmt.Errorf("%w: not staging a branch deleting %d of %d dbt models (%.0f%%), above --max-delete-fraction %g; check the consumers the analysis knows of (Mode, exposures, keep rules) or raise the cap",
			ErrDeleteCap, n, models, share*100, limit)
	}
	return nil
}

// proposable counts the candidates a deprecation branch would take: models
// a reviewer kept for good, or declined within the reconsider period, are
// left out of it and do not count against the cap.
func (s *Service) proposable(ctx context.Context, cands []Candidate) (int, error) {
	cands, _, err := s.withoutDeclined(ctx, cands)
	if err == nil {
		cands, _, err = s.withoutKept(ctx, cands)
	}
	return len(cands), err
}

// branchBuild is a staged commit and what it changes.
type branchBuild struct {
	base, commit plumbing.Hash
	baseBranch   string
	diff         string
	files        []FileChange
	subjects     []Subject
	notes        []string
	dangling     []Dangling // what the branch would break
	candidates   []Candidate
	excluded     []Exclusion
	recipe       *Recipe // how commit was made, for other boxes
}

// StageDeprecation stages the first phase of a deprecation: a branch
// disabling the candidates (Config.DeprecateMode), or, in the delete mode,
// removing their files and properties entries. It returns the item now
// standing for the proposal (nil when there is nothing to propose: no
// candidates, or none of their files exist on the base branch). Models a
// reviewer kept are left out; models a reviewer left out of the staged item
// stay out while it is staged.
func (s *Service) StageDeprecation(ctx context.Context, cands []Candidate) (*Item, error) {
	all := cands
	cands, held, err := s.withoutDeclined(ctx, cands)
	if err != nil {
		return nil, err
	}
	for _, n := range held {
		s.log.Info("staging deprecate", "note", n)
	}
	if cands, held, err = s.withoutKept(ctx, cands); err != nil {
		return nil, err
	}
	for _, n := range held {
		s.log.Info("staging deprecate", "note", n)
	}
	cands = wholeModels(all, cands)
	cands = append([]Candidate(nil), cands...)
	sort.Slice(cands, func(i, j int) bool { return cands[i].UniqueID < cands[j].UniqueID })
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = c.UniqueID
	}
	mode := s.cfg.deprecateMode()
	return s.stageBranch(ctx, branchSpec{kind: KindDeprecate, mode: mode, fp: fingerprint(KindDeprecate, append([]string{mode}, ids...)...), empty: len(cands) == 0,
		build: func(sc *scratch, baseTree *object.Tree, staged *Item) (*builtEdits, error) {
			return s.deprecationBuild(sc.projectDir, baseTree, mode, cands, staged)
		}})
}

// wholeModels drops from in the versions of a versioned model some other
// version of which all has but in lacks (a reviewer kept, declined or took
// it out): the edits work on the model's one properties entry, so its
// versions go together or not at all. Versions share a name and a
// properties file.
func wholeModels(all, in []Candidate) []Candidate {
	key := func(c Candidate) string { return c.PatchPath + "\x00" + c.Name }
	has := map[string]bool{}
	for _, c := range in {
		has[c.UniqueID] = true
	}
	partial := map[string]bool{}
	for _, c := range all {
		if !c.IsSource() && c.PatchPath != "" && !has[c.UniqueID] {
			partial[key(c)] = true
		}
	}
	if len(partial) == 0 {
		return in
	}
	var out []Candidate
	for _, c := range in {
		if c.IsSource() || !partial[key(c)] {
			out = append(out, c)
		}
	}
	return out
}

// builtEdits is what a branch's build step produced.
type builtEdits struct {
	ed         edits
	subjects   []Subject
	notes      []string
	candidates []Candidate // deprecate and delete items: the models proposed, excluded ones too
	excluded   []Exclusion // carried over from the staged item
}

// deprecationBuild builds the edits of a deprecate (or, with mode
// DeprecateDelete, a delete) branch from the candidates minus the models
// a reviewer left out of the staged item.
func (s *Service) deprecationBuild(projectDir string, baseTree *object.Tree, mode string, cands []Candidate, staged *Item) (*builtEdits, error) {
	var excl []Exclusion
	out := map[string]bool{}
	if staged != nil {
		excl = staged.Excluded
		for _, x := range staged.Excluded {
			out[x.ID] = true
		}
	}
	var in []Candidate
	for _, c := range cands {
		if !out[c.UniqueID] {
			in = append(in, c)
		}
	}
	in = wholeModels(cands, in)
	b := &builtEdits{excluded: excl, candidates: cands}
	if len(in) == 0 {
		return b, nil
	}
	var models, sources []Candidate
	for _, c := range in {
		if c.IsSource() {
			sources = append(sources, c)
		} else {
			models = append(models, c)
		}
	}
	var err error
	switch {
	case len(models) == 0:
		b.ed = edits{}
	case mode == DeprecateDelete:
		b.ed, b.subjects, b.notes, err = deprecationEdits(projectDir, baseTree, models)
	default:
		b.ed, b.subjects, b.notes, err = disableEdits(projectDir, baseTree, models, mode, s.cfg.now().Add(s.cfg.quiet()).UTC().Format("2006-01-02"))
	}
	if err != nil || len(sources) == 0 {
		return b, err
	}
	// Sources are removed in every mode: a source entry has no data of
	// its own to keep, and git keeps the entry should it be wanted back.
	subjects, notes, err := sourceEdits(projectDir, baseTree, b.ed, sources)
	b.subjects, b.notes = append(b.subjects, subjects...), append(b.notes, notes...)
	return b, err
}

// StageExposures stages a branch writing the exposures YAML, when it differs
// from the base branch's.
func (s *Service) StageExposures(ctx context.Context, ex Exposures) (*Item, error) {
	return s.stageBranch(ctx, branchSpec{kind: KindExposures, fp: fingerprint(KindExposures, ex.Path, string(ex.Content)), empty: len(ex.Content) == 0,
		build: func(sc *scratch, baseTree *object.Tree, _ *Item) (*builtEdits, error) {
			p := repoPath(sc.projectDir, ex.Path)
			cur, ok, err := fileContent(baseTree, p)
			if err != nil {
				return nil, err
			}
			if ok && bytes.Equal(cur, ex.Content) {
				return &builtEdits{}, nil
			}
			subjects := append([]Subject(nil), ex.Subjects...)
			for i := range subjects {
				subjects[i].Files = []string{p}
			}
			return &builtEdits{ed: edits{p: ex.Content}, subjects: subjects}, nil
		}})
}

// StageArchive stages the stale reports as one archive item.
func (s *Service) StageArchive(ctx context.Context, reports []StaleReport) (*Item, error) {
	reports = append([]StaleReport(nil), reports...)
	sort.Slice(reports, func(i, j int) bool { return reports[i].Token < reports[j].Token })
	tokens := make([]string, len(reports))
	subjects := make([]Subject, len(reports))
	for i, r := range reports {
		tokens[i] = r.Token
		subjects[i] = Subject{ID: r.Token, Name: r.Name, Reason: r.Reason}
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer s.afterAction(ctx)

	fp := fingerprint(KindArchive, tokens...)
	staged, settled, err := s.existing(ctx, KindArchive, 0, fp)
	if err != nil {
		return nil, err
	}
	if len(reports) == 0 || settled != nil {
		return settled, s.withdraw(ctx, staged, settled)
	}
	if staged != nil && staged.Fingerprint == fp {
		return staged, nil
	}
	it := staged
	if it == nil {
		it = &Item{Kind: KindArchive}
	}
	it.Title = fmt.Sprintf("Archive %d stale %s", len(reports), plural(len(reports), "report", "reports"))
	it.Subjects, it.Fingerprint, it.Error = subjects, fp, ""
	return it, s.save(ctx, it, staged != nil)
}

// branchSpec is what stageBranch stages.
type branchSpec struct {
	kind    Kind
	mode    string // deprecate items: Config.DeprecateMode
	follows int64  // second-phase items: the first phase
	fp      string
	empty   bool
	// build returns the edits on the base tree; staged is the item the
	// proposal replaces, if any.
	build func(sc *scratch, baseTree *object.Tree, staged *Item) (*builtEdits, error)
}

// stageBranch is the common path of branch items: find what already stands
// for the proposal, build the commit in the scratch clone, and create or
// update the staged item.
func (s *Service) stageBranch(ctx context.Context, spec branchSpec) (*Item, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer s.afterAction(ctx)

	staged, settled, err := s.existing(ctx, spec.kind, spec.follows, spec.fp)
	if err != nil {
		return nil, err
	}
	if spec.empty || settled != nil {
		return settled, s.withdraw(ctx, staged, settled)
	}
	sc, err := s.stagingScratch()
	if err != nil {
		return nil, err
	}
	base, baseBranch, err := sc.base(ctx)
	if err != nil {
		return nil, err
	}
	if staged != nil && staged.Fingerprint == spec.fp && staged.Base == base.String() && s.branchHere(ctx, sc, staged) {
		return staged, nil // the same proposal on the same base: nothing to redo
	}
	it := staged
	if it == nil {
		it = &Item{Kind: spec.kind, Mode: spec.mode, Follows: spec.follows}
	}
	it.Fingerprint = spec.fp
	return it, s.stageItem(ctx, sc, it, staged != nil, base, baseBranch, "", func(baseTree *object.Tree) (*builtEdits, error) {
		return spec.build(sc, baseTree, staged)
	})
}

// stageItem builds it's branch on base and saves it, staged or blocked,
// with note in its history (default: staged, or updated by a run); an item
// whose edits change nothing on this base is withdrawn.
func (s *Service) stageItem(ctx context.Context, sc *scratch, it *Item, exists bool, base plumbing.Hash, baseBranch, note string,
	build func(*object.Tree) (*builtEdits, error)) error {
	b, err := s.buildBranch(ctx, sc, it.Kind, it.Mode, base, baseBranch, build)
	if err != nil {
		return err
	}
	if b == nil {
		// Nothing to change on this base (the exposures are current, the
		// files are already gone): what was staged is moot.
		if !exists {
			return nil
		}
		return s.withdraw(ctx, it, nil)
	}
	branch := fmt.Sprintf("sluice/%s-%s-%s", it.Kind, s.cfg.now().UTC().Format("20060102"), b.commit.String()[:7])
	if err := sc.setBranch(branch, b.commit); err != nil {
		return err
	}
	if it.Branch != "" && it.Branch != branch {
		s.dropBranch(it)
	}
	it.Repo, it.Remote, it.GitHubAPI = repoKey(s.cfg.Repo), withoutPassword(sc.pushURL), s.cfg.GitHubAPIURL
	it.GitHubRepo = ""
	if owner, repo, ok := s.githubRepo(&Item{}, sc.pushURL); ok {
		it.GitHubRepo = owner + "/" + repo
	}
	it.Branch, it.BaseBranch, it.Base, it.Commit, it.Rebuild = branch, b.baseBranch, b.base.String(), b.commit.String(), b.recipe
	it.Files, it.Diff, it.Subjects, it.Notes = b.files, b.diff, b.subjects, b.notes
	it.Candidates, it.Excluded = b.candidates, b.excluded
	it.Error, it.Blocked = "", nil
	it.Title = branchTitle(it.Kind, it.Mode, b.subjects)
	if note := s.dbtParse(ctx, sc, b.commit); note != "" {
		it.Notes = append(append([]string(nil), it.Notes...), note)
	}
	state := api.ReviewStaged
	if len(b.dangling) > 0 {
		state = api.ReviewBlocked
		it.Blocked = danglingText(b.dangling)
		it.Error = blockedMessage(it.Blocked)
	}
	return s.saveNoted(ctx, it, exists, state, note)
}

// buildBranch applies the edits to the base tree and commits them; nil when
// they change nothing.
func (s *Service) buildBranch(ctx context.Context, sc *scratch, kind Kind, mode string, base plumbing.Hash, baseBranch string,
	build func(*object.Tree) (*builtEdits, error)) (*branchBuild, error) {
	st := sc.repo.Storer
	baseCommit, err := object.GetCommit(st, base)
	if err != nil {
		return nil, fmt.Errorf("reading base commit %s: %w", base, err)
	}
	baseTree, err := baseCommit.Tree()
	if err != nil {
		return nil, fmt.Errorf("reading base tree: %w", err)
	}
	be, err := build(baseTree)
	if err != nil {
		return nil, err
	}
	for _, n := range be.notes {
		s.log.Warn("staging "+string(kind), "note", n)
	}
	if len(be.ed) == 0 {
		return nil, nil
	}
	treeHash, err := buildTree(st, baseTree, be.ed)
	if err != nil {
		return nil, err
	}
	if treeHash == baseTree.Hash {
		return nil, nil
	}
	newTree, err := object.GetTree(st, treeHash)
	if err != nil {
		return nil, err
	}
	diff, files, err := unifiedDiff(ctx, baseTree, newTree)
	if err != nil {
		return nil, err
	}
	dangling, err := checkTree(baseTree, newTree, sc.projectDir)
	if err != nil {
		return nil, fmt.Errorf("checking the branch's references: %w", err)
	}
	msg := commitMessage(kind, mode, baseBranch, be.subjects, be.notes)
	sig := signature(&s.cfg, s.cfg.now())
	commit, err := writeCommit(st, treeHash, base, msg, sig)
	if err != nil {
		return nil, err
	}
	return &branchBuild{base: base, commit: commit, baseBranch: baseBranch, diff: diff, files: files, subjects: be.subjects, notes: be.notes,
		dangling: dangling, candidates: be.candidates, excluded: be.excluded, recipe: newRecipe(be.ed, msg, sig)}, nil
}

// propertiesFile is the properties YAML declaring some candidates.
type propertiesFile struct {
	path  string // in the repository
	cands []Candidate
	names map[string]bool // the candidates' model names
}

// byPropertiesFile groups the candidates that have a properties entry by
// the file that holds it, in path order, so a branch's edits are made in
// the same order on every run.
func byPropertiesFile(projectDir string, cands []Candidate) []propertiesFile {
	byPath := map[string]*propertiesFile{}
	for _, c := range cands {
		if c.PatchPath == "" {
			continue
		}
		p := repoPath(projectDir, stripPackage(c.PatchPath))
		pf := byPath[p]
		if pf == nil {
			pf = &propertiesFile{path: p, names: map[string]bool{}}
			byPath[p] = pf
		}
		pf.cands = append(pf.cands, c)
		pf.names[c.Name] = true
	}
	out := make([]propertiesFile, 0, len(byPath))
	for _, pf := range byPath {
		out = append(out, *pf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// deprecationEdits removes each candidate's files and properties entry.
func deprecationEdits(projectDir string, baseTree *object.Tree, cands []Candidate) (edits, []Subject, []string, error) {
	ed := edits{}
	var notes []string
	touched := map[string][]string{} // unique id -> files changed for it
	for _, c := range cands {
		for _, f := range c.Files {
			p := repoPath(projectDir, f)
			_, ok, err := fileContent(baseTree, p)
			if err != nil {
				return nil, nil, nil, err
			}
			if !ok {
				notes = append(notes, fmt.Sprintf("%s: %s is not on the base branch", c.Name, p))
				continue
			}
			ed[p] = nil
			touched[c.UniqueID] = append(touched[c.UniqueID], p)
		}
	}
	for _, pf := range byPropertiesFile(projectDir, cands) {
		p, group := pf.path, pf.cands
		src, ok, err := fileContent(baseTree, p)
		if err != nil {
			return nil, nil, nil, err
		}
		if !ok {
			notes = append(notes, fmt.Sprintf("properties file %s is not on the base branch", p))
			continue
		}
		res, err := removeModels(src, pf.names)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s left unchanged: %v", p, err))
			continue
		}
		removed := map[string]bool{}
		for _, n := range res.Removed {
			removed[n] = true
		}
		for _, c := range group {
			if !removed[c.Name] {
				notes = append(notes, fmt.Sprintf("%s: no entry in %s", c.Name, p))
				continue
			}
			touched[c.UniqueID] = append(touched[c.UniqueID], p)
		}
		if len(res.Removed) == 0 {
			continue
		}
		if res.Empty {
			ed[p] = nil
		} else {
			ed[p] = append([]byte{}, res.Content...)
		}
	}
	// Unit tests of the deleted models go with them.
	tests, testNotes, err := unitTestEdits(projectDir, baseTree, ed, takenCandidates(cands, touched), true)
	if err != nil {
		return nil, nil, nil, err
	}
	notes = append(notes, testNotes...)
	addFiles(touched, tests)
	var subjects []Subject
	for _, c := range cands {
		files := touched[c.UniqueID]
		if len(files) == 0 {
			notes = append(notes, fmt.Sprintf("%s: nothing to remove on the base branch", c.Name))
			continue
		}
		subjects = append(subjects, Subject{ID: c.UniqueID, Name: c.Name, Reason: c.Reason, Importance: c.Importance, Files: files, Evidence: c.Evidence})
	}
	return ed, subjects, notes, nil
}

// stripPackage turns the manifest's "package://models/x.yml" into the path.
func stripPackage(patchPath string) string {
	if _, p, ok := strings.Cut(patchPath, "://"); ok {
		return p
	}
	return patchPath
}

// existing finds the staged item of kind and an item that already settles
// this exact proposal: in flight or done (approved, pushed, pr-open,
// archived, failed), or rejected by a human. A withdrawn item settles
// nothing: the proposal was dropped by a run, not by a person.
//
// Second-phase items are matched within the first phase they follow.
func (s *Service) existing(ctx context.Context, kind Kind, follows int64, fp string) (staged, settled *Item, err error) {
	items, err := s.store.Reviews(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("listing review items: %w", err)
	}
	for _, it := range items {
		if it.Kind != kind || it.Follows != follows {
			continue
		}
		if it.State == api.ReviewStaged || it.State == api.ReviewBlocked {
			if staged == nil {
				staged = it
			}
			continue
		}
		// A decline holds for the reconsider period only (the candidates
		// are left out meanwhile); after it the proposal may come back.
		expired := it.State == api.ReviewDeclined && !it.UpdatedAt.After(s.cfg.now().Add(-s.cfg.reconsider()))
		if it.Fingerprint == fp && settled == nil && !(it.State == api.ReviewRejected && it.Withdrawn) && !expired {
			settled = it
		}
	}
	return staged, settled, nil
}

// withdraw retires a staged item the latest run no longer proposes (or
// whose proposal another item already settles), dropping its local branch.
func (s *Service) withdraw(ctx context.Context, staged, settledBy *Item) error {
	if staged == nil {
		return nil
	}
	note := "withdrawn: the latest metapipeline run no longer proposes it"
	if settledBy != nil {
		note = fmt.Sprintf("withdrawn: review %d (%s) already covers this proposal", settledBy.ID, settledBy.State)
	}
	s.dropBranch(staged)
	staged.Withdrawn = true
	return s.update(ctx, staged, api.ReviewRejected, note)
}

// dropBranch deletes an item's branch from its scratch clone, when it can:
// a leftover local branch is harmless.
func (s *Service) dropBranch(it *Item) {
	if it.Branch == "" {
		return
	}
	sc, err := s.itemScratch(it)
	if err == nil {
		err = sc.deleteBranch(it.Branch)
	}
	if err != nil {
		s.log.Warn("removing a superseded branch", "branch", it.Branch, "err", err)
	}
}

// save creates the item, or updates the staged one it replaces.
func (s *Service) save(ctx context.Context, it *Item, exists bool) error {
	return s.saveAs(ctx, it, exists, api.ReviewStaged)
}

// saveAs is save into a given state: staged, or blocked.
func (s *Service) saveAs(ctx context.Context, it *Item, exists bool, state State) error {
	return s.saveNoted(ctx, it, exists, state, "")
}

// saveNoted is saveAs with the history note of a staged update.
func (s *Service) saveNoted(ctx context.Context, it *Item, exists bool, state State, why string) error {
	now := s.cfg.now().UTC()
	note := "staged"
	if state == api.ReviewBlocked {
		note = it.Error
	}
	if exists {
		switch {
		case state == api.ReviewStaged && why != "":
			note = why
		case state == api.ReviewStaged:
			note = "updated by a new metapipeline run"
		case why != "":
			note = why + "; " + note
		}
		return s.update(ctx, it, state, note)
	}
	it.State = state
	it.CreatedAt, it.UpdatedAt = now, now
	it.History = []Event{{At: now, State: state, Note: note}}
	if err := s.store.CreateReview(ctx, it); err != nil {
		return fmt.Errorf("saving review item: %w", err)
	}
	s.log.Info("review item staged", "id", it.ID, "kind", it.Kind, "branch", it.Branch)
	return nil
}

// fingerprint identifies a proposal's content.
func fingerprint(kind Kind, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
