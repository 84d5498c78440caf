package engine

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// envReadAllowed lists the places under engine/ that may touch the process
// environment, each with why: none of them reads a setting. Settings come
// in typed config structs, built under cmd/ from flags, the environment
// and the config file.
var envReadAllowed = map[string]string{
	// A local task runs with the engine's environment plus its own, as a
	// shell command would.
	"runner/kind_local.go: os.Environ": "passing the environment to task processes",
	// env(name) in a Starlark DAG file, when the command gave no lookup;
	// the loader's allow-list decides which names a file may read at all.
	"loader/loader.go: os.LookupEnv": "Starlark env() lookups by name, behind the allow-list",
	// The audit log's actor when the front end set none: the user this
	// process runs as ($USER when the user database has no entry), an
	// identity rather than a setting.
	"audit.go: os.Getenv": "the audit log's fallback actor",
	// Test support (a package for tests, not the engine): whether CI
	// demands PostgreSQL, and where its binaries are.
	"store/pgtest/pgtest.go: os.Getenv": "test support: CI switches",
	// SSH's own convention for known_hosts files when the caller passes
	// none (review pushes), as go-git's default does: not a Sluice setting.
	"gitauth/gitauth.go: os.Getenv": "SSH_KNOWN_HOSTS fallback, ssh's convention",
	// Test support: the loopback SSH server runs git-upload-pack with the
	// test's environment, as sshd would run it with the user's.
	"gitauth/gitauthtest/sshserver.go: os.Environ": "test support: git-upload-pack's environment",
	// Test support too: SLUICE_TEST_DUMP asks a timed-out poll for a
	// goroutine dump.
	"enginetest/poll/poll.go: os.Getenv": "test support: dump on timeout",
}

// envFuncs are the functions that read the process environment.
var envFuncs = map[string]map[string]bool{
	"os":      {"Getenv": true, "LookupEnv": true, "Environ": true, "ExpandEnv": true},
	"syscall": {"Getenv": true, "Environ": true},
}

// configReads lists, for one parsed file, an import of "flag" and every
// use of an environment-reading function, as "PKG.Func" strings. It goes
// by names, without type checking: a local variable named like an imported
// package would be reported too, which errs on the safe side.
func configReads(f *ast.File) []string {
	var found []string
	local := map[string]string{} // local package name -> import path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if path == "flag" {
			found = append(found, `import "flag"`)
		}
		name := filepath.Base(path)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		local[name] = path
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		id, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		if path, ok := local[id.Name]; ok && envFuncs[path][sel.Sel.Name] {
			found = append(found, path+"."+sel.Sel.Name)
		}
		return true
	})
	return found
}

// Engine packages take typed config: they neither parse flags nor read
// settings from the environment (issue 12: flags, environment and the
// config file are read only under cmd/).
func TestEngineReadsNoFlagsNorEnvironment(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	files := 0
	used := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		for _, r := range configReads(f) {
			key := filepath.ToSlash(path) + ": " + r
			if _, ok := envReadAllowed[key]; ok {
				used[key] = true
				continue
			}
			t.Errorf("%s: engine code must not read flags or the environment; take a typed config from cmd/ (or, if it is no setting, add it to envReadAllowed with the reason)", key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("walked only %d files: is the test in the engine's root?", files)
	}
	var stale []string
	for key := range envReadAllowed {
		if !used[key] {
			stale = append(stale, key)
		}
	}
	sort.Strings(stale)
	for _, key := range stale {
		t.Errorf("envReadAllowed lists %q, which no longer happens: drop it", key)
	}
}

// The checker itself finds what it must, and only that.
func TestConfigReadsFinds(t *testing.T) {
	t.Parallel()
	src := `package x
import (
	"flag"
	sys "os"
	"strings"
)
func f(env struct{ Getenv func(string) string }) {
	_ = flag.Bool("x", false, "")
	_ = sys.Getenv("A")
	_, _ = sys.LookupEnv("B")
	_ = env.Getenv("an injected getenv is fine")
	_ = strings.ToUpper("Getenv")
}`
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(configReads(f), ", ")
	if want := `import "flag", os.Getenv, os.LookupEnv`; got != want {
		t.Errorf("found %s, want %s", got, want)
	}
}
