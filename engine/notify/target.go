package notify

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
)

// Target kinds.
const (
	KindGeneric = "generic" // the documented JSON body, signed
	KindSlack   = "slack"   // a Slack incoming webhook: a message with blocks
)

// Target is one receiver of notifications.
type Target struct {
	// Name identifies the target in the outbox and the status line; it
	// never contains the URL's path or query (a Slack webhook's path is
	// its secret). Default: KIND:HOST.
	Name string
	URL  string
	Kind string
	// Events filters what the target gets: event types, or patterns such
	// as "dag.*" (path.Match); none: every event.
	Events []string
}

// Wants reports whether the target takes events of typ.
func (t Target) Wants(typ string) bool {
	if len(t.Events) == 0 {
		return true
	}
	return slices.ContainsFunc(t.Events, func(p string) bool {
		ok, _ := path.Match(p, typ)
		return ok
	})
}

// ErrBadTarget is what ParseTarget says of a spec it cannot read.
var ErrBadTarget = errors.New("bad notification target")

// ParseTarget reads a target spec: a URL, optionally preceded by
// space-separated options —
//
//	[slack|generic] [events=TYPE|TYPE...] [name=NAME] URL
//
// e.g. "slack events=dag.*|run.failed https://hooks.slack.com/services/…".
// The kind defaults to slack for hooks.slack.com URLs, else generic.
func ParseTarget(spec string) (Target, error) {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return Target{}, fmt.Errorf("%w: empty", ErrBadTarget)
	}
	var t Target
	raw := fields[len(fields)-1]
	for _, f := range fields[:len(fields)-1] {
		key, val, hasVal := strings.Cut(f, "=")
		switch {
		case !hasVal && (key == KindSlack || key == KindGeneric):
			t.Kind = key
		case key == "events" && hasVal:
			for p := range strings.SplitSeq(val, "|") {
				if p == "" {
					continue
				}
				if _, err := path.Match(p, ""); err != nil || !matchesAny(p) {
					return Target{}, fmt.Errorf("%w: events=%s: %q names no event type (%s)", ErrBadTarget, val, p, strings.Join(Types, ", "))
				}
				t.Events = append(t.Events, p)
			}
		case key == "name" && hasVal && val != "":
			t.Name = val
		default:
			return Target{}, fmt.Errorf("%w: unknown option %q (want slack, generic, events=…, name=…)", ErrBadTarget, f)
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL may hold a secret: name the problem, not the value.
		return Target{}, fmt.Errorf("%w: the last word must be an http(s) URL", ErrBadTarget)
	}
	t.URL = raw
	if t.Kind == "" {
		t.Kind = KindGeneric
		if u.Hostname() == "hooks.slack.com" {
			t.Kind = KindSlack
		}
	}
	if t.Name == "" {
		t.Name = t.Kind + ":" + u.Host
	}
	return t, nil
}

func matchesAny(pattern string) bool {
	return slices.ContainsFunc(Types, func(typ string) bool {
		ok, _ := path.Match(pattern, typ)
		return ok
	})
}

// SplitTargets splits a comma-joined list of specs (the environment's
// SLUICE_NOTIFY, a config file's list). A comma inside a URL stays: a
// piece that does not start a spec continues the one before it.
func SplitTargets(list string) []string {
	var out []string
	for piece := range strings.SplitSeq(list, ",") {
		trimmed := strings.TrimSpace(piece)
		if len(out) > 0 && !startsSpec(trimmed) {
			out[len(out)-1] += "," + piece
			continue
		}
		if trimmed != "" {
			out = append(out, trimmed)
		}
	}
	return out
}

func startsSpec(s string) bool {
	first, _, _ := strings.Cut(s, " ")
	if first == KindSlack || first == KindGeneric || strings.HasPrefix(first, "events=") || strings.HasPrefix(first, "name=") {
		return true
	}
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// Names must be unique: the outbox keeps each target's rows under it.
func checkNames(ts []Target) error {
	seen := map[string]bool{}
	for _, t := range ts {
		if seen[t.Name] {
			return fmt.Errorf("%w: two targets named %q (set name=… on one)", ErrBadTarget, t.Name)
		}
		seen[t.Name] = true
	}
	return nil
}

// RedactedURL is the target's URL fit for a status: scheme and host, the
// path (a webhook's secret), query and credentials cut.
func (t Target) RedactedURL() string {
	u, err := url.Parse(t.URL)
	if err != nil || u.Host == "" {
		return ""
	}
	out := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		out += "/…"
	}
	return out
}
