package dag

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser reads the five standard fields plus descriptors (@daily,
// @every 10s); seconds are not a field, so "0 3 * * *" means 03:00.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parsedSchedules caches parses by expression: a handful of expressions
// ("@daily", "0 3 * * *") serve most DAGs, and parsed schedules are never
// modified. Bounded so odd inputs cannot grow it forever.
var parsedSchedules struct {
	sync.Mutex
	m map[string]cron.Schedule
}

const maxCachedSchedules = 1024

func parseSchedule(expr string) (cron.Schedule, error) {
	parsedSchedules.Lock()
	s, ok := parsedSchedules.m[expr]
	parsedSchedules.Unlock()
	if ok {
		return s, nil
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%q is not a cron expression: %v", expr, err)
	}
	parsedSchedules.Lock()
	if parsedSchedules.m == nil || len(parsedSchedules.m) >= maxCachedSchedules {
		parsedSchedules.m = make(map[string]cron.Schedule)
	}
	// The key is cloned: expr may point into a parser's buffer.
	parsedSchedules.m[strings.Clone(expr)] = s
	parsedSchedules.Unlock()
	return s, nil
}

// NextFire returns the first schedule time strictly after after, or the
// zero time when the DAG has no (valid) schedule. Times follow after's
// location.
func (d *DAG) NextFire(after time.Time) time.Time {
	s := d.schedule
	if s == nil {
		if d.Schedule == "" {
			return time.Time{}
		}
		var err error
		if s, err = parseSchedule(d.Schedule); err != nil {
			return time.Time{}
		}
	}
	return s.Next(after)
}
