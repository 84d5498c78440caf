package access_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/engine/api"
)

// recorder is an api.API that records every call that reached it.
type recorder struct {
	api.NoOperations
	mu    sync.Mutex
	calls []string
	snap  *api.Snapshot
}

func (r *recorder) record(name string) {
	r.mu.Lock()
	r.calls = append(r.calls, name)
	r.mu.Unlock()
}

func (r *recorder) Snapshot() *api.Snapshot { r.record("Snapshot"); return r.snap }
func (r *recorder) Subscribe() (<-chan api.Event, func()) {
	r.record("Subscribe")
	return make(chan api.Event), func() {}
}
func (r *recorder) ScanNow(context.Context) (api.ScanResult, error) {
	r.record("ScanNow")
	return api.ScanResult{Sources: 2}, nil
}
func (r *recorder) Trigger(context.Context, string, json.RawMessage) (int64, error) {
	r.record("Trigger")
	return 7, nil
}
func (r *recorder) Rerun(context.Context, int64, api.RerunOptions) (int64, error) {
	r.record("Rerun")
	return 2, nil
}
func (r *recorder) Mark(context.Context, int64, string, api.RunState, string) error {
	r.record("Mark")
	return nil
}
func (r *recorder) PauseDAG(context.Context, string, bool, string) error {
	r.record("PauseDAG")
	return nil
}
func (r *recorder) AuditLog(context.Context, api.AuditQuery) ([]api.AuditEntry, error) {
	r.record("AuditLog")
	return nil, nil
}
func (r *recorder) Cancel(context.Context, int64) error         { r.record("Cancel"); return nil }
func (r *recorder) RunMeta(context.Context) error               { r.record("RunMeta"); return nil }
func (r *recorder) Approve(context.Context, int64) error        { r.record("Approve"); return nil }
func (r *recorder) Reject(context.Context, int64, string) error { r.record("Reject"); return nil }
func (r *recorder) UndoReject(context.Context, int64) error     { r.record("UndoReject"); return nil }
func (r *recorder) ExcludeFromReview(context.Context, int64, string, api.Exclusion) error {
	r.record("ExcludeFromReview")
	return nil
}
func (r *recorder) PauseSensor(context.Context, string, int, bool) error {
	r.record("PauseSensor")
	return nil
}
func (r *recorder) ReplayBatch(context.Context, int64, string) (int64, error) {
	r.record("ReplayBatch")
	return 3, nil
}
func (r *recorder) ResetOffsets(context.Context, api.ResetOffsetsRequest) (api.ResetOffsetsPlan, error) {
	r.record("ResetOffsets")
	return api.ResetOffsetsPlan{}, nil
}

func (r *recorder) PinDAG(context.Context, string, int) error { r.record("PinDAG"); return nil }
func (r *recorder) UnpinDAG(context.Context, string) error    { r.record("UnpinDAG"); return nil }
func (r *recorder) DAGVersions(context.Context, string) ([]api.DAGVersion, error) {
	r.record("DAGVersions")
	return nil, nil
}
func (r *recorder) DAGVersionDiff(context.Context, string, int, int) (string, error) {
	r.record("DAGVersionDiff")
	return "", nil
}
func (r *recorder) Backfill(context.Context, api.BackfillRequest) (api.BackfillPlan, error) {
	r.record("Backfill")
	return api.BackfillPlan{}, nil
}
func (r *recorder) Backfills(context.Context) ([]api.Backfill, error) {
	r.record("Backfills")
	return nil, nil
}
func (r *recorder) CancelBackfill(context.Context, int64) error {
	r.record("CancelBackfill")
	return nil
}

type call struct {
	name string
	do   func(api.API) error
	// viewerMsg is the refusal a viewer sees; "" when viewers may do it.
	viewerMsg string
}

