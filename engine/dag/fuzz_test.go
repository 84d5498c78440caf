package dag

import (
	"encoding/json"
	"errors"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"testing"
)

// seedFiles returns the fixtures and example DAGs with an extension.
func seedFiles(f *testing.F, ext string) [][]byte {
	f.Helper()
	var out [][]byte
	for _, pattern := range []string{testdataDir + "/valid/*" + ext, testdataDir + "/invalid/*" + ext, "../../dags/*" + ext} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, data)
		}
	}
	if len(out) == 0 {
		f.Fatalf("no %s seeds", ext)
	}
	return out
}

// checkParse asserts what Parse promises for any input: a valid DAG or a
// non-empty, well-formed error list, never both; and, for JSON, the same
// answer twice (a Starlark bomb may hit the time or the memory limit first).
func checkParse(t *testing.T, file string, data []byte) *DAG {
	d, err := Parse(file, data, Options{})
	if path.Ext(file) == ExtJSON {
		d2, err2 := Parse(file, data, Options{})
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() ||
			d != nil && !reflect.DeepEqual(d.TopoOrder(), d2.TopoOrder()) {
			t.Fatalf("two parses disagree:\n%v\n---\n%v", err, err2)
		}
	}
	if err != nil {
		if d != nil {
			t.Fatal("Parse returned a DAG and an error")
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error is not a non-empty Errors: %#v", err)
		}
		checkErrors(t, file, es)
		return nil
	}
	if len(d.Nodes) == 0 {
		t.Fatal("valid DAG without nodes")
	}
	for _, n := range d.Nodes {
		if n.Task == nil {
			t.Fatalf("node %q has no Task", n.ID)
		}
	}
	order := d.TopoOrder()
	if len(order) != len(d.Nodes) {
		t.Fatalf("TopoOrder %v misses nodes", order)
	}
	return d
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range seedFiles(f, ExtJSON) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := checkParse(t, "fuzz.json", data)
		if d == nil {
			return
		}
		if !json.Valid(data) {
			t.Fatal("Parse accepted what encoding/json calls invalid")
		}
		// A valid DAG written back out is valid again, in the same order.
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := Parse("again.json", out, Options{})
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !reflect.DeepEqual(again.TopoOrder(), d.TopoOrder()) {
			t.Fatal("TopoOrder changed after a round trip")
		}
	})
}

func FuzzParseStarlark(f *testing.F) {
	for _, s := range seedFiles(f, ExtStarlark) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, "fuzz.star", data)
	})
}
