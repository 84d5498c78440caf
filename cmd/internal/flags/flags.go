// Package flags reads the engine's settings from the environment and the
// command line into the engine packages' typed config structs. It is the
// only place that knows the flag and variable names: engine packages take
// their config as values and never read either themselves (a test in
// package engine holds them to it).
//
// Each part comes as a pair: XFromEnv(getenv) reads the variables into a
// config, RegisterX(fs, &cfg) adds the flags with that config's values as
// defaults, so parsing fs afterwards lets a flag win over the variable.
package flags

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// nonEmpty is getenv(name) trimmed, and whether it says anything.
func nonEmpty(getenv func(string) string, name string) (string, bool) {
	v := strings.TrimSpace(getenv(name))
	return v, v != ""
}

// listValue is a comma-separated list flag: a value replaces the list
// (the environment's default) rather than adding to it.
type listValue struct{ p *[]string }

func (l listValue) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

func (l listValue) Set(s string) error {
	*l.p = splitList(s)
	return nil
}

// positiveDuration is a duration flag that refuses zero and negatives.
type positiveDuration struct{ p *time.Duration }

func (d positiveDuration) String() string {
	if d.p == nil || *d.p == 0 {
		return ""
	}
	return d.p.String()
}

func (d positiveDuration) Set(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || v <= 0 {
		return fmt.Errorf("%q is not a positive duration", s)
	}
	*d.p = v
	return nil
}

// optionalBool is a boolean flag whose absence is distinguishable from false.
type optionalBool struct{ p **bool }

func (f *optionalBool) String() string {
	if f.p == nil || *f.p == nil {
		return "auto"
	}
	return strconv.FormatBool(**f.p)
}

func (f *optionalBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not a boolean", s)
	}
	*f.p = &b
	return nil
}

// IsBoolFlag lets "--s3-path-style" stand for "--s3-path-style=true".
func (f *optionalBool) IsBoolFlag() bool { return true }
