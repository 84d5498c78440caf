package review

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// unitTestEdits removes (delete) or disables (the first phase) the unit
// tests (dbt ≥ 1.8, `unit_tests: - model: NAME`) of the models a branch
// deletes or disables, in every properties file of the project, on top of
// the edits ed already holds: a unit test left on a model that is gone
// makes `dbt parse` fail. It returns the files changed per candidate
// unique id. cands are the models the branch does take (something of
// theirs is removed or disabled).
func unitTestEdits(projectDir string, baseTree *object.Tree, ed edits, cands []Candidate, remove bool) (map[string][]string, []string, error) {
	byName := map[string][]string{} // model name -> unique ids
	for _, c := range cands {
		byName[c.Name] = append(byName[c.Name], c.UniqueID)
	}
	if len(byName) == 0 {
		return nil, nil, nil
	}
	names := make(map[string]bool, len(byName))
	for n := range byName {
		names[n] = true
	}
	files, err := treeFiles(baseTree, projectDir)
	if err != nil {
		return nil, nil, err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		if isYAML(p) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	touched := map[string][]string{}
	var notes []string
	for _, p := range paths {
		src, edited := ed[p]
		if edited && src == nil {
			continue // the branch deletes the file, unit tests and all
		}
		if !edited {
			if src, err = blobText(files[p]); err != nil {
				return nil, nil, err
			}
		}
		if !bytes.Contains(src, []byte("unit_tests")) {
			continue
		}
		var content []byte
		var done []string
		var empty bool
		if remove {
			res, err := removeUnitTests(src, names)
			content, done, empty = res.Content, res.Removed, res.Empty
			if err != nil {
				notes = append(notes, fmt.Sprintf("%s left unchanged: %v; its unit tests of the models may be left behind", p, err))
				continue
			}
		} else {
			content, done, err = disableUnitTests(src, names)
			if err != nil {
				notes = append(notes, fmt.Sprintf("%s left unchanged: %v; its unit tests of the models may be left enabled", p, err))
				continue
			}
		}
		if len(done) == 0 {
			continue
		}
		if empty {
			ed[p] = nil
		} else {
			ed[p] = append([]byte{}, content...)
		}
		seen := map[string]bool{}
		for _, n := range done {
			if seen[n] {
				continue
			}
			seen[n] = true
			for _, id := range byName[n] {
				touched[id] = append(touched[id], p)
			}
		}
	}
	return touched, notes, nil
}

// addFiles appends the files to a candidate's list, each once.
func addFiles(touched map[string][]string, more map[string][]string) {
	for id, files := range more {
		for _, f := range files {
			dup := false
			for _, have := range touched[id] {
				dup = dup || have == f
			}
			if !dup {
				touched[id] = append(touched[id], f)
			}
		}
	}
}

// takenCandidates are the candidates something was changed for.
func takenCandidates(cands []Candidate, touched map[string][]string) []Candidate {
	var out []Candidate
	for _, c := range cands {
		if len(touched[c.UniqueID]) > 0 {
			out = append(out, c)
		}
	}
	return out
}
