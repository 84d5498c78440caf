package api

import (
	"encoding/json"
	"fmt"
	"time"
)

// The rules for what an operator types, shared by the CLI and the console
// so both accept the same input.

// CheckRunConfig is the one rule for a run config: empty, or a JSON object.
func CheckRunConfig(cfg json.RawMessage) error {
	if len(cfg) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(cfg, &obj); err != nil || obj == nil {
		return ErrInvalidConfig
	}
	return nil
}

// ParseSince reads a time an operator types: a duration ago ("48h") or
// an RFC 3339 time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q is negative", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (24h) nor an RFC 3339 time", s)
	}
	return t, nil
}
