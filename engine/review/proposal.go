package review

// The inputs the metapipeline hands over. They are defined here, not in the
// analysis packages, so staging depends on no analysis code: the engine
// converts the analysis output into these.

// Candidate is a dbt model proposed for deletion.
type Candidate struct {
	UniqueID string // model.jaffle_shop.stg_payments
	Name     string // stg_payments: the entry's name in the properties YAML
	Reason   string // "no downstream consumer"
	// Files are the model's files relative to the dbt project root
	// (original_file_path first); each is deleted when present.
	Files []string
	// PatchPath is the properties YAML describing the model, as the manifest
	// gives it ("jaffle_shop://models/schema.yml") or project-relative;
	// empty when the model has none.
	PatchPath  string
	Importance float64
	// Evidence is shown in the pane and the pull request; optional.
	Evidence *Evidence
}

// Exposures is the regenerated dbt exposures YAML.
type Exposures struct {
	Path    string // relative to the dbt project root, e.g. models/exposures.yml
	Content []byte
	// Subjects are the exposures (reports) the file declares, for the pane
	// and the pull request body; optional.
	Subjects []Subject
}

// StaleReport is a BI report proposed for archiving.
type StaleReport struct {
	Token  string
	Name   string
	Reason string // "not run for 143 days"
}

// Proposal is one metapipeline run's output. A nil part was not analysed and
// leaves existing items alone; a non-nil empty part means "nothing to
// propose" and withdraws a staged item of that kind.
type Proposal struct {
	Deprecate []Candidate
	// Models is the number of the project's own models, against which
	// Config.MaxDeleteFraction caps a deprecation; 0 skips the cap.
	Models    int
	Exposures *Exposures
	Stale     []StaleReport
	// Consumers are, by model name, model unique id or report token, what
	// the analysis found consuming it now. A second phase (deleting what a
	// first phase disabled or archived) leaves such subjects alone: they
	// found a new consumer during the quiet period. nil: the analysis had
	// no consumer evidence, and no second phase is staged.
	Consumers map[string][]string
}
