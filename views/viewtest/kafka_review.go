package viewtest

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// Sensors is Loaded with four Kafka sensors, one per sensor status: a
// healthy one with a tick history, one held back by backpressure with a
// stalled partition, a paused one, and one that cannot reach its brokers
// and whose group never committed.
func Sensors() *api.Snapshot {
	s := Loaded()
	s.Sensors = []api.Sensor{
		{
			DAG: "demo/events", Topics: []string{"events"}, Group: "sluice.demo/events", Status: "running",
			Ticks: ticks(12, 5*time.Second, func(i int, t *api.Tick) {
				t.Batches, t.Messages = 2, 800+i*10
				// Two batches a tick, one per partition, each a run.
				first := int64(120_000 - i*800)
				t.Ranges = []api.TickRange{
					{Topic: "events", Partition: 0, First: first, Last: first + 399, Run: int64(500 - 2*i)},
					{Topic: "events", Partition: 1, First: first - 40, Last: first + 359 + int64(i*10), Run: int64(501 - 2*i)},
				}
				if i == 7 {
					t.Ranges = nil
					t.Batches, t.Messages, t.Skipped = 0, 0, "backpressure: 10 queued runs, bound 10"
				}
			}),
			Lag: api.GroupLag{Group: "sluice.demo/events", State: "Stable", Members: 2, Status: "OK", TotalLag: 140, At: ago(time.Second),
				Reason: "every partition OK (events/0: offset moving and lag fell within the window (now 60): the consumer keeps up)",
				Partitions: []api.PartitionLag{
					{Topic: "events", Partition: 0, LogEnd: 120_400, Committed: 120_340, Lag: 60, Rate: 251.5, ProduceRate: 252.1, Status: "OK"},
					{Topic: "events", Partition: 1, LogEnd: 119_980, Committed: 119_930, Lag: 50, Rate: 248.0, ProduceRate: 249.0, Status: "OK"},
					{Topic: "events", Partition: 2, LogEnd: 121_020, Committed: 120_990, Lag: 30, Rate: 250.2, ProduceRate: 250.0, Status: "OK"},
				}},
			History: series(40, func(i int) int64 { return 80 + int64(i%7)*15 }),
		},
		{
			DAG: "demo/orders", Topics: []string{"orders", "order-retries"}, Group: "sluice.demo/orders", Status: "backpressure",
			Ticks: ticks(6, 10*time.Second, func(i int, t *api.Tick) {
				t.Skipped = "backpressure: 12 queued runs, bound 10"
				if i == 5 {
					t.Skipped, t.Batches, t.Messages = "", 4, 4000
				}
			}),
			Lag: api.GroupLag{Group: "sluice.demo/orders", State: "Stable", Members: 1, Status: "WARN", TotalLag: 48_210, At: ago(2 * time.Second),
				Partitions: []api.PartitionLag{
					{Topic: "order-retries", Partition: 0, LogEnd: 310, Committed: 310, Lag: 0, Rate: 0, Status: "OK"},
					{Topic: "orders", Partition: 0, LogEnd: 902_114, Committed: 880_004, Lag: 22_110, Rate: 120.5, Status: "WARN"},
					{Topic: "orders", Partition: 1, LogEnd: 899_870, Committed: 873_770, Lag: 26_100, Rate: 0, Status: "STALL"},
				}},
			History: series(40, func(i int) int64 { return int64(i) * 1200 }),
		},
		{
			DAG: "reports/clicks", Index: 1, Topics: []string{"clicks"}, Group: "sluice.reports/clicks.1", Status: "paused", Paused: true, PausedBy: "alice",
			Ticks: ticks(3, 30*time.Second, func(_ int, t *api.Tick) { t.Skipped = "paused" }),
			Lag: api.GroupLag{Group: "sluice.reports/clicks.1", State: "Empty", Members: 0, Status: "STOP", TotalLag: 3_907, At: ago(time.Second),
				Reason:     "clicks/0 STOP: committed offset stuck at 50000 for 1m30s with lag 3907, longer than it moved before; no member owns the partition (stop); any partition STOP makes the group ERR",
				Partitions: []api.PartitionLag{{Topic: "clicks", Partition: 0, LogEnd: 53_907, Committed: 50_000, Lag: 3_907, Status: "STOP"}}},
			History: series(20, func(i int) int64 { return int64(i) * 200 }),
		},
		{
			DAG: "reports/stream", Topics: []string{"pageviews"}, Group: "sluice.reports/stream", Status: "error",
			Error: "kafka: client has run out of available brokers to talk to: dial tcp 127.0.0.1:9092: connect: connection refused",
			Ticks: []api.Tick{{ID: 901, Start: ago(4 * time.Second), Duration: 3 * time.Second,
				Error: "kafka: client has run out of available brokers to talk to: dial tcp 127.0.0.1:9092: connect: connection refused"}},
			Lag: api.GroupLag{Group: "sluice.reports/stream", Status: "ERR", TotalLag: 7_000, At: ago(30 * time.Second),
				Partitions: []api.PartitionLag{
					{Topic: "pageviews", Partition: 0, LogEnd: 4_000, Committed: -1, Lag: 4_000, Status: "ERR"},
					{Topic: "pageviews", Partition: 1, LogEnd: 3_000, Committed: -1, Lag: 3_000, Status: "ERR"},
				}},
		},
	}
	return s
}

