package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-dev/sluice/engine/api"
)

// snapshotCollector reads the gauges from a fresh snapshot at every
// scrape: constant metrics, so a partition, sensor or source that goes away
// leaves no stale series behind.
type snapshotCollector struct{ api api.API }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

var (
	descRuns          = desc("runs", "Runs not finished, by state (queued, running).", "state")
	descQueueDepth    = desc("queue_depth", "Runs waiting in the run queue.")
	descQueueWaiting  = desc("queue_oldest_wait_seconds", "How long the oldest queued run has waited.")
	descDAGs          = desc("dags", "DAGs in the registry, by status.", "status")
	descSourceUp      = desc("loader_source_up", "1 when the source's last scan succeeded.", "source")
	descSourceFiles   = desc("loader_source_files", "DAG files the source's last scan saw.", "source")
	descSourceLastDur = desc("loader_last_scan_duration_seconds", "Duration of the source's last scan.", "source")
	descSourceLastAt  = desc("loader_last_scan_timestamp_seconds", "Unix time of the source's last scan.", "source")
	descSensorUp      = desc("sensor_status", "1 for the sensor's current status (running, paused, backpressure, error).", "dag", "sensor", "status")
	descGroupLag      = desc("consumer_group_lag", "Total lag of a consumer group, in messages.", "group")
	descGroupStatus   = desc("consumer_group_status", "1 for the group's current lag status (OK, WARN, STALL, STOP, ERR).", "group", "status")
	descGroupMembers  = desc("consumer_group_members", "Members of a consumer group.", "group")
	descPartLag       = desc("consumer_partition_lag", "Lag of one partition for a consumer group, in messages.", "group", "topic", "partition")
	descPartRate      = desc("consumer_partition_rate", "Messages per second the group consumed from the partition over the lag window.", "group", "topic", "partition")
	descReviews       = desc("reviews", "Review items, by state.", "state")
)

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRuns, descQueueDepth, descQueueWaiting, descDAGs,
		descSourceUp, descSourceFiles, descSourceLastDur, descSourceLastAt, descSensorUp,
		descGroupLag, descGroupStatus, descGroupMembers, descPartLag, descPartRate, descReviews} {
		ch <- d
	}
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.api.Snapshot()
	if s == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}

	gauge(descRuns, float64(len(s.Runs.Queued)), string(api.RunQueued))
	gauge(descRuns, float64(len(s.Runs.Running)), string(api.RunRunning))
	gauge(descQueueDepth, float64(len(s.Runs.Queued)))
	var oldest float64
	for _, r := range s.Runs.Queued {
		if !r.QueuedAt.IsZero() && !s.At.IsZero() {
			oldest = max(oldest, s.At.Sub(r.QueuedAt).Seconds())
		}
	}
	gauge(descQueueWaiting, oldest)

	dags := map[api.DAGStatus]int{api.DAGActive: 0, api.DAGInvalid: 0, api.DAGDisabled: 0, api.DAGConflict: 0}
	for _, d := range s.DAGs {
		dags[d.Status]++
	}
	for status, n := range dags {
		gauge(descDAGs, float64(n), string(status))
	}

	for _, src := range s.Sources {
		gauge(descSourceUp, boolFloat(src.OK), src.Name)
		gauge(descSourceFiles, float64(src.Files), src.Name)
		if !src.LastScan.IsZero() {
			gauge(descSourceLastDur, src.ScanDuration.Seconds(), src.Name)
			gauge(descSourceLastAt, float64(src.LastScan.UnixNano())/1e9, src.Name)
		}
	}

	groups := map[string]bool{}
	partitions := map[string]bool{}
	for _, sn := range s.Sensors {
		if sn.Status != "" {
			gauge(descSensorUp, 1, sn.DAG, strconv.Itoa(sn.Index), string(sn.Status))
		}
		g := sn.Lag
		if g.Group == "" {
			continue
		}
		// Replicas of one sensor, or two sensors, may share a group: it is
		// one series, and each partition of it is one series.
		if !groups[g.Group] {
			groups[g.Group] = true
			gauge(descGroupLag, float64(g.TotalLag), g.Group)
			gauge(descGroupMembers, float64(g.Members), g.Group)
			if g.Status != "" {
				gauge(descGroupStatus, 1, g.Group, string(g.Status))
			}
		}
		for _, p := range g.Partitions {
			part := strconv.Itoa(int(p.Partition))
			key := g.Group + "\x00" + p.Topic + "\x00" + part
			if partitions[key] {
				continue
			}
			partitions[key] = true
			gauge(descPartLag, float64(p.Lag), g.Group, p.Topic, part)
			gauge(descPartRate, p.Rate, g.Group, p.Topic, part)
		}
	}

	reviews := map[api.ReviewState]int{}
	for _, r := range s.Reviews {
		reviews[r.State]++
	}
	for state, n := range reviews {
		gauge(descReviews, float64(n), string(state))
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
