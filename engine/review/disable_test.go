package review

import (
	"reflect"
	"strings"
	"testing"
)

func TestDisableModels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src, want string
	}{
		{"plain entry keeps its comments",
			"version: 2\nmodels:\n  # old\n  - name: a # the a\n    description: x\n  - name: b\n",
			"version: 2\nmodels:\n  # old\n  - name: a # the a\n    description: x\n    deprecation_date: 2026-02-01 # deprecated by Sluice; deleted after the quiet period\n    config:\n      enabled: false\n  - name: b\n"},
		{"block config gets enabled",
			"models:\n- name: a\n  config:\n    materialized: view\n  columns:\n  - name: c\n",
			"models:\n- name: a\n  config:\n    enabled: false\n    materialized: view\n  columns:\n  - name: c\n  deprecation_date: 2026-02-01 # deprecated by Sluice; deleted after the quiet period\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, done, err := disableModels([]byte(tc.src), map[string]bool{"a": true}, "2026-02-01")
			if err != nil || len(done) != 1 || string(got) != tc.want {
				t.Fatalf("err %v done %v:\n%s\nwant\n%s", err, done, got, tc.want)
			}
		})
	}
	// Layouts the line edit does not handle fall back to the node tree, and
	// still give exactly the data wanted.
	for _, src := range []string{
		"models: [{name: a, config: {materialized: view}}]\n",
		"models:\n  - name: a\n    config: {enabled: true}\n    deprecation_date: 2020-01-01\n",
	} {
		got, done, err := disableModels([]byte(src), map[string]bool{"a": true}, "2026-02-01")
		want, _ := expectedDisabled([]byte(src), map[string]bool{"a": true}, "2026-02-01")
		if err != nil || len(done) != 1 || !reflect.DeepEqual(decodeMap(got), want) || !strings.Contains(string(got), "enabled: false") {
			t.Errorf("%q: %v %v\n%s", src, err, done, got)
		}
	}
}

func FuzzDisableModels(f *testing.F) {
	f.Add("version: 2\nmodels:\n  - name: a\n  - name: b\n    description: x\n", "a")
	f.Add("models:\n- name: a\n  config:\n    materialized: view\n", "a")
	f.Add("models: [{name: a}]\n", "a")
	f.Fuzz(func(t *testing.T, src, name string) {
		names := map[string]bool{name: true}
		want, err := expectedDisabled([]byte(src), names, "2026-02-01")
		if err != nil {
			return
		}
		got, done, err := disableModels([]byte(src), names, "2026-02-01")
		if err != nil {
			return
		}
		if len(done) > 0 && !reflect.DeepEqual(decodeMap(got), want) {
			t.Fatalf("result decodes to other data:\n%q\nfrom\n%q", got, src)
		}
	})
}
