// Package views_test guards the console's floor: the views and the tui
// depend on the engine only through its contract, engine/api, and the
// clock (engine/clock, standard library only), so they build without
// Kafka, S3, git, SQLite, graph or Starlark code.
package views_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const (
	module   = "github.com/sluice-dev/sluice"
	contract = module + "/engine/api"
	// clock is the one time source, a leaf the console is handed too.
	clock = module + "/engine/clock"
)

// forbidden are module paths the front end must never pull in, by prefix
// (aws-sdk-go covers aws-sdk-go-v2).
var forbidden = []string{
	"github.com/IBM/sarama",
	"github.com/aws/aws-sdk-go",
	"github.com/go-git/go-git",
	"modernc.org/sqlite",
	"gonum.org/v1/gonum",
	"go.starlark.net",
}

func TestFrontEndDependsOnlyOnTheContract(t *testing.T) {
	t.Parallel()
	deps := listDeps(t)
	var sawContract bool
	for _, p := range deps {
		if p == contract {
			sawContract = true
			continue
		}
		if p == clock {
			continue
		}
		if strings.HasPrefix(p, contract+"/") {
			continue // the contract's own leaves (api/text)
		}
		if p == module+"/engine" || strings.HasPrefix(p, module+"/engine/") {
			t.Errorf("views/tui depend on %s; they may import only %s and %s of the engine", p, contract, clock)
		}
		checkForbidden(t, p)
	}
	// Guard the guard: an empty or wrong listing would pass the loop above.
	if !sawContract || len(deps) < 10 {
		t.Fatalf("go list -deps listed %d packages without %s; the check ran on the wrong tree", len(deps), contract)
	}
}

// The front end's tests stay light too: they may reach engine helpers
// (the standard-library poll in enginetest/poll, access for role checks)
// but nothing that drags in the forbidden modules.
func TestFrontEndTestsPullNoHeavyModules(t *testing.T) {
	t.Parallel()
	deps := listDeps(t, "-test")
	var sawPoll bool
	for _, p := range deps {
		sawPoll = sawPoll || p == module+"/engine/enginetest/poll"
		checkForbidden(t, p)
	}
	if !sawPoll {
		t.Fatalf("go list -deps -test listed %d packages without enginetest/poll; the check ran on the wrong tree", len(deps))
	}
}

func checkForbidden(t *testing.T, p string) {
	t.Helper()
	for _, f := range forbidden {
		if strings.HasPrefix(p, f) {
			t.Errorf("views/tui depend on %s (%s)", p, f)
		}
	}
}

// listDeps is `go list -deps [flags] ./views/... ./tui/...` from the module root.
func listDeps(t *testing.T, flags ...string) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	// go test puts its own GOROOT/bin first on PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("finding the go command: %v", err)
	}
	args := append(append([]string{"list", "-deps"}, flags...), "./views/...", "./tui/...")
	cmd := exec.Command(goBin, args...)
	cmd.Dir = ".." // the module root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.Fields(string(out))
}
