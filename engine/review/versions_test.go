package review

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/storage/memory"
)

// Versioned models (dbt ≥ 1.5) are defined by their properties' versions,
// not by their file names: products_v1.sql and products_v2.sql are the two
// versions of one model, products, that ref('products') (the latest) and
// ref('products', v=1) name; `defined_in` points a version at another file,
// and the latest version may live in a file named as the model itself.
func TestCheckTreeVersionedModels(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"dbt_project.yml":             "name: shop\n",
		"models/products_v1.sql":      "select 1 as id\n",
		"models/products_v2.sql":      "select 1 as id, 'x' as sku\n",
		"models/prices_old.sql":       "select 1 as id\n",
		"models/prices.sql":           "select 1 as id, 2 as amount\n",
		"models/orders.sql":           "select *\nfrom {{ ref('products') }}\njoin {{ ref('prices') }} using (id)\n",
		"models/legacy_orders.sql":    "select * from {{ ref('products', v=1) }}\n",
		"models/legacy_prices.sql":    "select * from {{ ref('prices', version='1') }}\n",
		"models/pinned.sql":           "select * from {{ ref('shop', 'products', v=2) }}\n",
		"models/unversioned_twin.sql": "select * from {{ ref('products_v1') }}\n",
		"models/sem.yml":              "semantic_models:\n  - name: products\n    model: ref('products')\n",
		"models/products.yml": `version: 2
models:
  - name: products # two versions, by file name
    latest_version: 2
    versions:
      - v: 1
      - v: 2
  - name: prices # v1 in another file, v2 in prices.sql
    versions:
      - v: 1
        defined_in: prices_old
      - v: 2
`,
	}
	st := memory.NewStorage()
	tests := []struct {
		name  string
		edit  map[string]*string // nil deletes
		wants []string
	}{
		// Today's name-by-file would see products_v1/products_v2 go and
		// miss every ref to products.
		{"deleting a versioned model", map[string]*string{
			"models/products_v1.sql": nil, "models/products_v2.sql": nil,
			"models/products.yml": ptr("version: 2\nmodels:\n  - name: prices\n    versions:\n      - v: 1\n        defined_in: prices_old\n      - v: 2\n"),
		}, []string{
			"models/legacy_orders.sql:1: ref('products', v=1) no longer resolves: the branch deletes products v1",
			"models/orders.sql:2: ref('products') no longer resolves: the branch deletes products",
			"models/pinned.sql:1: ref('products', v=2) no longer resolves: the branch deletes products v2",
			"models/sem.yml:3: ref('products') no longer resolves: the branch deletes products",
		}},
		// Deleting an old version keeps ref('products'), breaks only the
		// refs pinned to that version.
		{"deleting an old version", map[string]*string{
			"models/products_v1.sql": nil,
			"models/products.yml":    ptr(strings.Replace(base["models/products.yml"], "      - v: 1\n      - v: 2\n", "      - v: 2\n", 1)),
		}, []string{
			"models/legacy_orders.sql:1: ref('products', v=1) no longer resolves: the branch deletes products v1",
		}},
		// prices.sql is prices' latest version (no prices_v2.sql): deleting
		// v1 (prices_old.sql) is no deletion of a model named prices_old
		// anyone refs, and prices still resolves.
		{"deleting a version defined_in another file", map[string]*string{
			"models/prices_old.sql": nil,
			"models/products.yml":   ptr(strings.Replace(base["models/products.yml"], "      - v: 1\n        defined_in: prices_old\n", "", 1)),
		}, []string{
			"models/legacy_prices.sql:1: ref('prices', v=1) no longer resolves: the branch deletes prices v1",
		}},
		// The latest version's file named as the model: deleting it (and
		// its entry) leaves v1 as the latest; nothing dangles.
		{"deleting the latest version kept in the model's own file", map[string]*string{
			"models/prices.sql":   nil,
			"models/orders.sql":   ptr("select * from {{ ref('prices') }}\n"),
			"models/products.yml": ptr(strings.Replace(base["models/products.yml"], "        defined_in: prices_old\n      - v: 2\n", "        defined_in: prices_old\n", 1)),
		}, nil},
		{"disabling a versioned model", map[string]*string{
			"models/products.yml": ptr(strings.Replace(base["models/products.yml"], "    latest_version: 2\n", "    latest_version: 2\n    config:\n      enabled: false\n", 1)),
		}, []string{
			"models/legacy_orders.sql:1: ref('products', v=1) no longer resolves: the branch disables products v1",
			"models/orders.sql:2: ref('products') no longer resolves: the branch disables products",
			"models/pinned.sql:1: ref('products', v=2) no longer resolves: the branch disables products v2",
			"models/sem.yml:3: ref('products') no longer resolves: the branch disables products",
		}},
		{"disabling one version in its own SQL", map[string]*string{
			"models/products_v1.sql": ptr("{{ config(enabled=false) }}\nselect 1 as id\n"),
		}, []string{
			"models/legacy_orders.sql:1: ref('products', v=1) no longer resolves: the branch disables products v1",
		}},
		// Dropping the versions makes products_v1.sql an unversioned model
		// of that name again: ref('products_v1') resolves, the versioned
		// refs do not.
		{"unversioning", map[string]*string{
			"models/products.yml": ptr("version: 2\nmodels:\n  - name: prices\n    versions:\n      - v: 1\n        defined_in: prices_old\n      - v: 2\n"),
		}, []string{
			"models/legacy_orders.sql:1: ref('products', v=1) no longer resolves: the branch deletes products v1",
			"models/orders.sql:2: ref('products') no longer resolves: the branch deletes products",
			"models/pinned.sql:1: ref('products', v=2) no longer resolves: the branch deletes products v2",
			"models/sem.yml:3: ref('products') no longer resolves: the branch deletes products",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			branch := map[string]string{}
			for p, c := range base {
				branch[p] = c
			}
			for p, c := range tt.edit {
				if c == nil {
					delete(branch, p)
				} else {
					branch[p] = *c
				}
			}
			got, err := checkTree(memTree(t, st, base), memTree(t, st, branch), "")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(danglingText(got), "\n") != strings.Join(tt.wants, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(danglingText(got), "\n"), strings.Join(tt.wants, "\n"))
			}
		})
	}
}
