package demoenv

import (
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The GitHub repository pull requests are opened on, and the token the
// demo engine sends (the stand-in only checks that there is one).
const (
	GitHubRepo  = "sluice-demo/shop"
	GitHubToken = "demo-github-token"
)

// GitHub is an in-process stand-in for the part of GitHub's REST API the
// review flow uses: opening a pull request (POST /repos/{owner}/{repo}/pulls,
// 201, or 422 when one is open for the branch) and listing the open ones.
// Each pull request also has a page at its html_url.
type GitHub struct {
	// APIURL is the REST API root to configure the client with.
	APIURL string

	srv *httptest.Server
	log *slog.Logger

	mu    sync.Mutex
	pulls []PullRequest
}

// PullRequest is a pull request the stand-in received.
type PullRequest struct {
	Number      int
	Title, Body string
	Head, Base  string
	Draft       bool
	URL         string
	CreatedAt   time.Time
}

// StartGitHub starts the stand-in.
func StartGitHub(log *slog.Logger) *GitHub {
	g := &GitHub{log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /repos/{owner}/{repo}/pulls", g.create)
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls", g.list)
	mux.HandleFunc("GET /"+GitHubRepo+"/pull/{number}", g.page)
	g.srv = httptest.NewServer(mux)
	g.APIURL = g.srv.URL + "/"
	return g
}

// Close stops the server.
func (g *GitHub) Close() { g.srv.Close() }

// Pulls returns the pull requests opened so far.
func (g *GitHub) Pulls() []PullRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.pulls)
}

func (g *GitHub) repoOK(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("owner")+"/"+r.PathValue("repo") != GitHubRepo {
		writeGitHub(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
		return false
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") && !strings.HasPrefix(r.Header.Get("Authorization"), "token ") {
		writeGitHub(w, http.StatusUnauthorized, map[string]any{"message": "Requires authentication", "documentation_url": "https://docs.github.com/rest"})
		return false
	}
	return true
}

func (g *GitHub) create(w http.ResponseWriter, r *http.Request) {
	if !g.repoOK(w, r) {
		return
	}
	var in struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Title == "" || in.Head == "" || in.Base == "" {
		writeGitHub(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
			"errors": []map[string]string{{"resource": "PullRequest", "code": "missing_field"}}})
		return
	}
	owner := r.PathValue("owner")
	g.mu.Lock()
	for _, p := range g.pulls {
		if p.Head == in.Head {
			g.mu.Unlock()
			writeGitHub(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
				"errors": []map[string]string{{"resource": "PullRequest", "code": "custom",
					"message": fmt.Sprintf("A pull request already exists for %s:%s.", owner, in.Head)}}})
			return
		}
	}
	p := PullRequest{Number: len(g.pulls) + 1, Title: in.Title, Body: in.Body, Head: in.Head, Base: in.Base,
		Draft: in.Draft, CreatedAt: time.Now().UTC()}
	p.URL = fmt.Sprintf("%s/%s/pull/%d", g.srv.URL, GitHubRepo, p.Number)
	g.pulls = append(g.pulls, p)
	g.mu.Unlock()
	g.log.Info("github stand-in: pull request opened", "number", p.Number, "head", p.Head, "url", p.URL)
	writeGitHub(w, http.StatusCreated, g.json(owner, p))
}

func (g *GitHub) list(w http.ResponseWriter, r *http.Request) {
	if !g.repoOK(w, r) {
		return
	}
	head := r.URL.Query().Get("head") // owner:branch
	_, branch, _ := strings.Cut(head, ":")
	out := []map[string]any{}
	for _, p := range g.Pulls() {
		if head == "" || p.Head == branch {
			out = append(out, g.json(r.PathValue("owner"), p))
		}
	}
	writeGitHub(w, http.StatusOK, out)
}

// page is the pull request's web page, so the URL the console shows opens.
func (g *GitHub) page(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("number"))
	pulls := g.Pulls()
	if n < 1 || n > len(pulls) {
		http.NotFound(w, r)
		return
	}
	p := pulls[n-1]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>%s</title><h1>%s #%d</h1><p>%s wants to merge <code>%s</code> into <code>%s</code> (Sluice demo GitHub stand-in)</p><pre>%s</pre>\n",
		html.EscapeString(p.Title), html.EscapeString(p.Title), p.Number, "sluice", html.EscapeString(p.Head),
		html.EscapeString(p.Base), html.EscapeString(p.Body))
}

func (g *GitHub) json(owner string, p PullRequest) map[string]any {
	return map[string]any{
		"id": 1000 + p.Number, "number": p.Number, "state": "open", "title": p.Title, "body": p.Body, "draft": p.Draft,
		"html_url":   p.URL,
		"url":        fmt.Sprintf("%srepos/%s/pulls/%d", g.APIURL, GitHubRepo, p.Number),
		"head":       map[string]any{"ref": p.Head, "label": owner + ":" + p.Head},
		"base":       map[string]any{"ref": p.Base, "label": owner + ":" + p.Base},
		"created_at": p.CreatedAt.Format(time.RFC3339),
	}
}

func writeGitHub(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // an error means the client went away
}
