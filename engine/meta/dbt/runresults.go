package dbt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// SupportedRunResultsVersions are the run_results schema versions the reader
// knows (dbt 1.5 to 1.12 write v4 to v6).
var SupportedRunResultsVersions = []int{4, 5, 6}

// Invocations that compile but never execute a model: their results say
// "success" without anything having run, so they do not count as runs.
var nonExecuting = map[string]bool{
	"compile": true, "generate": true, "docs": true, "show": true,
	"list": true, "ls": true, "parse": true, "debug": true,
}

// ErrNotRunResults is returned for a JSON file that is not a run_results
// file (its schema URL names another artifact, or none).
var ErrNotRunResults = errors.New("not a dbt run_results file")

// RunResults is one run_results.json file.
type RunResults struct {
	GeneratedAt time.Time
	// Command is args.which ("run", "build", "generate", ...), if recorded.
	Command string
	Results []Result
}

// Result is one node's result in a run.
type Result struct {
	UniqueID string
	Status   string
	// ExecutionTime is the node's wall-clock time.
	ExecutionTime time.Duration
}

// Executed reports whether the invocation ran models (rather than compiling
// them for docs or a listing).
func (r *RunResults) Executed() bool { return !nonExecuting[r.Command] }

// ReadRunResults decodes one run_results.json.
func ReadRunResults(r io.Reader) (*RunResults, error) {
	var raw struct {
		Metadata struct {
			SchemaVersion string `json:"dbt_schema_version"`
			GeneratedAt   string `json:"generated_at"`
		} `json:"metadata"`
		Args struct {
			Which string `json:"which"`
		} `json:"args"`
		Results []struct {
			UniqueID      string  `json:"unique_id"`
			Status        string  `json:"status"`
			ExecutionTime float64 `json:"execution_time"`
		} `json:"results"`
	}
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, err
	}
	v, kind, ok := schemaVersion(raw.Metadata.SchemaVersion)
	if !ok || kind != "run-results" {
		return nil, fmt.Errorf("metadata.dbt_schema_version %q: %w", raw.Metadata.SchemaVersion, ErrNotRunResults)
	}
	if !containsInt(SupportedRunResultsVersions, v) {
		return nil, fmt.Errorf("run_results schema v%d is not supported; supported: v4, v5, v6: %w", v, ErrUnsupportedVersion)
	}
	at, err := time.Parse(time.RFC3339Nano, raw.Metadata.GeneratedAt)
	if err != nil {
		return nil, fmt.Errorf("metadata.generated_at: %w", err)
	}
	rr := &RunResults{GeneratedAt: at.UTC(), Command: raw.Args.Which, Results: make([]Result, 0, len(raw.Results))}
	for _, r := range raw.Results {
		rr.Results = append(rr.Results, Result{
			UniqueID:      r.UniqueID,
			Status:        r.Status,
			ExecutionTime: time.Duration(r.ExecutionTime * float64(time.Second)),
		})
	}
	return rr, nil
}

// History aggregates a folder of archived run_results files.
type History struct {
	// Files read, and files skipped because they are not run_results
	// (a manifest kept in the same archive, say).
	Files   []string
	Skipped []string
	// Runtimes per model unique_id.
	Runtimes map[string]*Runtime
	// days maps YYYY-MM-DD to the set of models run that day.
	days map[string]map[string]struct{}
}

// Runtime sums a model's executions.
type Runtime struct {
	Runs       int
	Total      time.Duration
	Last       time.Duration
	LastAt     time.Time
	LastStatus string
}

// Mean is the average execution time.
func (r *Runtime) Mean() time.Duration {
	if r.Runs == 0 {
		return 0
	}
	return r.Total / time.Duration(r.Runs)
}

// DayCount is the number of distinct models run on a day (UTC).
type DayCount struct {
	Day   string // YYYY-MM-DD
	Count int
}

// NewHistory returns an empty history.
func NewHistory() *History {
	return &History{Runtimes: make(map[string]*Runtime), days: make(map[string]map[string]struct{})}
}

// Add folds one run into the history. A model counts as run when its
// invocation executed models and its status is not "skipped": an error is
// still an execution.
func (h *History) Add(rr *RunResults) {
	if !rr.Executed() {
		return
	}
	day := rr.GeneratedAt.Format(time.DateOnly)
	for _, r := range rr.Results {
		if typeOf(r.UniqueID) != Model || r.Status == "skipped" {
			continue
		}
		set := h.days[day]
		if set == nil {
			set = make(map[string]struct{})
			h.days[day] = set
		}
		set[r.UniqueID] = struct{}{}
		rt := h.Runtimes[r.UniqueID]
		if rt == nil {
			rt = &Runtime{}
			h.Runtimes[r.UniqueID] = rt
		}
		rt.Runs++
		rt.Total += r.ExecutionTime
		if !rr.GeneratedAt.Before(rt.LastAt) {
			rt.Last, rt.LastAt, rt.LastStatus = r.ExecutionTime, rr.GeneratedAt, r.Status
		}
	}
}

// ModelsPerDay returns the distinct models run per day, oldest first.
func (h *History) ModelsPerDay() []DayCount {
	out := make([]DayCount, 0, len(h.days))
	for day, set := range h.days {
		out = append(out, DayCount{Day: day, Count: len(set)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day < out[j].Day })
	return out
}

// ReadRunResultsDir reads every *.json file below dir. Files that are JSON
// but not run_results are listed in Skipped; a run_results file of an
// unknown version or an unreadable file is an error.
func ReadRunResultsDir(dir string) (*History, error) {
	h := NewHistory()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".json") {
			return nil
		}
		rr, err := readRunResultsFile(path)
		if err != nil {
			if errors.Is(err, ErrNotRunResults) {
				h.Skipped = append(h.Skipped, path)
				return nil
			}
			return err
		}
		h.Files = append(h.Files, path)
		h.Add(rr)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading run results in %q: %w", dir, err)
	}
	return h, nil
}

func readRunResultsFile(path string) (*RunResults, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rr, err := ReadRunResults(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rr, nil
}
