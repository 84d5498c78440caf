package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const hostile = "x\x1b]0;pwned\x07\x1b[2J\u202e\u009b\n"

func hostileSnapshot() *Snapshot {
	def := &DAGDef{Description: hostile, Tags: map[string]string{hostile: hostile},
		Nodes:      []Node{{ID: hostile, Kind: "local", DependsOn: []string{hostile}, Command: hostile, Summary: hostile}},
		Sensors:    []SensorSpec{{Type: "kafka", Topics: []string{hostile}, Group: hostile, Summary: hostile}},
		Definition: hostile}
	run := Run{DAG: hostile, WaitReason: hostile, Error: hostile, Batch: hostile, Config: json.RawMessage(`{"k":"` + "\u202e" + `"}`),
		Tasks: []Task{{ID: hostile, Error: hostile, LogTail: hostile, LogFile: hostile}}}
	return &Snapshot{
		DAGs: []DAG{
			{Name: "clean", Location: "dags/clean.json"},
			{Name: hostile, Location: hostile, ConflictWith: hostile, Def: def,
				Errors: []ErrorLine{{Node: hostile, Path: hostile, Msg: hostile}}},
		},
		Sources: []Source{{Name: "local", Location: hostile, Error: hostile}},
		Runs:    Runs{Queued: []Run{run}, Running: []Run{run}, Finished: []Run{run}},
		Sensors: []Sensor{{DAG: hostile, Topics: []string{hostile}, Group: hostile, Error: hostile,
			Ticks: []Tick{{Error: hostile, Skipped: hostile}},
			Lag:   GroupLag{Group: hostile, State: hostile, Partitions: []PartitionLag{{Topic: hostile}}}}},
		Reviews: []Review{{Title: hostile, Branch: hostile, Files: []string{hostile}, Diff: hostile, Error: hostile,
			Subjects: []ReviewSubject{{ID: hostile, Name: hostile, Reason: hostile}}}},
		Meta: &MetaReport{Notice: hostile, Centrality: []Centrality{{ID: hostile}}},
		Logs: []LogRecord{{Msg: hostile, Attrs: hostile}},
	}
}

// TestSanitizedLeavesNoRawControl walks every string of a snapshot built
// from hostile values: none may keep ESC, BEL, a bidi override, and only
// multi-line fields may keep a newline.
func TestSanitizedLeavesNoRawControl(t *testing.T) {
	t.Parallel()
	in := hostileSnapshot()
	before, _ := json.Marshal(in)
	out := in.Sanitized()
	walkStrings(reflect.ValueOf(out), "snapshot", func(path, s string) {
		if strings.ContainsAny(s, "\x1b\x07\u202e") {
			t.Errorf("%s = %q keeps a raw control or bidi character", path, s)
		}
	})
	if after, _ := json.Marshal(in); string(after) != string(before) {
		t.Error("Sanitized modified its receiver")
	}
	if got := out.DAGs[1].Name; strings.Contains(got, "\n") || !strings.Contains(got, `\x1b]0;pwned`) {
		t.Errorf("name = %q, want newline and ESC escaped", got)
	}
	if got := out.Runs.Running[0].Tasks[0].LogTail; !strings.HasSuffix(got, "\n") {
		t.Errorf("log tail = %q, want its newline kept", got)
	}
	var cfg map[string]string
	if err := json.Unmarshal(out.Runs.Queued[0].Config, &cfg); err != nil || cfg["k"] != "\u202e" {
		t.Errorf("config = %s (%v): want valid JSON meaning the same", out.Runs.Queued[0].Config, err)
	}
}

func TestSanitizedCleanSnapshotSharesValues(t *testing.T) {
	t.Parallel()
	in := &Snapshot{DAGs: []DAG{{Name: "a", Def: &DAGDef{Nodes: []Node{{ID: "n"}}}}}, Runs: Runs{Queued: []Run{{DAG: "a"}}}}
	out := in.Sanitized()
	if &out.DAGs[0] != &in.DAGs[0] || &out.Runs.Queued[0] != &in.Runs.Queued[0] {
		t.Error("a clean snapshot was copied")
	}
}

func walkStrings(v reflect.Value, path string, f func(path, s string)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			walkStrings(v.Field(i), path+"."+v.Type().Field(i).Name, f)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			f(path, string(v.Bytes()))
			return
		}
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), path, f)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			walkStrings(k, path+"[key]", f)
			walkStrings(v.MapIndex(k), path+"[value]", f)
		}
	case reflect.String:
		f(path, v.String())
	}
}

// TestSanitizedCoversEveryField fills every plain string of a snapshot —
// fields added later included — with hostile text through reflection: a
// field the sanitiser forgets fails here.
func TestSanitizedCoversEveryField(t *testing.T) {
	t.Parallel()
	var snap Snapshot
	fill(reflect.ValueOf(&snap).Elem(), 0)
	out := snap.Sanitized()
	walkStrings(reflect.ValueOf(out), "snapshot", func(path, s string) {
		if strings.ContainsAny(s, "\x1b\x07\u202e") {
			t.Errorf("%s keeps raw control characters: %q", path, s)
		}
	})
}

var plainString = reflect.TypeOf("")

// fill sets every settable plain string below v to hostile and gives every
// slice, map and pointer one element. Named string types (states, kinds)
// are the engine's own words and stay empty.
func fill(v reflect.Value, depth int) {
	if depth > 8 || !v.CanSet() {
		return
	}
	switch v.Kind() {
	case reflect.String:
		if v.Type() == plainString {
			v.SetString(hostile)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), depth+1)
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // json.RawMessage: tested on its own
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth+1)
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	}
}
