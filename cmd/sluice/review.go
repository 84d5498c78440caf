package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/flags"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/meta/mode"
	"github.com/sluice-dev/sluice/engine/review"
)

func init() {
	register(command{name: "review list", summary: "list the metapipeline's review items (staged branches, reports to archive)", run: runReviewList})
	register(command{name: "review show", summary: "show a review item and its diff", run: runReviewShow})
	register(command{name: "review approve", summary: "push a review item's branch and open its pull request, or archive its reports", run: runReviewApprove})
	register(command{name: "review reject", summary: "reject a review item and delete its local branch", run: runReviewReject})
	register(command{name: "review unreject", summary: "undo the rejection of a review item: staged again, its branch restaged", run: runReviewUnreject})
	register(command{name: "review exclude", summary: "take a model out of a staged deprecation (only this time, or --keep for good)", run: runReviewExclude})
}

// reviewFlags is what every review command shares.
type reviewFlags struct {
	fs       *flag.FlagSet
	stateDir string
	store    string
	asJSON   bool
	verbose  bool
}

func newReviewFlags(name, usage string, env *cliEnv, withJSON bool) *reviewFlags {
	f := &reviewFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(env.stderr)
	f.fs.StringVar(&f.stateDir, "state-dir", flags.DefaultStateDir(env.getenv), "the engine's state dir ($SLUICE_STATE_DIR)")
	addStoreFlag(f.fs, env, &f.store)
	f.fs.BoolVar(&f.verbose, "v", false, "log to stderr")
	if withJSON {
		f.fs.BoolVar(&f.asJSON, "json", false, "print JSON instead of text")
	}
	f.fs.Usage = func() {
		fmt.Fprint(env.stderr, usage)
		fmt.Fprint(env.stderr, "\nFlags:\n")
		f.fs.PrintDefaults()
	}
	return f
}

// parse parses args and the item id when wantID; ok false means return code.
func (f *reviewFlags) parse(env *cliEnv, args []string, wantID bool) (id int64, code int, ok bool) {
	if err := parseArgs(env, f.fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, exitOK, false
		}
		return 0, exitUsage, false
	}
	rest := f.fs.Args()
	if wantID {
		if len(rest) != 1 {
			fmt.Fprintf(env.stderr, "sluice %s: want one review ID\n", f.fs.Name())
			seeHelp(env.stderr, f.fs)
			return 0, exitUsage, false
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(rest[0], "#"), 10, 64)
		if err != nil || n <= 0 {
			fmt.Fprintf(env.stderr, "sluice %s: %q is not a review ID\n", f.fs.Name(), rest[0])
			return 0, exitUsage, false
		}
		return n, exitOK, true
	}
	if len(rest) > 0 {
		fmt.Fprintf(env.stderr, "sluice %s: unexpected argument %q\n", f.fs.Name(), rest[0])
		seeHelp(env.stderr, f.fs)
		return 0, exitUsage, false
	}
	return 0, exitOK, true
}

func (f *reviewFlags) logger(env *cliEnv) *slog.Logger {
	if !f.verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(env.stderr, nil))
}

// openReviews opens the state dir offline with the review settings cfg.
func (f *reviewFlags) open(ctx context.Context, env *cliEnv, cfg engine.Config) (*engine.Engine, bool) {
	cfg.StateDir, cfg.Store, cfg.Logger = f.stateDir, f.store, f.logger(env)
	return offlineEngine(ctx, env, f.fs.Name(), cfg)
}

// failed prints err, naming a state dir with nothing in it.
func (f *reviewFlags) failed(env *cliEnv, err error) {
	if errors.Is(err, engine.ErrNoState) {
		fmt.Fprintf(env.stderr, "sluice %s: no state in %s (has the engine or `sluice meta run` run there?)\n", f.fs.Name(), f.stateDir)
		return
	}
	fmt.Fprintf(env.stderr, "sluice %s: %v\n", f.fs.Name(), err)
}

