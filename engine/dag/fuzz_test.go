package dag

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
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
func checkParse(t *testing.T, file string, data []byte) (*DAG, error) {
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
		return nil, err
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
	return d, nil
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range seedFiles(f, ExtJSON) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		d, _ := checkParse(t, "fuzz.json", data)
		// JSON has no loops: anything slow is a complexity bug.
		if el := time.Since(start); el > time.Second {
			t.Fatalf("parsing %d bytes took %v", len(data), el)
		}
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
		if _, err := checkParse(t, "fuzz.star", data); err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("the interpreter panicked: %v", err)
		}
	})
}

// FuzzDecodeJSON checks the parser against encoding/json: the same inputs
// accepted (but for what ours refuses on purpose: invalid UTF-8, duplicate
// keys, deep nesting) and the same values read.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range seedFiles(f, ExtJSON) {
		f.Add(s)
	}
	for _, s := range []string{`"\ud83d\ude00 \ud800 \u00e9"`, `[1e5, -0.5, 0, 1E+2]`, `{"a": {"b": [null, true, false]}}`, `{"a": 1, "a": 2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeJSON("f.json", data)
		valid := json.Valid(data)
		if err != nil {
			deliberate := strings.Contains(err.Msg, "UTF-8") || strings.Contains(err.Msg, "duplicate key") ||
				strings.Contains(err.Msg, "nested more than")
			if valid && !deliberate {
				t.Fatalf("refused valid JSON: %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("accepted invalid JSON")
		}
		dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if got := treeToAny(v); !reflect.DeepEqual(got, want) {
			t.Fatalf("read %#v, encoding/json reads %#v", got, want)
		}
	})
}

func treeToAny(v val) any {
	switch v.kind() {
	case kindBool:
		return v.boolean()
	case kindNumber:
		return json.Number(v.text())
	case kindString:
		return v.text()
	case kindArray:
		out := make([]any, v.len())
		for i := range out {
			out[i] = treeToAny(v.elem(i))
		}
		return out
	case kindObject:
		out := make(map[string]any, v.len())
		for i := 0; i < v.len(); i++ {
			out[v.key(i)] = treeToAny(v.elem(i))
		}
		return out
	}
	return nil
}
