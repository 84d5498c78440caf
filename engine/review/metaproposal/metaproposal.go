// Package metaproposal turns a metapipeline analysis into the proposal the
// review service stages. It is the one place that knows both shapes, so
// neither the analysis nor the review service depends on the other.
package metaproposal

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/meta/exposures"
	"github.com/sluice-dev/sluice/engine/review"
)

// FromReport converts an analysis. The deprecation part is always present
// (empty when nothing is unused, which withdraws a staged branch); the
// exposures and archive parts only when the analysis read a BI workspace —
// without one it has no opinion on either, and staged items stay.
func FromReport(r *meta.Report) review.Proposal {
	p := review.Proposal{Deprecate: []review.Candidate{}, Models: r.Manifest.LocalModels}
	for _, c := range r.Candidates {
		ev := c.Evidence
		p.Deprecate = append(p.Deprecate, review.Candidate{
			Evidence:   &ev,
			UniqueID:   c.UniqueID,
			Name:       c.Name,
			Reason:     c.Reason,
			Files:      deletable(c),
			PatchPath:  c.PatchPath,
			Importance: c.Importance,
		})
	}
	p.Consumers = consumers(r)
	if r.BI == nil {
		return p
	}
	p.Stale = []review.StaleReport{}
	for _, s := range r.Stale {
		p.Stale = append(p.Stale, review.StaleReport{Token: s.Token, Name: s.Name, Reason: s.Reason})
	}
	ex := &review.Exposures{Path: r.Exposures.Path, Content: r.Exposures.YAML}
	declared := declaredExposures(r.Exposures.YAML)
	for _, token := range r.Exposures.Reports {
		sub := review.Subject{ID: token, Name: token, Reason: "active Mode report"}
		if e, ok := declared[token]; ok {
			sub.Name = e.Label
			if sub.Name == "" {
				sub.Name = e.Name
			}
			if len(e.DependsOn) > 0 {
				sub.Reason = "active Mode report reading " + strings.Join(e.DependsOn, ", ")
			}
		}
		ex.Subjects = append(ex.Subjects, sub)
	}
	p.Exposures = ex
	return p
}

// consumers are what the analysis found consuming models and reports now,
// for the second phase of a deprecation: a model that reaches a consumer
// (re-enabled, and used), a relation a BI query reads that the manifest no
// longer has (a disabled model's table, still read), an active report. nil
// without consumer evidence: then nothing can be judged unused.
func consumers(r *meta.Report) map[string][]string {
	if r.Notice != "" {
		return nil
	}
	out := map[string][]string{}
	cand := map[string]bool{}
	for _, c := range r.Candidates {
		cand[c.UniqueID] = true
	}
	for _, c := range r.Centrality {
		if !cand[c.ID] && strings.HasPrefix(c.ID, "model.") {
			out[c.ID] = append(out[c.ID], "reaches a consumer in the dbt project")
		}
	}
	if r.BI != nil {
		for _, u := range r.BI.Unmatched {
			ref := u.Ref
			if i := strings.LastIndexByte(ref, '.'); i >= 0 {
				ref = ref[i+1:]
			}
			name := strings.ToLower(strings.Trim(ref, "\"`[]"))
			out[name] = append(out[name], fmt.Sprintf("BI query %s / %s reads %s", u.Report, u.Query, u.Ref))
		}
		for _, token := range r.Exposures.Reports {
			out[token] = append(out[token], "active Mode report")
		}
	}
	return out
}

// declaredExposures reads the generated file back, by report token, for
// the names and dependencies the pane and the pull request show.
func declaredExposures(data []byte) map[string]exposures.Exposure {
	var f struct {
		Exposures []exposures.Exposure `yaml:"exposures"`
	}
	out := map[string]exposures.Exposure{}
	if yaml.Unmarshal(data, &f) != nil {
		return out
	}
	for _, e := range f.Exposures {
		out[e.Meta.ModeReportToken] = e
	}
	return out
}

// deletable are the candidate's files to delete: every file but its
// properties YAML, which other models may share and is edited instead.
func deletable(c meta.Candidate) []string {
	yml := stripPackage(c.PatchPath)
	var files []string
	if c.SQLFile != "" {
		files = append(files, c.SQLFile)
	}
	for _, f := range c.Files {
		if f != yml && f != c.SQLFile {
			files = append(files, f)
		}
	}
	return files
}

func stripPackage(patchPath string) string {
	for i := 0; i+2 < len(patchPath); i++ {
		if patchPath[i:i+3] == "://" {
			return patchPath[i+3:]
		}
	}
	return patchPath
}