// reviewJSON is an item as --json prints it.
type reviewJSON struct {
	ID         int64              `json:"id"`
	Kind       string             `json:"kind"`
	State      string             `json:"state"`
	Title      string             `json:"title"`
	Branch     string             `json:"branch,omitempty"`
	BaseBranch string             `json:"base_branch,omitempty"`
	Base       string             `json:"base,omitempty"`
	Commit     string             `json:"commit,omitempty"`
	Remote     string             `json:"remote,omitempty"`
	Files      []reviewFileJSON   `json:"files,omitempty"`
	Models     []reviewSubjectOut `json:"models,omitempty"`
	Reports    []reviewSubjectOut `json:"reports,omitempty"`
	Notes      []string           `json:"notes,omitempty"`
	URL        string             `json:"url,omitempty"`
	Checks     string             `json:"checks,omitempty"`
	Error      string             `json:"error,omitempty"`
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
	History    []reviewEventJSON  `json:"history"`
	Diff       string             `json:"diff,omitempty"`
}

type reviewFileJSON struct {
	Path   string `json:"path"`
	Action string `json:"action"`
}

type reviewSubjectOut struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Reason     string   `json:"reason"`
	Importance *float64 `json:"importance,omitempty"`
	Files      []string `json:"files,omitempty"`
	Result     string   `json:"result,omitempty"`
}

type reviewEventJSON struct {
	At    time.Time `json:"at"`
	State string    `json:"state"`
	Note  string    `json:"note,omitempty"`
}

