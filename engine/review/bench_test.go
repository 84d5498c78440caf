package review

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/clock"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// benchRepo commits a dbt project of dirs×perDir models, each folder with a
// schema.yml describing its models, and returns a bare origin of it.
func benchRepo(b *testing.B, dirs, perDir int) (user string) {
	b.Helper()
	root := b.TempDir()
	user = filepath.Join(root, "dbt")
	remote := filepath.Join(root, "remote.git")
	for d := 0; d < dirs; d++ {
		var yml strings.Builder
		yml.WriteString("version: 2\n\n# models of area " + fmt.Sprint(d) + "\nmodels:\n")
		for m := 0; m < perDir; m++ {
			name := fmt.Sprintf("m_%03d_%03d", d, m)
			p := filepath.Join(user, "models", fmt.Sprintf("area_%03d", d), name+".sql")
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, []byte("select * from {{ ref('upstream') }} -- "+name+"\n"), 0o644)
			fmt.Fprintf(&yml, "  - name: %s # owner: team %d\n    description: Model %s\n    columns:\n      - name: id\n        tests: [unique, not_null]\n\n", name, m%7, name)
		}
		os.WriteFile(filepath.Join(user, "models", fmt.Sprintf("area_%03d", d), "schema.yml"), []byte(yml.String()), 0o644)
	}
	for _, args := range [][]string{
		{"init", "-q", "--bare", "-b", "main", remote},
		{"-C", user, "init", "-q", "-b", "main"},
		{"-C", user, "add", "-A"},
		{"-C", user, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "-m", "big"},
		{"-C", user, "remote", "add", "origin", remote},
		{"-C", user, "push", "-q", "origin", "main"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return user
}

// BenchmarkBuildDeprecationBranch measures building the deprecation commit
// (YAML edits, tree, diff) for 100 candidates in a 5,000-model repository,
// straight in the scratch clone's object store.
func BenchmarkBuildDeprecationBranch(b *testing.B) {
	ctx := context.Background()
	user := benchRepo(b, 50, 100)
	svc := &Service{cfg: Config{StateDir: b.TempDir(), Repo: user, Clock: clock.Fixed(testNow)},
		scratches: map[string]*scratch{}, log: slog.New(slog.DiscardHandler)}
	sc, err := svc.stagingScratch()
	if err != nil {
		b.Fatal(err)
	}
	base, branch, err := sc.base(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var cands []Candidate
	for d := 0; d < 50; d += 5 {
		for m := 0; m < 100; m += 10 {
			name := fmt.Sprintf("m_%03d_%03d", d, m)
			cands = append(cands, Candidate{UniqueID: "model.p." + name, Name: name, Reason: "no downstream consumer",
				Files: []string{fmt.Sprintf("models/area_%03d/%s.sql", d, name)}, PatchPath: fmt.Sprintf("p://models/area_%03d/schema.yml", d)})
		}
	}
	build := func(t *object.Tree) (*builtEdits, error) {
		ed, subjects, notes, err := deprecationEdits("", t, cands)
		return &builtEdits{ed: ed, subjects: subjects, notes: notes}, err
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bb, err := svc.buildBranch(ctx, sc, KindDeprecate, DeprecateDelete, base, branch, build)
		if err != nil || bb == nil || len(bb.subjects) != 100 || len(bb.files) != 110 {
			b.Fatalf("build: %v %+v", err, bb)
		}
	}
}