var calls = []call{
	{"Snapshot", func(a api.API) error { a.Snapshot(); return nil }, ""},
	{"Subscribe", func(a api.API) error { _, stop := a.Subscribe(); stop(); return nil }, ""},
	{"ScanNow", func(a api.API) error { _, err := a.ScanNow(context.Background()); return err }, ""},
	{"Trigger", func(a api.API) error { _, err := a.Trigger(context.Background(), "etl", nil); return err }, "viewers cannot trigger runs"},
	{"Cancel", func(a api.API) error { return a.Cancel(context.Background(), 1) }, "viewers cannot cancel runs"},
	{"RunMeta", func(a api.API) error { return a.RunMeta(context.Background()) }, "viewers cannot run the metapipeline"},
	{"Approve", func(a api.API) error { return a.Approve(context.Background(), 1) }, "viewers cannot approve reviews"},
	{"Reject", func(a api.API) error { return a.Reject(context.Background(), 1, "") }, "viewers cannot reject reviews"},
	{"UndoReject", func(a api.API) error { return a.UndoReject(context.Background(), 1) }, "viewers cannot undo review rejections"},
	{"ExcludeFromReview", func(a api.API) error {
		return a.ExcludeFromReview(context.Background(), 1, "orders", api.Exclusion{Keep: true, Reason: "finance"})
	}, "viewers cannot change what a review proposes"},
	{"PauseSensor", func(a api.API) error { return a.PauseSensor(context.Background(), "etl", 0, true) }, "viewers cannot pause sensors"},
	{"PauseSensor", func(a api.API) error { return a.PauseSensor(context.Background(), "etl", 0, false) }, "viewers cannot resume sensors"},
	{"Rerun", func(a api.API) error { _, err := a.Rerun(context.Background(), 1, api.RerunOptions{}); return err }, "viewers cannot re-run runs"},
	{"Rerun", func(a api.API) error {
		_, err := a.Rerun(context.Background(), 1, api.RerunOptions{FromFailed: true})
		return err
	}, "viewers cannot re-run runs"},
	{"Mark", func(a api.API) error { return a.Mark(context.Background(), 1, "", api.RunSuccess, "why") }, "viewers cannot mark runs"},
	{"PauseDAG", func(a api.API) error { return a.PauseDAG(context.Background(), "etl", true, "") }, "viewers cannot pause dags"},
	{"PauseDAG", func(a api.API) error { return a.PauseDAG(context.Background(), "etl", false, "") }, "viewers cannot unpause dags"},
	{"AuditLog", func(a api.API) error { _, err := a.AuditLog(context.Background(), api.AuditQuery{}); return err }, ""},
	{"PinDAG", func(a api.API) error { return a.PinDAG(context.Background(), "etl", 3) }, "viewers cannot pin dag versions"},
	{"UnpinDAG", func(a api.API) error { return a.UnpinDAG(context.Background(), "etl") }, "viewers cannot unpin dags"},
	{"DAGVersions", func(a api.API) error { _, err := a.DAGVersions(context.Background(), "etl"); return err }, ""},
	{"DAGVersionDiff", func(a api.API) error { _, err := a.DAGVersionDiff(context.Background(), "etl", 1, 2); return err }, ""},
	{"Backfill", func(a api.API) error {
		_, err := a.Backfill(context.Background(), api.BackfillRequest{DAG: "etl", From: time.Unix(0, 0), To: time.Unix(3600, 0)})
		return err
	}, "viewers cannot backfill dags"},
	// Even a dry run: the plan is the first step of the action.
	{"Backfill", func(a api.API) error {
		_, err := a.Backfill(context.Background(), api.BackfillRequest{DAG: "etl", From: time.Unix(0, 0), To: time.Unix(3600, 0), DryRun: true})
		return err
	}, "viewers cannot backfill dags"},
	{"Backfills", func(a api.API) error { _, err := a.Backfills(context.Background()); return err }, ""},
	{"CancelBackfill", func(a api.API) error { return a.CancelBackfill(context.Background(), 1) }, "viewers cannot cancel backfills"},
	{"ReplayBatch", func(a api.API) error { _, err := a.ReplayBatch(context.Background(), 1, ""); return err }, "viewers cannot replay batches"},
	{"ResetOffsets", func(a api.API) error {
		_, err := a.ResetOffsets(context.Background(), api.ResetOffsetsRequest{DAG: "etl", To: api.ToLatest, DryRun: true})
		return err
	}, "viewers cannot reset consumer group offsets"},
}

