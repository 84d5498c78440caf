package api

import (
	"errors"
	"testing"
	"time"
)

func TestCheckRunConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg string
		ok  bool
	}{
		{"", true}, {"{}", true}, {`{"a":[1]}`, true},
		{"null", false}, {"[]", false}, {`"x"`, false}, {"1", false}, {"{", false},
	} {
		err := CheckRunConfig([]byte(tt.cfg))
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("CheckRunConfig(%q) = %v, want ok %v", tt.cfg, err, tt.ok)
		}
	}
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "48h", want: now.Add(-48 * time.Hour)},
		{in: "0s", want: now},
		{in: "2024-05-01T00:00:00Z", want: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{in: "-1h", err: true},
		{in: "yesterday", err: true},
		{in: "", err: true},
	} {
		got, err := ParseSince(tt.in, now)
		if (err != nil) != tt.err || !tt.err && !got.Equal(tt.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// A time typed by an operator never reads as later than now, unless it is
// an explicit RFC 3339 time.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"48h", "1h30m", "2024-05-01T00:00:00Z", "-5m", "", "9999999999h"} {
		f.Add(s)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSince(s, now)
		if err != nil {
			return
		}
		if _, perr := time.ParseDuration(s); perr == nil && got.After(now) {
			t.Fatalf("ParseSince(%q) = %v, after now", s, got)
		}
	})
}
