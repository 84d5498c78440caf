package notify

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

func TestParseTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec, name, kind, events string
		wantErr                  bool
	}{
		{spec: "https://hooks.slack.com/services/T0/B0/xyz", name: "slack:hooks.slack.com", kind: KindSlack, events: "[]"},
		{spec: "https://ops.example.com/hook", name: "generic:ops.example.com", kind: KindGeneric, events: "[]"},
		{spec: "slack events=dag.*|run.failed name=team https://chat.example/hook", name: "team", kind: KindSlack, events: "[dag.* run.failed]"},
		{spec: "generic https://hooks.slack.com/x", name: "generic:hooks.slack.com", kind: KindGeneric, events: "[]"},
		{spec: "events=nope.* https://x.example", wantErr: true},
		{spec: "teams https://x.example", wantErr: true},
		{spec: "slack", wantErr: true},
		{spec: "ftp://x.example/secret", wantErr: true},
		{spec: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseTarget(tc.spec)
			if tc.wantErr {
				if !errors.Is(err, ErrBadTarget) {
					t.Fatalf("err = %v, want ErrBadTarget", err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("the error repeats the URL: %v", err)
				}
				return
			}
			if err != nil || got.Name != tc.name || got.Kind != tc.kind || fmt.Sprint(got.Events) != tc.events {
				t.Fatalf("= %+v, %v; want name %s kind %s events %s", got, err, tc.name, tc.kind, tc.events)
			}
		})
	}
	tg, _ := ParseTarget("events=dag.*|run.failed https://x.example")
	if !tg.Wants(DAGInvalid) || !tg.Wants(RunFailed) || tg.Wants(RunRecovered) {
		t.Fatal("the filter does not select dag.* and run.failed only")
	}
}

func TestSplitTargets(t *testing.T) {
	t.Parallel()
	got := SplitTargets("https://a.example/x?q=1,2, slack events=dag.* https://hooks.slack.com/s/T/B/C,https://b.example")
	want := []string{"https://a.example/x?q=1,2", "slack events=dag.* https://hooks.slack.com/s/T/B/C", "https://b.example"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("SplitTargets = %q, want %q", got, want)
	}
	if _, err := New(Config{Targets: []Target{{Name: "a"}, {Name: "a"}}}, nil, nil); !errors.Is(err, ErrBadTarget) {
		t.Fatalf("two targets of one name: %v", err)
	}
}

func FuzzParseTarget(f *testing.F) {
	f.Add("slack events=dag.*|run.failed name=x https://hooks.slack.com/a")
	f.Add("https://a.example/x?q=1,2, https://b")
	f.Fuzz(func(t *testing.T, spec string) {
		for _, s := range SplitTargets(spec) {
			tg, err := ParseTarget(s)
			if err == nil && (tg.Name == "" || (tg.Kind != KindSlack && tg.Kind != KindGeneric) || tg.URL == "") {
				t.Fatalf("ParseTarget(%q) = %+v without error", s, tg)
			}
		}
	})
}

// TestDeriveSensorsAndReviews: Burrow status changes each way, and review
// states, from consecutive snapshots; the baseline yields nothing.
func TestDeriveSensorsAndReviews(t *testing.T) {
	t.Parallel()
	snap := func(lag api.LagStatus, review api.ReviewState) *api.Snapshot {
		return &api.Snapshot{
			Sensors: []api.Sensor{{DAG: "events", Index: 0, Group: "g", Lag: api.GroupLag{Status: lag, TotalLag: 1200, Reason: "lag grows"}}},
			Reviews: []api.Review{{ID: 3, Title: "deprecate 4 models", State: review, URL: "https://github.example/pr/9"}},
		}
	}
	d := newDeriver()
	now := time.Unix(1_700_000_000, 0)
	steps := []struct {
		lag    api.LagStatus
		review api.ReviewState
		want   string
	}{
		{api.LagOK, api.ReviewStaged, "[]"}, // the baseline
		{api.LagWarn, api.ReviewStaged, "[sensor.status:OK>WARN]"},
		{"", api.ReviewBlocked, "[review.blocked]"}, // an unread status is no change
		{api.LagErr, api.ReviewPROpen, "[sensor.status:WARN>ERR]"},
		{api.LagOK, api.ReviewMerged, "[sensor.status:ERR>OK review.pr_merged]"},
		{api.LagOK, api.ReviewMerged, "[]"},
	}
	for i, st := range steps {
		var got []string
		for _, ev := range d.derive(snap(st.lag, st.review), now) {
			s := ev.Type
			if ev.Type == SensorStatus {
				s += ":" + string(ev.Data.Previous) + ">" + string(ev.Data.Status)
			}
			got = append(got, s)
		}
		if fmt.Sprint(got) != st.want && !(st.want == "[]" && got == nil) {
			t.Fatalf("step %d: %v, want %s", i, got, st.want)
		}
	}
}

// TestDeriveDAGStatuses: a DAG's status changes give one event each —
// invalid, recovered, disabled — and a DAG first seen disabled, or seen
// again unchanged, gives none.
func TestDeriveDAGStatuses(t *testing.T) {
	t.Parallel()
	d := newDeriver()
	now := time.Unix(1_700_000_000, 0)
	steps := []struct {
		etl, old api.DAGStatus
		want     string
	}{
		{api.DAGActive, api.DAGDisabled, "[]"}, // the baseline
		{api.DAGInvalid, api.DAGDisabled, "[dag.invalid:dag/etl]"},
		{api.DAGActive, api.DAGDisabled, "[dag.recovered:dag/etl]"},
		{api.DAGDisabled, api.DAGDisabled, "[dag.disabled:dag/etl]"},
		{api.DAGDisabled, api.DAGDisabled, "[]"},
		{api.DAGActive, api.DAGActive, "[]"}, // enabled again: no event
	}
	for i, st := range steps {
		snap := &api.Snapshot{DAGs: []api.DAG{{Name: "etl", Status: st.etl}, {Name: "old", Status: st.old}}}
		var got []string
		for _, ev := range d.derive(snap, now) {
			got = append(got, ev.Type+":"+ev.Subject)
		}
		if fmt.Sprint(got) != st.want && !(st.want == "[]" && got == nil) {
			t.Fatalf("step %d: %v, want %s", i, got, st.want)
		}
	}
}

// TestDeriveNewReviewStaged: an item staged after the baseline is
// announced once as review.staged; the items seen at the baseline are not.
func TestDeriveNewReviewStaged(t *testing.T) {
	t.Parallel()
	d := newDeriver()
	now := time.Unix(1_700_000_000, 0)
	old := api.Review{ID: 1, Title: "old", State: api.ReviewStaged}
	fresh := api.Review{ID: 2, Title: "deprecate 3 models", State: api.ReviewStaged, Kind: "deprecation"}
	if evs := d.derive(&api.Snapshot{Reviews: []api.Review{old}}, now); len(evs) != 0 {
		t.Fatalf("baseline gave %+v", evs)
	}
	evs := d.derive(&api.Snapshot{Reviews: []api.Review{old, fresh}}, now)
	if len(evs) != 1 || evs[0].Type != ReviewStaged || evs[0].Subject != "review/2" || evs[0].Data.Review != 2 ||
		evs[0].ID == "" || !strings.Contains(evs[0].Text, "is staged for review") {
		t.Fatalf("a newly staged item gave %+v", evs)
	}
	if evs := d.derive(&api.Snapshot{Reviews: []api.Review{old, fresh}}, now); len(evs) != 0 {
		t.Fatalf("the same item again gave %+v", evs)
	}
}
