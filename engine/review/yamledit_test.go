package review

import (
	"strings"
	"testing"
)

func TestRemoveModels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		remove  []string
		want    string
		removed []string
		empty   bool
	}{
		{
			name: "middle entry, comments kept",
			src: `version: 2

# Staging models, one per source table.
models:
  - name: stg_customers # the customer dimension feed
    description: "Customers, deduplicated"
    columns:
      - name: customer_id
        tests: [unique, not_null]

  # Payments arrive late; keep an eye on them.
  - name: stg_payments
    description: |
      Payments from Stripe.
      Amounts in cents.
    columns:
      - name: payment_id

  - name: stg_orders
    description: Orders
`,
			remove: []string{"stg_payments"},
			want: `version: 2

# Staging models, one per source table.
models:
  - name: stg_customers # the customer dimension feed
    description: "Customers, deduplicated"
    columns:
      - name: customer_id
        tests: [unique, not_null]

  - name: stg_orders
    description: Orders
`,
			removed: []string{"stg_payments"},
		},
		{
			name: "last entry of a list in four-space style",
			src: `version: 2
models:
    -   name: a
        description: A
    -   name: b
        description: B
sources:
    - name: raw
`,
			remove: []string{"b"},
			want: `version: 2
models:
    -   name: a
        description: A
sources:
    - name: raw
`,
			removed: []string{"b"},
		},
		{
			name: "every model removed, sources stay",
			src: `version: 2

models:
  - name: a

  - name: b

sources:
  - name: raw # keep me
`,
			remove: []string{"a", "b"},
			want: `version: 2

sources:
  - name: raw # keep me
`,
			removed: []string{"a", "b"},
		},
		{
			name: "every model removed, file left empty",
			src: `version: 2
models:
  - name: only
    description: x
`,
			remove:  []string{"only"},
			want:    "version: 2\n",
			removed: []string{"only"},
			empty:   true,
		},
		{
			name:   "name not present",
			src:    "version: 2\nmodels:\n  - name: a\n",
			remove: []string{"zzz"},
			want:   "version: 2\nmodels:\n  - name: a\n",
		},
		{
			name: "a comment heading the list stays",
			src: `models:
  # Marts
  - name: a
  - name: b
`,
			remove:  []string{"a"},
			want:    "models:\n  # Marts\n  - name: b\n",
			removed: []string{"a"},
		},
		{
			name: "first entry right under the key",
			src: `models:
  - name: a

  - name: b
`,
			remove:  []string{"a"},
			want:    "models:\n  - name: b\n",
			removed: []string{"a"},
		},
		{
			name:    "flow style falls back to re-encoding",
			src:     "version: 2\nmodels: [{name: a}, {name: b}]\n",
			remove:  []string{"a"},
			want:    "version: 2\nmodels: [{name: b}]\n",
			removed: []string{"a"},
		},
		{
			name: "comment at column zero inside an entry falls back",
			src: `models:
  - name: a
    columns:
# retired:
      - name: id
  - name: b
`,
			remove:  []string{"a"},
			want:    "models:\n  - name: b\n",
			removed: []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			names := map[string]bool{}
			for _, n := range tt.remove {
				names[n] = true
			}
			got, err := removeModels([]byte(tt.src), names)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Content) != tt.want {
				t.Errorf("content:\n%s\nwant:\n%s", got.Content, tt.want)
			}
			if strings.Join(got.Removed, ",") != strings.Join(tt.removed, ",") {
				t.Errorf("removed %v, want %v", got.Removed, tt.removed)
			}
			if got.Empty != tt.empty {
				t.Errorf("empty %v, want %v", got.Empty, tt.empty)
			}
		})
	}
}

func TestRemoveModelsRefusesNonMapping(t *testing.T) {
	t.Parallel()
	if _, err := removeModels([]byte("- a\n- b\n"), map[string]bool{"a": true}); err == nil {
		t.Fatal("want an error for a top-level list")
	}
	if _, err := removeModels([]byte("models: [\n"), map[string]bool{"a": true}); err == nil {
		t.Fatal("want an error for broken YAML")
	}
}

// FuzzRemoveModels checks the editor never loses data it was not asked to
// remove: whatever it returns decodes to the input minus the entries.
func FuzzRemoveModels(f *testing.F) {
	f.Add("version: 2\nmodels:\n  - name: a\n  - name: b\n    description: x\n", "a")
	f.Add("models:\n  # c\n  - name: a\n\n  - name: b\nsources: []\n", "b")
	f.Add("models: [{name: a}]\n", "a")
	f.Add("models:\n- name: a\n  columns:\n  - name: c\n- name: b\n", "a")
	f.Fuzz(func(t *testing.T, src, name string) {
		names := map[string]bool{name: true}
		want, err := expectedAfterRemoval([]byte(src), names)
		if err != nil {
			return
		}
		got, err := removeModels([]byte(src), names)
		if err != nil {
			return
		}
		if len(got.Removed) > 0 && !sameData(got.Content, want) {
			t.Fatalf("result decodes to other data:\n%q\nfrom\n%q", got.Content, src)
		}
	})
}
