package runner

import (
	"fmt"
	"os/exec"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// A task that exits before its process group is recorded must still
// succeed: reading a vanished process's start time means "gone", not an
// error. The race (open before exit, read after: ESRCH) is narrow, so this
// test guards the behaviour rather than reproducing the race every time.
func TestInstantTasksSucceed(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	tasks := map[string]string{}
	for i := range 40 {
		tasks[fmt.Sprintf("t%02d", i)] = "true"
	}
	h.dags.add(t, "instant", shellDAG(tasks, nil, ""))
	h.start()
	for range 3 {
		id := h.enqueue("instant", "")
		run, attempts := h.waitRun(id)
		if run.State != api.RunSuccess {
			t.Fatalf("run %s (%s); tasks %+v", run.State, run.Error, attempts)
		}
	}
}

func TestProcessStartOfReapedProcessIsGone(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, alive, err := processStart(cmd.Process.Pid); err != nil || alive {
		t.Fatalf("processStart(reaped) = alive %v, err %v; want gone, nil", alive, err)
	}
}
