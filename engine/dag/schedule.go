package dag

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser reads the five standard fields plus descriptors (@daily,
// @every 10s); seconds are not a field, so "0 3 * * *" means 03:00.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func parseSchedule(expr string) (cron.Schedule, error) {
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q: %v", expr, err)
	}
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
