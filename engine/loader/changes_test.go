package loader

import (
	"reflect"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	on := &api.DAGDef{Enabled: true}
	off := &api.DAGDef{Enabled: false}
	e := func(status api.DAGStatus, sum string, def *api.DAGDef, errs ...string) api.DAG {
		d := api.DAG{Name: "x", Source: "local", Location: "dags/x.json", Status: status, Checksum: sum, Def: def}
		for _, m := range errs {
			d.Errors = append(d.Errors, api.ErrorLine{Msg: m})
		}
		return d
	}
	none := []api.DAG(nil)
	one := func(d api.DAG) []api.DAG { return []api.DAG{d} }
	for _, tc := range []struct {
		name          string
		before, after []api.DAG
		want          string // kind, "" for no change
	}{
		{"new file", none, one(e("active", "a", on)), ChangeLoaded},
		{"new broken file", none, one(e("invalid", "", nil, "bad")), ChangeInvalid},
		{"new disabled file", none, one(e("disabled", "a", off)), ChangeDisabled},
		{"new conflicting file", none, one(e("conflict", "a", on)), ChangeConflict},
		{"same", one(e("active", "a", on)), one(e("active", "a", on)), ""},
		{"edit", one(e("active", "a", on)), one(e("active", "b", on)), ChangeReloaded},
		{"break", one(e("active", "a", on)), one(e("invalid", "a", on, "bad")), ChangeInvalid},
		{"other error", one(e("invalid", "a", on, "bad")), one(e("invalid", "a", on, "worse")), ChangeInvalid},
		{"same error", one(e("invalid", "a", on, "bad")), one(e("invalid", "a", on, "bad")), ""},
		{"fix", one(e("invalid", "a", on, "bad")), one(e("active", "b", on)), ChangeReloaded},
		{"first good version of a broken file", one(e("invalid", "", nil, "bad")), one(e("active", "b", on)), ChangeLoaded},
		{"disable", one(e("active", "a", on)), one(e("disabled", "b", off)), ChangeDisabled},
		{"delete", one(e("active", "a", on)), one(e("disabled", "", on)), ChangeDeleted},
		{"delete a disabled file", one(e("disabled", "a", off)), one(e("disabled", "", off)), ChangeDeleted},
		{"delete a never-good file", one(e("invalid", "", nil, "bad")), one(e("disabled", "", nil)), ChangeDeleted},
		{"recreate", one(e("disabled", "", on)), one(e("active", "a", on)), ChangeLoaded},
		{"conflict resolved", one(e("conflict", "a", on)), one(e("active", "a", on)), ChangeLoaded},
		{"hidden behind a new holder", one(e("disabled", "", on)), none, ChangeDeleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff(tc.before, tc.after)
			if tc.want == "" {
				if len(got) != 0 {
					t.Errorf("Diff = %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Kind != tc.want || got[0].Name != "x" || got[0].Location != "dags/x.json" {
				t.Errorf("Diff = %+v, want one %q", got, tc.want)
			}
		})
	}
}

func TestDiffOrderAndErrors(t *testing.T) {
	t.Parallel()
	a := api.DAG{Name: "a", Source: "s3", Location: "s3://b/a.json", Status: "invalid",
		Errors: []api.ErrorLine{{Node: "n1", Path: "/nodes/0", Msg: "bad"}, {Msg: "worse"}}}
	b := api.DAG{Name: "b", Source: "local", Location: "b.json", Status: "active", Checksum: "1"}
	got := Diff([]api.DAG{b}, []api.DAG{a})
	want := []Change{
		{Name: "a", Source: "s3", Location: "s3://b/a.json", Kind: ChangeInvalid, Status: "invalid", Error: "node n1: /nodes/0: bad\nworse"},
		{Name: "b", Source: "local", Location: "b.json", Kind: ChangeDeleted, Status: "disabled"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diff =\n%+v\nwant\n%+v", got, want)
	}
}