// ticks makes n ticks every interval, newest first (as the engine keeps
// them), edited by fill (i = 0 is the newest).
func ticks(n int, every time.Duration, fill func(i int, t *api.Tick)) []api.Tick {
	out := make([]api.Tick, n)
	for i := range out {
		out[i] = api.Tick{ID: int64(100 + n - i), Start: ago(time.Duration(i+1) * every), Duration: 400 * time.Millisecond}
		fill(i, &out[i])
	}
	return out
}

func series(n int, f func(i int) int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// LargeSensors is a sensor at the scale the Kafka pane must stay smooth
// at: n ticks (newest first), 64 partitions and a long lag history, plus
// nine quieter sensors.
func LargeSensors(n int) *api.Snapshot {
	s := Loaded()
	parts := make([]api.PartitionLag, 64)
	var total int64
	for i := range parts {
		parts[i] = api.PartitionLag{Topic: "events", Partition: int32(i), LogEnd: 1_000_000 + int64(i), Committed: 999_000, Rate: 120, Status: "OK"}
		parts[i].Lag = parts[i].LogEnd - parts[i].Committed
		total += parts[i].Lag
	}
	big := api.Sensor{DAG: "load/events", Topics: []string{"events"}, Group: "sluice.load/events", Status: "running",
		Ticks: ticks(n, time.Second, func(i int, t *api.Tick) { t.Batches, t.Messages = 1, 1000 }),
		Lag:   api.GroupLag{Group: "sluice.load/events", State: "Stable", Members: 4, Status: "OK", TotalLag: total, At: Now, Partitions: parts},
		History: series(2000, func(i int) int64 {
			return int64(i % 97 * 10)
		}),
	}
	s.Sensors = []api.Sensor{big}
	for i := range 9 {
		q := big
		q.DAG, q.Group = fmt.Sprintf("load/quiet%d", i), fmt.Sprintf("sluice.load/quiet%d", i)
		q.Ticks = big.Ticks[:10]
		s.Sensors = append(s.Sensors, q)
	}
	return s
}

// Reviews is Loaded with the metapipeline's proposals in every state that
// matters to the review pane, and its latest analysis.
func Reviews() *api.Snapshot {
	s := Loaded()
	s.Reviews = []api.Review{
		{
			ID: 7, Kind: "deprecate", State: api.ReviewStaged, Branch: "sluice/deprecate-20250601-3f9a", Base: "9c1d2e7",
			Title:     "Deprecate 3 unused dbt models",
			Files:     []string{"models/marts/legacy_orders.sql", "models/marts/schema.yml", "models/staging/stg_old_events.sql"},
			CreatedAt: ago(12 * time.Minute), UpdatedAt: ago(12 * time.Minute),
			Subjects: []api.ReviewSubject{
				{ID: "model.shop.legacy_orders", Name: "legacy_orders", Reason: "not run for 94 days; no exposure depends on it", Importance: 0.0123},
				{ID: "model.shop.legacy_customers", Name: "legacy_customers", Reason: "no path to any exposure or report", Importance: 0.0081},
				{ID: "model.shop.stg_old_events", Name: "stg_old_events", Reason: "source raw_events_v1 dropped; not run for 200 days", Importance: 0.0022},
			},
			Diff: DeprecationDiff,
		},
		{
			ID: 6, Kind: "exposures", State: api.ReviewPROpen, Branch: "sluice/exposures-20250601-77c0", Base: "9c1d2e7",
			Title: "Refresh dbt exposures from Mode", Files: []string{"models/exposures.yml"},
			CreatedAt: ago(26 * time.Hour), UpdatedAt: ago(25 * time.Hour), URL: "https://github.com/acme/analytics/pull/42",
			Subjects: []api.ReviewSubject{
				{ID: "report.9a8b7c", Name: "Weekly revenue", Reason: "now also reads dim_customers", Importance: 0.4102},
				{ID: "report.1f2e3d", Name: "Churn board", Reason: "new report", Importance: 0.2210},
			},
			Diff: ExposuresDiff,
		},
		{
			ID: 5, Kind: "archive", State: api.ReviewFailed, Title: "Archive 3 stale Mode reports",
			CreatedAt: ago(3 * time.Hour), UpdatedAt: ago(2 * time.Hour),
			Error: "archiving 1 of 3 reports failed: report 0c0ffee: 404 Not Found",
			Subjects: []api.ReviewSubject{
				{ID: "report.5e5e5e", Name: "Q3 2023 board pack", Reason: "not viewed for 412 days", Importance: 0.0004},
				{ID: "report.0c0ffee", Name: "Old funnel", Reason: "not viewed for 380 days — archive failed: 404 Not Found", Importance: 0.0011},
				{ID: "report.abcdef", Name: "Test report (copy)", Reason: "never viewed", Importance: 0},
			},
		},
		{
			ID: 4, Kind: "deprecate", State: api.ReviewRejected, Branch: "sluice/deprecate-20250520-0b1d", Base: "51aa0f3",
			Title: "Deprecate 1 unused dbt model", Files: []string{"models/staging/stg_tmp.sql"},
			CreatedAt: ago(12 * 24 * time.Hour), UpdatedAt: ago(11 * 24 * time.Hour),
			Subjects: []api.ReviewSubject{{ID: "model.shop.stg_tmp", Name: "stg_tmp", Reason: "not run for 60 days", Importance: 0.0050}},
			Diff:     "diff --git a/models/staging/stg_tmp.sql b/models/staging/stg_tmp.sql\ndeleted file mode 100644\nindex 1111111..0000000\n--- a/models/staging/stg_tmp.sql\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-select 1 as id\n-from {{ ref('stg_orders') }}\n",
		},
	}
	s.Meta = Analysis()
	return s
}

// Analysis is a metapipeline report: fifteen models by importance and
// thirty days of models run per day (one outage day with none).
func Analysis() *api.MetaReport {
	names := []string{"fct_orders", "dim_customers", "stg_orders", "stg_customers", "fct_subscriptions",
		"stg_payments", "int_order_items", "fct_revenue_daily", "dim_products", "stg_products",
		"int_sessions", "fct_sessions", "legacy_orders", "legacy_customers", "stg_old_events"}
	r := &api.MetaReport{At: ago(15 * time.Minute), Candidates: 3, StaleReports: 3}
	for i, n := range names {
		f := float64(len(names) - i)
		r.Centrality = append(r.Centrality, api.Centrality{
			ID: "model.shop." + n, Degree: f / 15, InDegree: f / 30, OutDegree: f / 40,
			Closeness: 0.2 + f/30, Betweenness: f * f / 400, PageRank: f / 120, Importance: f * f / 225,
		})
	}
	day := time.Date(2025, 5, 3, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		d := day.AddDate(0, 0, i)
		n := 40 + (i*7)%9
		switch {
		case d.Weekday() == time.Saturday || d.Weekday() == time.Sunday:
			n = 22 + i%3
		case i == 17:
			n = 0 // the warehouse was down
		}
		r.ModelsPerDay = append(r.ModelsPerDay, api.DayCount{Day: d.Format("2006-01-02"), Count: n})
	}
	return r
}

// DeprecationDiff removes two SQL files and two YAML entries. Removed SQL
// comments ("-- ...") make lines that start "---", which a diff reader must
// not take for file headers.
const DeprecationDiff = `diff --git a/models/marts/legacy_orders.sql b/models/marts/legacy_orders.sql
deleted file mode 100644
index 3b18e51..0000000
--- a/models/marts/legacy_orders.sql
+++ /dev/null
@@ -1,9 +0,0 @@
--- legacy_orders: replaced by fct_orders in 2023
--- owner: data-platform
-select
-    o.id,
-    o.customer_id,
-    o.total
-from {{ ref('stg_orders') }} o
-where o.created_at < '2023-01-01'
-
diff --git a/models/marts/schema.yml b/models/marts/schema.yml
index 8f0e2a1..c41d9b7 100644
--- a/models/marts/schema.yml
+++ b/models/marts/schema.yml
@@ -2,16 +2,8 @@ version: 2
 
 models:
   # Orders, one row per order (kept)
   - name: fct_orders
     description: Orders with their payments
-  - name: legacy_orders
-    description: Old order mart, superseded by fct_orders
-    columns:
-      - name: id
-        tests:
-          - unique
-  - name: legacy_customers
-    description: Customer mart before the CRM migration
   - name: dim_customers
     description: Customers
     columns:
diff --git a/models/staging/stg_old_events.sql b/models/staging/stg_old_events.sql
deleted file mode 100644
index 77aa010..0000000
--- a/models/staging/stg_old_events.sql
+++ /dev/null
@@ -1,4 +0,0 @@
-select *
-from {{ source('events', 'raw_events_v1') }}
--- +++ kept for the 2022 backfill
-where 1 = 1
\ No newline at end of file
`

// ExposuresDiff adds two exposure entries.
const ExposuresDiff = `diff --git a/models/exposures.yml b/models/exposures.yml
index 1a2b3c4..5d6e7f8 100644
--- a/models/exposures.yml
+++ b/models/exposures.yml
@@ -1,8 +1,14 @@
 version: 2
 exposures:
   - name: weekly_revenue
     type: dashboard
     url: https://app.mode.com/acme/reports/9a8b7c
     depends_on:
       - ref('fct_orders')
+      - ref('dim_customers')
+  - name: churn_board
+    type: dashboard
+    url: https://app.mode.com/acme/reports/1f2e3d
+    depends_on:
+      - ref('fct_subscriptions')
 
`

// LargeReviews is n review items (each a small deprecation) plus, first,
// one whose diff deletes files lines long: the sizes the review pane must
// stay smooth at.
func LargeReviews(n, files, lines int) *api.Snapshot {
	s := Loaded()
	var b strings.Builder
	for f := range files {
		fmt.Fprintf(&b, "diff --git a/models/gen/m%04d.sql b/models/gen/m%04d.sql\ndeleted file mode 100644\n--- a/models/gen/m%04d.sql\n+++ /dev/null\n@@ -1,%d +0,0 @@\n", f, f, f, lines)
		for l := range lines {
			fmt.Fprintf(&b, "-select %d as c%d\n", l, l)
		}
	}
	s.Reviews = make([]api.Review, 0, n+1)
	s.Reviews = append(s.Reviews, api.Review{ID: int64(n + 1), Kind: "deprecate", State: api.ReviewStaged,
		Branch: "sluice/deprecate-big", Title: fmt.Sprintf("Deprecate %d generated models", files), CreatedAt: ago(time.Minute), Diff: b.String()})
	for i := range n {
		s.Reviews = append(s.Reviews, api.Review{ID: int64(n - i), Kind: "deprecate", State: api.ReviewRejected,
			Branch: fmt.Sprintf("sluice/deprecate-%05d", i), Title: "Deprecate 1 unused dbt model", CreatedAt: ago(time.Duration(i) * time.Hour),
			Files:    []string{"models/x.sql"},
			Subjects: []api.ReviewSubject{{Name: fmt.Sprintf("m%05d", i), Reason: "unused", Importance: 0.001}},
			Diff:     "diff --git a/models/x.sql b/models/x.sql\ndeleted file mode 100644\n--- a/models/x.sql\n+++ /dev/null\n@@ -1 +0,0 @@\n-select 1\n"})
	}
	s.Meta = Analysis()
	return s
}
