package mode

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Space is a Mode space (a "collection" in the API's links).
type Space struct {
	Token      string `json:"token"`
	Name       string `json:"name"`
	SpaceType  string `json:"space_type"`
	State      string `json:"state"`
	Restricted bool   `json:"restricted"`
}

// Report is a Mode report with the usage figures the stale rule reads.
type Report struct {
	Token       string
	Name        string
	Description string
	SpaceToken  string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// LastRunAt is zero for a report that never ran.
	LastRunAt  time.Time
	RunsCount  int
	ViewCount  int
	QueryCount int
	Archived   bool
	// URL is the report's web address (_links.web).
	URL string
	// Creator is the creator's username (last part of _links.creator).
	Creator string
}

// Query is one query of a report, with its SQL.
type Query struct {
	Token        string
	ID           int64
	Name         string
	RawQuery     string
	DataSourceID int64
	ReportToken  string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

type halLink struct {
	Href string `json:"href"`
}

// reportJSON is a report as the API sends it.
type reportJSON struct {
	Token       string             `json:"token"`
	Name        string             `json:"name"`
	Description *string            `json:"description"`
	SpaceToken  string             `json:"space_token"`
	CreatedAt   flexTime           `json:"created_at"`
	UpdatedAt   flexTime           `json:"updated_at"`
	LastRunAt   flexTime           `json:"last_run_at"`
	RunsCount   flexInt            `json:"runs_count"`
	ViewCount   flexInt            `json:"view_count"`
	QueryCount  flexInt            `json:"query_count"`
	Archived    flexBool           `json:"archived"`
	Links       map[string]halLink `json:"_links"`
}

func (r *reportJSON) report() Report {
	out := Report{
		Token: r.Token, Name: r.Name, SpaceToken: r.SpaceToken,
		CreatedAt: time.Time(r.CreatedAt), UpdatedAt: time.Time(r.UpdatedAt), LastRunAt: time.Time(r.LastRunAt),
		RunsCount: int(r.RunsCount), ViewCount: int(r.ViewCount), QueryCount: int(r.QueryCount),
		Archived: bool(r.Archived),
		URL:      r.Links["web"].Href,
	}
	if r.Description != nil {
		out.Description = *r.Description
	}
	if c := r.Links["creator"].Href; c != "" {
		out.Creator = c[strings.LastIndexByte(c, '/')+1:]
	}
	if out.SpaceToken == "" {
		// Older payloads carry the space only as a link.
		if s := r.Links["space"].Href; s != "" {
			out.SpaceToken = s[strings.LastIndexByte(s, '/')+1:]
		}
	}
	return out
}

type queryJSON struct {
	Token        string   `json:"token"`
	ID           flexInt  `json:"id"`
	Name         string   `json:"name"`
	RawQuery     string   `json:"raw_query"`
	DataSourceID flexInt  `json:"data_source_id"`
	CreatedAt    flexTime `json:"created_at"`
	UpdatedAt    flexTime `json:"updated_at"`
}

func (q *queryJSON) query(report string) Query {
	return Query{
		Token: q.Token, ID: int64(q.ID), Name: q.Name, RawQuery: q.RawQuery,
		DataSourceID: int64(q.DataSourceID), ReportToken: report,
		CreatedAt: time.Time(q.CreatedAt), UpdatedAt: time.Time(q.UpdatedAt),
	}
}

// flexInt accepts 12, "12", 12.0, null and "" (Mode sends counts either way).
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*f = 0
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*f = 0
			return nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*f = flexInt(n)
		return nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("count %s is not a number", b)
	}
	*f = flexInt(x)
	return nil
}

// flexBool accepts true, "true", 1, null.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch strings.Trim(strings.ToLower(string(b)), `"`) {
	case "true", "1", "t", "yes":
		*f = true
	case "false", "0", "f", "no", "null", "":
		*f = false
	default:
		return fmt.Errorf("%s is not a boolean", b)
	}
	return nil
}

// flexTime accepts RFC 3339 timestamps, null and "".
type flexTime time.Time

func (f *flexTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = flexTime{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp %s: %w", b, err)
	}
	if s == "" {
		*f = flexTime{}
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", s, err)
	}
	*f = flexTime(t.UTC())
	return nil
}
