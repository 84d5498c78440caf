package main

import (
	"bytes"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// The reset plan as the command prints it: per partition the committed →
// new offset and what is read again, then what becomes of the records
// runs already carry.
func TestPrintResetPlan(t *testing.T) {
	t.Parallel()
	plan := api.ResetOffsetsPlan{DAG: "clickstream", Group: "sluice.clickstream", DryRun: true, Partitions: []api.OffsetChange{
		{Topic: "clicks", Partition: 0, Current: 1664, New: 1200, Reread: 464, Carried: 464},
		{Topic: "clicks", Partition: 1, Current: -1, New: 1190, Skipped: 1190},
	}}
	var out bytes.Buffer
	printResetPlan(&cliEnv{stdout: &out}, plan, api.ResetOffsetsRequest{})
	want := `group sluice.clickstream (sensor 0 of clickstream)
TOPIC   PARTITION  CURRENT     NEW   RE-READ  SKIPPED  IN RUNS
clicks  0          1664     →  1200  464      0        464
clicks  1          none     →  1190  0        1190     0

464 records to read again, 1190 skipped; 464 of them already in runs are trimmed, not run again (--allow-reprocess runs them)
dry run: nothing changed
`
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
}
