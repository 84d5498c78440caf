package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/dag"
)

// validateRun runs `sluice validate ARGS` in-process.
func validateRun(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &cliEnv{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(k string) string { return env[k] }}
	code = dispatch(context.Background(), e, append([]string{"validate"}, args...))
	return code, out.String(), errb.String()
}

func validateWrite(t *testing.T, root, rel, content string) string {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const validateGood = `{"nodes": [{"id": "a", "type": "local", "config": {"command": ["true"]}}]}`

func TestValidateExampleDAGs(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := validateRun(t, nil, "../../dags")
	if code != exitOK {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := regexp.MustCompile(`^(\d+) files, (\d+) valid, 0 invalid\n$`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("stdout = %q, want only the summary", stdout)
	}
	if n, _ := strconv.Atoi(m[1]); n < 3 {
		t.Errorf("want at least 3 example DAGs, got %q", stdout)
	}
}

func TestValidateHumanOutput(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	validateWrite(t, root, "good.json", validateGood)
	validateWrite(t, root, "sub/bad.json", `{"nodes": [{"id": "a", "type": "local", "config": {}}], "schedule": "nope"}`)
	validateWrite(t, root, "sub/syntax.json", "{\n  \"nodes\": [,]\n}")
	validateWrite(t, root, ".hidden.json", "not even json")
	validateWrite(t, root, ".git/x.json", "not even json")
	validateWrite(t, root, "notes.txt", "ignored")
	code, stdout, stderr := validateRun(t, nil, root)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitFailed, stderr)
	}
	bad := filepath.Join(root, "sub", "bad.json")
	syntax := filepath.Join(root, "sub", "syntax.json")
	want := bad + `: node "a": /nodes/0/config/command: is required for a local task (an argv array or a shell string)` + "\n" +
		bad + `: /schedule: "nope" is not a cron expression: expected exactly 5 fields, found 1: [nope]` + "\n" +
		syntax + `:2:13: expected a value, found ','` + "\n" +
		"3 files, 1 valid, 2 invalid\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	if stderr != "" {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestValidateJSON(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	validateWrite(t, root, "prod/etl.json", validateGood)
	validateWrite(t, root, "prod/broken.star", "dag = {\"nodes\": [{\"id\": \"x\", \"type\": \"lambda\", \"config\": {}}]}\n")
	code, stdout, stderr := validateRun(t, nil, "--json", root)
	if code != exitFailed {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	var got []validateResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	want := []validateResult{
		{File: filepath.Join(root, "prod", "broken.star"), DAG: "prod/broken", Valid: false, Errors: []validateError{
			{Node: "x", Path: "/nodes/0/config/function_name", Message: "is required for a lambda task"},
		}},
		{File: filepath.Join(root, "prod", "etl.json"), DAG: "prod/etl", Valid: true, Errors: []validateError{}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results: %s", len(got), stdout)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.File != w.File || g.DAG != w.DAG || g.Valid != w.Valid || len(g.Errors) != len(w.Errors) {
			t.Errorf("result %d = %+v, want %+v", i, g, w)
			continue
		}
		for j := range w.Errors {
			if g.Errors[j] != w.Errors[j] {
				t.Errorf("result %d error %d = %+v, want %+v", i, j, g.Errors[j], w.Errors[j])
			}
		}
	}
	// A valid file's errors are an empty array, never null.
	if !strings.Contains(stdout, `"errors": []`) {
		t.Errorf("valid file lacks \"errors\": []:\n%s", stdout)
	}
}

func TestValidateExitCodes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	good := validateWrite(t, root, "good.json", validateGood)
	bad := validateWrite(t, root, "bad.json", `{"nodes": []}`)
	missing := filepath.Join(root, "missing.json")
	tests := []struct {
		name       string
		args       []string
		code       int
		stdoutHas  string
		stderrHas  string
		stdoutNone bool
	}{
		{"all valid", []string{good}, exitOK, "1 files, 1 valid, 0 invalid", "", false},
		{"one invalid", []string{good, bad}, exitFailed, "2 files, 1 valid, 1 invalid", "", false},
		{"missing path wins over invalid", []string{bad, missing}, exitUsage, "1 files, 0 valid, 1 invalid", "missing.json: no such file", false},
		{"no path", nil, exitUsage, "", "no PATH given", true},
		{"help", []string{"--help"}, exitOK, "", "Usage: sluice validate", true},
		{"unknown flag", []string{"--yaml", good}, exitUsage, "", "flag provided but not defined", true},
		{"file named directly whatever its extension", []string{validateWrite(t, root, "dag.txt", validateGood)}, exitFailed, "unknown DAG file extension", "", false},
		{"empty folder", []string{t.TempDir()}, exitOK, "0 files, 0 valid, 0 invalid", "no .json or .star files", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := validateRun(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdoutHas) || tt.stdoutNone && stdout != "" {
				t.Errorf("stdout = %q, want %q", stdout, tt.stdoutHas)
			}
			if !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("stderr = %q, want %q", stderr, tt.stderrHas)
			}
		})
	}
}

