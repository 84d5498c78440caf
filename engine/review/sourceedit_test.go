package review

import (
	"strings"
	"testing"
)

const sourcesYAML = `version: 2

# Raw tables, loaded by Fivetran every hour.
sources:
  - name: raw # the shop's database
    schema: raw
    tables:
      - name: customers
        description: One row per customer.

      # Orders arrive late on Mondays.
      - name: orders
        loaded_at_field: _loaded_at

      - name: payments

  - name: legacy
    tables:
      - name: old_orders
      - name: old_refunds

models:
  - name: stg_customers # kept
`

func TestRemoveSources(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		tables  []string
		want    string
		removed []string
		empty   bool
	}{
		{
			name:    "one table, its comment with it",
			tables:  []string{"raw.orders"},
			removed: []string{"raw.orders"},
			want: `version: 2

# Raw tables, loaded by Fivetran every hour.
sources:
  - name: raw # the shop's database
    schema: raw
    tables:
      - name: customers
        description: One row per customer.

      - name: payments

  - name: legacy
    tables:
      - name: old_orders
      - name: old_refunds

models:
  - name: stg_customers # kept
`,
		},
		{
			name:    "every table of a source: the source goes whole",
			tables:  []string{"legacy.old_orders", "legacy.old_refunds", "raw.payments"},
			removed: []string{"raw.payments", "legacy.old_orders", "legacy.old_refunds"},
			want: `version: 2

# Raw tables, loaded by Fivetran every hour.
sources:
  - name: raw # the shop's database
    schema: raw
    tables:
      - name: customers
        description: One row per customer.

      # Orders arrive late on Mondays.
      - name: orders
        loaded_at_field: _loaded_at

models:
  - name: stg_customers # kept
`,
		},
		{
			name:    "every source: sources: goes, models stay",
			tables:  []string{"raw.customers", "raw.orders", "raw.payments", "legacy.old_orders", "legacy.old_refunds"},
			removed: []string{"raw.customers", "raw.orders", "raw.payments", "legacy.old_orders", "legacy.old_refunds"},
			want: `version: 2

# Raw tables, loaded by Fivetran every hour.

models:
  - name: stg_customers # kept
`,
		},
		{
			name:   "a table of another source with the same name is left",
			tables: []string{"legacy.orders"},
			want:   sourcesYAML,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set := map[string]bool{}
			for _, s := range tc.tables {
				set[s] = true
			}
			got, err := removeSources([]byte(sourcesYAML), set)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Content) != tc.want {
				t.Errorf("content:\n%s\nwant:\n%s", got.Content, tc.want)
			}
			if strings.Join(got.Removed, ",") != strings.Join(tc.removed, ",") || got.Empty != tc.empty {
				t.Errorf("removed %v empty %v, want %v %v", got.Removed, got.Empty, tc.removed, tc.empty)
			}
		})
	}
}

func TestRemoveSourcesEmptiesAFileOfSourcesOnly(t *testing.T) {
	t.Parallel()
	got, err := removeSources([]byte("version: 2\nsources:\n  - name: raw\n    tables:\n      - name: a\n"), map[string]bool{"raw.a": true})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Empty || len(got.Removed) != 1 {
		t.Errorf("empty %v removed %v: %q", got.Empty, got.Removed, got.Content)
	}
}

// A flow-style list is not cut line by line: the node tree is re-encoded,
// and the data is still exactly the input minus the table.
func TestRemoveSourcesFlowStyleFallsBack(t *testing.T) {
	t.Parallel()
	src := "sources:\n  - name: raw\n    tables: [{name: a}, {name: b}]\n"
	got, err := removeSources([]byte(src), map[string]bool{"raw.a": true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got.Content), "name: a") || !strings.Contains(string(got.Content), "b") {
		t.Errorf("got %q", got.Content)
	}
}

// FuzzRemoveSources checks the editor never loses data it was not asked
// to remove.
func FuzzRemoveSources(f *testing.F) {
	f.Add(sourcesYAML, "raw.orders")
	f.Add("sources:\n- name: s\n  tables:\n  - name: t\n", "s.t")
	f.Add("sources: [{name: s, tables: [{name: t}, {name: u}]}]\n", "s.u")
	f.Fuzz(func(t *testing.T, src, table string) {
		set := map[string]bool{table: true}
		want, _, err := expectedWithoutSources([]byte(src), set)
		if err != nil {
			return
		}
		got, err := removeSources([]byte(src), set)
		if err != nil {
			return
		}
		if len(got.Removed) > 0 && !sameData(got.Content, want) {
			t.Fatalf("result decodes to other data:\n%q\nfrom\n%q", got.Content, src)
		}
	})
}
