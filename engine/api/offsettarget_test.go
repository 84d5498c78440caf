package api

import (
	"maps"
	"testing"
	"time"
)

func TestParseOffsetTarget(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in     string
		to     OffsetTarget
		at     time.Time
		offset map[int32]int64
		bad    bool
	}{
		{in: "earliest", to: ToEarliest},
		{in: " Latest ", to: ToLatest},
		{in: "2h", to: ToTime, at: now.Add(-2 * time.Hour)},
		{in: "2024-05-01T09:00:00Z", to: ToTime, at: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)},
		{in: "0:1200, 1:980", to: ToOffset, offset: map[int32]int64{0: 1200, 1: 980}},
		{in: "", bad: true},
		{in: "-2h", bad: true},
		{in: "yesterday", bad: true},
		{in: "0:-1", bad: true},
		{in: "0:12,x", bad: true},
	} {
		var req ResetOffsetsRequest
		err := ParseOffsetTarget(tc.in, now, &req)
		if tc.bad {
			if err == nil {
				t.Errorf("%q parsed as %+v", tc.in, req)
			}
			continue
		}
		if err != nil || req.To != tc.to || !req.Time.Equal(tc.at) || !maps.Equal(req.Offset, tc.offset) {
			t.Errorf("%q = %+v, %v", tc.in, req, err)
		}
	}
}

func FuzzParseOffsetTarget(f *testing.F) {
	for _, s := range []string{"earliest", "latest", "2h", "2024-05-01T09:00:00Z", "0:1200,1:980", ":", "0:"} {
		f.Add(s)
	}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		var req ResetOffsetsRequest
		if err := ParseOffsetTarget(s, now, &req); err != nil {
			return
		}
		switch req.To {
		case ToEarliest, ToLatest:
		case ToTime:
			if req.Time.IsZero() {
				t.Fatalf("%q: a time target without a time", s)
			}
		case ToOffset:
			if len(req.Offset) == 0 {
				t.Fatalf("%q: no offsets", s)
			}
			for p, o := range req.Offset {
				if p < 0 || o < 0 {
					t.Fatalf("%q: negative %d:%d", s, p, o)
				}
			}
		default:
			t.Fatalf("%q: target %q", s, req.To)
		}
	})
}
