package notify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// deriver turns consecutive snapshots into events. The first snapshot is
// the baseline: it says how things stand, not what happened, so it yields
// nothing (a restart does not announce every invalid DAG again).
type deriver struct {
	seeded   bool
	dags     map[string]api.DAGStatus
	finished map[int64]bool // finished runs already seen
	failures map[string]int // failed runs of each DAG since its last success
	sensors  map[string]api.LagStatus
	reviews  map[int64]api.ReviewState
	// states are the transition subjects' states that changed in the last
	// derive (every one, at the baseline): the service records them in
	// the store, and a transition event goes out only when its instance
	// made the change there.
	states []store.NotifyState
}

func newDeriver() *deriver {
	return &deriver{dags: map[string]api.DAGStatus{}, finished: map[int64]bool{}, failures: map[string]int{},
		sensors: map[string]api.LagStatus{}, reviews: map[int64]api.ReviewState{}}
}

// derive returns what changed since the last snapshot, stamped now.
func (d *deriver) derive(s *api.Snapshot, now time.Time) []Event {
	var out []Event
	d.states = d.states[:0]
	emit := func(ev Event, occurrence any) {
		if d.seeded {
			ev.At = now
			if ev.state == "" {
				ev.ID = eventID(ev.Type, ev.Subject, occurrence)
			}
			out = append(out, ev)
		}
	}
	d.deriveDAGs(s.DAGs, emit)
	d.deriveRuns(s.Runs.Finished, emit)
	d.deriveSensors(s.Sensors, emit)
	d.deriveReviews(s.Reviews, emit)
	d.seeded = true
	return out
}

type emitFunc func(ev Event, occurrence any)

// observe notes a transition subject's new state; an event announcing it
// carries the state (and gets its id from the store's generation).
func (d *deriver) observe(subject, state string) {
	d.states = append(d.states, store.NotifyState{Subject: subject, State: state})
}

func (d *deriver) deriveDAGs(dags []api.DAG, emit emitFunc) {
	for _, g := range dags {
		prev, known := d.dags[g.Name]
		d.dags[g.Name] = g.Status
		if known && prev == g.Status {
			continue
		}
		subject := "dag/" + g.Name
		d.observe(subject, string(g.Status))
		base := Details{DAG: g.Name, Location: g.Location}
		switch {
		case g.Status == api.DAGInvalid:
			base.Errors = g.Errors
			text := fmt.Sprintf("DAG %s is invalid", g.Name)
			if len(g.Errors) > 0 {
				text += ": " + g.Errors[0].Msg
			}
			if g.Def != nil {
				text += " (the last good version stays active)"
			}
			emit(Event{Type: DAGInvalid, Subject: subject, Text: text, Data: base, state: string(g.Status)}, nil)
		case known && prev == api.DAGInvalid && g.Status == api.DAGActive:
			emit(Event{Type: DAGRecovered, Subject: subject, Text: fmt.Sprintf("DAG %s is valid again", g.Name), Data: base, state: string(g.Status)}, nil)
		case known && g.Status == api.DAGDisabled:
			emit(Event{Type: DAGDisabled, Subject: subject, Text: fmt.Sprintf("DAG %s is disabled", g.Name), Data: base, state: string(g.Status)}, nil)
		}
	}
}

