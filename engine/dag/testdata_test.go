package dag

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testdataDir = "../../testdata/dags"

// readExpectations reads a testdata table: lines "NAME<rest>", grouped by
// NAME (a file name, up to the first ':'), in order; '#' starts a comment.
func readExpectations(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s: line without a file name: %q", path, line)
		}
		out[name] = append(out[name], strings.TrimPrefix(line, name))
	}
	return out
}

// TestInvalidFiles parses every file of testdata/dags/invalid and checks its
// errors against testdata/dags/invalid.expect: one line per expected error,
// in order, each a part of that error's text.
func TestInvalidFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(testdataDir, "invalid")
	expect := readExpectations(t, filepath.Join(testdataDir, "invalid.expect"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, e := range entries {
		name := e.Name()
		if !IsDAGFile(name) {
			t.Errorf("%s in %s is not a DAG file: the folder must hold only bad DAGs", name, dir)
			continue
		}
		files++
		want, ok := expect[name]
		delete(expect, name)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if !ok {
				t.Fatalf("no expectation in invalid.expect")
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(name, data, Options{})
			if err == nil || d != nil {
				t.Fatalf("Parse accepted an invalid file (dag %v)", d)
			}
			es := AsErrors(name, err)
			checkErrors(t, name, es)
			if len(es) != len(want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), err)
			}
			for i, w := range want {
				// The memory watchdog watches the whole process: a bomb in a
				// parallel test can stop this script first. Either way it
				// must be refused as a memory bomb.
				if strings.Contains(name, "memory_bomb") && strings.Contains(es[i].Error(), watchdogMsg) {
					continue
				}
				if !strings.Contains(es[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, es[i].Error(), w)
				}
			}
		})
	}
	for name := range expect {
		t.Errorf("invalid.expect names %s, which does not exist", name)
	}
	if files < 40 {
		t.Errorf("only %d invalid files, want at least 40", files)
	}
}

// checkErrors asserts what every error promises: the file, one line of
// text, and a sentinel to act on.
func checkErrors(t *testing.T, file string, es Errors) {
	t.Helper()
	if len(es) == 0 {
		t.Fatal("empty Errors")
	}
	for _, e := range es {
		if e.File != file {
			t.Errorf("error %q has File %q, want %q", e.Error(), e.File, file)
		}
		if strings.ContainsAny(e.Error(), "\n\r") {
			t.Errorf("error %q spans lines", e.Error())
		}
		if !errors.Is(e, ErrSyntax) && !errors.Is(e, ErrInvalid) && !errors.Is(e, ErrCycle) &&
			!errors.Is(e, ErrScript) && !errors.Is(e, ErrTooLarge) {
			t.Errorf("error %q wraps no sentinel", e.Error())
		}
		if e.Path != "" && !strings.HasPrefix(e.Path, "/") {
			t.Errorf("error %q has path %q, not a JSON pointer", e.Error(), e.Path)
		}
	}
}

// TestValidFiles parses every file of testdata/dags/valid and the example
// DAGs at the top of dags/, and checks the topological order given in
// testdata/dags/valid.topo where there is one.
func TestValidFiles(t *testing.T) {
	t.Parallel()
	topo := readExpectations(t, filepath.Join(testdataDir, "valid.topo"))
	var paths []string
	for _, pattern := range []string{testdataDir + "/valid/*", "../../dags/*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			if IsDAGFile(p) {
				paths = append(paths, p)
			}
		}
	}
	if len(paths) < 4 {
		t.Fatalf("found only %d valid files: %v", len(paths), paths)
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(p, data, Options{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for i, n := range d.Nodes {
				if n.Task == nil {
					t.Errorf("node %d (%s) has no Task", i, n.ID)
				}
			}
			order := d.TopoOrder()
			if len(order) != len(d.Nodes) {
				t.Errorf("TopoOrder has %d ids for %d nodes", len(order), len(d.Nodes))
			}
			want, ok := topo[filepath.Base(p)]
			if !ok {
				return
			}
			if want := strings.Fields(strings.TrimPrefix(want[0], ":")); !reflect.DeepEqual(order, want) {
				t.Errorf("TopoOrder = %v, want %v", order, want)
			}
		})
	}
}

func TestParseRefusesHugeFiles(t *testing.T) {
	t.Parallel()
	huge := make([]byte, MaxFileSize+1)
	for i := range huge {
		huge[i] = ' '
	}
	for _, name := range []string{"huge.json", "huge.star"} {
		_, err := Parse(name, huge, Options{})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: err = %v, want ErrTooLarge", name, err)
		}
		checkErrors(t, name, AsErrors(name, err))
	}
	// Exactly at the limit is still parsed (and here fails as empty).
	if _, err := Parse("limit.json", huge[:MaxFileSize], Options{}); errors.Is(err, ErrTooLarge) {
		t.Errorf("a file of exactly MaxFileSize bytes was refused as too large")
	}
}

func TestParseUnknownExtension(t *testing.T) {
	t.Parallel()
	_, err := Parse("dag.yaml", []byte("nodes: []"), Options{})
	if err == nil || !strings.Contains(err.Error(), `unknown DAG file extension ".yaml"`) {
		t.Fatalf("err = %v", err)
	}
}

// watchdogMsg is how the memory watchdog's refusal starts.
const watchdogMsg = "script grew memory by more than"