// Every method of api.API has a row in calls, so a method added to the
// API without a decision here — does a viewer's wrapper refuse it? — fails
// this test rather than passing through unreviewed.
func TestRestrictCoversEveryMethod(t *testing.T) {
	t.Parallel()
	rows := map[string]bool{}
	for _, c := range calls {
		rows[c.name] = true
	}
	methods := reflect.TypeFor[api.API]()
	for i := range methods.NumMethod() {
		if name := methods.Method(i).Name; !rows[name] {
			t.Errorf("api.API.%s has no row in calls: say whether a viewer may call it, and test it", name)
		}
	}
}

func TestRestrict(t *testing.T) {
	t.Parallel()
	for _, role := range access.Roles {
		for _, c := range calls {
			t.Run(string(role)+"/"+c.name+"/"+c.viewerMsg, func(t *testing.T) {
				t.Parallel()
				inner := &recorder{}
				err := c.do(access.Restrict(inner, role))
				refused := role == access.Viewer && c.viewerMsg != ""
				if !refused {
					if err != nil {
						t.Fatalf("%s as %s: %v", c.name, role, err)
					}
					if len(inner.calls) != 1 || inner.calls[0] != c.name {
						t.Fatalf("%s as %s reached the engine as %v", c.name, role, inner.calls)
					}
					return
				}
				if len(inner.calls) != 0 {
					t.Fatalf("refused %s reached the engine: %v", c.name, inner.calls)
				}
				if !errors.Is(err, access.ErrForbidden) {
					t.Fatalf("err = %v, want ErrForbidden", err)
				}
				if err.Error() != c.viewerMsg {
					t.Fatalf("message %q, want %q", err.Error(), c.viewerMsg)
				}
				var fe *access.ForbiddenError
				if !errors.As(err, &fe) || fe.Role != access.Viewer {
					t.Fatalf("err %T %+v is not a viewer's ForbiddenError", err, fe)
				}
			})
		}
	}
}

// An unknown role (a zero value, or a typo that slipped past parsing) may
// read but never act.
func TestUnknownRoleMayNotAct(t *testing.T) {
	t.Parallel()
	for _, role := range []access.Role{"", "admin", "Operator"} {
		inner := &recorder{}
		api := access.Restrict(inner, role)
		if err := api.Approve(context.Background(), 1); !errors.Is(err, access.ErrForbidden) {
			t.Errorf("role %q: approve err = %v, want forbidden", role, err)
		}
		if len(inner.calls) != 0 {
			t.Errorf("role %q reached the engine: %v", role, inner.calls)
		}
	}
}

func TestOperatorGetsTheEngineItself(t *testing.T) {
	t.Parallel()
	inner := &recorder{}
	if got := access.Restrict(inner, access.Operator); got != api.API(inner) {
		t.Fatalf("operator got a wrapper %T", got)
	}
	if r := access.RoleOf(inner); r != access.Operator {
		t.Fatalf("RoleOf(engine) = %q", r)
	}
	if r := access.RoleOf(access.Restrict(inner, access.Viewer)); r != access.Viewer {
		t.Fatalf("RoleOf(viewer api) = %q", r)
	}
}

func TestParseRole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    access.Role
		wantErr bool
	}{
		{"operator", access.Operator, false},
		{" Viewer ", access.Viewer, false},
		{"VIEWER", access.Viewer, false},
		{"", "", true},
		{"admin", "", true},
		{"viewer,operator", "", true},
	}
	for _, tt := range tests {
		got, err := access.ParseRole(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