func TestValidateStarlarkEnv(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	f := validateWrite(t, root, "gen.star", `dag = {"nodes": [{"id": env("SLUICE_DAG_NODE_ID", "not valid!"), "type": "sluice.noop", "config": {}}]}`)
	if code, stdout, _ := validateRun(t, nil, f); code != exitFailed || !strings.Contains(stdout, `invalid id "not valid!"`) {
		t.Errorf("without NODE_ID: exit %d, stdout %q", code, stdout)
	}
	if code, stdout, _ := validateRun(t, map[string]string{"SLUICE_DAG_NODE_ID": "fine"}, f); code != exitOK {
		t.Errorf("with SLUICE_DAG_NODE_ID: exit %d, stdout %q", code, stdout)
	}
	// Outside SLUICE_DAG_*, a DAG file sees nothing: NODE_ID reads as unset.
	g := validateWrite(t, root, "other.star", `dag = {"nodes": [{"id": env("NODE_ID", "not valid!"), "type": "sluice.noop", "config": {}}]}`)
	if code, stdout, _ := validateRun(t, map[string]string{"NODE_ID": "fine"}, g); code != exitFailed || !strings.Contains(stdout, `invalid id "not valid!"`) {
		t.Errorf("NODE_ID outside the allow-list: exit %d, stdout %q", code, stdout)
	}
	// Named in the allow-list (the loader's: flag or environment), it is read.
	if code, stdout, _ := validateRun(t, map[string]string{"NODE_ID": "fine"}, "--dags-env-allow", "OTHER,NODE_ID", g); code != exitOK {
		t.Errorf("--dags-env-allow NODE_ID: exit %d, stdout %q", code, stdout)
	}
	if code, stdout, _ := validateRun(t, map[string]string{"NODE_ID": "fine", "SLUICE_DAGS_ENV_ALLOW": "NODE_ID"}, g); code != exitOK {
		t.Errorf("SLUICE_DAGS_ENV_ALLOW=NODE_ID: exit %d, stdout %q", code, stdout)
	}
	if code, _, _ := validateRun(t, map[string]string{"NODE_ID": "fine", "SLUICE_DAGS_ENV_ALLOW": "NODE_ID"}, "--dags-env-allow=", g); code != exitFailed {
		t.Errorf("an empty --dags-env-allow over the environment's: exit %d", code)
	}
}

func TestValidateHugeFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "huge.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: the size is what matters, and it must be refused unread.
	if err := f.Truncate(dag.MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, stdout, _ := validateRun(t, nil, p)
	want := p + ": file is 10485761 bytes, more than the 10485760-byte limit\n1 files, 0 valid, 1 invalid\n"
	if code != exitFailed || stdout != want {
		t.Errorf("exit %d, stdout %q, want %q", code, stdout, want)
	}
}

// TestValidateInvalidTestdata runs the command over every bad fixture: each
// file is invalid and each problem is one line naming the file.
func TestValidateInvalidTestdata(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/dags/invalid"
	code, stdout, stderr := validateRun(t, nil, dir)
	if code != exitFailed {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	summary := lines[len(lines)-1]
	m := regexp.MustCompile(`^(\d+) files, 0 valid, (\d+) invalid$`).FindStringSubmatch(summary)
	if m == nil || m[1] != m[2] {
		t.Fatalf("summary = %q", summary)
	}
	seen := map[string]bool{}
	for _, l := range lines[:len(lines)-1] {
		file, _, ok := strings.Cut(l, ": ")
		if !ok || !strings.HasPrefix(file, dir+"/") {
			t.Errorf("line does not start with a file: %q", l)
			continue
		}
		file = regexp.MustCompile(`:\d+:\d+$`).ReplaceAllString(file, "")
		seen[file] = true
	}
	if want, _ := strconv.Atoi(m[1]); len(seen) != want || want < 40 {
		t.Errorf("%d files have error lines, want %d (at least 40)", len(seen), want)
	}
}
