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
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	// go test puts its own GOROOT/bin first on PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("finding the go command: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-deps", "./views/...", "./tui/...")
	cmd.Dir = ".." // the module root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, stderr.String())
	}
	deps := strings.Fields(string(out))
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
		for _, f := range forbidden {
			if strings.HasPrefix(p, f) {
				t.Errorf("views/tui depend on %s (%s)", p, f)
			}
		}
	}
	// Guard the guard: an empty or wrong listing would pass the loop above.
	if !sawContract || len(deps) < 10 {
		t.Fatalf("go list -deps listed %d packages without %s; the check ran on the wrong tree", len(deps), contract)
	}
}