func toReviewJSON(it *review.Item, withDiff bool) reviewJSON {
	out := reviewJSON{
		ID: it.ID, Kind: string(it.Kind), State: string(it.State), Title: it.Title, Branch: it.Branch,
		BaseBranch: it.BaseBranch, Base: it.Base, Commit: it.Commit, Remote: it.Remote, Notes: it.Notes,
		URL: it.URL, Checks: it.Checks, Error: it.Error, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
	for _, f := range it.Files {
		out.Files = append(out.Files, reviewFileJSON{Path: f.Path, Action: f.Action})
	}
	for _, s := range it.Subjects {
		so := reviewSubjectOut{ID: s.ID, Name: s.Name, Reason: s.Reason, Files: s.Files, Result: s.Result}
		if it.Kind == review.KindDeprecate {
			imp := s.Importance
			so.Importance = &imp
			out.Models = append(out.Models, so)
		} else {
			out.Reports = append(out.Reports, so)
		}
	}
	for _, ev := range it.History {
		out.History = append(out.History, reviewEventJSON{At: ev.At, State: string(ev.State), Note: ev.Note})
	}
	if withDiff {
		out.Diff = it.Diff
	}
	return out
}

func runReviewList(ctx context.Context, env *cliEnv, args []string) int {
	f := newReviewFlags("review list", `Usage: sluice review list [--json] [--state STATE]

Lists the review items the metapipeline staged, newest first: deprecation
branches, exposures branches and reports to archive, with their state
(staged, approved, pushed, pr-open, archived, rejected, failed).

Exit status: 0 listed, 2 usage error or unreadable state.
`, env, true)
	state := f.fs.String("state", "", "only items in this state")
	if _, code, ok := f.parse(env, args, false); !ok {
		return code
	}
	eng, ok := f.open(ctx, env, engine.Config{})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	// An empty state dir has no items; listing does not create one.
	items, err := eng.ReviewItems(ctx)
	if err != nil {
		f.failed(env, err)
		return exitUsage
	}
	var shown []*review.Item
	for _, it := range items {
		if *state == "" || string(it.State) == *state {
			shown = append(shown, it)
		}
	}
	if f.asJSON {
		out := make([]reviewJSON, 0, len(shown))
		for _, it := range shown {
			out = append(out, toReviewJSON(it, false))
		}
		if err := writeJSON(env.stdout, out); err != nil {
			return exitUsage
		}
		return exitOK
	}
	if len(shown) == 0 {
		fmt.Fprintln(env.stdout, "no review items")
		return exitOK
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tAGE\tBRANCH\tTITLE")
	now := time.Now()
	for _, it := range shown {
		branch := it.Branch
		if branch == "" {
			branch = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", it.ID, it.Kind, text.Line(reviewStateText(it)), reviewAge(now.Sub(it.CreatedAt)), text.Line(branch), text.Line(it.Title))
	}
	tw.Flush()
	return exitOK
}

// reviewAge is a compact duration: 45s, 12m, 5h, 3d.
func reviewAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func runReviewShow(ctx context.Context, env *cliEnv, args []string) int {
	f := newReviewFlags("review show", `Usage: sluice review show [--json | --patch] ID

Shows a review item: what it touches and why, its history, and the unified
diff of its branch. --patch prints the diff alone (for git apply).

Exit status: 0 shown, 2 usage error or no such item.
`, env, true)
	patchOnly := f.fs.Bool("patch", false, "print only the diff")
	id, code, ok := f.parse(env, args, true)
	if !ok {
		return code
	}
	eng, ok := f.open(ctx, env, engine.Config{})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	it, err := eng.ReviewItem(ctx, id)
	if err != nil {
		f.failed(env, err)
		return exitUsage
	}
	switch {
	case f.asJSON:
		writeJSON(env.stdout, toReviewJSON(it, true))
	case *patchOnly:
		io.WriteString(env.stdout, it.Diff)
	default:
		printReview(env.stdout, it)
	}
	return exitOK
}

// reviewStateText is the state with the pull request's number and checks
// once it has one: "pr-open #42 checks:failure", "merged #42".
func reviewStateText(it *review.Item) string {
	st := string(it.State)
	if it.PRNumber > 0 {
		st += fmt.Sprintf(" #%d", it.PRNumber)
	}
	if it.Checks != "" && it.State == api.ReviewPROpen {
		st += " checks:" + it.Checks
	}
	return st
}

// printReview prints an item for a terminal. Titles, branches, remotes,
// errors, the remote's and GitHub's messages in the history and the diff
// are anyone's text: escaped (package text), one line each but for the
// diff and multi-line notes, which keep their lines, indented.
func printReview(w io.Writer, it *review.Item) {
	l := text.Line
	fmt.Fprintf(w, "Review %d: %s\n", it.ID, l(it.Title))
	fmt.Fprintf(w, "Kind:    %s\nState:   %s\n", it.Kind, l(reviewStateText(it)))
	if it.Branch != "" {
		fmt.Fprintf(w, "Branch:  %s (on %s at %.7s)\n", l(it.Branch), l(it.BaseBranch), l(it.Base))
	}
	if it.Remote != "" {
		fmt.Fprintf(w, "Remote:  %s\n", l(it.Remote))
	}
	if it.URL != "" {
		fmt.Fprintf(w, "PR:      %s\n", l(it.URL))
	}
	if it.Error != "" {
		fmt.Fprintf(w, "Error:   %s\n", indented(it.Error, "         "))
	}
	noun := "Reports"
	if it.Kind == review.KindDeprecate {
		noun = "Models"
	}
	fmt.Fprintf(w, "\n%s:\n", noun)
	for _, s := range it.Subjects {
		line := fmt.Sprintf("  %s — %s", l(s.Name), l(s.Reason))
		if it.Kind == review.KindDeprecate {
			line += fmt.Sprintf(" (importance %.4f)", s.Importance)
		}
		if s.Result != "" {
			line += " [" + l(s.Result) + "]"
		}
		fmt.Fprintln(w, line)
		for _, e := range review.EvidenceLines(s.Evidence) {
			fmt.Fprintf(w, "      %s\n", l(e))
		}
	}
	if len(it.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range it.Notes {
			fmt.Fprintf(w, "  %s\n", indented(n, "  "))
		}
	}
	fmt.Fprintln(w, "\nHistory:")
	for _, ev := range it.History {
		fmt.Fprintf(w, "  %s  %-9s %s\n", ev.At.Local().Format("2006-01-02 15:04:05"), l(string(ev.State)),
			indented(ev.Note, strings.Repeat(" ", 33)))
	}
	if it.Diff != "" {
		fmt.Fprintf(w, "\n%s", text.Diff(it.Diff))
	}
}

// indented is s escaped for a terminal keeping its lines (text.Block),
// each line after the first indented by pad: a remote's multi-line message
// stays readable under its heading.
func indented(s, pad string) string {
	s = strings.TrimRight(text.Block(s), "\n")
	return strings.ReplaceAll(s, "\n", "\n"+pad)
}

func runReviewApprove(ctx context.Context, env *cliEnv, args []string) int {
	f := newReviewFlags("review approve", `Usage: sluice review approve [--dry-run] [flags] ID

Approves a review item. A branch item is pushed to the dbt repository's
remote (never forced: a remote branch that moved is an error and the item
stays staged) and a pull request is opened on GitHub when a repository is
known. An archive item archives each of its reports; reports that fail are
listed and a second approve retries only them. --dry-run prints what would
be pushed and posted, and changes nothing; it asks the remote for the
branch and GitHub for the repository, with the token the approval would
use, and exits 1 when GitHub would refuse the pull request.

The item remembers the repository and remote it was staged with; the flags
override them. Archiving uses the Mode API: --mode-workspace (MODE_WORKSPACE),
--mode-url (MODE_URL, default https://app.mode.com/api), and the credentials
MODE_TOKEN and MODE_SECRET from the environment.

Exit status: 0 done, 1 the push, pull request or an archive failed, 2 usage
error or no such item.

`+flags.ReviewEnvHelp, env, true)
	cfg, envErr := flags.ReviewFromEnv(env.getenv)
	flags.RegisterReview(f.fs, &cfg)
	dryRun := f.fs.Bool("dry-run", false, "show what would be pushed and posted; change nothing")
	modeURL := f.fs.String("mode-url", env.getenv("MODE_URL"), "Mode API root (default "+mode.DefaultBaseURL+")")
	modeWorkspace := f.fs.String("mode-workspace", env.getenv("MODE_WORKSPACE"), "Mode workspace whose reports are archived")
	id, code, ok := f.parse(env, args, true)
	if !ok {
		return code
	}
	if envErr != nil {
		fmt.Fprintf(env.stderr, "sluice review approve: %v\n", envErr)
		return exitUsage
	}
	eng, ok := f.open(ctx, env, engine.Config{Review: cfg, Meta: engine.MetaConfig{
		Config:    meta.Config{ModeURL: *modeURL, ModeWorkspace: *modeWorkspace},
		ModeToken: env.getenv(mode.EnvToken), ModeSecret: env.getenv(mode.EnvSecret),
	}})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	out, err := eng.ApproveReview(ctx, id, *dryRun)
	if out == nil && err != nil && !errors.Is(err, review.ErrNotFound) && !errors.Is(err, review.ErrState) {
		// The state dir or the Mode settings: nothing was tried.
		f.failed(env, err)
		return exitUsage
	}
	if out != nil {
		if f.asJSON {
			enc := json.NewEncoder(env.stdout)
			enc.SetIndent("", "  ")
			enc.Encode(outcomeJSON(out, err))
		} else {
			printOutcome(env.stdout, out)
		}
	}
	if err != nil {
		f.failed(env, err)
		if out == nil {
			return exitUsage
		}
		return exitFailed
	}
	if out.DryRun && out.PR != nil && out.PR.Warning != "" {
		// The real approval would push and then fail at GitHub.
		return exitFailed
	}
	return exitOK
}

func outcomeJSON(out *review.Outcome, err error) map[string]any {
	m := map[string]any{"dry_run": out.DryRun, "review": toReviewJSON(out.Item, false)}
	if out.Push != nil {
		m["push"] = map[string]string{"remote": out.Push.Remote, "refspec": out.Push.RefSpec, "commit": out.Push.Commit, "warning": out.Push.Warning}
	}
	if out.PR != nil {
		pr := map[string]any{"owner": out.PR.Owner, "repo": out.PR.Repo, "title": out.PR.Title,
			"head": out.PR.Head, "base": out.PR.Base, "body": out.PR.Body, "draft": out.PR.Draft}
		if out.PR.Warning != "" {
			pr["warning"] = out.PR.Warning
		}
		m["pull_request"] = pr
	}
	if out.Opened != nil {
		m["opened"] = map[string]any{"number": out.Opened.Number, "url": out.Opened.URL, "existed": out.Opened.Existed}
	}
	if len(out.Reports) > 0 {
		m["reports"] = out.Reports
	}
	if err != nil {
		m["error"] = err.Error()
	}
	return m
}

func printOutcome(w io.Writer, out *review.Outcome) {
	it := out.Item
	if out.DryRun {
		fmt.Fprintf(w, "Dry run: review %d (%s) would be approved; nothing changed.\n", it.ID, it.Kind)
	}
	if p := out.Push; p != nil {
		verb := "Pushed"
		switch {
		case out.DryRun:
			verb = "Would push"
		case !p.Pushed:
			verb = "Did not push"
		}
		fmt.Fprintf(w, "%s %s (%.7s) to %s\n", verb, p.RefSpec, p.Commit, p.Remote)
		if p.Warning != "" {
			fmt.Fprintf(w, "Warning: %s\n", p.Warning)
		}
	}
	if pr := out.PR; pr != nil && out.DryRun {
		draft := ""
		if pr.Draft {
			draft = " (draft)"
		}
		fmt.Fprintf(w, "Would open a pull request%s on %s/%s: %s <- %s\nTitle: %s\n\n%s\n", draft, pr.Owner, pr.Repo, pr.Base, pr.Head, pr.Title, pr.Body)
		if pr.Warning != "" {
			fmt.Fprintf(w, "Warning: %s\n", pr.Warning)
		}
	}
	if it.Kind.IsBranch() && out.PR == nil {
		fmt.Fprintln(w, "No GitHub repository known (--github-repo): no pull request.")
	}
	if o := out.Opened; o != nil {
		if o.Existed {
			fmt.Fprintf(w, "Pull request #%d was already open: %s\n", o.Number, o.URL)
		} else {
			fmt.Fprintf(w, "Opened pull request #%d: %s\n", o.Number, o.URL)
		}
	}
	for _, r := range out.Reports {
		switch {
		case out.DryRun:
			fmt.Fprintf(w, "Would archive %s (%s)\n", r.Name, r.Token)
		case r.Archived:
			fmt.Fprintf(w, "Archived %s (%s)\n", r.Name, r.Token)
		default:
			fmt.Fprintf(w, "FAILED   %s (%s): %s\n", r.Name, r.Token, r.Err)
		}
	}
	if !out.DryRun {
		fmt.Fprintln(w, reviewSentence(it))
	}
}

func runReviewReject(ctx context.Context, env *cliEnv, args []string) int {
	f := newReviewFlags("review reject", `Usage: sluice review reject ID [--reason TEXT]

Rejects a review item: its branch is deleted from sluice's scratch clone
(never from your checkout), and a later metapipeline run will not stage the
same proposal again.

Exit status: 0 rejected, 2 usage error, no such item, or not rejectable.
`, env, false)
	reason := f.fs.String("reason", "", "why, kept with the item and in its history")
	id, code, ok := f.parse(env, args, true)
	if !ok {
		return code
	}
	cfg, _ := flags.ReviewFromEnv(env.getenv)
	eng, ok := f.open(ctx, env, engine.Config{Review: cfg})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	it, err := eng.RejectReview(ctx, id, *reason)
	if err != nil {
		f.failed(env, err)
		return exitUsage
	}
	fmt.Fprintln(env.stdout, reviewSentence(it))
	return exitOK
}

func runReviewUnreject(ctx context.Context, env *cliEnv, args []string) int {
	f := newReviewFlags("review unreject", `Usage: sluice review unreject ID

Undoes the rejection of a review item: it is staged again (blocked, if its
branch breaks the dbt project). A deprecation whose branch the rejection
deleted is restaged from its models on the base branch as it is now. Only
an item a person rejected — not one a metapipeline run withdrew — and only
while no newer item of its kind has superseded it.

Exit status: 0 staged again, 2 usage error, no such item, or not undoable.
`, env, false)
	id, code, ok := f.parse(env, args, true)
	if !ok {
		return code
	}
	cfg, _ := flags.ReviewFromEnv(env.getenv)
	eng, ok := f.open(ctx, env, engine.Config{Review: cfg})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	it, err := eng.UndoRejectReview(ctx, id)
	if err != nil {
		f.failed(env, err)
		return exitUsage
	}
	fmt.Fprintln(env.stdout, reviewSentence(it))
	return exitOK
}

func runReviewExclude(ctx context.Context, env *cliEnv, args []string) int {
	f := newReviewFlags("review exclude", `Usage: sluice review exclude ID MODEL [--keep --reason TEXT] [--undo]

Takes a model (its name or unique id) out of a staged deprecation item; the
item is re-staged with the other models, its diff and counts updated. Only
this time by default; with --keep for good: a keep rule, with its reason,
that no later metapipeline run overrides. --undo puts the model back (and
drops a keep rule this item set).

Exit status: 0 done, 2 usage error, no such item or model, or the item is
not a staged deprecation.
`, env, false)
	keep := f.fs.Bool("keep", false, "keep the model for good: never propose it again (needs --reason)")
	reason := f.fs.String("reason", "", "why the model is kept")
	undo := f.fs.Bool("undo", false, "put the model back into the branch")
	if err := parseArgs(env, f.fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := f.fs.Args()
	if len(rest) != 2 {
		fmt.Fprintln(env.stderr, "sluice review exclude: want a review ID and a model")
		seeHelp(env.stderr, f.fs)
		return exitUsage
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(rest[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(env.stderr, "sluice review exclude: %q is not a review ID\n", rest[0])
		return exitUsage
	}
	if *keep && strings.TrimSpace(*reason) == "" && !*undo {
		fmt.Fprintln(env.stderr, "sluice review exclude: --keep needs --reason: say why the model stays")
		return exitUsage
	}
	cfg, _ := flags.ReviewFromEnv(env.getenv)
	eng, ok := f.open(ctx, env, engine.Config{Review: cfg})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	it, err := eng.ExcludeReviewModel(ctx, id, rest[1], api.Exclusion{Keep: *keep, Reason: *reason, Undo: *undo})
	if err != nil {
		f.failed(env, err)
		return exitUsage
	}
	fmt.Fprintf(env.stdout, "Review %d is %s: %s\n", it.ID, it.State, it.Title)
	for _, x := range it.Excluded {
		how := "left out this time"
		if x.Keep {
			how = "kept: " + x.Reason
		}
		fmt.Fprintf(env.stdout, "  not in the branch: %s (%s)\n", x.Name, how)
	}
	return exitOK
}

// reviewSentence says where an item stands in a sentence ("Review 2 is
// failed." reads wrong): what failed and that approving retries, the pull
// request's address, a branch pushed without one.
func reviewSentence(it *review.Item) string {
	switch it.State {
	case api.ReviewFailed:
		why := ""
		if it.Error != "" {
			why = ": " + it.Error
		}
		return fmt.Sprintf("Review %d failed%s. Approving it again retries what failed.", it.ID, why)
	case api.ReviewPROpen:
		if it.URL != "" {
			return fmt.Sprintf("Review %d has its pull request open: %s", it.ID, it.URL)
		}
		return fmt.Sprintf("Review %d has its pull request open.", it.ID)
	case api.ReviewPushed:
		return fmt.Sprintf("Review %d has its branch pushed, with no pull request opened.", it.ID)
	case api.ReviewApproved:
		return fmt.Sprintf("Review %d is being approved.", it.ID)
	}
	return fmt.Sprintf("Review %d is %s.", it.ID, it.State)
}
