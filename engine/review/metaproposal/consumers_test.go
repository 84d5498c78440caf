package metaproposal

import (
	"slices"
	"testing"

	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/meta/centrality"
	"github.com/sluice-dev/sluice/engine/meta/lineage"
)

// The second phase's consumers: a model reaching a consumer, a disabled
// model's table a BI query still reads, an active report; none at all
// without consumer evidence.
func TestConsumers(t *testing.T) {
	t.Parallel()
	r := &meta.Report{
		Centrality: []centrality.Ranked{{ID: "model.p.orders"}, {ID: "model.p.unused"}, {ID: "seed.p.codes"}},
		Candidates: []meta.Candidate{{Candidate: lineage.Candidate{UniqueID: "model.p.unused"}}},
		BI:         &meta.BISummary{Unmatched: []meta.UnmatchedRef{{Report: "Finance", Query: "payments", Ref: `analytics."STG_Payments"`}}},
		Exposures:  meta.Exposures{Reports: []string{"aaa111"}},
	}
	got := consumers(r)
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"aaa111", "model.p.orders", "stg_payments"}) {
		t.Errorf("consumers %v", got)
	}
	r.Notice = meta.NoEvidence
	if consumers(r) != nil {
		t.Error("consumers without evidence")
	}
}
