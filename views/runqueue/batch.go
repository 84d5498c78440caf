package runqueue

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// batchText spells out a run's batch key ("topic/partition/first-last"):
// where its records come from, and how many.
func batchText(key string) string {
	rest, offsets, ok := cutLast(key, '/')
	topic, part, ok2 := cutLast(rest, '/')
	first, last, ok3 := strings.Cut(offsets, "-")
	f, err1 := strconv.ParseInt(first, 10, 64)
	l, err2 := strconv.ParseInt(last, 10, 64)
	if !ok || !ok2 || !ok3 || err1 != nil || err2 != nil {
		return key
	}
	return fmt.Sprintf("%s · partition %s · offsets %d–%d (%d records)", topic, part, f, l, l-f+1)
}

func cutLast(s string, sep byte) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// tickOf finds the sensor tick that persisted run id's batch among the
// recent ticks of the DAG's sensors: the tick → run link read backwards.
// A replay has no tick of its own; the original's is looked up instead.
func tickOf(s *api.Snapshot, r *api.Run) (sensor int, tick api.Tick, ok bool) {
	if s == nil {
		return 0, api.Tick{}, false
	}
	for _, id := range []int64{r.ID, r.RerunOf} {
		if id == 0 {
			continue
		}
		for _, sn := range s.Sensors {
			if sn.DAG != r.DAG {
				continue
			}
			for _, t := range sn.Ticks {
				for _, rg := range t.Ranges {
					if rg.Run == id {
						return sn.Index, t, true
					}
				}
			}
		}
	}
	return 0, api.Tick{}, false
}

// tickField is the run's tick as its detail names it.
func (m *Model) tickField(r *api.Run) (string, bool) {
	idx, t, ok := tickOf(m.snap, r)
	if !ok {
		return "", false
	}
	text := fmt.Sprintf("#%d of sensor %d at %s (%d batches, %d records)", t.ID, idx, common.Clock(t.Start), t.Batches, t.Messages)
	if r.RerunOf != 0 && !tickHas(t, r.ID) {
		text += fmt.Sprintf(" — the tick of #%d, replayed", r.RerunOf)
	}
	return text, true
}

func tickHas(t api.Tick, id int64) bool {
	for _, rg := range t.Ranges {
		if rg.Run == id {
			return true
		}
	}
	return false
}