// deriveRuns reads the runs that finished since the last snapshot, oldest
// first. A run's id identifies its event, so it is announced once however
// often it is derived.
func (d *deriver) deriveRuns(finished []api.Run, emit emitFunc) {
	var fresh []api.Run
	seen := make(map[int64]bool, len(finished))
	for _, r := range finished {
		seen[r.ID] = true
		if !d.finished[r.ID] {
			fresh = append(fresh, r)
		}
	}
	d.finished = seen
	slices.SortFunc(fresh, func(a, b api.Run) int {
		if c := a.FinishedAt.Compare(b.FinishedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	for _, r := range fresh {
		subject := "runs/" + r.DAG
		switch r.State {
		case api.RunFailed:
			d.failures[r.DAG]++
			emit(Event{Type: RunFailed, Subject: subject, Text: fmt.Sprintf("run %d of %s failed: %s", r.ID, r.DAG, firstLine(r.Error)),
				Data: Details{DAG: r.DAG, Run: r.ID, Error: r.Error}}, r.ID)
		case api.RunSuccess:
			if n := d.failures[r.DAG]; n > 0 {
				emit(Event{Type: RunRecovered, Subject: subject, Text: fmt.Sprintf("run %d of %s succeeded after %d failed", r.ID, r.DAG, n),
					Data: Details{DAG: r.DAG, Run: r.ID, Failures: n}}, r.ID)
			}
			delete(d.failures, r.DAG)
		}
	}
}

// deriveSensors follows each sensor group's Burrow status. A status not
// read yet ("") is no change.
func (d *deriver) deriveSensors(sensors []api.Sensor, emit emitFunc) {
	for _, s := range sensors {
		cur := s.Lag.Status
		if cur == "" {
			continue
		}
		key := s.DAG + "#" + strconv.Itoa(s.Index)
		prev, known := d.sensors[key]
		d.sensors[key] = cur
		if known && prev == cur {
			continue
		}
		subject := "sensor/" + key
		d.observe(subject, string(cur))
		if !known {
			continue
		}
		group := s.Lag.Group
		if group == "" {
			group = s.Group
		}
		emit(Event{Type: SensorStatus, Subject: subject,
			Text:  fmt.Sprintf("sensor %d of %s (group %s): %s → %s, lag %d", s.Index, s.DAG, group, prev, cur, s.Lag.TotalLag),
			Data:  Details{DAG: s.DAG, Sensor: s.Index, Group: group, Status: cur, Previous: prev, Reason: s.Lag.Reason, Lag: s.Lag.TotalLag},
			state: string(cur)}, nil)
	}
}

func (d *deriver) deriveReviews(reviews []api.Review, emit emitFunc) {
	for _, r := range reviews {
		prev, known := d.reviews[r.ID]
		d.reviews[r.ID] = r.State
		if known && prev == r.State {
			continue
		}
		var typ, verb string
		switch r.State {
		case api.ReviewStaged:
			typ, verb = ReviewStaged, "is staged for review"
		case api.ReviewBlocked:
			typ, verb = ReviewBlocked, "is blocked: "+firstLine(r.Error)
		case api.ReviewMerged:
			typ, verb = ReviewPRMerged, "was merged"
		default:
			continue
		}
		// A review item reaches each state once: the state names the
		// occurrence.
		emit(Event{Type: typ, Subject: "review/" + strconv.FormatInt(r.ID, 10),
			Text: fmt.Sprintf("review %d (%s) %s", r.ID, r.Title, verb),
			Data: Details{Review: r.ID, Kind: r.Kind, Title: r.Title, URL: r.URL, Error: r.Error}}, r.State)
	}
}

// summary is the scheduled meta.summary of the period that ends at end
// and began every before it.
func summary(s *api.Snapshot, end time.Time, every time.Duration, now time.Time) Event {
	ev := Event{Type: MetaSummary, Subject: "meta", At: now, ID: eventID(MetaSummary, "meta", end.UnixNano())}
	staged, fresh := 0, 0
	for _, r := range s.Reviews {
		if r.State == api.ReviewStaged {
			staged++
		}
		// New candidates: the models of deprecations proposed this period.
		if r.Kind == "deprecate" && r.CreatedAt.After(end.Add(-every)) && !r.CreatedAt.After(end) {
			fresh += len(r.Subjects)
		}
	}
	if m := s.Meta; m != nil {
		days := m.ModelsPerDay
		if len(days) > 14 {
			days = days[len(days)-14:]
		}
		ev.Data = Details{ModelsPerDay: days, Candidates: m.Candidates, NewCandidates: fresh, StaleReports: m.StaleReports}
	}
	ev.Text = fmt.Sprintf("metapipeline summary: %d deprecation candidates (%d new), %d stale reports, %d reviews waiting",
		ev.Data.Candidates, ev.Data.NewCandidates, ev.Data.StaleReports, staged)
	if s.Meta == nil {
		ev.Text = fmt.Sprintf("metapipeline summary: no analysis yet, %d reviews waiting", staged)
	}
	return ev
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
