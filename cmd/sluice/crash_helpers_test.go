package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// crashServe is a `sluice serve` child the crash tests kill.
type crashServe struct {
	cmd    *exec.Cmd
	exited chan struct{}
	stderr string
}

// startCrashServe starts `sluice serve args...` headless with exactly env
// (plus PATH and HOME) and waits until its engine has started.
func startCrashServe(t *testing.T, bin, dir, tag string, env []string, args ...string) *crashServe {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	s := &crashServe{cmd: cmd, exited: make(chan struct{}), stderr: filepath.Join(dir, tag+".stderr")}
	errFile, err := os.Create(s.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	cmd.Stderr = errFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.exited
	})
	enginetest.Eventually(t, 60*time.Second, func() bool {
		select {
		case <-s.exited:
			t.Fatalf("sluice serve (%s) exited: %s", tag, readFile(t, s.stderr))
		default:
		}
		return strings.Contains(readFile(t, s.stderr), `"msg":"engine started"`)
	}, "sluice serve ("+tag+") to start its engine")
	return s
}

// kill sends SIGKILL and waits until the process is reaped and the state
// dir's lock is free: only then may the engine start again on it.
func (s *crashServe) kill(t *testing.T, state string) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the killed sluice serve was not reaped within 30s")
	}
	enginetest.Eventually(t, 10*time.Second, func() bool {
		_, held, err := store.LockHolder(state)
		return err == nil && !held
	}, "the state dir lock to be free")
}

// stop sends SIGTERM and waits for a clean exit.
func (s *crashServe) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("sluice serve ignored SIGTERM")
	}
	if !strings.Contains(readFile(t, s.stderr), `"msg":"engine stopped"`) {
		t.Fatalf("sluice serve did not stop cleanly:\n%s", readFile(t, s.stderr))
	}
}

// openStore opens the state dir's database beside a running engine.
func openStore(t *testing.T, state string) *store.Store {
	t.Helper()
	st, err := store.OpenDir(context.Background(), state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// sensorBatch is one stored batch and the runs that carry it.
type sensorBatch struct {
	partition   int32
	first, last int64
	runs        []store.Run
}

// sensorBatches reads every batch the runs of dagName carry, by partition,
// in offset order. A recovery re-run carries its interrupted run's batch:
// both runs are listed under the one batch.
func sensorBatches(t *testing.T, st *store.Store, dagName string) map[int32][]*sensorBatch {
	t.Helper()
	runs, err := st.ListRuns(context.Background(), store.ListOptions{DAG: dagName})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]*sensorBatch{}
	out := map[int32][]*sensorBatch{}
	for _, r := range runs {
		if r.BatchID == 0 {
			t.Fatalf("run %d of %s carries no batch: %+v", r.ID, dagName, r)
		}
		b, ok := byID[r.BatchID]
		if !ok {
			b = parseBatchKey(t, r.Batch)
			byID[r.BatchID] = b
			out[b.partition] = append(out[b.partition], b)
		}
		b.runs = append(b.runs, r)
	}
	for _, bs := range out {
		sort.Slice(bs, func(i, j int) bool { return bs[i].first < bs[j].first })
	}
	return out
}

// parseBatchKey reads "topic/partition/first-last".
func parseBatchKey(t *testing.T, key string) *sensorBatch {
	t.Helper()
	parts := strings.Split(key, "/")
	if len(parts) != 3 {
		t.Fatalf("batch key %q", key)
	}
	p, err1 := strconv.ParseInt(parts[1], 10, 32)
	first, last, ok := strings.Cut(parts[2], "-")
	a, err2 := strconv.ParseInt(first, 10, 64)
	b, err3 := strconv.ParseInt(last, 10, 64)
	if !ok || err1 != nil || err2 != nil || err3 != nil || b < a {
		t.Fatalf("batch key %q", key)
	}
	return &sensorBatch{partition: int32(p), first: a, last: b}
}

// coveredOffsets counts the offsets the batches cover.
func coveredOffsets(batches map[int32][]*sensorBatch) int64 {
	var n int64
	for _, bs := range batches {
		for _, b := range bs {
			n += b.last - b.first + 1
		}
	}
	return n
}

// sshAddr waits until the child serves the console over SSH and returns
// the address.
func (s *crashServe) sshAddr(t *testing.T) string {
	t.Helper()
	var addr string
	enginetest.Eventually(t, 30*time.Second, func() bool {
		addr = logAddr(readFile(t, s.stderr), "serving the console over ssh")
		return addr != ""
	}, "sluice serve to listen for SSH")
	return addr
}

// heldGitHub is a GitHub API stand-in whose first pull request creation
// is held until released or abandoned by its client; later ones succeed.
type heldGitHub struct {
	srv     *httptest.Server
	held    chan struct{} // closed when the first request is being held
	release chan struct{}

	mu       sync.Mutex
	requests int
	created  []string // head branches of the pull requests created
}

func newHeldGitHub(t *testing.T) *heldGitHub {
	t.Helper()
	g := &heldGitHub{held: make(chan struct{}), release: make(chan struct{})}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(func() {
		close(g.release)
		g.srv.Close()
	})
	return g
}

func (g *heldGitHub) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/pulls") {
		// A lookup of open pull requests (after a 422): those created.
		w.Header().Set("Content-Type", "application/json")
		g.mu.Lock()
		defer g.mu.Unlock()
		var list []map[string]any
		for i := range g.created {
			list = append(list, map[string]any{"number": i + 1, "html_url": fmt.Sprintf("https://github.test/pull/%d", i+1)})
		}
		json.NewEncoder(w).Encode(list)
		return
	}
	var body struct{ Head string }
	json.NewDecoder(r.Body).Decode(&body)
	g.mu.Lock()
	g.requests++
	first := g.requests == 1
	g.mu.Unlock()
	if first {
		close(g.held)
		select {
		case <-g.release:
		case <-r.Context().Done():
			return // the client died: nothing was created
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, h := range g.created {
		if h == body.Head {
			w.WriteHeader(http.StatusUnprocessableEntity)
			w.Write([]byte(`{"message":"Validation Failed","errors":[{"message":"A pull request already exists"}]}`))
			return
		}
	}
	g.created = append(g.created, body.Head)
	n := len(g.created)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"number": n, "html_url": fmt.Sprintf("https://github.test/pull/%d", n)})
}

func (g *heldGitHub) createdHeads() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.created...)
}
