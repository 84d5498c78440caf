package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/config"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

func init() {
	register(command{name: "status", summary: "the engine's health: sources, DAGs, queue, sensors, notifications, store; exits 1 when unhealthy", run: runStatus})
}

const statusUsage = `Usage: sluice status [--json] [flags]

Reports the health of the engine on --state-dir (or of the instances
sharing --store), as a running engine with the same settings sees it:
the DAG sources (kind, location, last scan and its duration, files,
errors, the git commit loaded), DAG counts by status, the run queue and
its limits, the Kafka sensors (status, consumer lag and its Burrow
status as the running engine last recorded them in the store, with the
reading's age; stale past 2 minutes or with no engine running), the
notification targets (kind, URL redacted, last delivery, pending, failed
attempts, from the store's outbox), the store (kind, size) and the
version. The sources are scanned once (a git source fetches into the
state dir's mirror); the store is only read. It takes the flags,
environment and config file of sluice run, so point it at the same ones.

Exit status: 0 healthy, 1 unhealthy (the reasons are printed, and listed
under "problems" in --json: an invalid DAG, a failed source, a sensor in
error or its lag ERR (a partition STALL or STOP), a lag reading the
running engine stopped refreshing, a notification target failing, a
store that does not answer), 2 bad flags or no status at all.
`

func runStatus(ctx context.Context, env *cliEnv, args []string) int {
	env, _ = redactedEnv(env)
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	settings, envErr := addRunFlags(fs, env)
	cfgPath := config.Register(fs)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if code, ok := parseEngineFlags("status", statusUsage, fs, env, args, cfgPath, envErr); !ok {
		return code
	}
	cfg, err := settings.config(slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice status: %v\n", err)
		return exitUsage
	}
	eng, err := engine.Open(ctx, engine.Options{Offline: true, Config: cfg})
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice status: %v\n", err)
		return exitUsage
	}
	defer eng.Close()
	st, err := eng.Status(ctx)
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice status: %v\n", err)
		return exitUsage
	}
	st.Version = version
	if *asJSON {
		if st.Problems == nil {
			st.Problems = []string{}
		}
		if code := printJSON(env, st); code != exitOK {
			return code
		}
	} else {
		printStatus(env.stdout, st)
	}
	if !st.Healthy() {
		if !*asJSON {
			fmt.Fprintln(env.stderr, "sluice status: unhealthy")
		}
		return exitFailed
	}
	return exitOK
}

func printStatus(w io.Writer, st api.Status) {
	health := "healthy"
	if !st.Healthy() {
		health = "UNHEALTHY"
	}
	engineLine := "not running"
	switch {
	case st.Engine.Instances > 0:
		engineLine = fmt.Sprintf("running (%d live instances on the store)", st.Engine.Instances)
	case st.Engine.Running:
		engineLine = fmt.Sprintf("running (pid %d)", st.Engine.PID)
	}
	fmt.Fprintf(w, "sluice %s — %s\nstate dir %s, engine %s\n", st.Version, health, st.StateDir, engineLine)

	fmt.Fprintln(w, "\nSources")
	if len(st.Sources) == 0 {
		fmt.Fprintln(w, "  none configured")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range st.Sources {
		state := "ok"
		if !s.OK {
			state = "FAILED: " + s.Error
		} else if s.Error != "" {
			state = "ok, " + s.Error
		}
		extra := ""
		if s.Commit != nil {
			extra = "  at " + s.Commit.String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d files\t%s\t%s\t%s%s\n", s.Kind, s.Location, s.Files,
			scanAge(s.LastScan, st.At), (time.Duration(s.DurationMS) * time.Millisecond).String(), state, extra)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nDAGs")
	statuses := make([]string, 0, len(st.DAGs))
	for k := range st.DAGs {
		statuses = append(statuses, string(k))
	}
	slices.Sort(statuses)
	var parts []string
	for _, k := range statuses {
		parts = append(parts, fmt.Sprintf("%d %s", st.DAGs[api.DAGStatus(k)], k))
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(w, "  %s\n", strings.Join(parts, ", "))

	fmt.Fprintln(w, "\nQueue")
	fmt.Fprintf(w, "  %d queued, %d running (limit %d)", st.Queue.Queued, st.Queue.Running, st.Queue.MaxConcurrentRuns)
	for _, k := range sortedKeys(st.Queue.TagLimits) {
		fmt.Fprintf(w, ", %s ≤ %d", k, st.Queue.TagLimits[k])
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "\nSensors")
	if len(st.Sensors) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, s := range st.Sensors {
		status := string(s.Status)
		if status == "" {
			status = "-"
		}
		fmt.Fprintf(w, "  %s[%d] %s: %s, %s\n", s.DAG, s.Index, strings.Join(s.Topics, ","), status, sensorLag(s, st))
	}

	fmt.Fprintln(w, "\nNotifications")
	switch n := st.Notifications; {
	case n == nil || !n.Available:
		fmt.Fprintln(w, "  not available in this build")
	case len(n.Targets) == 0:
		fmt.Fprintln(w, "  no targets")
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, t := range n.Targets {
			where := t.Kind + " " + t.URL
			if !t.Configured {
				where = "not configured"
			}
			state := "ok"
			switch {
			case t.Failing:
				state = fmt.Sprintf("FAILING (%d failed attempts): %s", t.Failures, t.Error)
			case t.Failures > 0:
				state = fmt.Sprintf("retrying (%d failed attempts): %s", t.Failures, t.Error)
			}
			fmt.Fprintf(tw, "  %s\t%s\tlast delivery %s\t%d pending\t%s\n", t.Name, where, scanAge(t.LastDelivery, st.At), t.Pending, state)
		}
		tw.Flush()
	}

	fmt.Fprintln(w, "\nStore")
	switch {
	case st.Store.Error != "":
		fmt.Fprintf(w, "  %s %s: %s\n", st.Store.Kind, st.Store.Location, st.Store.Error)
	case !st.Store.Exists:
		fmt.Fprintf(w, "  %s %s: no database yet (nothing ran here)\n", st.Store.Kind, st.Store.Location)
	default:
		fmt.Fprintf(w, "  %s %s, %s\n", st.Store.Kind, st.Store.Location, byteSize(st.Store.SizeBytes))
	}

	if len(st.Problems) > 0 {
		fmt.Fprintln(w, "\nProblems")
		for _, p := range st.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
}

// sensorLag is a sensor's lag as the running engine recorded it, with the
// reading's age: "lag 1,500 [WARN] 4s ago".
func sensorLag(s api.StatusSensor, st api.Status) string {
	var out string
	switch {
	case s.LagAt.IsZero() && st.Engine.Running:
		return "lag not recorded yet"
	case s.LagAt.IsZero():
		return "lag unknown (no engine has recorded it)"
	case s.Lag < 0:
		out = "lag not read yet, " + scanAge(s.LagAt, st.At)
	default:
		out = fmt.Sprintf("lag %s [%s] %s", common.Thousands(int(s.Lag)), s.LagStatus, scanAge(s.LagAt, st.At))
	}
	switch {
	case s.LagStale && !st.Engine.Running:
		out += ", stale (no engine running)"
	case s.LagStale:
		out += ", stale (not refreshed)"
	}
	if s.LagStatus != "" && s.LagStatus != api.LagOK && s.LagReason != "" {
		out += ": " + s.LagReason
	}
	return out
}

func scanAge(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
