package demoenv

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The Mode stand-in's workspace and credentials (sent by the real client as
// HTTP basic auth, as to Mode).
const (
	ModeWorkspace = "shop"
	ModeToken     = "demo-mode-token"
	ModeSecret    = "demo-mode-secret"
)

// modePageSize is Mode's page length: a shorter page is the last.
const modePageSize = 30

// Mode is an in-process stand-in for Mode's API v2 on a loopback port:
// spaces, reports with their usage, each report's queries with SQL that
// reads the demo dbt project's models, and archiving. Responses have the
// API's HAL shape (`_embedded`, `_links`) and paging (`?page=N`).
type Mode struct {
	// URL is the API root to configure the client with (…/api); the
	// workspace follows it.
	URL string

	srv *httptest.Server
	log *slog.Logger

	mu       sync.Mutex
	spaces   []modeSpace
	reports  []*modeReport
	archived []string // tokens, in the order they were archived
	deleted  []string // tokens, in the order they were deleted
}

type modeSpace struct{ Token, Name string }

type modeReport struct {
	Token, Name, Description, Space, Creator string
	Created, LastRun                         time.Time
	Runs, Views                              int
	Archived                                 bool
	Queries                                  []modeQuery
}

type modeQuery struct{ Token, Name, SQL string }

// demoReports are the workspace's reports as of now: three in daily use,
// one not run for months, one nobody used, one already archived.
func demoReports(now time.Time) ([]modeSpace, []*modeReport) {
	days := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
	spaces := []modeSpace{{"f1a2b3c4d5e6", "Finance"}, {"9a8b7c6d5e4f", "Growth"}}
	reports := []*modeReport{
		{Token: "3c1e5a7b9d01", Name: "Revenue dashboard", Description: "Daily revenue and orders, for the finance stand-up.",
			Space: "f1a2b3c4d5e6", Creator: "ana", Created: days(410), LastRun: now.Add(-time.Hour), Runs: 1840, Views: 5210,
			Queries: []modeQuery{
				{"a1b2c3d4e5f6", "Daily revenue", "select day, revenue\nfrom analytics.marts.revenue_daily\nwhere day >= current_date - interval '90 days'\norder by day"},
				{"b2c3d4e5f6a1", "Orders by status", `select status, count(*) as orders from "analytics"."marts"."orders" group by 1`},
			}},
		{Token: "4d2f6b8c0e12", Name: "Product mix (2023)", Description: "Units per category, built for the 2023 range review.",
			Space: "f1a2b3c4d5e6", Creator: "bo", Created: days(700), LastRun: days(212), Runs: 95, Views: 61,
			Queries: []modeQuery{
				{"c3d4e5f6a1b2", "Units by category", "select category, units\nfrom marts.product_sales -- one row per category\norder by units desc"},
			}},
		{Token: "5e3a7c9d1f23", Name: "Customer cohorts", Description: "Customers by month of first order.",
			Space: "9a8b7c6d5e4f", Creator: "cy", Created: days(300), LastRun: days(2), Runs: 320, Views: 904,
			Queries: []modeQuery{
				{"d4e5f6a1b2c3", "Cohorts", `-- cohorts by the month of the first order
with cohorts as (
    select customer_id, date_trunc('month', first_order) as cohort
    from analytics.marts.customers
    {% if country != 'all' %} where country_name = '{{ country }}' {% endif %}
)
select cohort, count(*) as customers from cohorts group by 1 order by 1
{% form %}
country:
  type: select
  default: all
{% endform %}`},
			}},
		{Token: "6f4b8d0e2a34", Name: "Spring campaign test", Description: "One-off check of the spring e-mail campaign.",
			Space: "9a8b7c6d5e4f", Creator: "dee", Created: days(150), LastRun: days(121), Runs: 3, Views: 2,
			Queries: []modeQuery{
				{"e5f6a1b2c3d4", "Campaign buyers", "select c.email\nfrom marts.customers c\njoin marts.orders o on o.customer_id = c.customer_id\nwhere extract(year from o.order_date) = 2024"},
			}},
		{Token: "7a5c9e1f3b45", Name: "Weekly KPIs", Description: "Orders against the budget, week by week.",
			Space: "9a8b7c6d5e4f", Creator: "ana", Created: days(90), LastRun: now.Add(-3 * time.Hour), Runs: 610, Views: 1403,
			Queries: []modeQuery{
				{"f6a1b2c3d4e5", "Orders vs budget", "select date_trunc('week', o.order_date) as week, count(*) as orders, max(b.orders) as budget\nfrom marts.orders o\njoin finance.budget b on b.week = date_trunc('week', o.order_date)\ngroup by 1"},
			}},
		{Token: "8b6d0f2a4c56", Name: "Old KPIs", Description: "Replaced by Weekly KPIs.",
			Space: "9a8b7c6d5e4f", Creator: "ana", Created: days(500), LastRun: days(95), Runs: 200, Views: 800, Archived: true,
			Queries: []modeQuery{
				{"a6b1c2d3e4f5", "Orders", "select * from marts.legacy_orders_v1"},
			}},
	}
	return spaces, reports
}

// StartMode starts the stand-in with the demo workspace.
func StartMode(now time.Time, log *slog.Logger) *Mode {
	m := &Mode{log: log}
	m.spaces, m.reports = demoReports(now)
	mux := http.NewServeMux()
	api := "/api/" + ModeWorkspace
	mux.HandleFunc("GET "+api+"/spaces", m.listSpaces)
	mux.HandleFunc("GET "+api+"/spaces/{space}/reports", m.listReports)
	mux.HandleFunc("GET "+api+"/reports/{report}/queries", m.listQueries)
	mux.HandleFunc("PATCH "+api+"/reports/{report}/archive", m.archive)
	mux.HandleFunc("DELETE "+api+"/reports/{report}", m.delete)
	m.srv = httptest.NewServer(m.authorized(mux))
	m.URL = m.srv.URL + "/api"
	return m
}

