package api

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseOffsetTarget reads where a reset moves a group, as an operator types
// it in the console: "earliest", "latest", a time (RFC 3339, or a duration
// ago: "2h"), or partition:offset pairs ("0:1200,1:980"). It fills req's
// To, Time and Offset.
func ParseOffsetTarget(s string, now time.Time, req *ResetOffsetsRequest) error {
	s = strings.TrimSpace(s)
	req.To, req.Time, req.Offset = "", time.Time{}, nil
	switch strings.ToLower(s) {
	case "":
		return fmt.Errorf("say where to: earliest, latest, a time or partition:offset")
	case string(ToEarliest):
		req.To = ToEarliest
		return nil
	case string(ToLatest):
		req.To = ToLatest
		return nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return fmt.Errorf("%q is in the future", s)
		}
		req.To, req.Time = ToTime, now.Add(-d)
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		req.To, req.Time = ToTime, t
		return nil
	}
	offsets := map[int32]int64{}
	for part := range strings.SplitSeq(s, ",") {
		p, o, ok := strings.Cut(strings.TrimSpace(part), ":")
		pn, err1 := strconv.ParseInt(p, 10, 32)
		on, err2 := strconv.ParseInt(o, 10, 64)
		if !ok || err1 != nil || err2 != nil || pn < 0 || on < 0 {
			return fmt.Errorf("%q is not earliest, latest, a time (RFC 3339 or 2h ago) or partition:offset", s)
		}
		offsets[int32(pn)] = on
	}
	req.To, req.Offset = ToOffset, offsets
	return nil
}
