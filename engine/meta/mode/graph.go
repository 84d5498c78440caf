package mode

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Graph is a workspace's BI graph: its spaces, their reports, and each
// report's queries.
type Graph struct {
	Workspace string
	Spaces    []Space
	// Reports of every space, sorted by token, archived ones included.
	Reports []Report
	// Queries by report token. Archived reports' queries are not fetched.
	Queries map[string][]Query
}

// Report returns the report with the token, or nil.
func (g *Graph) Report(token string) *Report {
	i := sort.Search(len(g.Reports), func(i int) bool { return g.Reports[i].Token >= token })
	if i < len(g.Reports) && g.Reports[i].Token == token {
		return &g.Reports[i]
	}
	return nil
}

// Graph reads the whole workspace: spaces, then every space's reports, then
// every live report's queries. Requests run in parallel up to the client's
// concurrency; the first error cancels the rest.
func (c *Client) Graph(ctx context.Context) (*Graph, error) {
	spaces, err := c.Spaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing spaces: %w", err)
	}
	g := &Graph{Workspace: c.cfg.Workspace, Spaces: spaces, Queries: make(map[string][]Query)}

	perSpace := make([][]Report, len(spaces))
	if err := c.each(ctx, len(spaces), func(ctx context.Context, i int) error {
		reports, err := c.Reports(ctx, spaces[i].Token)
		if err != nil {
			return fmt.Errorf("listing reports of space %s (%s): %w", spaces[i].Name, spaces[i].Token, err)
		}
		perSpace[i] = reports
		return nil
	}); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, reports := range perSpace {
		for _, r := range reports {
			if !seen[r.Token] {
				seen[r.Token] = true
				g.Reports = append(g.Reports, r)
			}
		}
	}
	sort.Slice(g.Reports, func(i, j int) bool { return g.Reports[i].Token < g.Reports[j].Token })

	var mu sync.Mutex
	if err := c.each(ctx, len(g.Reports), func(ctx context.Context, i int) error {
		r := g.Reports[i]
		if r.Archived {
			return nil
		}
		queries, err := c.Queries(ctx, r.Token)
		if err != nil {
			return fmt.Errorf("listing queries of report %q (%s): %w", r.Name, r.Token, err)
		}
		mu.Lock()
		g.Queries[r.Token] = queries
		mu.Unlock()
		return nil
	}); err != nil {
		return nil, err
	}
	return g, nil
}

// each runs fn(0..n-1) on at most Concurrency goroutines and returns the
// first error, cancelling the others' context.
func (c *Client) each(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(n, c.cfg.Concurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}