// Close stops the server.
func (m *Mode) Close() { m.srv.Close() }

// Archived returns the tokens of the reports archived through the API.
func (m *Mode) Archived() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.archived)
}

// authorized answers 401 as Mode does to a request without the token.
func (m *Mode) authorized(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != ModeToken || pass != ModeSecret {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"id": "unauthorized", "message": "Authentication failed"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (m *Mode) link(path string) map[string]string {
	return map[string]string{"href": "/api/" + ModeWorkspace + path}
}

// page cuts items to the requested ?page (1-based).
func page[T any](r *http.Request, items []T) []T {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		n = 1
	}
	from := min((n-1)*modePageSize, len(items))
	return items[from:min(from+modePageSize, len(items))]
}

func (m *Mode) listSpaces(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	var out []map[string]any
	for _, s := range page(r, m.spaces) {
		out = append(out, map[string]any{
			"token": s.Token, "name": s.Name, "space_type": "custom", "state": "active", "restricted": false,
			"description": nil,
			"_links": map[string]any{"self": m.link("/collections/" + s.Token), "reports": m.link("/collections/" + s.Token + "/reports"),
				"web": map[string]string{"href": "/" + ModeWorkspace + "/spaces/" + s.Token}},
		})
	}
	m.mu.Unlock()
	m.hal(w, "/collections", "spaces", out)
}

func (m *Mode) listReports(w http.ResponseWriter, r *http.Request) {
	space := r.PathValue("space")
	m.mu.Lock()
	var in []*modeReport
	for _, rep := range m.reports {
		if rep.Space == space {
			in = append(in, rep)
		}
	}
	var out []map[string]any
	for i, rep := range page(r, in) {
		j := map[string]any{
			"token": rep.Token, "id": 2900000 + i, "name": rep.Name, "description": rep.Description,
			"created_at": rep.Created.UTC().Format(time.RFC3339Nano), "updated_at": rep.LastRun.UTC().Format(time.RFC3339Nano),
			"last_run_at": rep.LastRun.UTC().Format(time.RFC3339Nano), "archived": rep.Archived, "space_token": rep.Space,
			"type": "Report", "query_count": len(rep.Queries), "runs_count": rep.Runs,
			// Mode sends some counts as strings.
			"view_count": strconv.Itoa(rep.Views),
			"_links": map[string]any{
				"self":    m.link("/reports/" + rep.Token),
				"web":     map[string]string{"href": "https://app.mode.com/" + ModeWorkspace + "/reports/" + rep.Token},
				"creator": map[string]string{"href": "/api/" + rep.Creator},
				"space":   m.link("/collections/" + rep.Space),
				"queries": m.link("/reports/" + rep.Token + "/queries"),
			},
		}
		out = append(out, j)
	}
	m.mu.Unlock()
	m.hal(w, "/collections/"+space+"/reports", "reports", out)
}

func (m *Mode) find(token string) *modeReport {
	for _, rep := range m.reports {
		if rep.Token == token {
			return rep
		}
	}
	return nil
}

func (m *Mode) listQueries(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("report")
	m.mu.Lock()
	rep := m.find(token)
	if rep == nil {
		m.mu.Unlock()
		notFound(w)
		return
	}
	var out []map[string]any
	for i, q := range page(r, rep.Queries) {
		out = append(out, map[string]any{
			"id": 10149700 + i, "token": q.Token, "name": q.Name, "raw_query": q.SQL, "data_source_id": 34499,
			"created_at": rep.Created.UTC().Format(time.RFC3339Nano), "updated_at": rep.LastRun.UTC().Format(time.RFC3339Nano),
			"_links": map[string]any{"self": m.link("/reports/" + token + "/queries/" + q.Token), "report": m.link("/reports/" + token)},
		})
	}
	m.mu.Unlock()
	m.hal(w, "/reports/"+token+"/queries", "queries", out)
}

func (m *Mode) archive(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("report")
	m.mu.Lock()
	rep := m.find(token)
	if rep != nil && !rep.Archived {
		rep.Archived = true
		m.archived = append(m.archived, token)
	}
	m.mu.Unlock()
	if rep == nil {
		notFound(w)
		return
	}
	m.log.Info("mode stand-in: report archived", "token", token, "name", rep.Name)
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "name": rep.Name, "archived": true,
		"_links": map[string]any{"self": m.link("/reports/" + token)}})
}

// delete removes a report, as Mode's DELETE /{workspace}/reports/{token}
// does (204, no body).
func (m *Mode) delete(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("report")
	m.mu.Lock()
	var name string
	for i, rep := range m.reports {
		if rep.Token == token {
			name = rep.Name
			m.reports = append(m.reports[:i:i], m.reports[i+1:]...)
			m.deleted = append(m.deleted, token)
			break
		}
	}
	m.mu.Unlock()
	if name == "" {
		notFound(w)
		return
	}
	m.log.Info("mode stand-in: report deleted", "token", token, "name", name)
	w.WriteHeader(http.StatusNoContent)
}

// Deleted returns the tokens of the reports deleted through the API.
func (m *Mode) Deleted() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.deleted)
}

func (m *Mode) hal(w http.ResponseWriter, self, key string, items []map[string]any) {
	if items == nil {
		items = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"_links":    map[string]any{"self": m.link(self)},
		"_embedded": map[string]any{key: items},
	})
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"id": "not_found", "message": "Not found"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/hal+json")
	w.WriteHeader(status)
	// An error here means the client went away: nobody to tell.
	_ = json.NewEncoder(w).Encode(v)
}
